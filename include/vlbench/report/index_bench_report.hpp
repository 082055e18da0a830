// Rendering of index benchmark runs (index/index_bench.hpp): the JSON record, the Markdown
// table and the recall@10 vs queries/s chart that `vlbench index bench` writes.
#pragma once

#include <vlbench/index/index_bench.hpp>
#include <vlbench/report/chart.hpp>

#include <nlohmann/json.hpp>

#include <string>

namespace vlbench {

inline constexpr const char* kIndexBenchSchema = "vlbench.index_bench/1";

// {"n_gallery", "n_queries", "d", "k", "threads", "latency_queries", "exact": {...},
//  "measurements": [{"type", "build_params", "search_params", "params", "recall_at_1",
//  "recall_at_10", "recall_at_k", "batched_qps", "batched_seconds", "latency_ms":
//  {"p50", "p95", "p99"}, "build_seconds", "memory_bytes", "bytes_per_vector", "pareto"}]}
nlohmann::ordered_json index_bench_to_json(const IndexBenchResult& result);

// One Markdown table row per measurement (frontier rows marked), under a "### title" heading
// with the run's sizes.
std::string index_bench_markdown(const IndexBenchResult& result, const std::string& title);

// recall@10 (y) against batched queries/s (x, log scale): one series per index type in order
// of first appearance, points sorted by queries/s and labelled by their parameters, the
// Pareto frontier highlighted.
ChartSpec index_bench_chart(const IndexBenchResult& result, const std::string& title);

}  // namespace vlbench
