// Index measurement (index_bench.hpp): recall against exact flat search, batched throughput,
// single-query latency, build time and memory for every setting, and the Pareto frontier.
#include <vlbench/core/error.hpp>
#include <vlbench/index/index_bench.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

namespace vlbench {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double median(std::vector<double> values) {
  return percentile(std::move(values), 0.5);
}

// Every combination of the sweeps' values, first sweep outermost; {} when there are none.
std::vector<IndexParams> expand_sweeps(const std::vector<SweepParam>& sweeps) {
  std::vector<IndexParams> combos{IndexParams{}};
  for (const SweepParam& sweep : sweeps) {
    std::vector<IndexParams> next;
    for (const IndexParams& base : combos) {
      for (const std::string& value : sweep.values) {
        IndexParams p = base;
        p[sweep.name] = value;
        next.push_back(std::move(p));
      }
    }
    combos = std::move(next);
  }
  return combos;
}

std::string setting_name(const std::string& type, const IndexParams& build,
                         const IndexParams& search) {
  IndexParams all = build;
  for (const auto& [name, value] : search) all[name] = value;
  return fmt::format("{} {}", type, format_params(all));
}

// Batched queries/s and single-query latency of `index` as currently configured.
void measure_speed(const VectorIndex& index, const float* queries, std::int64_t n_queries,
                   std::int64_t d, const IndexBenchOptions& options, int threads,
                   std::int64_t latency_queries, IndexMeasurement& m) {
  index.search(n_queries, queries, options.k, threads);  // warm-up
  std::vector<double> batch_seconds;
  for (int r = 0; r < std::max(1, options.batch_reps); ++r) {
    const auto start = Clock::now();
    index.search(n_queries, queries, options.k, threads);
    batch_seconds.push_back(seconds_since(start));
  }
  m.batched_seconds = median(batch_seconds);
  m.batched_qps = static_cast<double>(n_queries) / std::max(m.batched_seconds, 1e-12);

  const std::int64_t warm = std::min<std::int64_t>(32, latency_queries);
  for (std::int64_t q = 0; q < warm; ++q) index.search(1, queries + q * d, options.k, 1);
  std::vector<double> p50, p95, p99;
  std::vector<double> one_pass(static_cast<std::size_t>(latency_queries));
  for (int r = 0; r < std::max(1, options.latency_reps); ++r) {
    for (std::int64_t q = 0; q < latency_queries; ++q) {
      const auto start = Clock::now();
      index.search(1, queries + q * d, options.k, 1);
      one_pass[static_cast<std::size_t>(q)] = seconds_since(start) * 1e3;
    }
    p50.push_back(percentile(one_pass, 0.50));
    p95.push_back(percentile(one_pass, 0.95));
    p99.push_back(percentile(one_pass, 0.99));
  }
  m.latency_p50_ms = median(p50);
  m.latency_p95_ms = median(p95);
  m.latency_p99_ms = median(p99);
}

}  // namespace

double recall_at(const std::int64_t* approx, const std::int64_t* exact, std::int64_t r) {
  VLB_ASSERT(r >= 1);
  std::int64_t hits = 0;
  for (std::int64_t i = 0; i < r; ++i) {
    if (approx[i] < 0) continue;
    // Ids within one row are distinct, so each approximate id matches at most once.
    if (std::find(exact, exact + r, approx[i]) != exact + r) ++hits;
  }
  return static_cast<double>(hits) / static_cast<double>(r);
}

double mean_recall_at(const SearchResult& approx, const SearchResult& exact, std::int64_t r) {
  VLB_ASSERT(approx.n == exact.n && r <= approx.k && r <= exact.k && approx.n > 0);
  double sum = 0.0;
  for (std::int64_t q = 0; q < approx.n; ++q) {
    sum += recall_at(approx.ids.data() + q * approx.k, exact.ids.data() + q * exact.k, r);
  }
  return sum / static_cast<double>(approx.n);
}

std::vector<bool> pareto_frontier(const std::vector<double>& x, const std::vector<double>& y) {
  VLB_ASSERT(x.size() == y.size());
  std::vector<bool> on(x.size(), true);
  for (std::size_t i = 0; i < x.size(); ++i) {
    for (std::size_t j = 0; j < x.size() && on[i]; ++j) {
      if (x[j] >= x[i] && y[j] >= y[i] && (x[j] > x[i] || y[j] > y[i])) on[i] = false;
    }
  }
  return on;
}

double percentile(std::vector<double> values, double q) {
  VLB_ASSERT(!values.empty() && q >= 0.0 && q <= 1.0);
  std::sort(values.begin(), values.end());
  const double pos = q * static_cast<double>(values.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (pos - static_cast<double>(lo)) * (values[hi] - values[lo]);
}

std::string format_params(const IndexParams& params) {
  if (params.empty()) return "defaults";
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out += ' ';
    out += name + "=" + value;
  }
  return out;
}

std::pair<std::string, std::string> parse_param_assignment(const std::string& text,
                                                           const std::string& what) {
  const std::size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size()) {
    fail("{}: expected NAME=VALUE, got '{}'", what, text);
  }
  return {text.substr(0, eq), text.substr(eq + 1)};
}

