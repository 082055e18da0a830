// The report's decision table (decision.hpp): search per gallery band × latency budget from
// index benchmarks, the time to encode a gallery of each size from the run's own encode speed,
// and the two-stage rows of re-ranking runs. Every row names the measurement it came from.
#include <vlbench/report/decision.hpp>

#include "report/json_cells.hpp"
#include "report/study_section.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace vlbench::report_detail {

using json = nlohmann::ordered_json;

namespace {

double number(const json& root, std::initializer_list<const char*> path) {
  const json& v = at_path(root, path);
  return v.is_number() ? v.get<double>() : std::nan("");
}

// "768 B", "3.1 KiB", "2.9 GiB", "2.8 TiB".
std::string bytes_text(double bytes) {
  if (!std::isfinite(bytes)) return "–";
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int u = 0;
  while (bytes >= 1024 && u < 5) {
    bytes /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f} B", bytes) : fmt::format("{:.3g} {}", bytes, units[u]);
}

std::string text(const json& root, std::initializer_list<const char*> path) {
  const json& v = at_path(root, path);
  return v.is_string() ? v.get<std::string>() : v.is_null() ? "–" : v.dump();
}

std::string milliseconds(double ms) {
  if (!std::isfinite(ms)) return "–";
  return ms < 10 ? fmt::format("{:.3g}", ms) : format_rate(ms);
}

// One budget's cell: the choice and its figures, or why there is none.
Cell budget_cell(const SearchDecision& d, std::int64_t band_size) {
  const std::string memory =
      fmt::format("{} for {}", bytes_text(d.bytes_per_vector * static_cast<double>(band_size)),
                  format_rate(static_cast<double>(band_size)));
  if (d.choice.empty()) {
    if (!std::isfinite(d.p99_ms)) return {"none: " + d.note};
    return {fmt::format("none: {} (recall@10 {:.4f}, p99 {} ms)", d.note, d.recall_at_10,
                        milliseconds(d.p99_ms))};
  }
  return {fmt::format("{} · recall@10 {:.4f} · p99 {} ms{} · {}", d.choice, d.recall_at_10,
                      milliseconds(d.p99_ms), d.estimated ? " (estimated)" : "", memory),
          true};
}

void search_blocks(Section& s, const std::vector<IndexBenchFile>& index_bench) {
  const std::vector<SearchDecision> decisions = decide_search(index_bench);
  const auto& bands = gallery_bands();
  const auto& budgets = latency_budgets_ms();
  // decide_search's order: machine, band, budget.
  for (std::size_t first = 0; first < decisions.size(); first += budgets.size()) {
    const SearchDecision& d = decisions[first];
    if (d.band == 0) {
      Section::Block block;
      block.caption = fmt::format(
          "Search on {}: the choice per latency budget (p99 of one query on one thread) with "
          "recall@10 against exact search, p99 and the index memory at the band's top",
          d.machine);
      block.table.header = {"gallery size", "exact search at the band's top"};
      for (const double budget : budgets) {
        block.table.header.push_back(fmt::format("p99 ≤ {:g} ms", budget));
      }
      block.table.header.insert(block.table.header.end(), {"ANN figures", "measured in"});
      s.blocks.push_back(std::move(block));
    }
    const GalleryBand& band = bands[d.band];
    std::vector<Cell> row = {
        {band.label},
        {std::isfinite(d.exact_p99_ms)
             ? fmt::format("p99 {} ms at {} ({})", milliseconds(d.exact_p99_ms),
                           format_rate(static_cast<double>(band.size)), d.exact_note)
             : d.exact_note}};
    for (std::size_t b = 0; b < budgets.size(); ++b) {
      row.push_back(budget_cell(decisions[first + b], band.size));
    }
    row.push_back({d.ann_note});
    std::string sources = d.exact_source;
    if (!d.ann_source.empty() && d.ann_source != d.exact_source) {
      sources += (sources.empty() ? "" : "; ") + d.ann_source;
    }
    row.push_back({sources.empty() ? "–" : sources});
    s.blocks.back().table.rows.push_back(std::move(row));
  }
}

void encode_block(Section& s, const std::vector<LoadedResults>& results) {
  const std::vector<const LoadedResults*> docs = speed_documents(results);
  if (docs.empty()) return;
  Section::Block block;
  block.caption = "Time to encode the gallery at the run's end-to-end rate (files → embeddings)";
  block.table.header = {"model", "machine", "images/s (end to end)"};
  for (const GalleryBand& band : gallery_bands()) {
    block.table.header.push_back(format_rate(static_cast<double>(band.size)) + " images");
  }
  block.table.header.push_back("measured in");
  for (const LoadedResults* r : docs) {
    const double rate = number(r->document, {"speed", "end_to_end_images_per_s"});
    std::vector<Cell> row = {{model_label(*r)}, {machine_label(*r)}, {format_rate(rate)}};
    for (const GalleryBand& band : gallery_bands()) {
      row.push_back({duration(static_cast<double>(band.size) / rate)});
    }
    row.push_back({fmt::format("{} ({} images)", r->path.string(),
                               text(r->document, {"dataset", "images"}))});
    block.table.rows.push_back(std::move(row));
  }
  s.blocks.push_back(std::move(block));
}

void two_stage_block(Section& s, const std::vector<LoadedResults>& results) {
  Section::Block block;
  block.caption =
      "Two-stage retrieval: dense search, then MaxSim re-ranking of its top candidates (the "
      "re-ranking cost does not grow with the gallery)";
  block.table.header = {"stage 1 → stage 2",
                        "dataset",
                        "depth",
                        "t2i R@1 stage 1",
                        "t2i R@1 two-stage",
                        "t2i R@1 MaxSim alone",
                        "stage 2 p99 ms",
                        "t2i query p50 ms, encodes included (stage 1 only / two-stage)",
                        "measured in"};
  for (const LoadedResults& r : results) {
    const json& rerank = at_path(r.document, {"rerank"});
    if (!rerank.is_object() || !rerank.contains("t2i")) continue;
    const json& t2i = rerank["t2i"];
    const json& reranker = at_path(rerank, {"model", "name"});
    const double s1 = number(rerank, {"t2i_query_seconds_p50", "stage1_only"});
    const double both = number(rerank, {"t2i_query_seconds_p50", "two_stage"});
    block.table.rows.push_back(
        {{fmt::format("{} → {}", model_label(r),
                      reranker.is_string() ? reranker.get<std::string>() : "token files")},
         {fmt::format("{} {}", text(r.document, {"dataset", "kind"}),
                      text(r.document, {"dataset", "split"}))},
         {text(rerank, {"depth"})},
         {percent_cell(at_path(t2i, {"stage1", "r1"}))},
         {percent_cell(at_path(t2i, {"stage2", "r1"}))},
         {percent_cell(at_path(t2i, {"full_maxsim", "r1"}))},
         {milliseconds(1e3 * number(t2i, {"latency_seconds", "stage2", "p99"}))},
         {fmt::format("{} / {}", milliseconds(1e3 * s1), milliseconds(1e3 * both))},
         {r.path.string()}});
  }
  if (!block.table.rows.empty()) s.blocks.push_back(std::move(block));
}

}  // namespace

