// Helpers of the server tests: a seeded gallery in a real `flat` index, a server running on an
// ephemeral loopback port in a background thread, and an independent brute-force top-k.
#pragma once

#include <vlbench/core/random.hpp>
#include <vlbench/index/vector_index.hpp>
#include <vlbench/serve/server.hpp>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

namespace vlbench::testing {

// n × d standard-normal rows scaled to unit length.
inline std::vector<float> unit_rows(std::int64_t n, std::int64_t d, std::uint64_t seed) {
  SplitMix64 rng(seed);
  std::vector<float> x(static_cast<std::size_t>(n * d));
  for (std::int64_t i = 0; i < n; ++i) {
    double sum = 0;
    for (std::int64_t j = 0; j < d; ++j) {
      const double v = rng.normal();
      x[i * d + j] = static_cast<float>(v);
      sum += v * v;
    }
    for (std::int64_t j = 0; j < d; ++j) x[i * d + j] /= static_cast<float>(std::sqrt(sum));
  }
  return x;
}

inline std::shared_ptr<VectorIndex> flat_index(const std::vector<float>& gallery, std::int64_t d) {
  std::shared_ptr<VectorIndex> index = make_index("flat", d);
  index->add(static_cast<std::int64_t>(gallery.size()) / d, gallery.data());
  return index;
}

// Exact top-k by inner product in double (the query is used as given), ties by lower row.
inline std::vector<std::int64_t> brute_force_top_k(const std::vector<float>& gallery,
                                                   std::int64_t d, const float* query,
                                                   std::int64_t k) {
  const auto n = static_cast<std::int64_t>(gallery.size()) / d;
  std::vector<double> score(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    double s = 0;
    for (std::int64_t j = 0; j < d; ++j) s += static_cast<double>(gallery[i * d + j]) * query[j];
    score[i] = s;
  }
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), std::int64_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::int64_t a, std::int64_t b) { return score[a] > score[b]; });
  order.resize(static_cast<std::size_t>(std::min(k, n)));
  return order;
}

// A SearchServer listening on 127.0.0.1:<ephemeral> and running in a background thread.
class RunningServer {
 public:
  RunningServer(std::shared_ptr<const VectorIndex> index, ServeOptions options)
      : server_(std::move(index), with_ephemeral_port(std::move(options))) {
    port_ = server_.bind();
    thread_ = std::thread([this] { server_.run(); });
  }
  ~RunningServer() {
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }
  httplib::Client client() const {
    httplib::Client cli("127.0.0.1", port_);
    cli.set_read_timeout(10, 0);
    cli.set_tcp_nodelay(true);  // else Nagle delays the body behind the headers (40 ms)
    return cli;
  }

 private:
  static ServeOptions with_ephemeral_port(ServeOptions options) {
    options.host = "127.0.0.1";
    options.port = 0;
    return options;
  }
  SearchServer server_;
  int port_ = -1;
  std::thread thread_;
};

inline nlohmann::json embedding_body(const float* v, std::int64_t d, std::int64_t k) {
  return {{"embedding", std::vector<float>(v, v + d)}, {"k", k}};
}

// POSTs a JSON body to /v1/search; fails the test on a transport error.
inline httplib::Result post_json(httplib::Client& cli, const std::string& body) {
  httplib::Result res = cli.Post("/v1/search", body, "application/json");
  EXPECT_TRUE(res) << "transport error " << httplib::to_string(res.error());
  return res;
}

}  // namespace vlbench::testing
