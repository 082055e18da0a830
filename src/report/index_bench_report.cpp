// Rendering of index benchmark runs (index_bench_report.hpp).
#include <vlbench/report/index_bench_report.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace vlbench {

namespace {

nlohmann::ordered_json params_json(const IndexParams& params) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const auto& [name, value] : params) out[name] = value;
  return out;
}

std::string memory_text(std::int64_t bytes) {
  if (bytes >= (1ll << 30))
    return fmt::format("{:.2f} GiB", static_cast<double>(bytes) / (1ll << 30));
  if (bytes >= (1ll << 20))
    return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1ll << 20));
  return fmt::format("{:.1f} KiB", static_cast<double>(bytes) / 1024);
}

// The parameters that distinguish rows of one type: build params as given plus sweep values.
IndexParams row_params(const IndexMeasurement& m) {
  IndexParams all = m.build_params;
  for (const auto& [name, value] : m.search_params) all[name] = value;
  return all;
}

}  // namespace

nlohmann::ordered_json index_bench_to_json(const IndexBenchResult& result) {
  nlohmann::ordered_json out;
  out["n_gallery"] = result.n_gallery;
  out["n_queries"] = result.n_queries;
  out["d"] = result.d;
  out["k"] = result.k;
  out["threads"] = result.threads;
  out["latency_queries"] = result.latency_queries;
  out["exact"] = {{"type", "flat"},
                  {"build_seconds", result.exact_build_seconds},
                  {"search_seconds", result.exact_search_seconds}};
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const IndexMeasurement& m : result.measurements) {
    nlohmann::ordered_json row;
    row["type"] = m.type;
    row["build_params"] = params_json(m.build_params);
    row["search_params"] = params_json(m.search_params);
    row["params"] = params_json(m.params);
    row["recall_at_1"] = m.recall_at_1;
    row["recall_at_10"] = m.recall_at_10;
    row["recall_at_k"] = m.recall_at_k;
    row["batched_qps"] = m.batched_qps;
    row["batched_seconds"] = m.batched_seconds;
    row["latency_ms"] = {
        {"p50", m.latency_p50_ms}, {"p95", m.latency_p95_ms}, {"p99", m.latency_p99_ms}};
    row["build_seconds"] = m.build_seconds;
    row["memory_bytes"] = m.memory_bytes;
    row["bytes_per_vector"] = m.bytes_per_vector;
    row["pareto"] = m.pareto;
    rows.push_back(std::move(row));
  }
  out["measurements"] = std::move(rows);
  return out;
}

std::string index_bench_markdown(const IndexBenchResult& result, const std::string& title) {
  std::string md = fmt::format(
      "### {}\n\n{} gallery vectors × {} dims, {} queries, k = {}; batched search on {} threads, "
      "latency over {} single queries on 1 thread. Recall is against exact `flat` search; "
      "**bold** rows are on the recall@10 / queries/s Pareto frontier.\n\n",
      title, result.n_gallery, result.d, result.n_queries, result.k, result.threads,
      result.latency_queries);
  // recall@k gets its own column only when k is not 10.
  const bool extra_k = result.k != 10;
  md += fmt::format(
      "| type | params | recall@1 | recall@10 |{} queries/s | p50 ms | p95 ms | p99 ms | "
      "build s | memory | bytes/vector | frontier |\n",
      extra_k ? fmt::format(" recall@{} |", result.k) : "");
  md += fmt::format("|---|---|---:|---:|{}---:|---:|---:|---:|---:|---:|---:|:---:|\n",
                    extra_k ? "---:|" : "");
  for (const IndexMeasurement& m : result.measurements) {
    const std::string type = m.pareto ? "**" + m.type + "**" : m.type;
    md += fmt::format(
        "| {} | {} | {:.4f} | {:.4f} |{} {:.0f} | {:.3f} | {:.3f} | {:.3f} | {:.2f} | {} | "
        "{:.1f} | {} |\n",
        type, format_params(row_params(m)), m.recall_at_1, m.recall_at_10,
        extra_k ? fmt::format(" {:.4f} |", m.recall_at_k) : "", m.batched_qps, m.latency_p50_ms,
        m.latency_p95_ms, m.latency_p99_ms, m.build_seconds, memory_text(m.memory_bytes),
        m.bytes_per_vector, m.pareto ? "yes" : "");
  }
  return md;
}

ChartSpec index_bench_chart(const IndexBenchResult& result, const std::string& title) {
  ChartSpec spec;
  spec.title = title;
  spec.x_label = fmt::format("batched queries/s ({} threads, log scale)", result.threads);
  spec.y_label = "recall@10 vs exact";
  spec.log_x = true;
  for (const IndexMeasurement& m : result.measurements) {
    auto it = std::find_if(spec.series.begin(), spec.series.end(),
                           [&](const ChartSeries& s) { return s.name == m.type; });
    if (it == spec.series.end()) {
      spec.series.push_back({m.type, {}});
      it = spec.series.end() - 1;
    }
    it->points.push_back({m.batched_qps, m.recall_at_10, m.pareto, format_params(row_params(m))});
  }
  for (ChartSeries& s : spec.series) {
    std::stable_sort(s.points.begin(), s.points.end(),
                     [](const ChartPoint& a, const ChartPoint& b) { return a.x < b.x; });
  }
  return spec;
}

}  // namespace vlbench
