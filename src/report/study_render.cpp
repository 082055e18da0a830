// The study report as HTML and Markdown (study.hpp). Both are rendered from one list of
// sections of plain tables, so they hold the same numbers by construction; the HTML adds the
// Pareto charts (inline SVG) and marks the best value of each column.
#include <vlbench/core/thread_pool.hpp>
#include <vlbench/eval/bootstrap.hpp>
#include <vlbench/report/study.hpp>

#include "report/json_cells.hpp"
#include "report/study_section.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace vlbench {

using json = nlohmann::ordered_json;

namespace {

using namespace report_detail;

const json& at(const json& root, std::initializer_list<const char*> path) {
  return report_detail::at_path(root, path);
}

std::string text_at(const json& root, std::initializer_list<const char*> path,
                    const std::string& fallback = "–") {
  const json& v = at(root, path);
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number()) return v.dump();
  return fallback;
}

double number(const json& root, std::initializer_list<const char*> path) {
  const json& v = at(root, path);
  return v.is_number() ? v.get<double>() : std::nan("");
}

std::string model_name(const LoadedResults& r) {
  return text_at(r.document, {"model", "name"}, r.path.stem().string());
}

std::string protocol_label(const std::string& protocol) {
  if (protocol == "seed") return "seed (the study's)";
  return protocol;
}

std::string dataset_label(const LoadedResults& r) {
  return fmt::format("{} {}", text_at(r.document, {"dataset", "kind"}, "?"),
                     text_at(r.document, {"dataset", "split"}, "?"));
}

std::string percent(const json& metric) { return report_detail::percent_cell(metric); }

std::string rate(double per_s) { return format_rate(per_s); }

// Marks, within each group of rows (same group key) of two or more values, the highest value
// of each listed column (every row holding it, on a tie).
void mark_best(Table& table, const std::vector<std::string>& group_of_row,
               const std::vector<std::size_t>& columns, const std::vector<std::vector<double>>& v) {
  for (std::size_t k = 0; k < columns.size(); ++k) {
    std::map<std::string, std::pair<double, int>> best;  // group -> (max, values)
    for (std::size_t r = 0; r < table.rows.size(); ++r) {
      if (!std::isfinite(v[r][k])) continue;
      auto [it, inserted] = best.emplace(group_of_row[r], std::pair{v[r][k], 1});
      if (!inserted) it->second = {std::max(it->second.first, v[r][k]), it->second.second + 1};
    }
    for (std::size_t r = 0; r < table.rows.size(); ++r) {
      const auto it = best.find(group_of_row[r]);
      if (it != best.end() && it->second.second >= 2 && v[r][k] == it->second.first) {
        table.rows[r][columns[k]].best = true;
      }
    }
  }
}

std::vector<const LoadedResults*> retrieval_docs(const std::vector<LoadedResults>& results) {
  std::vector<const LoadedResults*> out;
  for (const auto& r : results) {
    const json& m = r.document["metrics"];
    if (m.contains("t2i") || m.contains("i2t")) out.push_back(&r);
  }
  return out;
}

