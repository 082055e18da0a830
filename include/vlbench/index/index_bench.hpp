// Index measurement: accuracy against exact search and speed of every VectorIndex setting on
// the same gallery and queries (the `vlbench index bench` command and bench/index_scale_bench).
//
// For every setting (type + build parameters + one combination of search-time values):
//   recall@r (r = 1, 10, k) = |approx top-r ∩ exact top-r| / r, averaged over the queries,
//     where "exact" is a `flat` index built from the same gallery (ties: lower row first, so
//     flat measured against itself scores exactly 1). recall@1 is thus the rate at which the
//     approximate top-1 is the exact top-1. Rows with id -1 (nothing found) count as misses.
//   batched queries/s: all queries in one search() call with `threads` threads; one warm-up
//     call, then `batch_reps` timed calls, median.
//   single-query latency p50/p95/p99: `latency_queries` queries, one search() call each with
//     1 thread; one warm-up pass over min(32, latency_queries) queries, then `latency_reps`
//     timed passes; each percentile is the median over the passes.
//   build seconds (make + add, measured once: each (type, build parameters) is built once and
//     all its search-time values are swept on that one build), memory_bytes() and bytes per
//     vector.
// The recall–speed Pareto frontier (recall@10 against batched queries/s) is marked over all
// settings: a setting is on it when no other has >= recall and >= queries/s with one of them
// strictly greater (equal points are all on it).
#pragma once

#include <vlbench/index/vector_index.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace vlbench {

// How the benchmark makes indexes: make_index, or a replacement in tests.
using IndexFactory = std::function<std::unique_ptr<VectorIndex>(
    const std::string& type, std::int64_t dim, const IndexParams& params)>;

// One search-time parameter and the values to sweep ("efSearch" -> {"16", "64"}).
struct SweepParam {
  std::string name;
  std::vector<std::string> values;
};

// One index build and the search-time sweep run on it: every combination of the sweeps'
// values (the cartesian product, first sweep outermost); no sweeps: one run with the
// defaults.
struct IndexBenchSetting {
  std::string type;
  IndexParams build_params;
  std::vector<SweepParam> sweeps;
};

struct IndexBenchOptions {
  std::int64_t k = 10;  // search depth; >= 10 (recall@10 is the frontier's accuracy)
  int threads = 0;      // batched search threads (<= 0: all cores)
  int batch_reps = 3;
  int latency_reps = 3;
  std::int64_t latency_queries = 1000;  // the first this many queries (<= 0: all)
  // Called before each setting is built and measured ("hnsw M=16: build"), for progress.
  std::function<void(const std::string&)> progress;
};

struct IndexMeasurement {
  std::string type;
  IndexParams build_params;   // as given
  IndexParams search_params;  // this row's sweep values (empty: defaults)
  IndexParams params;         // the index's effective params() while measured
  double recall_at_1 = 0;
  double recall_at_10 = 0;
  double recall_at_k = 0;
  double batched_qps = 0;
  double batched_seconds = 0;  // median wall time of one batched call
  double latency_p50_ms = 0;
  double latency_p95_ms = 0;
  double latency_p99_ms = 0;
  double build_seconds = 0;
  std::int64_t memory_bytes = 0;
  double bytes_per_vector = 0;
  bool pareto = false;
};

struct IndexBenchResult {
  std::int64_t n_gallery = 0;
  std::int64_t n_queries = 0;
  std::int64_t d = 0;
  std::int64_t k = 0;
  std::int64_t latency_queries = 0;            // queries actually timed one at a time
  int threads = 0;                             // batched threads actually used
  double exact_build_seconds = 0;              // the ground-truth flat index
  double exact_search_seconds = 0;             // its one batched search for the ground truth
  std::vector<IndexMeasurement> measurements;  // settings in order, sweeps expanded
};

// gallery: n_gallery × d, queries: n_queries × d, row-major unit vectors. Errors: no
// settings, n_gallery < k, k < 10, n_queries < 1, d < 1, and whatever the factory or
// set_search_param throws for a bad type or parameter (named there).
IndexBenchResult run_index_bench(const float* gallery, std::int64_t n_gallery, const float* queries,
                                 std::int64_t n_queries, std::int64_t d,
                                 const std::vector<IndexBenchSetting>& settings,
                                 const IndexBenchOptions& options, const IndexFactory& factory);

// recall@r of one query: |approx[0, r) ∩ exact[0, r)| / r over gallery ids (-1 never
// matches). approx and exact hold at least r ids.
double recall_at(const std::int64_t* approx, const std::int64_t* exact, std::int64_t r);

// Mean recall@r over the n rows of two n × k id matrices (r <= k).
double mean_recall_at(const SearchResult& approx, const SearchResult& exact, std::int64_t r);

// Pareto flags of points (x[i], y[i]), both larger-is-better (see the header comment).
std::vector<bool> pareto_frontier(const std::vector<double>& x, const std::vector<double>& y);

// Value at quantile q in [0, 1] of `values` by linear interpolation between order statistics
// (numpy's default); values non-empty.
double percentile(std::vector<double> values, double q);

// "M=16 efSearch=64" (params in name order; empty: "defaults").
std::string format_params(const IndexParams& params);

// Parses "NAME=VALUE" (Error naming `what` unless there is a non-empty name before '=' and a
// non-empty value after it).
std::pair<std::string, std::string> parse_param_assignment(const std::string& text,
                                                           const std::string& what);
// Parses "NAME=V1,V2,..." (same rules; every value non-empty).
SweepParam parse_sweep(const std::string& text, const std::string& what);

// The settings `vlbench index bench` runs when none are given, for a gallery of n rows of d
// dims: flat, flat-int8, flat-binary, hnsw (efSearch 16..256); when n >= 1,000 also ivf-flat
// and, if d is a multiple of 8 (its default PQ m = d / 8 must divide d), ivf-pq, both with
// nprobe 1, 4, 16, 64 up to their default nlist.
std::vector<IndexBenchSetting> default_index_bench_settings(std::int64_t n, std::int64_t d);

}  // namespace vlbench
