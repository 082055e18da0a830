// The "rerank" and "quantization" sections of eval's results documents, and their tables.
#include <vlbench/report/results.hpp>

#include <fmt/format.h>

namespace vlbench {

using json = nlohmann::ordered_json;

namespace {

json latency_json(const StageLatency& l) {
  return {{"p50", l.p50}, {"p95", l.p95}, {"p99", l.p99}};
}

json rerank_direction_json(const RerankDirectionResult& r) {
  return {
      {"stage1", retrieval_metrics_json(r.stage1)},
      {"stage2", retrieval_metrics_json(r.stage2)},
      {"full_maxsim", retrieval_metrics_json(r.full_maxsim)},
      {"latency_seconds",
       {{"stage1", latency_json(r.stage1_latency)}, {"stage2", latency_json(r.stage2_latency)}}}};
}

std::string percent(const json& estimate) {
  const json& ci = estimate["ci95"];
  return fmt::format("{:.1f} [{:.1f}, {:.1f}]", 100.0 * estimate["value"].get<double>(),
                     100.0 * ci[0].get<double>(), 100.0 * ci[1].get<double>());
}

void row(std::string& out, const std::vector<std::string>& cells) {
  out += "|";
  for (const auto& c : cells) out += " " + c + " |";
  out += "\n";
}

void header(std::string& out, const std::vector<std::string>& names) {
  row(out, names);
  out += "|";
  for (std::size_t i = 0; i < names.size(); ++i) out += " --- |";
  out += "\n";
}

}  // namespace

json rerank_json(const RerankResult& result) {
  json out = {{"protocol", result.protocol}, {"depth", result.depth}};
  if (result.t2i) out["t2i"] = rerank_direction_json(*result.t2i);
  if (result.i2t) out["i2t"] = rerank_direction_json(*result.i2t);
  return out;
}

std::string render_rerank_markdown(const json& rerank) {
  const std::int64_t depth = rerank["depth"];
  std::string out = fmt::format(
      "### Two-stage retrieval: dense top-{} re-ranked by MaxSim (protocol {}), Recall@K (%), "
      "95% bootstrap interval\n\n",
      depth, rerank["protocol"].get<std::string>());
  header(out, {"direction", "stage", "R@1", "R@5", "R@10", "MRR", "median rank", "ties"});
  const std::pair<const char*, std::string> stages[] = {
      {"stage1", "stage 1: dense"},
      {"stage2", fmt::format("stage 2: dense top-{} + MaxSim", depth)},
      {"full_maxsim", "MaxSim over the whole gallery"}};
  for (const char* direction : {"t2i", "i2t"}) {
    if (!rerank.contains(direction)) continue;
    for (const auto& [key, label] : stages) {
      const json& m = rerank[direction][key];
      row(out, {direction, label, percent(m["r1"]), percent(m["r5"]), percent(m["r10"]),
                fmt::format("{:.4f}", m["mrr"]["value"].get<double>()),
                fmt::format("{:.1f}", m["median_rank"]["value"].get<double>()), m["ties"].dump()});
    }
  }
  out += "\n### Two-stage latency per query (ms, one thread per query)\n\n";
  header(out, {"direction", "stage", "p50", "p95", "p99"});
  for (const char* direction : {"t2i", "i2t"}) {
    if (!rerank.contains(direction)) continue;
    for (const char* stage : {"stage1", "stage2"}) {
      const json& l = rerank[direction]["latency_seconds"][stage];
      row(out, {direction,
                std::string(stage) == "stage1" ? "stage 1: dense top-N (exact scores)"
                                               : "stage 2: MaxSim of N candidates",
                fmt::format("{:.3g}", 1e3 * l["p50"].get<double>()),
                fmt::format("{:.3g}", 1e3 * l["p95"].get<double>()),
                fmt::format("{:.3g}", 1e3 * l["p99"].get<double>())});
    }
  }
  return out + "\n";
}

json quantization_json(const std::string& type, const EvalResult& fp32, const EvalResult& quantized,
                       const std::vector<MetricComparison>& paired) {
  json comparisons = json::array();
  for (const MetricComparison& c : paired) {
    comparisons.push_back({{"metric", c.name},
                           {"fp32", c.result.a},
                           {"quantized", c.result.b},
                           {"diff", c.result.diff.value},
                           {"ci95", {c.result.diff.lo, c.result.diff.hi}},
                           {"p_value", c.result.p_value}});
  }
  return {{"type", type},
          {"fp32", results_metrics_json(fp32)},
          {"quantized", results_metrics_json(quantized)},
          {"paired", comparisons}};
}

std::string render_quantization_markdown(const json& quantization) {
  const std::string type = quantization["type"];
  std::string out = fmt::format(
      "### Quantized embeddings ({}) against fp32: paired bootstrap over the same queries\n\n",
      type);
  header(out, {"metric", "fp32", type, type + " - fp32", "95% CI", "p (two-sided)"});
  for (const json& c : quantization["paired"]) {
    const std::string name = c["metric"];
    const bool is_rank = name.find("median_rank") != std::string::npos;
    const bool is_mrr = name.find("mrr") != std::string::npos;
    const double scale = (is_rank || is_mrr) ? 1.0 : 100.0;
    const char* spec = is_rank ? "{:.1f}" : (is_mrr ? "{:.4f}" : "{:.2f}");
    const auto f = [&](const json& v) {
      return fmt::format(fmt::runtime(spec), scale * v.get<double>());
    };
    row(out, {name + (is_rank || is_mrr ? "" : " (%)"), f(c["fp32"]), f(c["quantized"]),
              f(c["diff"]), fmt::format("[{}, {}]", f(c["ci95"][0]), f(c["ci95"][1])),
              fmt::format("{:.4f}", c["p_value"].get<double>())});
  }
  return out + "\n";
}

}  // namespace vlbench
