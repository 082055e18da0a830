// study.hpp: the report's rules on hand-made results documents with known answers — Pareto
// frontier membership per dataset and machine, the recommendation per priority, the chart —
// and the HTML and Markdown pages holding the same table cells.
#include <vlbench/eval/compare.hpp>
#include <vlbench/report/study.hpp>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <regex>

namespace vlbench {
namespace {

using json = nlohmann::ordered_json;

struct Doc {
  std::string model;
  double r1 = 0;
  double images_per_s = 0;
  std::string kind = "coco-karpathy";
  std::string cpu = "Test CPU";
  std::string dtype = "fp32";
};

LoadedResults make(const Doc& d) {
  LoadedResults r;
  r.path = d.model + "-" + d.kind + ".json";
  r.document = {
      {"schema", "vlbench.results/1"},
      {"model", {{"name", d.model}, {"dtype", d.dtype}, {"path", "/m/" + d.model}, {"sha256", "ab"}}},
      {"dataset",
       {{"kind", d.kind}, {"split", "test"}, {"images", 100}, {"path", "/d"}, {"sha256", "cd"}}},
      {"protocol", "standard"},
      {"metrics",
       {{"t2i",
         {{"queries", 500},
          {"gallery", 100},
          {"r1", {{"value", d.r1}, {"ci95", {d.r1 - 0.02, d.r1 + 0.02}}}},
          {"r5", {{"value", d.r1 + 0.1}, {"ci95", {d.r1 + 0.08, d.r1 + 0.12}}}},
          {"r10", {{"value", d.r1 + 0.2}, {"ci95", {d.r1 + 0.18, d.r1 + 0.22}}}},
          {"mrr", {{"value", 0.3}, {"ci95", {0.28, 0.32}}}},
          {"median_rank", {{"value", 4.0}, {"ci95", {3.0, 5.0}}}},
          {"ties", 0}}}}},
      {"speed",
       {{"image_encode_per_s", d.images_per_s},
        {"end_to_end_images_per_s", d.images_per_s / 2},
        {"text_encode_per_s", 10 * d.images_per_s},
        {"peak_rss_bytes", 100 << 20}}},
      {"machine", {{"cpu", d.cpu}, {"logical_cores", 2}}},
      {"run",
       {{"command", "run"},
        {"threads", 2},
        {"gemm", "onednn"},
        {"bootstrap", {{"resamples", 1000}, {"seed", 0}}},
        {"version", "test"},
        {"started", "2026-12-04T10:00:00Z"}}}};
  return r;
}

std::vector<LoadedResults> make_all(const std::vector<Doc>& docs) {
  std::vector<LoadedResults> out;
  for (const Doc& d : docs) out.push_back(make(d));
  return out;
}

std::vector<bool> frontier_of(const std::vector<StudyPoint>& points) {
  std::vector<bool> f;
  for (const StudyPoint& p : points) f.push_back(p.frontier);
  return f;
}

TEST(Study, ParetoFrontierPerDatasetAndMachine) {
  // A fast, B accurate, C dominated by B (slower and worse), D as fast as A but worse, E alone
  // on another machine, F alone on another dataset.
  const auto results = make_all({{"A", 0.20, 100},
                                 {"B", 0.30, 50},
                                 {"C", 0.25, 40},
                                 {"D", 0.10, 100},
                                 {"E", 0.05, 10, "coco-karpathy", "Other CPU"},
                                 {"F", 0.01, 1, "flickr30k-karpathy"}});
  const std::vector<StudyPoint> points = study_points(results);
  ASSERT_EQ(points.size(), 6u);
  EXPECT_EQ(frontier_of(points), (std::vector<bool>{true, true, false, false, true, true}));
  EXPECT_EQ(points[0].label, "A (fp32)");
  EXPECT_EQ(points[0].dataset, "coco-karpathy test, standard protocol");
  EXPECT_EQ(points[4].machine, "Other CPU, 2 logical cores");
  EXPECT_DOUBLE_EQ(points[1].t2i_r1_lo, 0.28);

  // Equal points do not dominate each other: both stay on the frontier.
  const auto twins = study_points(make_all({{"X", 0.2, 10}, {"Y", 0.2, 10}}));
  EXPECT_EQ(frontier_of(twins), (std::vector<bool>{true, true}));
}

TEST(Study, DocumentsWithoutRetrievalOrSpeedAreNotPoints) {
  std::vector<LoadedResults> results = make_all({{"A", 0.2, 100}, {"B", 0.3, 50}});
  results[1].document.erase("speed");  // as `vlbench eval` writes it
  LoadedResults wino = make({"W", 0.0, 5});
  wino.document["metrics"] = {{"winoground", {{"examples", 8}}}};
  results.push_back(wino);
  const auto points = study_points(results);
  ASSERT_EQ(points.size(), 1u);
  EXPECT_EQ(points[0].label, "A (fp32)");
}

TEST(Study, RecommendationsFollowTheStatedRules) {
  // Fastest: A and D at 100 images/s, A more accurate (the tie rule). Most accurate: F, but at
  // 10 images/s it is under half the fastest, so balance is B (50 images/s = exactly half).
  const auto points = study_points(make_all({{"A", 0.20, 100},
                                             {"B", 0.30, 50},
                                             {"C", 0.25, 40},
                                             {"D", 0.10, 100},
                                             {"F", 0.50, 10}}));
  const std::vector<Recommendation> recs = recommend(points);
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[0].priority, "accuracy");
  EXPECT_EQ(points[recs[0].point].label, "F (fp32)");
  EXPECT_EQ(recs[1].priority, "speed");
  EXPECT_EQ(points[recs[1].point].label, "A (fp32)");
  EXPECT_EQ(recs[2].priority, "balance");
  EXPECT_EQ(points[recs[2].point].label, "B (fp32)");
  EXPECT_NE(recs[2].rule.find("at least 50 % as fast as the fastest (50 images/s or more)"),
            std::string::npos)
      << recs[2].rule;
  EXPECT_EQ(recs[0].evidence, "t2i R@1 50.0 % [48.0, 52.0], 10 images/s");

