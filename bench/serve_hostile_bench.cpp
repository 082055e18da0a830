// serve_hostile_bench: `vlbench serve` (a child process, with a generated tiny CLIP model and a
// flat index) under hostile clients, all at once, against the same good clients on the idle
// server measured first in the same run.
//
//   serve_hostile_bench [--idle 1000] [--slowloris 50] [--pipeliners 20] [--good 4]
//                       [--baseline-seconds 10] [--seconds 30] [--n 20000] [--threads 2]
//                       [--max-rss-mb 1024] [--no-latency-target] [--vlbench PATH]
//
// Hostile clients: --idle sockets that connect and send nothing (reconnecting when the server
// closes them), --slowloris clients sending one header byte per second and never finishing,
// --pipeliners clients sending bursts of 10 pipelined searches every 200 ms, one client sending
// random bytes, one client posting 30000 x 30000 PNG bombs. Good clients: embedding searches
// on kept-alive connections, each answer checked against an in-process flat search.
//
// Targets (exit 1 when one is missed): >= 99.9% of good requests answered correctly, good
// p99 within 3x the idle server's p99 (unless --no-latency-target: the short version in the
// test suite shares the machine with other tests), server peak RSS under --max-rss-mb, the
// server alive throughout and exiting 0 on SIGTERM, and /metrics counts that add up.
#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include "bench_util.hpp"
#include "serve/raw_http.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vlbench/core/error.hpp"
#include "vlbench/core/random.hpp"
#include "vlbench/index/vector_index.hpp"

extern char** environ;

namespace vlbench {
namespace {

using namespace vlbench::bench;
using vlbench::testing::http_get;
using vlbench::testing::http_post;
using vlbench::testing::RawClient;
using Clock = std::chrono::steady_clock;
using nlohmann::json;
using namespace std::chrono_literals;

struct Options {
  int idle = 1000;
  int slowloris = 50;
  int pipeliners = 20;
  int good = 4;
  double baseline_seconds = 10;
  double seconds = 30;
  std::int64_t n = 20000;
  int threads = 2;
  double max_rss_mb = 1024;
  bool no_latency_target = false;
  std::string vlbench = VLBENCH_BINARY;
};

// Runs a command to completion; its exit status.
int run_command(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return -1;
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class ServerProcess {
 public:
  explicit ServerProcess(const std::vector<std::string>& args) {
    int fds[2];
    if (pipe(fds) != 0) fail("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) != 0) {
      fail("cannot start {}", args[0]);
    }
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    out_ = fdopen(fds[0], "r");
    char line[1024];
    if (!fgets(line, sizeof line, out_)) fail("vlbench serve printed nothing");
    const std::string text(line);
    const auto at = text.find("127.0.0.1:");
    if (at == std::string::npos) fail("unexpected first line: {}", text);
    port_ = std::stoi(text.substr(at + 10));
  }
  ~ServerProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_) fclose(out_);
  }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  bool alive() const {
    int status = 0;
    return waitpid(pid_, &status, WNOHANG) == 0;
  }
  // Resident and peak resident set, MB.
  std::pair<double, double> rss_mb() const {
    std::ifstream in(fmt::format("/proc/{}/status", pid_));
    std::string line;
    double rss = 0, hwm = 0;
    while (std::getline(in, line)) {
      if (line.rfind("VmRSS:", 0) == 0) rss = std::stod(line.substr(6)) / 1024;
      if (line.rfind("VmHWM:", 0) == 0) hwm = std::stod(line.substr(6)) / 1024;
    }
    return {rss, hwm};
  }
  // SIGTERM; the exit status (-1 unless a normal exit) and the seconds it took.
  std::pair<int, double> terminate() {
    const auto start = Clock::now();
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, seconds_since(start)};
  }

 private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
  int port_ = -1;
};

// Queries and the ids an in-process flat search gives for them (k = 10).
struct Workload {
  std::int64_t d = 0;
  std::vector<std::string> bodies;
  std::vector<std::vector<std::int64_t>> expected;
};

