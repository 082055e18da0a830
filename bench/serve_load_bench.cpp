// serve_load_bench: throughput and latency of `vlbench serve` under N concurrent clients on
// loopback, against the named baseline of the same N threads calling index.search directly
// in-process (the ratio is the cost of HTTP + JSON).
//
//   serve_load_bench [--n 100000] [--d 512] [--type flat] [--param NAME=VALUE ...] [--k 10]
//                    [--clients 4] [--threads 4] [--seconds 3] [--warmup 0.5] [--rounds 3]
//                    [--url http://HOST:PORT]
//
// The gallery and queries are synthetic clustered unit vectors (index/synthetic.hpp). Each
// client sends embedding queries ({"embedding": [...], "k": K}, bodies serialized before the
// clock starts) over one kept-alive connection, for --seconds after --warmup; rounds of
// baseline and HTTP alternate and the medians over rounds are compared. With --url the
// HTTP run targets that server (whose index must have dimension --d) and the in-process
// baseline still runs on the synthetic index here.
#include <fmt/format.h>
#include <httplib.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include "bench_util.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "vlbench/core/error.hpp"
#include "vlbench/index/synthetic.hpp"
#include "vlbench/index/vector_index.hpp"
#include "vlbench/serve/server.hpp"

namespace vlbench {
namespace {

using namespace vlbench::bench;
using Clock = std::chrono::steady_clock;

struct Options {
  std::int64_t n = 100000;
  std::int64_t d = 512;
  std::string type = "flat";
  std::vector<std::string> params;
  std::int64_t k = 10;
  int clients = 4;
  int threads = 4;
  double seconds = 3.0;
  double warmup = 0.5;
  int rounds = 3;
  std::string url;
};

struct LoadResult {
  std::int64_t requests = 0;
  std::int64_t failures = 0;
  double seconds = 0;
  double p50_ms = 0, p99_ms = 0;
  double per_s() const { return static_cast<double>(requests) / seconds; }
};

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

// Runs `clients` threads; each calls one(client, i) for i = 0, 1, ... until the time is up
// (warm-up calls not recorded); one() returns false on a failed request.
template <typename MakeWorker>
LoadResult drive(const Options& o, MakeWorker make_worker) {
  std::vector<std::vector<double>> latencies(o.clients);
  std::vector<std::int64_t> failures(o.clients, 0);
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  Clock::time_point measure_start, end;
  std::vector<std::thread> threads;
  for (int c = 0; c < o.clients; ++c) {
    threads.emplace_back([&, c] {
      auto one = make_worker(c);
      ++ready;
      while (!go.load()) std::this_thread::yield();
      std::int64_t i = c * 7919;
      for (;;) {
        const Clock::time_point t0 = Clock::now();
        if (t0 >= end) break;
        const bool ok = one(i++);
        const Clock::time_point t1 = Clock::now();
        if (t0 < measure_start) continue;
        if (ok) {
          latencies[c].push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        } else {
          ++failures[c];
        }
      }
    });
  }
  while (ready.load() < o.clients) std::this_thread::yield();
  const Clock::time_point start = Clock::now();
  measure_start =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.warmup));
  end = measure_start +
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
  go.store(true);
  for (auto& t : threads) t.join();
  LoadResult r;
  std::vector<double> all;
  for (int c = 0; c < o.clients; ++c) {
    all.insert(all.end(), latencies[c].begin(), latencies[c].end());
    r.failures += failures[c];
  }
  r.requests = static_cast<std::int64_t>(all.size());
  r.seconds = o.seconds;
  r.p50_ms = percentile(all, 0.50);
  r.p99_ms = percentile(all, 0.99);
  return r;
}

void print_row(const std::string& name, const Options& o, const LoadResult& r) {
  fmt::print("{:<28} {:>7} {:>9} {:>9} {:>11.1f} {:>9.3f} {:>9.3f}\n", name, o.clients, r.requests,
             r.failures, r.per_s(), r.p50_ms, r.p99_ms);
}

// Per-field medians over rounds (requests and failures summed).
LoadResult median_result(const std::vector<LoadResult>& rounds) {
  std::vector<double> rate, p50, p99;
  LoadResult m;
  for (const LoadResult& r : rounds) {
    rate.push_back(r.per_s());
    p50.push_back(r.p50_ms);
    p99.push_back(r.p99_ms);
    m.requests += r.requests;
    m.failures += r.failures;
  }
  // seconds chosen so that per_s() gives the median rate.
  m.seconds = static_cast<double>(m.requests) / median_of(rate);
  m.p50_ms = median_of(p50);
  m.p99_ms = median_of(p99);
  return m;
}