Section summary_section(const std::vector<LoadedResults>& results,
                        const std::vector<StudyPoint>& points) {
  Section s{"summary", "Summary", {}, {}};
  std::set<std::string> machines, protocols, dates, versions;
  for (const auto& r : results) {
    machines.insert(machine_label(r));
    protocols.insert(protocol_label(text_at(r.document, {"protocol"})));
    dates.insert(text_at(r.document, {"run", "started"}).substr(0, 10));
    versions.insert(text_at(r.document, {"run", "version"}));
  }
  const auto join = [](const std::set<std::string>& v) {
    std::string out;
    for (const auto& x : v) out += (out.empty() ? "" : "; ") + x;
    return out;
  };
  s.paragraphs.push_back(fmt::format(
      "{} results document{} · machine{}: {} · run date{}: {} · protocol{}: {} · vlbench {}",
      results.size(), results.size() == 1 ? "" : "s", machines.size() == 1 ? "" : "s",
      join(machines), dates.size() == 1 ? "" : "s", join(dates), protocols.size() == 1 ? "" : "s",
      join(protocols), join(versions)));
  if (machines.size() > 1) {
    s.paragraphs.push_back(fmt::format(
        "Mixed machines: these results were measured on {} machines. Speed is compared only "
        "within one machine: every recommendation, speed-up, Pareto chart and search row below "
        "is per machine, and points of different machines never share a speed axis.",
        machines.size()));
  }
  s.paragraphs.push_back(fmt::format(
      "The recommendation per priority is chosen from the measured figures of each dataset and "
      "machine: accuracy = highest text-to-image R@1; speed = most images/s (image encode "
      "alone); balance = highest text-to-image R@1 among the models at least {:g} % as fast as "
      "the fastest. Intervals are 95% bootstrap intervals over queries; overlapping intervals "
      "mean the ranking may not hold.",
      100 * kBalanceSpeedFraction));
  Section::Block block;
  block.table.header = {"dataset", "machine", "priority", "recommended", "measured", "rule"};
  for (const Recommendation& rec : recommend(points)) {
    block.table.rows.push_back({{rec.dataset},
                                {rec.machine},
                                {rec.priority},
                                {points[rec.point].label, true},
                                {rec.evidence},
                                {rec.rule}});
  }
  if (block.table.rows.empty()) {
    s.paragraphs.push_back(
        "No retrieval results with speed figures: nothing to recommend (Winoground alone, or "
        "documents from `vlbench eval`).");
  } else {
    s.blocks.push_back(std::move(block));
  }
  return s;
}

Section accuracy_section(const std::vector<LoadedResults>& results) {
  Section s{"accuracy", "Accuracy", {}, {}};
  const auto docs = retrieval_docs(results);
  if (docs.empty()) return s;
  s.paragraphs.push_back(
      "Recall@K (%) with 95% bootstrap intervals. The best value of each column among the "
      "models of the same dataset and protocol is marked. The seed protocol is the study's "
      "(the first caption of each image as its query); standard is all five captions.");
  Section::Block block;
  block.table.header = {"model", "dataset", "protocol", "t2i R@1", "t2i R@5", "t2i R@10",
                        "i2t R@1", "i2t R@5", "i2t R@10"};
  std::vector<std::string> groups;
  std::vector<std::vector<double>> values;
  const std::vector<std::pair<const char*, const char*>> metrics = {
      {"t2i", "r1"}, {"t2i", "r5"}, {"t2i", "r10"}, {"i2t", "r1"}, {"i2t", "r5"}, {"i2t", "r10"}};
  for (const auto* r : docs) {
    const json& m = r->document["metrics"];
    std::vector<Cell> row = {{model_label(*r)},
                             {dataset_label(*r)},
                             {protocol_label(text_at(r->document, {"protocol"}))}};
    std::vector<double> v;
    for (const auto& [direction, name] : metrics) {
      row.push_back({percent(at(m, {direction, name}))});
      v.push_back(number(m, {direction, name, "value"}));
    }
    block.table.rows.push_back(std::move(row));
    groups.push_back(dataset_label(*r) + "|" + text_at(r->document, {"protocol"}));
    values.push_back(std::move(v));
  }
  mark_best(block.table, groups, {3, 4, 5, 6, 7, 8}, values);
  s.blocks.push_back(std::move(block));
  return s;
}

std::string plain(const json& metric, const char* spec) {
  return report_detail::plain_cell(metric, spec);
}

Section ranks_section(const std::vector<LoadedResults>& results) {
  Section s{"ranks", "Ranks", {}, {}};
  const auto docs = retrieval_docs(results);
  if (docs.empty()) return s;
  s.paragraphs.push_back(
      "Median rank and mean reciprocal rank of the first relevant item, with 95% bootstrap "
      "intervals; ties counts queries whose relevant item tied with another score (rank = 1 + "
      "#higher + #equal with a lower gallery index).");
  Section::Block block;
  block.table.header = {"model", "dataset", "protocol", "direction", "queries", "gallery",
                        "median rank", "MRR", "ties"};
  for (const auto* r : docs) {
    for (const char* direction : {"t2i", "i2t"}) {
      const json& d = at(r->document["metrics"], {direction});
      if (!d.is_object()) continue;
      block.table.rows.push_back({{model_label(*r)},
                                  {dataset_label(*r)},
                                  {protocol_label(text_at(r->document, {"protocol"}))},
                                  {direction},
                                  {text_at(d, {"queries"})},
                                  {text_at(d, {"gallery"})},
                                  {plain(d["median_rank"], ".1f")},
                                  {plain(d["mrr"], ".3f")},
                                  {text_at(d, {"ties"})}});
    }
  }
  s.blocks.push_back(std::move(block));
  return s;
}

