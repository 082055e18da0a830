// Results documents (schema "vlbench.results/1", DESIGN.md): one JSON file per model ×
// dataset × protocol, plus a sidecar .npy with the per-query values that paired comparisons
// need. Every table and comparison is rendered from these files alone.
//
// Sidecar: "<stem>.per_query.npy", int32 [n], named by the document's "per_query" field
// (relative to the document's folder). "per_query_layout" maps each array to [offset, count]:
//   "t2i_rank", "i2t_rank"   1-based ranks in the protocol's query order
//   "winoground_outcome"     WinogroundOutcome bits per example
#pragma once

#include <vlbench/data/dataset.hpp>
#include <vlbench/eval/compare.hpp>
#include <vlbench/eval/evaluate.hpp>
#include <vlbench/eval/rerank.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace vlbench {

inline constexpr const char* kResultsSchema = "vlbench.results/1";

// What produced an evaluation, recorded beside its metrics.
struct ResultsContext {
  nlohmann::ordered_json model;  // {"name", "path", "architecture", "params", "dtype", "sha256"}
  nlohmann::ordered_json embeddings;  // {"images": {"path", "sha256", ...}, "texts": {...}}
  nlohmann::ordered_json speed = nlohmann::ordered_json::object();
  EvalOptions options;
  std::string command;  // "eval", "run"
  double eval_seconds = 0.0;
};

nlohmann::ordered_json make_results_document(const Dataset& dataset, const EvalResult& result,
                                             const ResultsContext& context);

// Writes the document and its sidecar; both appear whole or not at all (temporary files are
// renamed at the end). Sets the document's "per_query" and "per_query_layout".
void write_results(const std::filesystem::path& path, nlohmann::ordered_json document,
                   const EvalResult& result);

struct LoadedResults {
  std::filesystem::path path;
  nlohmann::ordered_json document;
  PerQuery per_query;
};

// Reads and checks a document (schema name, required fields) and its sidecar. Errors name
// the file and the field.
LoadedResults read_results(const std::filesystem::path& path);

// The study's tables: retrieval (t2i / i2t R@1/5/10 with intervals, in %), ranks detail
// (median rank, MRR, ties), Winoground (text / image / group, overall and per collapsed tag).
std::string render_markdown(const std::vector<LoadedResults>& results);
// One row per document × metric: model,dataset,split,protocol,metric,value,ci95_lo,ci95_hi,n.
std::string render_csv(const std::vector<LoadedResults>& results);
// A JSON array of {"file", "model", "dataset", "protocol", "metrics"}.
std::string render_json(const std::vector<LoadedResults>& results);

// `vlbench compare`: checks that A and B evaluated the same queries (same dataset kind,
// annotation hash, split and protocol; else an Error naming the difference) and returns the
// comparisons.
std::vector<MetricComparison> compare_results(const LoadedResults& a, const LoadedResults& b,
                                              const BootstrapOptions& options, int threads);
std::string render_comparison_markdown(const LoadedResults& a, const LoadedResults& b,
                                       const std::vector<MetricComparison>& comparisons,
                                       const BootstrapOptions& options);
std::string render_comparison_json(const LoadedResults& a, const LoadedResults& b,
                                   const std::vector<MetricComparison>& comparisons,
                                   const BootstrapOptions& options);

// The document's "metrics" object of an evaluation ({"t2i", "i2t"} or {"winoground"}).
nlohmann::ordered_json results_metrics_json(const EvalResult& result);

// One direction's metrics as in the document's "metrics" object: {"queries", "gallery",
// "r1", "r5", "r10", "mrr", "median_rank" ({"value", "ci95"}), "ties"}.
nlohmann::ordered_json retrieval_metrics_json(const RetrievalMetrics& m);

// The "rerank" object of `vlbench eval --rerank-*` documents:
//   {"protocol", "depth", "t2i": {"stage1": metrics, "stage2": metrics, "full_maxsim": metrics,
//    "latency_seconds": {"stage1": {"p50", "p95", "p99"}, "stage2": {...}}}, "i2t": {...}}
// (metrics as retrieval_metrics_json; latencies per query, seconds).
nlohmann::ordered_json rerank_json(const RerankResult& result);
// Markdown: the three stages' R@1/5/10 and MRR per direction, then the stage latencies (ms).
std::string render_rerank_markdown(const nlohmann::ordered_json& rerank);

// The "quantization" object of `vlbench eval --quantize` documents:
//   {"type": "int8" | "binary", "fp32": metrics, "quantized": metrics,
//    "paired": [{"metric", "fp32", "quantized", "diff", "ci95", "p_value"}, ...]}
// with metrics shaped like the document's "metrics" object and diff = quantized - fp32.
nlohmann::ordered_json quantization_json(const std::string& type, const EvalResult& fp32,
                                         const EvalResult& quantized,
                                         const std::vector<MetricComparison>& paired);
std::string render_quantization_markdown(const nlohmann::ordered_json& quantization);

// "0.1.0+<git describe>" of this build.
const char* version();

// {"cpu", "logical_cores", "os"} of this machine.
nlohmann::ordered_json machine_description();

}  // namespace vlbench