bool ids_match(const std::string& body, const std::vector<std::int64_t>& expected) {
  const json parsed = json::parse(body, nullptr, false);
  if (!parsed.is_object() || !parsed.contains("ids")) return false;
  return parsed["ids"].get<std::vector<std::int64_t>>() == expected;
}

struct GoodStats {
  std::mutex mutex;
  std::vector<double> latencies_ms;
  std::int64_t sent = 0, correct = 0;
};

void good_client(int port, const Workload& w, int seed, const std::atomic<bool>& stop,
                 GoodStats& stats) {
  std::unique_ptr<RawClient> client;
  std::vector<double> latencies;
  std::int64_t sent = 0, correct = 0;
  for (std::size_t i = static_cast<std::size_t>(seed); !stop; i += 7) {
    if (!client) client = std::make_unique<RawClient>(port);
    const std::size_t q = i % w.bodies.size();
    const auto start = Clock::now();
    ++sent;
    const bool sent_ok = client->send(http_post("/v1/search", w.bodies[q]));
    const auto reply = sent_ok ? client->read_reply(10s) : std::nullopt;
    latencies.push_back(seconds_since(start) * 1e3);
    if (reply && reply->status == 200 && ids_match(reply->body, w.expected[q])) {
      ++correct;
    } else {
      client.reset();  // reconnect after a failure
    }
    if (reply && reply->header("connection") == "close") client.reset();
  }
  std::lock_guard<std::mutex> lock(stats.mutex);
  stats.latencies_ms.insert(stats.latencies_ms.end(), latencies.begin(), latencies.end());
  stats.sent += sent;
  stats.correct += correct;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto at = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(at, v.size() - 1)];
}

struct Phase {
  double p50 = 0, p99 = 0;
  std::int64_t sent = 0, correct = 0;
  double seconds = 0;
};

Phase run_good(int port, const Workload& w, int clients, double seconds) {
  GoodStats stats;
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  const auto start = Clock::now();
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] { good_client(port, w, c, stop, stats); });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  return {percentile(stats.latencies_ms, 0.5), percentile(stats.latencies_ms, 0.99), stats.sent,
          stats.correct, seconds_since(start)};
}

struct Counters {
  std::atomic<std::int64_t> idle_reconnects{0}, slow_reconnects{0}, pipelined_sent{0},
      pipelined_correct{0}, pipelined_503{0}, random_sent{0}, random_400{0}, bombs_sent{0},
      bombs_413{0};
};

// Sample of a metric line `series value` in the exposition text (0 when absent).
double metric(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  double sum = 0;
  while (std::getline(in, line)) {
    if (line.rfind(series, 0) == 0 && line.size() > series.size() &&
        (line[series.size()] == ' ' || line[series.size()] == '{')) {
      sum += std::stod(line.substr(line.rfind(' ') + 1));
    }
  }
  return sum;
}