Section speed_section(const std::vector<LoadedResults>& results) {
  Section s{"speed", "Speed", {}, {}};
  const std::vector<const LoadedResults*> rows = speed_documents(results);
  if (rows.empty()) return s;
  s.paragraphs.push_back(
      "Images/s of the image encoder alone (compute) and from files to embeddings (end to end: "
      "decode, resize, encode), captions/s of the text encoder, each model's figures from the "
      "dataset of the run with the most images. The times for 5,000 and 1,000,000 images are at "
      "the end-to-end rate. Speed-up is against the slowest model on the same machine; figures "
      "from different machines are never compared.");
  std::map<std::string, double> slowest;
  for (const auto* r : rows) {
    const double x = number(r->document, {"speed", "image_encode_per_s"});
    auto [it, inserted] = slowest.emplace(machine_label(*r), x);
    if (!inserted) it->second = std::min(it->second, x);
  }
  Section::Block block;
  block.table.header = {"model",           "machine",          "compute",
                        "backend",         "measured on",      "images/s (compute)",
                        "images/s (end to end)", "captions/s", "5,000 images",
                        "1,000,000 images", "speed-up vs slowest", "peak RSS (MiB)"};
  std::vector<std::string> groups;
  std::vector<std::vector<double>> values;
  for (const auto* r : rows) {
    const json& d = r->document;
    const double compute = number(d, {"speed", "image_encode_per_s"});
    const double e2e = number(d, {"speed", "end_to_end_images_per_s"});
    const double captions = number(d, {"speed", "text_encode_per_s"});
    const double rss = number(d, {"speed", "peak_rss_bytes"});
    const std::string gemm = text_at(d, {"run", "gemm"}, "");
    block.table.rows.push_back(
        {{model_label(*r)},
         {machine_label(*r)},
         {text_at(d, {"model", "dtype"}, "fp32")},
         {text_at(d, {"model", "device"}, "cpu") + (gemm.empty() ? "" : " (" + gemm + ")")},
         {fmt::format("{} ({} images)", dataset_label(*r), text_at(d, {"dataset", "images"}))},
         {rate(compute)},
         {rate(e2e)},
         {rate(captions)},
         {duration(5000 / e2e)},
         {duration(1e6 / e2e)},
         {fmt::format("{:.2f}×", compute / slowest[machine_label(*r)])},
         {std::isfinite(rss) ? fmt::format("{:.0f}", rss / (1 << 20)) : "–"}});
    groups.push_back(machine_label(*r));
    values.push_back({compute, e2e, captions});
  }
  mark_best(block.table, groups, {5, 6, 7}, values);
  s.blocks.push_back(std::move(block));
  return s;
}