  // Ties on R@1 go to the faster model; one group per dataset × machine, in order.
  const auto tied = study_points(make_all({{"slow", 0.3, 5},
                                           {"fast", 0.3, 20},
                                           {"other", 0.1, 1, "flickr30k-karpathy"}}));
  const auto tied_recs = recommend(tied);
  ASSERT_EQ(tied_recs.size(), 6u);
  EXPECT_EQ(tied[tied_recs[0].point].label, "fast (fp32)");
  EXPECT_EQ(tied_recs[3].dataset, "flickr30k-karpathy test, standard protocol");
  EXPECT_EQ(tied[tied_recs[3].point].label, "other (fp32)");
}

TEST(Study, ParetoChartHasEveryPointWhiskersAndTheFrontierLine) {
  const auto points = study_points(
      make_all({{"A", 0.20, 100}, {"B", 0.30, 50}, {"C", 0.25, 40}, {"D", 0.10, 100}}));
  const ChartSpec spec = pareto_chart(points, points[0].dataset, points[0].machine);
  ASSERT_EQ(spec.series.size(), 5u);  // the frontier line, then one series per point
  EXPECT_EQ(spec.series[0].name, "Pareto frontier");
  EXPECT_FALSE(spec.series[0].markers);
  ASSERT_EQ(spec.series[0].points.size(), 2u);
  EXPECT_EQ(spec.series[0].points[0].x, 50);  // sorted by speed: B, then A
  EXPECT_EQ(spec.series[0].points[1].x, 100);
  EXPECT_TRUE(spec.log_x);
  const std::string svg = render_svg_chart(spec);
  const auto count = [&](const std::string& what) {
    std::size_t n = 0;
    for (std::size_t i = svg.find(what); i != std::string::npos; i = svg.find(what, i + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("class=\"whisker\""), 4u);
  EXPECT_EQ(count("class=\"point-label\""), 4u);
  EXPECT_EQ(count("class=\"highlight\""), 2u);
  EXPECT_EQ(count("stroke-dasharray"), 2u);  // the frontier and its legend entry
}

// The cells of every table, in order: HTML <td>/<th> texts (entities decoded), Markdown
// "| a | b |" rows (bold and escapes removed, separator rows skipped).
std::vector<std::string> html_cells(const std::string& html) {
  std::vector<std::string> cells;
  static const std::regex cell("<t[dh][^>]*>([^<]*)</t[dh]>");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), cell); it != std::sregex_iterator();
       ++it) {
    std::string t = (*it)[1];
    for (const auto& [entity, c] : std::vector<std::pair<std::string, std::string>>{
             {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&apos;", "'"}, {"&amp;", "&"}}) {
      for (std::size_t i = t.find(entity); i != std::string::npos; i = t.find(entity, i + 1)) {
        t.replace(i, entity.size(), c);
      }
    }
    cells.push_back(t);
  }
  return cells;
}

std::vector<std::string> markdown_cells(const std::string& md) {
  std::vector<std::string> cells;
  std::size_t start = 0;
  while (start < md.size()) {
    std::size_t end = md.find('\n', start);
    if (end == std::string::npos) end = md.size();
    const std::string line = md.substr(start, end - start);
    start = end + 1;
    if (line.rfind("| ", 0) != 0 || line.rfind("| --- ", 0) == 0) continue;
    std::string cell;
    for (std::size_t i = 2; i < line.size(); ++i) {
      if (line[i] == '\\' && i + 1 < line.size() && line[i + 1] == '|') {
        cell += '|';
        ++i;
      } else if (line.compare(i, 3, " | ") == 0 || line.compare(i, 2, " |") == 0) {
        if (cell.size() >= 4 && cell.rfind("**", 0) == 0) cell = cell.substr(2, cell.size() - 4);
        cells.push_back(cell);
        cell.clear();
        i += 2;
      } else {
        cell += line[i];
      }
    }
  }
  return cells;
}

TEST(Study, ProvenanceNamesTheHubRepositoryRevisionAndCommit) {
  std::vector<LoadedResults> results = make_all({{"A", 0.20, 100}, {"B", 0.30, 50}});
  results[1].document["model"]["hub"] = {{"repo_id", "org/b"},
                                         {"revision", "v1.0"},
                                         {"commit", "c0ffee0000000000000000000000000000000001"}};
  results[0].document["model"]["hub"] = nullptr;  // a checkpoint folder
  const std::string md = render_study_markdown(results);
  EXPECT_NE(md.find("| B-coco-karpathy.json | B (fp32) | /m/B | org/b@v1.0 = commit "
                    "c0ffee0000000000000000000000000000000001 | ab |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| A-coco-karpathy.json | A (fp32) | /m/A | – | ab |"), std::string::npos)
      << md;
  EXPECT_EQ(html_cells(render_study_html(results)), markdown_cells(md));
}

TEST(Study, HtmlAndMarkdownHoldTheSameTables) {
  std::vector<LoadedResults> results = make_all({{"A <&> \"x\"", 0.20, 100},
                                                 {"B|pipe", 0.30, 50},
                                                 {"C", 0.25, 40, "coco-karpathy", "Other CPU"}});
  const std::string html = render_study_html(results);
  const std::string md = render_study_markdown(results);
  const std::vector<std::string> a = html_cells(html), b = markdown_cells(md);
  ASSERT_GT(a.size(), 100u);
  EXPECT_EQ(a, b);
  for (const char* id : {"summary", "accuracy", "ranks", "speed", "pareto", "provenance"}) {
    EXPECT_NE(html.find(std::string("<section id=\"") + id + "\">"), std::string::npos) << id;
  }
  EXPECT_EQ(html.find("<section id=\"winoground\">"), std::string::npos);  // none given
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("http://"), html.find("http://www.w3.org/2000/svg"));  // no network
  EXPECT_NE(html.find("A &lt;&amp;&gt; &quot;x&quot; (fp32)"), std::string::npos);
  // One chart per dataset × machine: Test CPU and Other CPU.
  std::size_t charts = 0;
  for (std::size_t i = html.find("<svg"); i != std::string::npos; i = html.find("<svg", i + 1)) {
    ++charts;
  }
  EXPECT_EQ(charts, 2u);
  EXPECT_NE(md.find("Mixed machines: these results were measured on 2 machines."),
            std::string::npos);
  EXPECT_EQ(render_study_markdown(make_all({{"A", 0.2, 100}})).find("Mixed machines"),
            std::string::npos);
  // The best value of a column among models of the same dataset and protocol is marked.
  EXPECT_NE(html.find("<td class=\"best\">30.0 [28.0, 32.0]</td>"), std::string::npos);
  EXPECT_NE(md.find("| **30.0 [28.0, 32.0]** |"), std::string::npos);
  EXPECT_EQ(format_rate(83.33), "83.3");
  EXPECT_EQ(format_rate(686.4), "686");
  EXPECT_EQ(format_rate(2459.4), "2,459");
  EXPECT_EQ(format_rate(18800), "18,800");
  EXPECT_EQ(format_rate(1234567.8), "1,234,568");
  // Speed: the slowest of a machine is 1.00×, the other relative to it; the 5,000-image
  // time at the end-to-end rate (A: 50 images/s -> 100 s = 1.7 min).
  EXPECT_NE(md.find("| 2.00× |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 1.7 min |"), std::string::npos) << md;
}

TEST(Study, SignificanceMatrixIsThePairedBootstrapOfCompare) {
  // A finds every query at rank 1; B half of them: B − A = −50 points, clearly significant.
  // C equals A on 38 of 40 queries: +0 / −5 points, not significant.
  std::vector<LoadedResults> results =
      make_all({{"A", 1.0, 100}, {"B", 0.5, 50}, {"C", 0.95, 20}});
  results[0].per_query.t2i_rank.assign(40, 1);
  results[1].per_query.t2i_rank.assign(40, 1);
  for (int i = 0; i < 20; ++i) results[1].per_query.t2i_rank[2 * i] = 2;
  results[2].per_query.t2i_rank.assign(40, 1);
  results[2].per_query.t2i_rank[5] = results[2].per_query.t2i_rank[9] = 3;
  const std::string md = render_study_markdown(results);
  const std::size_t at = md.find("## Significance");
  ASSERT_NE(at, std::string::npos) << md;
  const BootstrapOptions options{1000, 0};  // the documents' run.bootstrap
  const auto expected = [&](int a, int b) {
    const auto cmp = compare_per_query(results[a].per_query, results[b].per_query, options, 1);
    const PairedDifference& d = cmp.front().result;  // "t2i.r1"
    EXPECT_EQ(cmp.front().name, "t2i.r1");
    return fmt::format("{:+.1f} [{:+.1f}, {:+.1f}], p = {:.3f}", 100 * d.diff.value,
                       100 * d.diff.lo, 100 * d.diff.hi, d.p_value);
  };
  const std::string ab = expected(0, 1), ac = expected(0, 2);
  EXPECT_EQ(ab.rfind("-50.0 [", 0), 0u) << ab;
  EXPECT_NE(md.find("| **" + ab + "** |", at), std::string::npos) << md.substr(at);
  EXPECT_NE(md.find("| **" + expected(1, 0) + "** |", at), std::string::npos) << md.substr(at);
  EXPECT_NE(md.find("| " + ac + ": not significant at 0.05 |", at), std::string::npos)
      << md.substr(at);
  // The HTML holds the same matrix.
  const std::string html = render_study_html(results);
  EXPECT_NE(html.find("<section id=\"significance\">"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"best\">" + ab + "</td>"), std::string::npos);
  // Without per-query values (documents copied without their sidecar) there is no matrix.
  EXPECT_EQ(render_study_markdown(make_all({{"A", 1.0, 100}, {"B", 0.5, 50}})).find("Significance"),
            std::string::npos);
}

TEST(Study, DecisionTableFromIndexBenchEncodeSpeedAndReranking) {
  std::vector<LoadedResults> results = make_all({{"A", 0.20, 100}, {"B", 0.30, 50}});
  // A two-stage run: A's dense top 100 re-ranked by a multi-vector model.
  results[0].document["rerank"] = {
      {"depth", 100},
      {"model", {{"name", "late"}}},
      {"t2i",
       {{"stage1", {{"r1", {{"value", 0.2}, {"ci95", {0.18, 0.22}}}}}},
        {"stage2", {{"r1", {{"value", 0.35}, {"ci95", {0.33, 0.37}}}}}},
        {"full_maxsim", {{"r1", {{"value", 0.36}, {"ci95", {0.34, 0.38}}}}}},
        {"latency_seconds", {{"stage2", {{"p50", 0.004}, {"p99", 0.0062}}}}}}},
      {"t2i_query_seconds_p50", {{"stage1_only", 0.0021}, {"two_stage", 0.0453}}}};
  IndexMeasurement flat;
  flat.type = "flat";
  flat.recall_at_10 = 1;
  flat.latency_p99_ms = 2.4;
  flat.bytes_per_vector = 2048;
  IndexMeasurement hnsw = flat;
  hnsw.type = "hnsw";
  hnsw.search_params = {{"efSearch", "128"}};
  hnsw.recall_at_10 = 0.97;
  hnsw.latency_p99_ms = 0.5;
  hnsw.bytes_per_vector = 2176;
  IndexBenchFile bench;
  bench.path = "ib/index_bench.json";
  bench.machine = "Test CPU, 2 logical cores";
  bench.sha256 = "ef01";
  bench.runs.push_back({"t2i", {}});
  bench.runs[0].result.n_gallery = 20000;
  bench.runs[0].result.d = 512;
  bench.runs[0].result.measurements = {flat, hnsw};

  const std::string md = render_study_markdown(results, {bench});
  const std::string html = render_study_html(results, {bench});
  EXPECT_EQ(html_cells(html), markdown_cells(md));
  const std::size_t at = md.find("## Decision table by gallery size");
  ASSERT_NE(at, std::string::npos) << md;
  EXPECT_NE(html.find("<section id=\"decision\">"), std::string::npos);
  // 10K – 1M: flat scaled to 1M is 120 ms, so hnsw efSearch=128 (0.5 ms) in every budget
  // (marked); ≤ 10K: exact estimated at 1.2 ms, too slow for 1 ms, where the 20,000-row run
  // (above the band) gives hnsw; 1M – 10M: exact 1,200 ms, no ANN measured there or above.
  const std::string hnsw_1m =
      "**hnsw efSearch=128 · recall@10 0.9700 · p99 0.5 ms · 2.03 GiB for 1,000,000**";
  EXPECT_NE(md.find("| 10K – 1M | p99 120 ms at 1,000,000 (flat p99 2.4 ms at n = 20,000 × 50: a "
                    "flat scan is linear in n) | " +
                        hnsw_1m + " | " + hnsw_1m + " | " + hnsw_1m +
                        " | measured at n = 20,000; at 1,000,000 expect more latency and less "
                        "recall | ib/index_bench.json, run t2i (20,000 × 512) |",
                    at),
            std::string::npos)
      << md.substr(at);
  EXPECT_NE(md.find("| ≤ 10K | p99 1.2 ms at 10,000 (flat p99 2.4 ms at n = 20,000 × 0.5: a flat "
                    "scan is linear in n) | **hnsw efSearch=128 · recall@10 0.9700 · p99 0.5 ms "
                    "· 20.8 MiB for 10,000** | **exact (flat) · recall@10 1.0000 · p99 1.2 ms "
                    "(estimated) · 19.5 MiB for 10,000** |",
                    at),
            std::string::npos)
      << md.substr(at);
  EXPECT_NE(md.find("| 1M – 10M | p99 1,200 ms at 10,000,000 (flat p99 2.4 ms at n = 20,000 × "
                    "500: a flat scan is linear in n) | none: exact search too slow, no ANN "
                    "index measured |",
                    at),
            std::string::npos)
      << md.substr(at);
  // Encode times at the end-to-end rate: A 50 images/s -> 10,000 in 3.3 min, 1M in 5.6 h,
  // 10M in 2.3 days, 100M in 23.1 days.
  EXPECT_NE(md.find("| A (fp32) | Test CPU, 2 logical cores | 50 | 3.3 min | 5.6 h | 2.3 days "
                    "| 23.1 days | A-coco-karpathy.json (100 images) |",
                    at),
            std::string::npos)
      << md.substr(at);
  // The two-stage row.
  EXPECT_NE(md.find("| A (fp32) → late | coco-karpathy test | 100 | 20.0 [18.0, 22.0] | 35.0 "
                    "[33.0, 37.0] | 36.0 [34.0, 38.0] | 6.2 | 2.1 / 45.3 | A-coco-karpathy.json |",
                    at),
            std::string::npos)
      << md.substr(at);
  // The index benchmark is in the provenance.
  EXPECT_NE(md.find("| ib/index_bench.json | ef01 | Test CPU, 2 logical cores | t2i (20000 × 512, "
                    "2 settings) | – |"),
            std::string::npos);
  EXPECT_EQ(md.find("Mixed machines"), std::string::npos);

  // Measured on another machine: said, not merged.
  bench.machine = "Other CPU, 8 logical cores";
  const std::string mixed = render_study_markdown(results, {bench});
  EXPECT_NE(mixed.find("Mixed machines: the index benchmark ib/index_bench.json was measured on "
                       "Other CPU, 8 logical cores, which encoded none of the results"),
            std::string::npos);
  EXPECT_NE(mixed.find("#### Search on Other CPU, 8 logical cores"), std::string::npos);

  // Without an index benchmark: the encode times and the two-stage row, and what to pass.
  const std::string plain = render_study_markdown(results);
  EXPECT_NE(plain.find("pass `--index-bench index_bench.json`"), std::string::npos);
  EXPECT_NE(plain.find("| 2.3 days |"), std::string::npos);
  EXPECT_EQ(plain.find("#### Search on"), std::string::npos);
}

}  // namespace
}  // namespace vlbench