SweepParam parse_sweep(const std::string& text, const std::string& what) {
  const std::size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size()) {
    fail("{}: expected NAME=V1,V2,..., got '{}'", what, text);
  }
  SweepParam sweep{text.substr(0, eq), {}};
  std::size_t begin = eq + 1;
  while (true) {
    const std::size_t comma = text.find(',', begin);
    const std::string value =
        text.substr(begin, comma == std::string::npos ? std::string::npos : comma - begin);
    if (value.empty())
      fail("{}: expected NAME=V1,V2,... with no empty value, got '{}'", what, text);
    sweep.values.push_back(value);
    if (comma == std::string::npos) break;
    begin = comma + 1;
  }
  return sweep;
}

std::vector<IndexBenchSetting> default_index_bench_settings(std::int64_t n, std::int64_t d) {
  std::vector<IndexBenchSetting> settings = {
      {"flat", {}, {}},
      {"flat-int8", {}, {}},
      {"flat-binary", {}, {}},
      {"hnsw",
       {{"M", "16"}, {"efConstruction", "200"}},
       {{"efSearch", {"16", "32", "64", "128", "256"}}}},
  };
  if (n >= 1000) {
    // vector_index.hpp's default nlist; nprobe beyond it would repeat the last point.
    const auto nlist = std::max<std::int64_t>(1, std::llround(std::sqrt(static_cast<double>(n))));
    SweepParam nprobe{"nprobe", {}};
    for (std::int64_t p : {1, 4, 16, 64}) {
      if (p <= nlist) nprobe.values.push_back(std::to_string(p));
    }
    settings.push_back({"ivf-flat", {}, {nprobe}});
    if (d % 8 == 0) settings.push_back({"ivf-pq", {}, {nprobe}});
  }
  return settings;
}

IndexBenchResult run_index_bench(const float* gallery, std::int64_t n_gallery, const float* queries,
                                 std::int64_t n_queries, std::int64_t d,
                                 const std::vector<IndexBenchSetting>& settings,
                                 const IndexBenchOptions& options, const IndexFactory& factory) {
  if (settings.empty()) fail("index bench: expected at least one index setting, got none");
  if (d < 1) fail("index bench: expected a dimension >= 1, got {}", d);
  if (n_queries < 1) fail("index bench: expected at least 1 query, got {}", n_queries);
  if (options.k < 10)
    fail("index bench: k: expected >= 10 (recall@10 is measured), got {}", options.k);
  if (n_gallery < options.k) {
    fail("index bench: expected a gallery of at least k = {} vectors, got {}", options.k,
         n_gallery);
  }
  for (const IndexBenchSetting& s : settings) {
    for (const SweepParam& sweep : s.sweeps) {
      if (sweep.values.empty())
        fail("index bench: {} sweep {}: expected values", s.type, sweep.name);
    }
  }
  const int threads = options.threads > 0
                          ? options.threads
                          : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  const std::int64_t latency_queries =
      options.latency_queries <= 0 ? n_queries : std::min(options.latency_queries, n_queries);

  IndexBenchResult result;
  result.n_gallery = n_gallery;
  result.n_queries = n_queries;
  result.d = d;
  result.k = options.k;
  result.latency_queries = latency_queries;
  result.threads = threads;

  if (options.progress) options.progress("exact flat ground truth");
  auto start = Clock::now();
  std::unique_ptr<VectorIndex> exact_index = factory("flat", d, {});
  exact_index->add(n_gallery, gallery);
  result.exact_build_seconds = seconds_since(start);
  start = Clock::now();
  const SearchResult exact = exact_index->search(n_queries, queries, options.k, threads);
  result.exact_search_seconds = seconds_since(start);
  exact_index.reset();

  for (const IndexBenchSetting& setting : settings) {
    const std::vector<IndexParams> combos = expand_sweeps(setting.sweeps);
    if (options.progress) {
      options.progress(
          fmt::format("{} {}: build", setting.type, format_params(setting.build_params)));
    }
    start = Clock::now();
    std::unique_ptr<VectorIndex> index = factory(setting.type, d, setting.build_params);
    index->add(n_gallery, gallery);
    const double build_seconds = seconds_since(start);
    for (const IndexParams& search_params : combos) {
      if (options.progress && !search_params.empty()) {
        options.progress(setting_name(setting.type, setting.build_params, search_params));
      }
      for (const auto& [name, value] : search_params) index->set_search_param(name, value);
      IndexMeasurement m;
      m.type = setting.type;
      m.build_params = setting.build_params;
      m.search_params = search_params;
      m.params = index->params();
      m.build_seconds = build_seconds;
      m.memory_bytes = index->memory_bytes();
      m.bytes_per_vector = static_cast<double>(m.memory_bytes) / static_cast<double>(index->size());
      const SearchResult approx = index->search(n_queries, queries, options.k, threads);
      VLB_ASSERT(approx.n == n_queries && approx.k == options.k);
      m.recall_at_1 = mean_recall_at(approx, exact, 1);
      m.recall_at_10 = mean_recall_at(approx, exact, 10);
      m.recall_at_k = mean_recall_at(approx, exact, options.k);
      measure_speed(*index, queries, n_queries, d, options, threads, latency_queries, m);
      result.measurements.push_back(std::move(m));
    }
  }

  std::vector<double> x, y;
  for (const IndexMeasurement& m : result.measurements) {
    x.push_back(m.batched_qps);
    y.push_back(m.recall_at_10);
  }
  const std::vector<bool> frontier = pareto_frontier(x, y);
  for (std::size_t i = 0; i < frontier.size(); ++i) result.measurements[i].pareto = frontier[i];
  return result;
}

}  // namespace vlbench