Section winoground_section(const std::vector<LoadedResults>& results) {
  Section s{"winoground", "Winoground", {}, {}};
  std::vector<const LoadedResults*> docs;
  for (const auto& r : results) {
    if (r.document["metrics"].contains("winoground")) docs.push_back(&r);
  }
  if (docs.empty()) return s;
  s.paragraphs.push_back(
      "Text, image and group scores (%) with 95% bootstrap intervals over examples. Chance is "
      "25.0 (text), 25.0 (image) and 16.7 (group).");
  Section::Block overall;
  overall.table.header = {"model", "examples", "text", "image", "group"};
  Section::Block by_tag;
  by_tag.caption = "By collapsed tag";
  by_tag.table.header = {"model", "tag", "examples", "text", "image", "group"};
  std::vector<std::string> groups;
  std::vector<std::vector<double>> values;
  for (const auto* r : docs) {
    const json& w = r->document["metrics"]["winoground"];
    overall.table.rows.push_back({{model_label(*r)},
                                  {w["examples"].dump()},
                                  {percent(w["text"])},
                                  {percent(w["image"])},
                                  {percent(w["group"])}});
    groups.push_back("all");
    values.push_back({number(w, {"text", "value"}), number(w, {"image", "value"}),
                      number(w, {"group", "value"})});
    const json& tags = at(w, {"by_collapsed_tag"});
    if (!tags.is_object()) continue;
    for (const auto& [tag, t] : tags.items()) {
      by_tag.table.rows.push_back({{model_label(*r)},
                                   {tag},
                                   {t["examples"].dump()},
                                   {percent(t["text"])},
                                   {percent(t["image"])},
                                   {percent(t["group"])}});
    }
  }
  overall.table.rows.push_back({{"chance"}, {"–"}, {"25.0"}, {"25.0"}, {"16.7"}});
  groups.push_back("chance");
  values.push_back({std::nan(""), std::nan(""), std::nan("")});
  mark_best(overall.table, groups, {2, 3, 4}, values);
  s.blocks.push_back(std::move(overall));
  if (!by_tag.table.rows.empty()) s.blocks.push_back(std::move(by_tag));
  return s;
}

// "+1.2 [-0.5, +2.9]" percentage points of a difference of fractions.
std::string signed_points(const Estimate& d) {
  return fmt::format("{:+.1f} [{:+.1f}, {:+.1f}]", 100 * d.value, 100 * d.lo, 100 * d.hi);
}

// R@1 indicator per query from 1-based ranks.
std::vector<double> hits_at_1(const std::vector<std::int32_t>& ranks) {
  std::vector<double> out(ranks.size());
  for (std::size_t i = 0; i < ranks.size(); ++i) out[i] = ranks[i] <= 1 ? 1.0 : 0.0;
  return out;
}

Section significance_section(const std::vector<LoadedResults>& results) {
  Section s{"significance", "Significance", {}, {}};
  // Comparable documents: the same annotations (hash), split, protocol and query count.
  std::vector<std::pair<std::string, std::vector<const LoadedResults*>>> groups;
  for (const auto* r : retrieval_docs(results)) {
    if (r->per_query.t2i_rank.empty() && r->per_query.i2t_rank.empty()) continue;
    const json& d = r->document;
    const std::string key = fmt::format("{}|{}|{}|{}|{}", text_at(d, {"dataset", "sha256"}),
                                        text_at(d, {"dataset", "split"}), text_at(d, {"protocol"}),
                                        r->per_query.t2i_rank.size(), r->per_query.i2t_rank.size());
    auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == key; });
    if (it == groups.end()) {
      groups.push_back({key, {r}});
    } else {
      it->second.push_back(r);
    }
  }
  ThreadPool pool(0);
  for (const auto& [key, docs] : groups) {
    if (docs.size() < 2) continue;
    BootstrapOptions options;
    options.n_resamples = static_cast<int>(number(docs[0]->document, {"run", "bootstrap", "resamples"}));
    options.seed = static_cast<std::uint64_t>(number(docs[0]->document, {"run", "bootstrap", "seed"}));
    if (options.n_resamples < 1) continue;
    for (const char* direction : {"t2i", "i2t"}) {
      const auto ranks = [&](const LoadedResults* r) -> const std::vector<std::int32_t>& {
        return std::string(direction) == "t2i" ? r->per_query.t2i_rank : r->per_query.i2t_rank;
      };
      if (ranks(docs[0]).empty()) continue;
      Section::Block block;
      block.caption = fmt::format("{} R@1, {} ({} protocol): row model A, column model B, cell "
                                  "B − A in percentage points [95% interval], two-sided p",
                                  direction, dataset_label(*docs[0]),
                                  text_at(docs[0]->document, {"protocol"}));
      block.table.header = {"A \\ B"};
      for (const auto* r : docs) block.table.header.push_back(model_label(*r));
      for (const auto* a : docs) {
        std::vector<Cell> row = {{model_label(*a)}};
        for (const auto* b : docs) {
          if (a == b) {
            row.push_back({"–"});
            continue;
          }
          const PairedDifference p = paired_bootstrap(hits_at_1(ranks(a)), hits_at_1(ranks(b)),
                                                      Statistic::mean, options, pool);
          row.push_back({fmt::format("{}, p = {:.3f}{}", signed_points(p.diff), p.p_value,
                                     p.p_value < 0.05 ? "" : ": not significant at 0.05"),
                         p.p_value < 0.05});
        }
        block.table.rows.push_back(std::move(row));
      }
      s.blocks.push_back(std::move(block));
    }
  }
  if (!s.blocks.empty()) {
    s.paragraphs.push_back(fmt::format(
        "Every pair of models evaluated on the same queries (same annotations, split and "
        "protocol): the R@1 difference by the paired bootstrap over queries ({} resamples, the "
        "runs' seed; the same numbers as `vlbench compare A.json B.json`). Significant cells "
        "(p < 0.05) are marked; the others say so.",
        number(groups.front().second.front()->document, {"run", "bootstrap", "resamples"})));
  }
  return s;
}

