// decision.hpp: the decision table's rules on hand-made index benchmarks with answers worked
// out by hand (exact search scaled linearly to each band's top, the best ANN setting measured
// in the band, none when nothing qualifies), and read_index_bench's round trip and errors.
#include "test_util.hpp"

#include <vlbench/report/decision.hpp>
#include <vlbench/report/index_bench_report.hpp>

#include <gtest/gtest.h>

#include <cmath>

namespace vlbench {
namespace {

IndexMeasurement setting(const std::string& type, IndexParams params, double recall, double p99,
                         double bytes_per_vector) {
  IndexMeasurement m;
  m.type = type;
  m.search_params = std::move(params);
  m.recall_at_1 = m.recall_at_10 = m.recall_at_k = recall;
  m.latency_p50_ms = m.latency_p95_ms = m.latency_p99_ms = p99;
  m.bytes_per_vector = bytes_per_vector;
  m.memory_bytes = 1000;
  return m;
}

IndexBenchRun run(std::int64_t n, std::vector<IndexMeasurement> measurements) {
  IndexBenchRun r;
  r.name = "synthetic";
  r.result.n_gallery = n;
  r.result.n_queries = 100;
  r.result.d = 64;
  r.result.k = 10;
  r.result.measurements = std::move(measurements);
  return r;
}

// Test CPU: a 2,000-row run (band ≤ 10K) and a 20,000-row run (band 10K – 1M).
// Other CPU: one 50,000-row run whose only ANN setting is too slow for 1 ms.
std::vector<IndexBenchFile> files() {
  IndexBenchFile a;
  a.path = "a/index_bench.json";
  a.machine = "Test CPU, 2 logical cores";
  a.runs.push_back(run(2000, {setting("flat", {}, 1.0, 0.5, 256),
                              setting("hnsw", {{"efSearch", "16"}}, 0.99, 0.05, 400)}));
  a.runs.push_back(
      run(20000, {setting("flat", {}, 1.0, 2.4, 256), setting("flat-int8", {}, 0.97, 0.6, 68),
                  setting("hnsw", {{"efSearch", "16"}}, 0.90, 0.1, 400),
                  setting("hnsw", {{"efSearch", "64"}}, 0.96, 0.3, 400),
                  setting("hnsw", {{"M", "32"}, {"efSearch", "256"}}, 0.99, 0.8, 528),
                  setting("hnsw", {{"efSearch", "256"}}, 0.99, 0.9, 400),
                  setting("ivf-pq", {{"nprobe", "4"}}, 0.70, 0.05, 16)}));
  IndexBenchFile b;
  b.path = "b/index_bench.json";
  b.machine = "Other CPU, 8 logical cores";
  b.runs.push_back(run(50000, {setting("flat", {}, 1.0, 40, 256),
                               setting("hnsw", {{"efSearch", "32"}}, 0.96, 3.0, 400)}));
  return {a, b};
}

const SearchDecision& find(const std::vector<SearchDecision>& all, const std::string& machine,
                           std::size_t band, double budget) {
  for (const SearchDecision& d : all) {
    if (d.machine == machine && d.band == band && d.budget_ms == budget) return d;
  }
  ADD_FAILURE() << "no row " << machine << " " << band << " " << budget;
  return all.front();
}

TEST(Decision, BandsAndBudgets) {
  const auto& bands = gallery_bands();
  ASSERT_EQ(bands.size(), 4u);
  EXPECT_EQ(bands[0].label, "≤ 10K");
  EXPECT_EQ(bands[1].lo, 10'000);
  EXPECT_EQ(bands[2].size, 10'000'000);
  EXPECT_EQ(bands[3].hi, 0);
  EXPECT_EQ(latency_budgets_ms(), (std::vector<double>{1, 10, 100}));
}

TEST(Decision, RulesGiveTheHandWorkedAnswers) {
  const std::vector<SearchDecision> all = decide_search(files());
  ASSERT_EQ(all.size(), 2u * 4 * 3);  // machines × bands × budgets, in that order
  EXPECT_EQ(all[0].machine, "Test CPU, 2 logical cores");
  EXPECT_EQ(all[12].machine, "Other CPU, 8 logical cores");
  const std::string test = "Test CPU, 2 logical cores", other = "Other CPU, 8 logical cores";

  // ≤ 10K on Test CPU, computed at 10,000: the closest flat is the 20,000 run (log ratio 0.69
  // against 1.61 for 2,000): 2.4 ms × 0.5 = 1.2 ms. 1 ms: too slow; the 2,000-row run is in
  // the band and its hnsw efSearch=16 qualifies (0.99, 0.05 ms), measured below the top.
  const SearchDecision& small_1 = find(all, test, 0, 1);
  EXPECT_EQ(small_1.choice, "hnsw efSearch=16");
  EXPECT_FALSE(small_1.estimated);
  EXPECT_DOUBLE_EQ(small_1.p99_ms, 0.05);
  EXPECT_DOUBLE_EQ(small_1.exact_p99_ms, 1.2);
  EXPECT_EQ(small_1.exact_note, "flat p99 2.4 ms at n = 20,000 × 0.5: a flat scan is linear in n");
  EXPECT_EQ(small_1.exact_source, "a/index_bench.json, run synthetic (20,000 × 64)");
  EXPECT_EQ(small_1.ann_note,
            "measured at n = 2,000; at 10,000 expect more latency and less recall");
  EXPECT_EQ(small_1.source, "a/index_bench.json, run synthetic (2,000 × 64)");
  EXPECT_EQ(small_1.ann_source, small_1.source);
  EXPECT_TRUE(small_1.note.empty());
  // 10 ms: exact, estimated from the 20,000-row flat.
  const SearchDecision& small_10 = find(all, test, 0, 10);
  EXPECT_EQ(small_10.choice, "exact (flat)");
  EXPECT_TRUE(small_10.estimated);
  EXPECT_DOUBLE_EQ(small_10.p99_ms, 1.2);
  EXPECT_DOUBLE_EQ(small_10.recall_at_10, 1.0);
  EXPECT_DOUBLE_EQ(small_10.bytes_per_vector, 256);
  EXPECT_EQ(small_10.source, "a/index_bench.json, run synthetic (20,000 × 64)");
  EXPECT_EQ(small_10.exact_note, small_1.exact_note);  // band-level, the same for every budget

  // 10K – 1M at 1,000,000: flat 2.4 × 50 = 120 ms, too slow for every budget. Qualifying in
  // the 20,000 run at 1 ms: flat-int8 (0.97), hnsw 64 (0.96), hnsw 256 (0.99, 400 B) and hnsw
  // M=32 256 (0.99, 528 B): the highest recall, then fewer bytes -> hnsw efSearch=256.
  for (const double budget : {1.0, 10.0, 100.0}) {
    const SearchDecision& d = find(all, test, 1, budget);
    EXPECT_EQ(d.choice, "hnsw efSearch=256") << budget;
    EXPECT_DOUBLE_EQ(d.recall_at_10, 0.99);
    EXPECT_DOUBLE_EQ(d.p99_ms, 0.9);
    EXPECT_DOUBLE_EQ(d.bytes_per_vector, 400);
    EXPECT_DOUBLE_EQ(d.exact_p99_ms, 120);
    EXPECT_EQ(d.exact_note, "flat p99 2.4 ms at n = 20,000 × 50: a flat scan is linear in n");
  }
  // 1M – 10M and > 10M: exact is 1,200 / 12,000 ms and no index was measured there.
  for (const std::size_t band : {2u, 3u}) {
    for (const double budget : {1.0, 10.0, 100.0}) {
      const SearchDecision& d = find(all, test, band, budget);
      EXPECT_TRUE(d.choice.empty()) << band << " " << budget;
      EXPECT_EQ(d.ann_note,
                "no index was measured in this band or above it: run `vlbench index "
                "bench --synthetic " +
                    std::to_string(gallery_bands()[band].size) + ",D`");
      EXPECT_EQ(d.note, "exact search too slow, no ANN index measured");
      EXPECT_TRUE(std::isnan(d.p99_ms));
    }
  }
  EXPECT_DOUBLE_EQ(find(all, test, 2, 1).exact_p99_ms, 1200);
  EXPECT_EQ(find(all, test, 3, 1).exact_note,
            "flat p99 2.4 ms at n = 20,000 × 5,000: a flat scan is linear in n");

  // Other CPU, 10K – 1M: flat 40 × 20 = 800 ms. 1 ms: hnsw (3 ms) is too slow -> none, the
  // row shows it as the fastest with enough recall. 10 and 100 ms: hnsw efSearch=32.
  const SearchDecision& other_1 = find(all, other, 1, 1);
  EXPECT_TRUE(other_1.choice.empty());
  EXPECT_DOUBLE_EQ(other_1.p99_ms, 3.0);
  EXPECT_EQ(other_1.note, "the fastest with recall@10 >= 0.95 is hnsw efSearch=32");
  EXPECT_EQ(find(all, other, 1, 10).choice, "hnsw efSearch=32");
  EXPECT_EQ(find(all, other, 1, 100).choice, "hnsw efSearch=32");
  // Other CPU, ≤ 10K: flat 40 × 0.2 = 8 ms -> exact within 10 ms. Figures of one machine
  // never decide for another.
  EXPECT_DOUBLE_EQ(find(all, other, 0, 10).p99_ms, 8.0);
  EXPECT_EQ(find(all, other, 0, 10).choice, "exact (flat)");
  // At 1 ms the 50,000-row run above the band decides: its hnsw (3 ms) is too slow.
  EXPECT_TRUE(find(all, other, 0, 1).choice.empty());
  EXPECT_NE(find(all, other, 0, 1).ann_note.find("measured at n = 50,000, above this band"),
            std::string::npos)
      << find(all, other, 0, 1).ann_note;
  EXPECT_EQ(find(all, other, 0, 10).source, "b/index_bench.json, run synthetic (50,000 × 64)");
}

TEST(Decision, ExactMeasuredAtTheBandTopIsNotScaled) {
  IndexBenchFile f;
  f.path = "x.json";
  f.machine = "M";
  f.runs.push_back(run(1'000'000, {setting("flat", {}, 1.0, 90, 3072)}));
  const auto all = decide_search({f});
  const SearchDecision& d = find(all, "M", 1, 100);
  EXPECT_EQ(d.choice, "exact (flat)");
  EXPECT_FALSE(d.estimated);
  EXPECT_DOUBLE_EQ(d.p99_ms, 90);
  EXPECT_EQ(d.exact_note, "measured at this size");
  // No ANN measured at 1M and exact too slow for 10 ms: nothing qualifies in the band.
  const SearchDecision& tight = find(all, "M", 1, 10);
  EXPECT_TRUE(tight.choice.empty());
  EXPECT_EQ(tight.note, "no ANN setting reaches recall@10 >= 0.95");
  EXPECT_EQ(tight.ann_note, "measured at this size");
}

TEST(Decision, AnnMeasuredAboveTheBandDecidesWhenNoneInside) {
  IndexBenchFile f;
  f.path = "x.json";
  f.machine = "M";
  f.runs.push_back(run(50'000, {setting("flat", {}, 1.0, 40, 256),
                                setting("hnsw", {{"efSearch", "32"}}, 0.96, 0.5, 400)}));
  const std::vector<SearchDecision> all = decide_search({f});
  const SearchDecision& d = find(all, "M", 0, 1);
  EXPECT_EQ(d.choice, "hnsw efSearch=32");
  EXPECT_DOUBLE_EQ(d.p99_ms, 0.5);
  EXPECT_DOUBLE_EQ(d.exact_p99_ms, 8);
  EXPECT_EQ(d.ann_note,
            "measured at n = 50,000, above this band: a smaller gallery is usually searched "
            "faster and with more recall");
}

// A document as `vlbench index bench` writes it (index_bench_to_json for each run).
nlohmann::ordered_json bench_document() {
  IndexBenchResult result;
  result.n_gallery = 3000;
  result.n_queries = 50;
  result.d = 32;
  result.k = 10;
  result.measurements = {setting("flat", {}, 1.0, 0.7, 128),
                         setting("hnsw", {{"efSearch", "64"}}, 0.975, 0.125, 260)};
  result.measurements[1].build_params = {{"M", "16"}};
  result.measurements[1].pareto = true;
  nlohmann::ordered_json run_json = {{"name", "t2i"}};
  run_json.update(index_bench_to_json(result));
  return {{"schema", kIndexBenchSchema},
          {"version", "0.1.0+test"},
          {"machine", {{"cpu", "Bench CPU"}, {"logical_cores", 4}}},
          {"runs", {run_json}}};
}

TEST(Decision, ReadIndexBenchRoundTrips) {
  testing::TempDir dir;
  const auto path = dir / "index_bench.json";
  testing::write_text(path, bench_document().dump(2));
  const IndexBenchFile f = read_index_bench(path);
  EXPECT_EQ(f.machine, "Bench CPU, 4 logical cores");
  EXPECT_EQ(f.version, "0.1.0+test");
  EXPECT_EQ(f.sha256.size(), 64u);
  ASSERT_EQ(f.runs.size(), 1u);
  EXPECT_EQ(f.runs[0].name, "t2i");
  EXPECT_EQ(f.runs[0].result.n_gallery, 3000);
  EXPECT_EQ(f.runs[0].result.d, 32);
  ASSERT_EQ(f.runs[0].result.measurements.size(), 2u);
  const IndexMeasurement& m = f.runs[0].result.measurements[1];
  EXPECT_EQ(m.type, "hnsw");
  EXPECT_EQ(m.build_params, (IndexParams{{"M", "16"}}));
  EXPECT_EQ(m.search_params, (IndexParams{{"efSearch", "64"}}));
  EXPECT_DOUBLE_EQ(m.recall_at_10, 0.975);
  EXPECT_DOUBLE_EQ(m.latency_p99_ms, 0.125);
  EXPECT_DOUBLE_EQ(m.bytes_per_vector, 260);
  EXPECT_TRUE(m.pareto);
  // The chosen setting is named with its build and search parameters.
  EXPECT_EQ(find(decide_search({f}), "Bench CPU, 4 logical cores", 0, 1).choice,
            "hnsw M=16 efSearch=64");
}

TEST(Decision, ReadIndexBenchErrorsNameTheFileAndField) {
  testing::TempDir dir;
  const auto path = dir / "bench.json";
  const auto expect_error = [&](const std::string& text, const std::vector<std::string>& parts) {
    testing::write_text(path, text);
    try {
      read_index_bench(path);
      ADD_FAILURE() << "accepted: " << text.substr(0, 200);
    } catch (const Error& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(path.string()), std::string::npos) << message;
      for (const auto& p : parts) EXPECT_NE(message.find(p), std::string::npos) << message;
    }
  };
  expect_error("{", {"not valid JSON"});
  expect_error(R"({"schema": "vlbench.results/1"})", {"schema is", kIndexBenchSchema});
  auto doc = bench_document();
  doc["runs"][0]["measurements"][1].erase("latency_ms");
  expect_error(doc.dump(), {"runs[0].measurements[1]", "latency_ms"});
  doc = bench_document();
  doc["runs"][0]["measurements"][0]["recall_at_10"] = "high";
  expect_error(doc.dump(), {"runs[0].measurements[0].recall_at_10", "finite number"});
  doc = bench_document();
  doc["runs"][0]["n_gallery"] = 0;
  expect_error(doc.dump(), {"runs[0].n_gallery", ">= 1"});
  doc = bench_document();
  doc["runs"] = nlohmann::ordered_json::array();
  expect_error(doc.dump(), {"runs must be a non-empty array"});
  std::string huge = bench_document().dump();
  huge.replace(huge.find("0.975"), 5, "1e400");  // a number no JSON type holds
  expect_error(huge, {"not valid JSON"});
}

}  // namespace
}  // namespace vlbench
