// chart.hpp and index_bench_report.hpp: the SVG is well-formed XML (balanced tags, escaped
// text) holding every series, point and highlighted point; ticks; the index benchmark's
// JSON, Markdown and chart from a hand-made result.
#include "test_util.hpp"

#include <vlbench/report/chart.hpp>
#include <vlbench/report/index_bench_report.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <regex>

namespace vlbench {
namespace {

using testing::expect_error;

// Checks that `xml` is one balanced element tree: every <a> closed by </a> in order,
// self-closing <a/> allowed, a leading <?xml ...?> allowed, and '&' only starting an entity.
// Returns "" when well-formed, else what is wrong.
std::string xml_problem(const std::string& xml) {
  std::vector<std::string> stack;
  std::size_t i = 0;
  int roots = 0;
  while (i < xml.size()) {
    if (xml[i] == '&') {
      static const std::regex entity("^&(amp|lt|gt|quot|apos);");
      if (!std::regex_search(xml.substr(i, 8), entity)) return "bare & at " + std::to_string(i);
      ++i;
      continue;
    }
    if (xml[i] != '<') {
      ++i;
      continue;
    }
    const std::size_t end = xml.find('>', i);
    if (end == std::string::npos) return "unterminated tag at " + std::to_string(i);
    const std::string tag = xml.substr(i + 1, end - i - 1);
    if (tag.find('<') != std::string::npos) return "'<' inside tag " + tag;
    if (std::count(tag.begin(), tag.end(), '"') % 2 != 0) return "odd quotes in " + tag;
    if (tag.front() == '?') {
      if (i != 0 || tag.back() != '?') return "misplaced declaration";
    } else if (tag.front() == '/') {
      if (stack.empty() || stack.back() != tag.substr(1)) return "unexpected </" + tag.substr(1);
      stack.pop_back();
    } else {
      const std::string name = tag.substr(0, tag.find_first_of(" \n/"));
      if (stack.empty()) ++roots;
      if (tag.back() != '/') stack.push_back(name);
    }
    i = end + 1;
  }
  if (!stack.empty()) return "unclosed <" + stack.back() + ">";
  if (roots != 1) return "expected one root element, got " + std::to_string(roots);
  return "";
}

std::size_t count(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (std::size_t p = text.find(part); p != std::string::npos; p = text.find(part, p + 1)) ++n;
  return n;
}

TEST(XmlChecker, CatchesBrokenDocuments) {
  EXPECT_EQ(xml_problem("<a><b/></a>"), "");
  EXPECT_NE(xml_problem("<a><b></a>"), "");
  EXPECT_NE(xml_problem("<a>x & y</a>"), "");
  EXPECT_NE(xml_problem("<a></a><b></b>"), "");
}

ChartSpec sample_chart() {
  ChartSpec spec;
  spec.title = "recall <&> speed";
  spec.x_label = "queries/s";
  spec.y_label = "recall@10";
  spec.log_x = true;
  spec.series = {
      {"hnsw",
       {{120, 0.8, false, "efSearch=16"},
        {900, 0.97, true, "efSearch=64"},
        {2500, 0.999, true, "efSearch=256"}}},
      {"flat \"exact\"", {{40, 1.0, true, ""}}},
  };
  return spec;
}

TEST(Chart, IsWellFormedSvgWithEverySeriesAndPoint) {
  const std::string svg = render_svg_chart(sample_chart());
  EXPECT_EQ(xml_problem(svg), "") << svg;
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_NE(svg.find("<svg xmlns=\"http://www.w3.org/2000/svg\""), std::string::npos);
  EXPECT_NE(svg.find("recall &lt;&amp;&gt; speed"), std::string::npos);
  EXPECT_NE(svg.find(">hnsw</text>"), std::string::npos);  // legend
  EXPECT_NE(svg.find(">flat &quot;exact&quot;</text>"), std::string::npos);
  EXPECT_EQ(count(svg, "class=\"point\""), 4u);
  EXPECT_EQ(count(svg, "class=\"highlight\""), 3u);
  EXPECT_EQ(count(svg, "<polyline"), 1u);  // a one-point series has no line
  EXPECT_NE(svg.find("hnsw efSearch=64: x=900, y=0.97 (Pareto frontier)"), std::string::npos);
  EXPECT_NE(svg.find(">Pareto frontier</text>"), std::string::npos);
  // Log axis from 10 to 10k: decade ticks labelled 10, 100, 1k, 10k.
  for (const char* label : {">10</text>", ">100</text>", ">1k</text>", ">10k</text>"}) {
    EXPECT_NE(svg.find(label), std::string::npos) << label;
  }
}

TEST(Chart, MapsPointsMonotonically) {
  const std::string svg = render_svg_chart(sample_chart());
  // Markers of the hnsw series in order: x grows with queries/s, y (screen) falls as recall
  // grows.
  std::regex marker("class=\"point\" cx=\"([0-9.]+)\" cy=\"([0-9.]+)\"");
  std::vector<std::pair<double, double>> xy;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), marker); it != std::sregex_iterator();
       ++it) {
    xy.push_back({std::stod((*it)[1]), std::stod((*it)[2])});
  }
  ASSERT_EQ(xy.size(), 4u);
  EXPECT_LT(xy[0].first, xy[1].first);
  EXPECT_LT(xy[1].first, xy[2].first);
  EXPECT_GT(xy[0].second, xy[1].second);
  EXPECT_GT(xy[1].second, xy[2].second);
  // log scale: 120 -> 900 -> 2500 spacing follows log10 ratios (0.875 : 0.444).
  const double r = (xy[1].first - xy[0].first) / (xy[2].first - xy[1].first);
  EXPECT_NEAR(r, std::log10(900.0 / 120) / std::log10(2500.0 / 900), 0.02);
}