Section pareto_section(const std::vector<StudyPoint>& points) {
  Section s{"pareto", "Pareto frontier", {}, {}};
  if (points.empty()) return s;
  s.paragraphs.push_back(
      "Text-to-image R@1 against image encode speed, one point per model and compute type, per "
      "dataset and machine. A model is on the frontier when no other model of the same chart is "
      "at least as fast and at least as accurate, and better in one of the two.");
  std::vector<std::pair<std::string, std::string>> groups;
  for (const StudyPoint& p : points) {
    const std::pair<std::string, std::string> g{p.dataset, p.machine};
    if (std::find(groups.begin(), groups.end(), g) == groups.end()) groups.push_back(g);
  }
  for (const auto& [dataset, machine] : groups) {
    Section::Block block;
    std::string on_frontier;
    block.table.header = {"model", "images/s (compute)", "t2i R@1 (%)", "on the frontier"};
    for (const StudyPoint& p : points) {
      if (p.dataset != dataset || p.machine != machine) continue;
      block.table.rows.push_back({{p.label},
                                  {rate(p.images_per_s)},
                                  {fmt::format("{:.1f} [{:.1f}, {:.1f}]", 100 * p.t2i_r1,
                                               100 * p.t2i_r1_lo, 100 * p.t2i_r1_hi)},
                                  {p.frontier ? "yes" : "no", p.frontier}});
      if (p.frontier) on_frontier += (on_frontier.empty() ? "" : ", ") + p.label;
    }
    block.caption = fmt::format("{} on {} — frontier: {}", dataset, machine, on_frontier);
    std::string svg = render_svg_chart(pareto_chart(points, dataset, machine));
    svg.erase(0, svg.find("<svg"));  // inline: no XML declaration
    block.svg = std::move(svg);
    s.blocks.push_back(std::move(block));
  }
  return s;
}