int run(const Options& o) {
  SyntheticSpec spec;
  spec.n = o.n;
  spec.d = o.d;
  spec.n_queries = 1024;
  spec.seed = 42;
  const SyntheticData data = make_synthetic_clustered(spec);
  std::shared_ptr<VectorIndex> index = make_index(o.type, o.d);
  const Clock::time_point build_start = Clock::now();
  index->add(data.gallery.rows, data.gallery.values.data());
  const double build_s = seconds_since(build_start);
  for (const std::string& param : o.params) {
    const auto eq = param.find('=');
    if (eq == std::string::npos) fail("--param {}: expected NAME=VALUE", param);
    index->set_search_param(param.substr(0, eq), param.substr(eq + 1));
  }
  std::vector<std::string> bodies;
  for (std::int64_t q = 0; q < data.queries.rows; ++q) {
    const float* row = data.queries.row(q);
    bodies.push_back(
        nlohmann::json{{"embedding", std::vector<float>(row, row + o.d)}, {"k", o.k}}.dump());
  }

  fmt::print(
      "serve_load_bench: {} index, {} x {} synthetic clustered gallery (built in {:.2f} s), "
      "k={}, {} clients, {} server threads, {:.1f} s per run after {:.1f} s warm-up, {} rounds\n",
      o.type, o.n, o.d, build_s, o.k, o.clients, o.threads, o.seconds, o.warmup, o.rounds);
  fmt::print("machine: {}, {} hardware threads, load average {}\n", cpu_model(),
             std::thread::hardware_concurrency(), load_average());
  fmt::print("{:<28} {:>7} {:>9} {:>9} {:>11} {:>9} {:>9}\n", "mode", "clients", "requests",
             "failures", "requests/s", "p50 ms", "p99 ms");

  std::unique_ptr<SearchServer> server;
  std::thread server_thread;
  const std::string host = "127.0.0.1";
  int port = 0;
  if (o.url.empty()) {
    ServeOptions options;
    options.port = 0;
    options.threads = o.threads;
    options.max_k = std::max<std::int64_t>(o.k, 1000);
    server = std::make_unique<SearchServer>(index, options);
    port = server->bind();
    server_thread = std::thread([&] { server->run(); });
  }

  // Rounds alternate baseline and HTTP so that drift in the machine's load hits both alike.
  std::vector<LoadResult> direct, http;
  for (int round = 0; round < o.rounds; ++round) {
    // Baseline: the same threads calling index.search in-process, one query per call.
    direct.push_back(drive(o, [&](int) {
      return [&](std::int64_t i) {
        const float* q = data.queries.row(i % data.queries.rows);
        const SearchResult r = index->search(1, q, o.k, 1);
        return r.ids[0] >= 0;
      };
    }));
    print_row(fmt::format("in-process index.search #{}", round + 1), o, direct.back());
    http.push_back(drive(o, [&](int) {
      auto cli = o.url.empty() ? std::make_shared<httplib::Client>(host, port)
                               : std::make_shared<httplib::Client>(o.url);
      cli->set_keep_alive(true);
      cli->set_tcp_nodelay(true);
      cli->set_read_timeout(30, 0);
      return [cli, &bodies](std::int64_t i) {
        auto res = cli->Post("/v1/search", bodies[static_cast<std::size_t>(i) % bodies.size()],
                             "application/json");
        return res && res->status == 200;
      };
    }));
    print_row(fmt::format("HTTP POST /v1/search #{}", round + 1), o, http.back());
  }
  if (server) {
    server->stop();
    server_thread.join();
  }
  const LoadResult d = median_result(direct), h = median_result(http);
  print_row("in-process (median)", o, d);
  print_row("HTTP (median)", o, h);
  fmt::print(
      "HTTP / in-process (medians): throughput {:.3f}x, p50 latency {:.2f}x, "
      "p99 latency {:.2f}x\n",
      h.per_s() / d.per_s(), h.p50_ms / d.p50_ms, h.p99_ms / d.p99_ms);
  std::int64_t failures = 0;
  for (const LoadResult& r : http) failures += r.failures;
  return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace vlbench

int main(int argc, char** argv) {
  vlbench::Options o;
  CLI::App app{"Load benchmark of vlbench serve against in-process index.search"};
  app.add_option("--n", o.n, "gallery rows")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--d", o.d, "dimension")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--type", o.type, "index type (make_index)")->capture_default_str();
  app.add_option("--param", o.params, "search-time parameter NAME=VALUE (repeatable)");
  app.add_option("--k", o.k, "neighbours per query")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--clients", o.clients, "concurrent client threads")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--threads", o.threads, "server worker threads")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--seconds", o.seconds, "measured seconds per run")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--warmup", o.warmup, "warm-up seconds per run")->capture_default_str();
  app.add_option("--rounds", o.rounds, "alternating rounds of baseline and HTTP")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--url", o.url, "drive this server instead of an in-process one");
  CLI11_PARSE(app, argc, argv);
  try {
    return vlbench::run(o);
  } catch (const std::exception& e) {
    fmt::print(stderr, "serve_load_bench: error: {}\n", e.what());
    return 1;
  }
}