TEST(Chart, NiceTicks) {
  EXPECT_EQ(nice_ticks(0.0, 1.0, 5), (std::vector<double>{0.0, 0.2, 0.4, 0.6, 0.8, 1.0}));
  const auto t = nice_ticks(0.73, 1.01, 6);  // step 0.05
  ASSERT_GE(t.size(), 2u);
  EXPECT_LE(t.front(), 0.73);
  EXPECT_GE(t.back(), 1.01);
  EXPECT_NEAR(t[1] - t[0], 0.05, 1e-12);
}

TEST(Chart, RejectsUnplottablePoints) {
  ChartSpec spec = sample_chart();
  spec.series[0].points[0].x = 0;
  expect_error([&] { render_svg_chart(spec); }, {"series 'hnsw'", "x > 0", "log axis"});
  spec.log_x = false;
  spec.series[0].points[0].y = NAN;
  expect_error([&] { render_svg_chart(spec); }, {"series 'hnsw'", "finite"});
  ChartSpec empty;
  empty.title = "nothing";
  expect_error([&] { render_svg_chart(empty); }, {"chart 'nothing'", "at least one point"});
}

IndexBenchResult sample_result() {
  IndexBenchResult r;
  r.n_gallery = 1000;
  r.n_queries = 50;
  r.d = 32;
  r.k = 10;
  r.threads = 2;
  r.latency_queries = 50;
  IndexMeasurement flat;
  flat.type = "flat";
  flat.recall_at_1 = flat.recall_at_10 = flat.recall_at_k = 1.0;
  flat.batched_qps = 500;
  flat.memory_bytes = 128000;
  flat.bytes_per_vector = 128;
  flat.pareto = true;
  IndexMeasurement h1;
  h1.type = "hnsw";
  h1.build_params = {{"M", "16"}};
  h1.search_params = {{"efSearch", "64"}};
  h1.recall_at_10 = 0.95;
  h1.batched_qps = 8000;
  h1.pareto = true;
  IndexMeasurement h2 = h1;
  h2.search_params = {{"efSearch", "16"}};
  h2.recall_at_10 = 0.7;
  h2.batched_qps = 7000;
  h2.pareto = false;
  r.measurements = {flat, h1, h2};
  return r;
}

TEST(IndexBenchReport, JsonHasEveryField) {
  const auto j = index_bench_to_json(sample_result());
  EXPECT_EQ(j["n_gallery"], 1000);
  ASSERT_EQ(j["measurements"].size(), 3u);
  const auto& h = j["measurements"][1];
  for (const char* field :
       {"type", "build_params", "search_params", "params", "recall_at_1", "recall_at_10",
        "recall_at_k", "batched_qps", "batched_seconds", "latency_ms", "build_seconds",
        "memory_bytes", "bytes_per_vector", "pareto"}) {
    EXPECT_TRUE(h.contains(field)) << field;
  }
  EXPECT_EQ(h["search_params"]["efSearch"], "64");
  EXPECT_EQ(h["pareto"], true);
  EXPECT_EQ(j["measurements"][2]["pareto"], false);
}

TEST(IndexBenchReport, MarkdownAndChart) {
  const std::string md = index_bench_markdown(sample_result(), "t2i");
  EXPECT_NE(md.find("### t2i"), std::string::npos);
  EXPECT_NE(md.find("| **hnsw** | M=16 efSearch=64 | 0.0000 | 0.9500 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| hnsw | M=16 efSearch=16 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 125.0 KiB | 128.0 | yes |"), std::string::npos) << md;

  const ChartSpec spec = index_bench_chart(sample_result(), "t2i");
  ASSERT_EQ(spec.series.size(), 2u);
  EXPECT_EQ(spec.series[0].name, "flat");
  ASSERT_EQ(spec.series[1].points.size(), 2u);
  EXPECT_EQ(spec.series[1].points[0].x, 7000);  // sorted by queries/s
  EXPECT_EQ(spec.series[1].points[0].label, "M=16 efSearch=16");
  EXPECT_TRUE(spec.series[1].points[1].highlight);
  EXPECT_TRUE(spec.log_x);
  EXPECT_EQ(xml_problem(render_svg_chart(spec)), "");
}

}  // namespace
}  // namespace vlbench