Section provenance_section(const std::vector<LoadedResults>& results,
                           const std::vector<IndexBenchFile>& index_bench) {
  Section s{"provenance", "Provenance", {}, {}};
  s.paragraphs.push_back(
      "Where every number came from: the results document, the model directory (for a model "
      "given as a Hugging Face reference, the repository, the revision asked for and the "
      "commit it resolved to) and the SHA-256 of its weights, the dataset annotations and "
      "their SHA-256, and the run.");
  Section::Block block;
  block.table.header = {"results document", "model",       "model directory", "Hugging Face repo",
                        "weights sha256",   "dataset",     "annotations",     "annotations sha256",
                        "command",          "started (UTC)", "threads",       "bootstrap",
                        "vlbench"};
  for (const auto& r : results) {
    const json& d = r.document;
    const std::string repo = text_at(d, {"model", "hub", "repo_id"}, "");
    block.table.rows.push_back(
        {{r.path.string()},
         {model_label(r)},
         {text_at(d, {"model", "path"})},
         {repo.empty() ? "–"
                       : fmt::format("{}@{} = commit {}", repo,
                                     text_at(d, {"model", "hub", "revision"}, "?"),
                                     text_at(d, {"model", "hub", "commit"}, "?"))},
         {text_at(d, {"model", "sha256"})},
         {dataset_label(r)},
         {text_at(d, {"dataset", "path"})},
         {text_at(d, {"dataset", "sha256"})},
         {text_at(d, {"run", "command"})},
         {text_at(d, {"run", "started"})},
         {text_at(d, {"run", "threads"})},
         {fmt::format("{} resamples, seed {}", text_at(d, {"run", "bootstrap", "resamples"}),
                      text_at(d, {"run", "bootstrap", "seed"}))},
         {text_at(d, {"run", "version"})}});
  }
  s.blocks.push_back(std::move(block));
  if (!index_bench.empty()) {
    Section::Block bench;
    bench.caption = "Index benchmarks (the decision table's search figures)";
    bench.table.header = {"index_bench.json", "sha256", "machine", "runs", "vlbench"};
    for (const IndexBenchFile& f : index_bench) {
      std::string runs;
      for (const IndexBenchRun& run : f.runs) {
        runs += fmt::format("{}{} ({} × {}, {} settings)", runs.empty() ? "" : "; ", run.name,
                            run.result.n_gallery, run.result.d, run.result.measurements.size());
      }
      bench.table.rows.push_back(
          {{f.path.string()}, {f.sha256}, {f.machine}, {runs}, {f.version.empty() ? "–" : f.version}});
    }
    s.blocks.push_back(std::move(bench));
  }
  return s;
}

std::vector<Section> study_sections(const std::vector<LoadedResults>& results,
                                    const std::vector<IndexBenchFile>& index_bench) {
  const std::vector<StudyPoint> points = study_points(results);
  std::vector<Section> sections = {summary_section(results, points),
                                   accuracy_section(results),
                                   ranks_section(results),
                                   speed_section(results),
                                   winoground_section(results),
                                   pareto_section(points),
                                   significance_section(results),
                                   decision_section(results, index_bench),
                                   provenance_section(results, index_bench)};
  sections.erase(std::remove_if(sections.begin(), sections.end(),
                                [](const Section& s) {
                                  return s.blocks.empty() && s.id != "summary";
                                }),
                 sections.end());
  return sections;
}

std::string html_escape(const std::string& text) {
  return xml_escape(text);
}

// " text |" of a Markdown table cell (bold when best); a '|' in the text would end the cell.
void append_cell(std::string& out, const Cell& c) {
  out += ' ';
  if (c.best) out += "**";
  for (char ch : c.text) {
    if (ch == '|') out += '\\';
    out += ch;
  }
  if (c.best) out += "**";
  out += " |";
}

constexpr const char* kCss = R"(
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 1200px; padding: 0 1rem; color: #1a1a1a; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.25rem; border-bottom: 2px solid #0072B2; padding-bottom: 0.2rem;
     margin-top: 2.2rem; }
nav a { margin-right: 1rem; }
table { border-collapse: collapse; margin: 0.8rem 0 1.4rem; font-size: 0.88rem; }
caption { text-align: left; font-weight: 600; padding: 0.3rem 0; }
th, td { border: 1px solid #c8c8c8; padding: 0.3rem 0.55rem; text-align: left;
         vertical-align: top; }