std::string base64(const std::string& bytes) {
  static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    std::uint32_t v = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 2]);
    out += a[(v >> 18) & 63];
    out += a[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? a[(v >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? a[v & 63] : '=';
  }
  return out;
}

// A real PNG (tests/fixtures/vision/pillow/rgb8.png) whose IHDR is edited to declare
// width x height, its CRC fixed: a few hundred bytes that would decode to width*height*3.
std::string png_bomb(std::uint32_t width, std::uint32_t height) {
  std::ifstream in(std::filesystem::path(VLBENCH_SOURCE_DIR) / "tests/fixtures/vision/pillow/rgb8.png",
                   std::ios::binary);
  std::string png{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (png.size() < 33 || png.substr(12, 4) != "IHDR") fail("rgb8.png: not the expected PNG");
  const auto put_be32 = [&](std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) png[at + i] = static_cast<char>((v >> (24 - 8 * i)) & 0xff);
  };
  put_be32(16, width);
  put_be32(20, height);
  std::uint32_t crc = 0xffffffffu;
  for (std::size_t i = 12; i < 29; ++i) {
    crc ^= static_cast<unsigned char>(png[i]);
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  put_be32(29, crc ^ 0xffffffffu);
  return png;
}

int run(const Options& o) {
  // Every socket is a descriptor: lift the soft limit (the server does the same).
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);

  char tmpl[] = "/tmp/vlbench-hostile-XXXXXX";
  const std::filesystem::path dir = mkdtemp(tmpl);
  struct Cleanup {
    std::filesystem::path dir;
    ~Cleanup() {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  } cleanup{dir};
  if (run_command({o.vlbench, "make-model", "--arch", "clip", "--size", "tiny", "--out",
                   (dir / "model").string()}) != 0) {
    fail("vlbench make-model failed");
  }
  std::ifstream config_file(dir / "model" / "config.json");
  const json config = json::parse(config_file);
  Workload w;
  w.d = config.at("projection_dim").get<std::int64_t>();
  SplitMix64 rng(17);
  std::vector<float> gallery(static_cast<std::size_t>(o.n * w.d));
  for (float& v : gallery) v = static_cast<float>(rng.normal());
  std::unique_ptr<VectorIndex> index = make_index("flat", w.d);
  index->add(o.n, gallery.data());
  save_index(*index, dir / "index", "hostile-bench");
  for (int q = 0; q < 256; ++q) {
    std::vector<float> query(static_cast<std::size_t>(w.d));
    double norm = 0;
    for (float& v : query) {
      v = static_cast<float>(rng.normal());
      norm += static_cast<double>(v) * v;
    }
    for (float& v : query) v = static_cast<float>(v / std::sqrt(norm));
    w.bodies.push_back(json{{"embedding", query}, {"k", 10}}.dump());
    const SearchResult r = index->search(1, query.data(), 10, 1);
    w.expected.emplace_back(r.ids.begin(), r.ids.end());
  }

  std::printf("serve_hostile_bench: %s, %u hardware threads; load average before: %s\n",
              cpu_model().c_str(), std::thread::hardware_concurrency(), load_average().c_str());
  std::printf("server: vlbench serve --threads %d, flat index %lld x %lld, tiny CLIP model\n",
              o.threads, static_cast<long long>(o.n), static_cast<long long>(w.d));
  ServerProcess server({o.vlbench, "serve", "--index", (dir / "index").string(), "--model",
                        (dir / "model").string(), "--port", "0", "--threads",
                        std::to_string(o.threads), "--model-threads", "1"});
  const int port = server.port();

  std::atomic<bool> sampling{true};
  double peak_rss = 0;
  std::thread sampler([&] {
    while (sampling) {
      peak_rss = std::max(peak_rss, server.rss_mb().first);
      std::this_thread::sleep_for(100ms);
    }
  });

  // Warm up, then the idle baseline.
  run_good(port, w, o.good, 1.0);
  const Phase idle = run_good(port, w, o.good, o.baseline_seconds);
  std::printf("idle server:   %d good clients, %lld requests, p50 %.3f ms, p99 %.3f ms\n", o.good,
              static_cast<long long>(idle.sent), idle.p50, idle.p99);
  std::fflush(stdout);

  Counters counters;
  std::atomic<bool> stop{false};
  std::vector<std::thread> hostile;
  // Idle sockets, reopened when the server closes them.
  hostile.emplace_back([&] {
    std::vector<std::unique_ptr<RawClient>> sockets;
    for (int i = 0; i < o.idle; ++i) sockets.push_back(std::make_unique<RawClient>(port));
    while (!stop) {
      for (auto& s : sockets) {
        if (stop) break;
        if (s->closed_within(0ms) || !s->connected()) {
          s = std::make_unique<RawClient>(port);
          ++counters.idle_reconnects;
        }
      }
      std::this_thread::sleep_for(100ms);
    }
  });
  // Slowloris: one more header byte per second per socket, never the end of the headers.
  hostile.emplace_back([&] {
    std::vector<std::unique_ptr<RawClient>> sockets;
    for (int i = 0; i < o.slowloris; ++i) {
      sockets.push_back(std::make_unique<RawClient>(port));
      sockets.back()->send("POST /v1/search HTTP/1.1\r\nHost: x\r\nX-Slow: ");
    }
    while (!stop) {
      for (auto& s : sockets) {
        if (!s->send("a") || s->closed_within(0ms)) {
          s = std::make_unique<RawClient>(port);
          s->send("POST /v1/search HTTP/1.1\r\nHost: x\r\nX-Slow: ");
          ++counters.slow_reconnects;
        }
      }
      for (int t = 0; t < 10 && !stop; ++t) std::this_thread::sleep_for(100ms);
    }
  });
  for (int p = 0; p < o.pipeliners; ++p) {
    hostile.emplace_back([&, p] {
      std::unique_ptr<RawClient> client;
      std::size_t q = static_cast<std::size_t>(p) * 13;
      while (!stop) {
        if (!client) client = std::make_unique<RawClient>(port);
        std::string burst;
        std::vector<std::size_t> asked;
        for (int r = 0; r < 10; ++r, ++q) {
          asked.push_back(q % w.bodies.size());
          burst += http_post("/v1/search", w.bodies[asked.back()]);
        }
        counters.pipelined_sent += 10;
        if (!client->send(burst)) {
          client.reset();
          continue;
        }
        for (const std::size_t a : asked) {
          const auto reply = client->read_reply(10s);
          if (!reply) {
            client.reset();
            break;
          }
          if (reply->status == 200 && ids_match(reply->body, w.expected[a])) {
            ++counters.pipelined_correct;
          }
          if (reply->status == 503) ++counters.pipelined_503;
        }
        if (client && client->closed_within(0ms)) client.reset();
        for (int t = 0; t < 2 && !stop; ++t) std::this_thread::sleep_for(100ms);
      }
    });
  }
  // Random bytes: a new connection each time, 4 KiB of noise, read the reply.
  hostile.emplace_back([&] {
    std::mt19937_64 noise(99);
    while (!stop) {
      RawClient client(port);
      std::string bytes(4096, '\0');
      for (char& c : bytes) c = static_cast<char>(noise());
      ++counters.random_sent;
      client.send(bytes);
      const auto reply = client.read_reply(5s);
      if (reply && reply->status >= 400 && reply->status < 500) ++counters.random_400;
      std::this_thread::sleep_for(50ms);
    }
  });
  // Image bombs.
  hostile.emplace_back([&] {
    const std::string body = json{{"image_base64", base64(png_bomb(30000, 30000))}}.dump();
    std::unique_ptr<RawClient> client;
    while (!stop) {
      if (!client) client = std::make_unique<RawClient>(port);
      ++counters.bombs_sent;
      const auto reply = client->send(http_post("/v1/search", body)) ? client->read_reply(10s)
                                                                       : std::nullopt;
      if (reply && reply->status == 413) {
        ++counters.bombs_413;
      } else {
        client.reset();
      }
      std::this_thread::sleep_for(50ms);
    }
  });
  std::this_thread::sleep_for(2s);  // every hostile client connected
  const Phase load = run_good(port, w, o.good, o.seconds);
  const bool alive_during = server.alive();
  stop = true;
  for (auto& t : hostile) t.join();
  std::this_thread::sleep_for(500ms);

  RawClient scraper(port);
  scraper.send(http_get("/metrics"));
  const auto scraped = scraper.read_reply(5s);
  const std::string m = scraped ? scraped->body : "";
  sampling = false;
  sampler.join();
  const auto [rss_now, rss_hwm] = server.rss_mb();
  const auto [exit_status, exit_seconds] = server.terminate();

  const double good_ratio =
      load.sent > 0 ? static_cast<double>(load.correct) / static_cast<double>(load.sent) : 0;
  const double p99_ratio = idle.p99 > 0 ? load.p99 / idle.p99 : 0;
  std::printf("under attack:  %d good clients, %lld requests, p50 %.3f ms, p99 %.3f ms (%.2fx the "
              "idle p99)\n",
              o.good, static_cast<long long>(load.sent), load.p50, load.p99, p99_ratio);
  std::printf("  good requests answered correctly: %lld / %lld (%.4f%%)\n",
              static_cast<long long>(load.correct), static_cast<long long>(load.sent),
              100 * good_ratio);
  std::printf("  hostile: %d idle sockets (%lld reopened), %d slowloris (%lld reopened), %d "
              "pipeliners (%lld / %lld correct, %lld 503), random bytes %lld sent (%lld 4xx), "
              "bombs %lld sent (%lld 413)\n",
              o.idle, static_cast<long long>(counters.idle_reconnects), o.slowloris,
              static_cast<long long>(counters.slow_reconnects), o.pipeliners,
              static_cast<long long>(counters.pipelined_correct),
              static_cast<long long>(counters.pipelined_sent),
              static_cast<long long>(counters.pipelined_503),
              static_cast<long long>(counters.random_sent),
              static_cast<long long>(counters.random_400),
              static_cast<long long>(counters.bombs_sent),
              static_cast<long long>(counters.bombs_413));
  std::printf("  server RSS: peak %.1f MB (VmHWM %.1f MB), after the attack %.1f MB\n", peak_rss,
              rss_hwm, rss_now);
  const double opened = metric(m, "vlbench_http_connections_opened_total");
  const double closed = metric(m, "vlbench_http_connections_closed_total");
  const double open = metric(m, "vlbench_http_connections_open");
  const double search_200 =
      metric(m, "vlbench_http_requests_total{endpoint=\"/v1/search\",code=\"200\"}");
  const double search_413 =
      metric(m, "vlbench_http_requests_total{endpoint=\"/v1/search\",code=\"413\"}");
  std::printf("  /metrics: connections opened %.0f = closed %.0f + open %.0f; search 200s %.0f, "
              "413s %.0f; in flight %.0f, queued %.0f\n",
              opened, closed, open, search_200, search_413,
              metric(m, "vlbench_in_flight_requests"), metric(m, "vlbench_queued_requests"));
  std::printf("  SIGTERM: exit status %d after %.2f s\n", exit_status, exit_seconds);
  std::printf("load average after: %s\n", load_average().c_str());

  bool ok = true;
  const auto check = [&](bool passed, const std::string& what) {
    std::printf("  [%s] %s\n", passed ? "met" : "MISSED", what.c_str());
    ok = ok && passed;
  };
  check(good_ratio >= 0.999, "good requests answered correctly >= 99.9%");
  if (!o.no_latency_target) {
    check(p99_ratio <= 3.0, "good p99 within 3x the idle server's p99");
  }
  check(peak_rss <= o.max_rss_mb, fmt::format("server peak RSS <= {} MB", o.max_rss_mb));
  check(alive_during && exit_status == 0, "server alive throughout, exit 0 on SIGTERM");
  check(scraped.has_value() && opened == closed + open,
        "connections opened = closed + open in /metrics");
  check(metric(m, "vlbench_in_flight_requests") == 0 && metric(m, "vlbench_queued_requests") == 0,
        "nothing in flight or queued after the attack");
  check(search_413 >= static_cast<double>(counters.bombs_413) && counters.bombs_413 > 0,
        "every bomb the client saw refused is counted as a 413");
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace vlbench

int main(int argc, char** argv) {
  vlbench::Options o;
  CLI::App app("vlbench serve under hostile clients, against its own idle baseline");
  app.add_option("--idle", o.idle, "idle sockets")->capture_default_str();
  app.add_option("--slowloris", o.slowloris, "slowloris clients")->capture_default_str();
  app.add_option("--pipeliners", o.pipeliners, "pipelining clients")->capture_default_str();
  app.add_option("--good", o.good, "good clients")->capture_default_str();
  app.add_option("--baseline-seconds", o.baseline_seconds, "idle-server measurement")
      ->capture_default_str();
  app.add_option("--seconds", o.seconds, "measurement under attack")->capture_default_str();
  app.add_option("--n", o.n, "gallery size")->capture_default_str();
  app.add_option("--threads", o.threads, "server worker threads")->capture_default_str();
  app.add_option("--max-rss-mb", o.max_rss_mb, "server RSS bound")->capture_default_str();
  app.add_flag("--no-latency-target", o.no_latency_target, "report the p99 ratio only");
  app.add_option("--vlbench", o.vlbench, "the vlbench binary")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    return vlbench::run(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "serve_hostile_bench: %s\n", e.what());
    return 2;
  }
}