Section decision_section(const std::vector<LoadedResults>& results,
                         const std::vector<IndexBenchFile>& index_bench) {
  Section s{"decision", "Decision table by gallery size", {}, {}};
  s.paragraphs.push_back(fmt::format(
      "Which search to run for a gallery of each size within a single-query latency budget, "
      "computed for the top of each band (its worst case). Exact search when its p99 fits the "
      "budget: measured at that size, or the flat measurement closest in size scaled linearly "
      "(a flat scan reads every vector). Otherwise the ANN setting measured in the band with "
      "the highest recall@10 among those with recall@10 >= {:g} and p99 within the budget "
      "(ties: fewer bytes per vector, then lower p99), or with none measured in the band, at the "
      "next larger size; ANN latency is never extrapolated. The last columns say how each row "
      "was derived and from which measurement.",
      kDecisionRecall));
  if (index_bench.empty()) {
    s.paragraphs.push_back(
        "No index benchmark was given: pass `--index-bench index_bench.json` (written by "
        "`vlbench index bench`) for the search rows.");
  } else {
    search_blocks(s, index_bench);
    // Search and encode figures from different machines are labelled, never merged.
    std::vector<std::string> encode_machines;
    for (const LoadedResults* r : speed_documents(results)) {
      encode_machines.push_back(machine_label(*r));
    }
    for (const IndexBenchFile& f : index_bench) {
      if (!encode_machines.empty() && std::find(encode_machines.begin(), encode_machines.end(),
                                                f.machine) == encode_machines.end()) {
        s.paragraphs.push_back(fmt::format(
            "Mixed machines: the index benchmark {} was measured on {}, which encoded none of "
            "the results; its search figures and the encode times below come from different "
            "machines.",
            f.path.string(), f.machine));
      }
    }
  }
  encode_block(s, results);
  two_stage_block(s, results);
  if (index_bench.empty() && s.blocks.empty()) s.paragraphs.clear();
  return s;
}

}  // namespace vlbench::report_detail