th { background: #eef3f8; }
td.best { font-weight: 700; background: #e6f4ea; }
.chart { margin: 0.5rem 0 0.5rem; max-width: 100%; overflow-x: auto; }
.chart svg { max-width: 100%; height: auto; }
p.meta { color: #555; }
@media print { body { margin: 0; max-width: none; } h2 { break-before: auto; }
               table, .chart { break-inside: avoid; } nav { display: none; } }
)";

}  // namespace

std::string render_study_html(const std::vector<LoadedResults>& results,
                              const std::vector<IndexBenchFile>& index_bench) {
  const std::vector<Section> sections = study_sections(results, index_bench);
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>vlbench report</title>\n<style>" +
      std::string(kCss) + "</style>\n</head>\n<body>\n<h1>vlbench report</h1>\n<nav>";
  for (const Section& s : sections) {
    out += fmt::format("<a href=\"#{}\">{}</a>", s.id, html_escape(s.heading));
  }
  out += "</nav>\n";
  for (const Section& s : sections) {
    out += fmt::format("<section id=\"{}\">\n<h2>{}</h2>\n", s.id, html_escape(s.heading));
    for (std::size_t i = 0; i < s.paragraphs.size(); ++i) {
      out += fmt::format("<p{}>{}</p>\n", s.id == "summary" && i == 0 ? " class=\"meta\"" : "",
                         html_escape(s.paragraphs[i]));
    }
    for (const Section::Block& b : s.blocks) {
      if (!b.svg.empty()) out += "<div class=\"chart\">\n" + b.svg + "</div>\n";
      out += "<table>\n";
      if (!b.caption.empty()) out += "<caption>" + html_escape(b.caption) + "</caption>\n";
      out += "<thead><tr>";
      for (const auto& h : b.table.header) out += "<th>" + html_escape(h) + "</th>";
      out += "</tr></thead>\n<tbody>\n";
      for (const auto& row : b.table.rows) {
        out += "<tr>";
        for (const Cell& c : row) {
          out += (c.best ? "<td class=\"best\">" : "<td>") + html_escape(c.text) + "</td>";
        }
        out += "</tr>\n";
      }
      out += "</tbody>\n</table>\n";
    }
    out += "</section>\n";
  }
  out += "</body>\n</html>\n";
  return out;
}

std::string render_study_markdown(const std::vector<LoadedResults>& results,
                                  const std::vector<IndexBenchFile>& index_bench) {
  std::string out = "# vlbench report\n\n";
  for (const Section& s : study_sections(results, index_bench)) {
    out += "## " + s.heading + "\n\n";
    for (const auto& p : s.paragraphs) out += p + "\n\n";
    for (const Section::Block& b : s.blocks) {
      if (!b.caption.empty()) out += "#### " + b.caption + "\n\n";
      out += "|";
      for (const auto& h : b.table.header) append_cell(out, {h});
      out += "\n|";
      for (std::size_t i = 0; i < b.table.header.size(); ++i) out += " --- |";
      out += "\n";
      for (const auto& row : b.table.rows) {
        out += "|";
        for (const Cell& c : row) append_cell(out, c);
        out += "\n";
      }
      out += "\n";
    }
  }
  return out;
}

namespace report_detail {

std::string model_label(const LoadedResults& r) {
  return fmt::format("{} ({})", model_name(r), text_at(r.document, {"model", "dtype"}, "fp32"));
}

std::string machine_label(const LoadedResults& r) {
  return vlbench::machine_label(at(r.document, {"machine"}));
}

// "42 s", "3.2 min", "5.1 h", "2.3 days" for a duration in seconds.
std::string duration(double seconds) {
  if (!std::isfinite(seconds)) return "–";
  if (seconds < 90) return fmt::format("{:.0f} s", seconds);
  if (seconds < 90 * 60) return fmt::format("{:.1f} min", seconds / 60);
  if (seconds < 48 * 3600) return fmt::format("{:.1f} h", seconds / 3600);
  return fmt::format("{:.1f} days", seconds / 86400);
}

std::vector<const LoadedResults*> speed_documents(const std::vector<LoadedResults>& results) {
  std::vector<const LoadedResults*> rows;
  for (const auto& r : results) {
    if (!std::isfinite(number(r.document, {"speed", "image_encode_per_s"}))) continue;
    const auto same = std::find_if(rows.begin(), rows.end(), [&](const LoadedResults* o) {
      return model_label(*o) == model_label(r) && machine_label(*o) == machine_label(r);
    });
    if (same == rows.end()) {
      rows.push_back(&r);
    } else if (number(r.document, {"dataset", "images"}) >
               number((*same)->document, {"dataset", "images"})) {
      *same = &r;
    }
  }
  return rows;
}

}  // namespace report_detail

}  // namespace vlbench
