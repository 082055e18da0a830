#include <vlbench/core/error.hpp>
#include <vlbench/report/results.hpp>

#include "report/json_cells.hpp"

#include <fmt/format.h>

namespace vlbench {

using json = nlohmann::ordered_json;

namespace {

using report_detail::at_path;
using report_detail::percent_cell;
using report_detail::plain_cell;

std::string model_label(const LoadedResults& r) {
  const json& model = r.document["model"];
  if (model.contains("name") && model["name"].is_string()) return model["name"];
  return r.path.stem().string();
}

std::string dataset_label(const LoadedResults& r) {
  const json& d = r.document["dataset"];
  return fmt::format("{} ({})", d.value("kind", "?"), d.value("split", "?"));
}

void append_row(std::string& out, const std::vector<std::string>& cells) {
  out += "|";
  for (const auto& c : cells) out += " " + c + " |";
  out += "\n";
}

void append_header(std::string& out, const std::vector<std::string>& names) {
  append_row(out, names);
  out += "|";
  for (std::size_t i = 0; i < names.size(); ++i) out += " --- |";
  out += "\n";
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string quoted = "\"";
  for (char c : s) quoted += (c == '"') ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

}  // namespace

std::string render_markdown(const std::vector<LoadedResults>& results) {
  std::string out;
  std::vector<const LoadedResults*> retrieval, winoground;
  for (const auto& r : results) {
    const json& metrics = r.document["metrics"];
    if (metrics.contains("winoground")) winoground.push_back(&r);
    if (metrics.contains("t2i") || metrics.contains("i2t")) retrieval.push_back(&r);
  }
  if (!retrieval.empty()) {
    out += "### Retrieval: Recall@K (%), 95% bootstrap interval\n\n";
    append_header(out, {"model", "dataset", "protocol", "t2i R@1", "t2i R@5", "t2i R@10", "i2t R@1",
                        "i2t R@5", "i2t R@10"});
    for (const auto* r : retrieval) {
      const json& m = r->document["metrics"];
      append_row(
          out, {model_label(*r), dataset_label(*r), r->document["protocol"],
                percent_cell(at_path(m, {"t2i", "r1"})), percent_cell(at_path(m, {"t2i", "r5"})),
                percent_cell(at_path(m, {"t2i", "r10"})), percent_cell(at_path(m, {"i2t", "r1"})),
                percent_cell(at_path(m, {"i2t", "r5"})), percent_cell(at_path(m, {"i2t", "r10"}))});
    }
    out += "\n### Retrieval: ranks\n\n";
    append_header(out, {"model", "dataset", "protocol", "direction", "queries", "gallery",
                        "median rank", "MRR", "ties"});
    for (const auto* r : retrieval) {
      for (const char* direction : {"t2i", "i2t"}) {
        const json& d = at_path(r->document["metrics"], {direction});
        if (d.is_null()) continue;
        append_row(out,
                   {model_label(*r), dataset_label(*r), r->document["protocol"], direction,
                    d["queries"].dump(), d["gallery"].dump(), plain_cell(d["median_rank"], ".1f"),
                    plain_cell(d["mrr"], ".3f"), d["ties"].dump()});
      }
    }
    out += "\n";
  }
  if (!winoground.empty()) {
    out += "### Winoground (%), 95% bootstrap interval; chance 25.0 / 25.0 / 16.7\n\n";
    append_header(out, {"model", "examples", "text", "image", "group", "ties"});
    for (const auto* r : winoground) {
      const json& w = r->document["metrics"]["winoground"];
      append_row(out, {model_label(*r), w["examples"].dump(), percent_cell(w["text"]),
                       percent_cell(w["image"]), percent_cell(w["group"]), w["ties"].dump()});
    }
    out += "\n### Winoground by collapsed tag (%)\n\n";
    append_header(out, {"model", "tag", "examples", "text", "image", "group", "ties"});
    for (const auto* r : winoground) {
      const json& tags = at_path(r->document["metrics"], {"winoground", "by_collapsed_tag"});
      if (!tags.is_object()) continue;
      for (const auto& [tag, w] : tags.items()) {
        append_row(out, {model_label(*r), tag, w["examples"].dump(), percent_cell(w["text"]),
                         percent_cell(w["image"]), percent_cell(w["group"]), w["ties"].dump()});
      }
    }
    out += "\n";
  }
  return out;
}

std::string render_csv(const std::vector<LoadedResults>& results) {
  std::string out = "model,dataset,split,protocol,metric,value,ci95_lo,ci95_hi,n\n";
  const auto emit = [&](const LoadedResults& r, const std::string& metric, const json& e,
                        const json& n) {
    if (!e.is_object() || !e.contains("value")) return;
    const json& d = r.document["dataset"];
    out += fmt::format("{},{},{},{},{},{},{},{},{}\n", csv_field(model_label(r)),
                       csv_field(d.value("kind", "")), csv_field(d.value("split", "")),
                       csv_field(r.document["protocol"].get<std::string>()), metric,
                       e["value"].get<double>(), e["ci95"][0].get<double>(),
                       e["ci95"][1].get<double>(), n.dump());
  };
  for (const auto& r : results) {
    const json& m = r.document["metrics"];
    for (const char* direction : {"t2i", "i2t"}) {
      if (!m.contains(direction)) continue;
      const json& d = m[direction];
      for (const char* name : {"r1", "r5", "r10", "mrr", "median_rank"}) {
        emit(r, std::string(direction) + "." + name, at_path(d, {name}), d["queries"]);
      }
    }
    if (m.contains("winoground")) {
      const json& w = m["winoground"];
      for (const char* name : {"text", "image", "group"}) {
        emit(r, std::string("winoground.") + name, w[name], w["examples"]);
      }
      for (const auto& [tag, t] : at_path(w, {"by_collapsed_tag"}).items()) {
        for (const char* name : {"text", "image", "group"}) {
          emit(r, "winoground." + tag + "." + name, t[name], t["examples"]);
        }
      }
    }
  }
  return out;
}

std::string render_json(const std::vector<LoadedResults>& results) {
  json out = json::array();
  for (const auto& r : results) {
    out.push_back({{"file", r.path.string()},
                   {"model", r.document["model"]},
                   {"dataset", r.document["dataset"]},
                   {"protocol", r.document["protocol"]},
                   {"metrics", r.document["metrics"]}});
  }
  return out.dump(2) + "\n";
}

std::string render_comparison_markdown(const LoadedResults& a, const LoadedResults& b,
                                       const std::vector<MetricComparison>& comparisons,
                                       const BootstrapOptions& options) {
  std::string out = fmt::format(
      "A = {} ({})\nB = {} ({})\ndataset: {}, protocol: {}\n"
      "paired bootstrap over the same queries: {} resamples, seed {}\n\n",
      a.path.string(), model_label(a), b.path.string(), model_label(b), dataset_label(a),
      a.document["protocol"].get<std::string>(), options.n_resamples, options.seed);
  append_header(out, {"metric", "A", "B", "B - A", "95% CI of B - A", "p (two-sided)"});
  for (const auto& c : comparisons) {
    const bool is_rank = c.name.find("median_rank") != std::string::npos;
    const bool is_mrr = c.name.find("mrr") != std::string::npos;
    const double scale = (is_rank || is_mrr) ? 1.0 : 100.0;
    const char* spec = is_rank ? "{:.1f}" : (is_mrr ? "{:.4f}" : "{:.2f}");
    const auto f = [&](double v) { return fmt::format(fmt::runtime(spec), scale * v); };
    append_row(out, {c.name + (is_rank || is_mrr ? "" : " (%)"), f(c.result.a), f(c.result.b),
                     f(c.result.diff.value),
                     fmt::format("[{}, {}]", f(c.result.diff.lo), f(c.result.diff.hi)),
                     fmt::format("{:.4f}", c.result.p_value)});
  }
  return out;
}

std::string render_comparison_json(const LoadedResults& a, const LoadedResults& b,
                                   const std::vector<MetricComparison>& comparisons,
                                   const BootstrapOptions& options) {
  json metrics = json::object();
  for (const auto& c : comparisons) {
    metrics[c.name] = {{"a", c.result.a},
                       {"b", c.result.b},
                       {"diff", c.result.diff.value},
                       {"ci95", {c.result.diff.lo, c.result.diff.hi}},
                       {"p_value", c.result.p_value}};
  }
  json out = {{"a", a.path.string()},
              {"b", b.path.string()},
              {"dataset", a.document["dataset"]},
              {"protocol", a.document["protocol"]},
              {"bootstrap", {{"resamples", options.n_resamples}, {"seed", options.seed}}},
              {"metrics", metrics}};
  return out.dump(2) + "\n";
}


namespace report_detail {

// "58.4 [57.0, 59.8]" from a fraction estimate; "–" when absent.
std::string percent_cell(const json& metric) {
  if (!metric.is_object() || !metric.contains("value")) return "–";
  const double value = metric["value"];
  const json& ci = metric["ci95"];
  return fmt::format("{:.1f} [{:.1f}, {:.1f}]", 100.0 * value, 100.0 * ci[0].get<double>(),
                     100.0 * ci[1].get<double>());
}

std::string plain_cell(const json& metric, const char* spec) {
  if (!metric.is_object() || !metric.contains("value")) return "–";
  const json& ci = metric["ci95"];
  return fmt::format(
      fmt::runtime(std::string("{:") + spec + "} [{:" + spec + "}, {:" + spec + "}]"),
      metric["value"].get<double>(), ci[0].get<double>(), ci[1].get<double>());
}

const json& at_path(const json& root, std::initializer_list<const char*> path) {
  static const json missing;
  const json* node = &root;
  for (const char* key : path) {
    if (!node->is_object() || !node->contains(key)) return missing;
    node = &(*node)[key];
  }
  return *node;
}

}  // namespace report_detail

}  // namespace vlbench
