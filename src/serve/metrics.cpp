#include "serve/metrics.hpp"

#include <vlbench/core/error.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <iterator>

namespace vlbench::serve {

Metrics::Metrics(std::vector<std::string> stages) : stage_order_(std::move(stages)) {
  for (const auto& stage : stage_order_) stages_[stage];
}

void Metrics::count_request(const std::string& endpoint, int code) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++requests_[{endpoint, code}];
}

void Metrics::connection_opened() {
  std::lock_guard<std::mutex> lock(mutex_);
  ++connections_opened_;
}

void Metrics::connection_closed(const std::string& reason) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++connections_closed_[reason];
}

void Metrics::observe(const std::string& stage, double seconds) {
  // First bucket whose upper bound holds the value (Prometheus buckets are `le`).
  const auto bucket = static_cast<std::size_t>(
      std::distance(kBucketBounds.begin(),
                    std::lower_bound(kBucketBounds.begin(), kBucketBounds.end(), seconds)));
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = stages_.find(stage);
  VLB_ASSERT(it != stages_.end());
  ++it->second.counts[bucket];
  it->second.sum += seconds;
  ++it->second.count;
}

std::string Metrics::render(std::int64_t index_vectors) const {
  std::string out;
  auto it = std::back_inserter(out);
  std::lock_guard<std::mutex> lock(mutex_);
  fmt::format_to(
      it, "# HELP vlbench_http_requests_total HTTP responses by endpoint and status code.\n");
  fmt::format_to(it, "# TYPE vlbench_http_requests_total counter\n");
  for (const auto& [key, count] : requests_) {
    fmt::format_to(it, "vlbench_http_requests_total{{endpoint=\"{}\",code=\"{}\"}} {}\n", key.first,
                   key.second, count);
  }
  fmt::format_to(it,
                 "# HELP vlbench_stage_seconds Latency of each stage of successful searches.\n");
  fmt::format_to(it, "# TYPE vlbench_stage_seconds histogram\n");
  for (const auto& stage : stage_order_) {
    const Histogram& h = stages_.at(stage);
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b < kBucketBounds.size(); ++b) {
      cumulative += h.counts[b];
      fmt::format_to(it, "vlbench_stage_seconds_bucket{{stage=\"{}\",le=\"{}\"}} {}\n", stage,
                     kBucketBounds[b], cumulative);
    }
    cumulative += h.counts.back();
    fmt::format_to(it, "vlbench_stage_seconds_bucket{{stage=\"{}\",le=\"+Inf\"}} {}\n", stage,
                   cumulative);
    fmt::format_to(it, "vlbench_stage_seconds_sum{{stage=\"{}\"}} {}\n", stage, h.sum);
    fmt::format_to(it, "vlbench_stage_seconds_count{{stage=\"{}\"}} {}\n", stage, h.count);
  }
  fmt::format_to(it, "# HELP vlbench_index_vectors Vectors in the served index.\n");
  fmt::format_to(it, "# TYPE vlbench_index_vectors gauge\n");
  fmt::format_to(it, "vlbench_index_vectors {}\n", index_vectors);
  fmt::format_to(it, "# HELP vlbench_in_flight_requests Requests being handled now.\n");
  fmt::format_to(it, "# TYPE vlbench_in_flight_requests gauge\n");
  fmt::format_to(it, "vlbench_in_flight_requests {}\n", in_flight_.load(std::memory_order_relaxed));
  fmt::format_to(it, "# HELP vlbench_queued_requests Complete requests waiting for a worker.\n");
  fmt::format_to(it, "# TYPE vlbench_queued_requests gauge\n");
  fmt::format_to(it, "vlbench_queued_requests {}\n", queue_depth_.load(std::memory_order_relaxed));
  std::uint64_t closed = 0;
  for (const auto& [reason, count] : connections_closed_) closed += count;
  fmt::format_to(it, "# HELP vlbench_http_connections_opened_total Connections accepted.\n");
  fmt::format_to(it, "# TYPE vlbench_http_connections_opened_total counter\n");
  fmt::format_to(it, "vlbench_http_connections_opened_total {}\n", connections_opened_);
  fmt::format_to(it, "# HELP vlbench_http_connections_closed_total Connections closed, by reason.\n");
  fmt::format_to(it, "# TYPE vlbench_http_connections_closed_total counter\n");
  for (const auto& [reason, count] : connections_closed_) {
    fmt::format_to(it, "vlbench_http_connections_closed_total{{reason=\"{}\"}} {}\n", reason, count);
  }
  fmt::format_to(it, "# HELP vlbench_http_connections_open Connections open now.\n");
  fmt::format_to(it, "# TYPE vlbench_http_connections_open gauge\n");
  fmt::format_to(it, "vlbench_http_connections_open {}\n", connections_opened_ - closed);
  return out;
}

}  // namespace vlbench::serve
