// index_scale_bench: the scale target on a synthetic clustered gallery (synthetic.hpp,
// default 1,000,000 × 768): HNSW must reach recall@10 >= 0.95 against exact flat search at
// >= 20× exact's single-query speed. Baseline: exact `flat` single-query latency (1 thread),
// measured in the same run. Also memory per vector of every index type.
//
//   index_scale_bench [--n N] [--d D] [--queries Q] [--clusters C] [--M M]
//                     [--ef-construction E] [--ef-search V1,V2,...] [--latency-queries L]
//                     [--memory-n N] [--threads T]
//
// Recall is over all --queries; latencies are p50 over the first --latency-queries queries,
// one query per call on 1 thread (median of --reps passes). The memory of the types other
// than flat and hnsw is measured on indexes built from the first --memory-n gallery rows
// (IVF training dominates their build; bytes per vector hardly depend on n).
#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include "bench_util.hpp"

#include <chrono>
#include <thread>

#include "vlbench/core/error.hpp"
#include "vlbench/index/index_bench.hpp"
#include "vlbench/index/synthetic.hpp"
#include "vlbench/index/vector_index.hpp"

namespace vlbench {
namespace {

using namespace vlbench::bench;

struct Options {
  std::int64_t n = 1000000;
  std::int64_t d = 768;
  std::int64_t queries = 200;
  std::int64_t clusters = 0;
  std::string m = "16";
  std::string ef_construction = "100";
  std::string ef_search = "32,64,128,256";
  std::int64_t latency_queries = 50;
  std::int64_t memory_n = 100000;
  int threads = static_cast<int>(std::thread::hardware_concurrency());
  int reps = 1;
};

const auto g_start = std::chrono::steady_clock::now();

void print_progress(const std::string& what) {
  fmt::print(stderr, "[{:7.1f} s] {}\n", seconds_since(g_start), what);
}

int run(const Options& o) {
  fmt::print("index_scale_bench: {} × {} synthetic clustered gallery, {} queries, k = 10\n", o.n,
             o.d, o.queries);
  fmt::print("machine: {} ({} threads), load average {}\n", cpu_model(), o.threads, load_average());
  SyntheticSpec spec;
  spec.n = o.n;
  spec.d = o.d;
  spec.n_queries = o.queries;
  spec.clusters = o.clusters;
  auto start = std::chrono::steady_clock::now();
  const SyntheticData data = make_synthetic_clustered(spec, o.threads);
  fmt::print("generated in {:.1f} s ({} clusters, latent dim {}, spread {}, noise {})\n",
             seconds_since(start), data.clusters, spec.latent_dim, spec.spread, spec.noise);

  const std::vector<IndexBenchSetting> settings = {
      {"flat", {}, {}},
      {"hnsw",
       {{"M", o.m}, {"efConstruction", o.ef_construction}},
       {parse_sweep("efSearch=" + o.ef_search, "--ef-search")}},
  };
  IndexBenchOptions options;
  options.k = 10;
  options.threads = o.threads;
  options.batch_reps = std::max(1, o.reps);
  options.latency_reps = std::max(1, o.reps);
  options.latency_queries = o.latency_queries;
  options.progress = print_progress;
  const IndexBenchResult result =
      run_index_bench(data.gallery.values.data(), o.n, data.queries.values.data(), o.queries, o.d,
                      settings, options, make_index);

  const IndexMeasurement& exact = result.measurements.front();
  fmt::print(
      "\nbaseline: exact flat, single query p50 {:.3f} ms (p95 {:.3f}, p99 {:.3f}), "
      "batched {:.1f} queries/s on {} threads\n",
      exact.latency_p50_ms, exact.latency_p95_ms, exact.latency_p99_ms, exact.batched_qps,
      result.threads);
  fmt::print(
      "\n| index | recall@1 | recall@10 | p50 ms | p99 ms | speedup vs exact (p50) | "
      "batched q/s | build s |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
  bool met = false;
  std::string best;
  for (const IndexMeasurement& m : result.measurements) {
    const double speedup = exact.latency_p50_ms / m.latency_p50_ms;
    IndexParams all = m.build_params;
    for (const auto& [name, value] : m.search_params) all[name] = value;
    fmt::print("| {} {} | {:.4f} | {:.4f} | {:.3f} | {:.3f} | {:.1f}× | {:.0f} | {:.1f} |\n",
               m.type, format_params(all), m.recall_at_1, m.recall_at_10, m.latency_p50_ms,
               m.latency_p99_ms, speedup, m.batched_qps, m.build_seconds);
    if (m.type == "hnsw" && m.recall_at_10 >= 0.95 && speedup >= 20 && !met) {
      met = true;
      best = fmt::format("{} (recall@10 {:.4f}, {:.1f}× exact)", format_params(all), m.recall_at_10,
                         speedup);
    }
  }
  fmt::print("\ntarget (hnsw recall@10 >= 0.95 at >= 20x exact single-query speed): {}\n",
             met ? "MET by hnsw " + best : "NOT MET");

  // Memory per vector of every type.
  const std::int64_t memory_n = std::min(o.memory_n, o.n);
  fmt::print("\n| index | built on n | memory | bytes/vector |\n|---|---:|---:|---:|\n");
  for (const std::string& type : index_types()) {
    std::int64_t bytes = 0, n_built = 0;
    for (const IndexMeasurement& m : result.measurements) {
      if (m.type == type) {
        bytes = m.memory_bytes;
        n_built = o.n;
      }
    }
    if (n_built == 0) {
      print_progress(fmt::format("memory: building {} on {} rows", type, memory_n));
      std::unique_ptr<VectorIndex> index = make_index(type, o.d);
      index->add(memory_n, data.gallery.values.data());
      bytes = index->memory_bytes();
      n_built = memory_n;
    }
    fmt::print("| {} | {} | {:.1f} MiB | {:.1f} |\n", type, n_built,
               static_cast<double>(bytes) / (1 << 20),
               static_cast<double>(bytes) / static_cast<double>(n_built));
  }
  return met ? 0 : 2;
}

}  // namespace
}  // namespace vlbench

int main(int argc, char** argv) {
  vlbench::Options o;
  CLI::App app{"HNSW recall and speed against exact search on a synthetic clustered gallery"};
  app.add_option("--n", o.n, "gallery rows")->capture_default_str();
  app.add_option("--d", o.d, "dimension")->capture_default_str();
  app.add_option("--queries", o.queries, "queries (recall is over all of them)")
      ->capture_default_str();
  app.add_option("--clusters", o.clusters, "clusters (0: n / 1000)")->capture_default_str();
  app.add_option("--M", o.m, "HNSW M")->capture_default_str();
  app.add_option("--ef-construction", o.ef_construction, "HNSW efConstruction")
      ->capture_default_str();
  app.add_option("--ef-search", o.ef_search, "efSearch values, comma separated")
      ->capture_default_str();
  app.add_option("--latency-queries", o.latency_queries, "queries timed one at a time")
      ->capture_default_str();
  app.add_option("--memory-n", o.memory_n, "rows for the memory-only builds")
      ->capture_default_str();
  app.add_option("--threads", o.threads, "threads (batched search, generation)")
      ->capture_default_str();
  app.add_option("--reps", o.reps, "timed repetitions")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    return vlbench::run(o);
  } catch (const vlbench::Error& e) {
    fmt::print(stderr, "index_scale_bench: error: {}\n", e.what());
    return 1;
  }
}
