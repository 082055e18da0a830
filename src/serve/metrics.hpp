// Request counters and per-stage latency histograms of the search server, rendered in the
// Prometheus text exposition format (version 0.0.4). All members are thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace vlbench::serve {

class Metrics {
 public:
  // Upper bounds (seconds) of the histogram buckets, ascending; +Inf is implicit.
  static constexpr std::array<double, 16> kBucketBounds = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
      0.05,   0.1,     0.25,   0.5,   1.0,    2.5,   5.0,  10.0};

  // `stages`: histogram labels rendered even before any observation (in this order).
  explicit Metrics(std::vector<std::string> stages);

  // One response with HTTP status `code` on `endpoint` (a bounded label set: the caller maps
  // unknown paths to "other").
  void count_request(const std::string& endpoint, int code);
  // One duration of `stage` (one of the constructor's stages), in seconds.
  void observe(const std::string& stage, double seconds);

  void begin_request() { in_flight_.fetch_add(1, std::memory_order_relaxed); }
  void end_request() { in_flight_.fetch_sub(1, std::memory_order_relaxed); }

  // Connections: one opened, one closed for `reason` (a bounded set: "served", "client",
  // "idle_timeout", "read_timeout", "write_timeout", "limit", "drain", "drain_timeout").
  void connection_opened();
  void connection_closed(const std::string& reason);
  // Complete requests waiting for a worker.
  void set_queue_depth(std::int64_t depth) { queue_depth_.store(depth, std::memory_order_relaxed); }

  // The exposition text; `index_vectors` is reported as a gauge.
  std::string render(std::int64_t index_vectors) const;

 private:
  struct Histogram {
    std::array<std::uint64_t, kBucketBounds.size() + 1> counts{};  // per bucket, last: +Inf
    double sum = 0;
    std::uint64_t count = 0;
  };

  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, std::uint64_t> requests_;
  std::vector<std::string> stage_order_;
  std::map<std::string, Histogram> stages_;
  std::atomic<std::int64_t> in_flight_{0};
  std::atomic<std::int64_t> queue_depth_{0};
  std::uint64_t connections_opened_ = 0;             // guarded by mutex_
  std::map<std::string, std::uint64_t> connections_closed_;  // guarded by mutex_
};

}  // namespace vlbench::serve
