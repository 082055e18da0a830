// index_bench.hpp and synthetic.hpp: recall and Pareto arithmetic on hand-made cases, the
// benchmark driver on a brute-force test index with a known recall, generator determinism.
#include "test_util.hpp"

#include <vlbench/index/index_bench.hpp>
#include <vlbench/index/synthetic.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace vlbench {
namespace {

using testing::expect_error;

// Exact search over the rows whose id is a multiple of `stride` (search-time parameter,
// default 1: plain brute force; ties: lower row first). With stride s the expected recall@r
// is the share of the exact top-r ids divisible by s: those are the best rows s can see.
class StrideIndex : public VectorIndex {
 public:
  StrideIndex(std::string type, std::int64_t dim) : type_(std::move(type)), dim_(dim) {}
  std::string type() const override { return type_; }
  std::int64_t dim() const override { return dim_; }
  std::int64_t size() const override { return static_cast<std::int64_t>(rows_.size()) / dim_; }
  IndexParams params() const override { return {{"stride", std::to_string(stride_)}}; }
  void add(std::int64_t n, const float* x) override {
    for (std::int64_t i = 0; i < n * dim_; ++i) rows_.push_back(x[i]);
  }
  void set_search_param(const std::string& name, const std::string& value) override {
    if (name != "stride") fail("unknown search parameter '{}'", name);
    stride_ = std::stoll(value);
  }
  SearchResult search(std::int64_t n, const float* queries, std::int64_t k,
                      int /*threads*/) const override {
    SearchResult r{n, k, std::vector<std::int64_t>(n * k, -1),
                   std::vector<float>(n * k, -std::numeric_limits<float>::infinity())};
    for (std::int64_t q = 0; q < n; ++q) {
      std::vector<std::pair<double, std::int64_t>> scored;
      for (std::int64_t i = 0; i < size(); i += stride_) {
        double s = 0;
        for (std::int64_t j = 0; j < dim_; ++j)
          s += double(queries[q * dim_ + j]) * rows_[i * dim_ + j];
        scored.push_back({-s, i});
      }
      std::sort(scored.begin(), scored.end());
      for (std::int64_t j = 0; j < std::min<std::int64_t>(k, scored.size()); ++j) {
        r.ids[q * k + j] = scored[j].second;
        r.scores[q * k + j] = static_cast<float>(-scored[j].first);
      }
    }
    return r;
  }
  std::int64_t memory_bytes() const override {
    return static_cast<std::int64_t>(rows_.size() * sizeof(float));
  }
  void save_payload(const std::filesystem::path&) const override {}

 private:
  std::string type_;
  std::int64_t dim_;
  std::int64_t stride_ = 1;
  std::vector<float> rows_;
};

TEST(IndexBench, RecallOnHandMadeRows) {
  const std::int64_t exact[] = {4, 7, 1, 9};
  const std::int64_t approx[] = {7, 3, 9, -1};
  EXPECT_DOUBLE_EQ(recall_at(approx, exact, 1), 0.0);      // 7 is not the exact top-1 (4)
  EXPECT_DOUBLE_EQ(recall_at(approx, exact, 2), 0.5);      // {7,3} ∩ {4,7}
  EXPECT_DOUBLE_EQ(recall_at(approx, exact, 3), 1.0 / 3);  // {7,3,9} ∩ {4,7,1}
  EXPECT_DOUBLE_EQ(recall_at(approx, exact, 4), 0.5);      // {7,9}; -1 never matches
  const std::int64_t missing[] = {-1, -1};
  const std::int64_t also_missing[] = {-1, -1};
  EXPECT_DOUBLE_EQ(recall_at(missing, also_missing, 2), 0.0);

  SearchResult a{2, 2, {1, 2, 5, 6}, {}};
  SearchResult e{2, 2, {1, 3, 6, 5}, {}};
  EXPECT_DOUBLE_EQ(mean_recall_at(a, e, 1), 0.5);   // query 0 hits, query 1 misses
  EXPECT_DOUBLE_EQ(mean_recall_at(a, e, 2), 0.75);  // (1/2 + 2/2) / 2
}

TEST(IndexBench, ParetoOnHandMadePoints) {
  //            0    1    2    3    4    5    6
  const std::vector<double> qps = {100, 200, 200, 50, 400, 400, 10};
  const std::vector<double> rec = {0.9, 0.8, 0.9, 0.99, 0.5, 0.5, 0.99};
  // 0 is dominated by 2 (same recall, more qps); 1 by 2; 6 by 3 (same recall, more qps);
  // 4 and 5 are equal and both undominated.
  const std::vector<bool> expected = {false, false, true, true, true, true, false};
  EXPECT_EQ(pareto_frontier(qps, rec), expected);
  EXPECT_EQ(pareto_frontier({1.0}, {0.0}), std::vector<bool>{true});
}

TEST(IndexBench, PercentileInterpolatesLikeNumpy) {
  EXPECT_DOUBLE_EQ(percentile({4, 1, 3, 2}, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(percentile({4, 1, 3, 2}, 0.95), 3.85);  // numpy.percentile(.., 95)
  EXPECT_DOUBLE_EQ(percentile({4, 1, 3, 2}, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(percentile({7}, 0.99), 7.0);
}

TEST(IndexBench, ParsesParamsAndSweeps) {
  EXPECT_EQ(parse_param_assignment("M=32", "--param"),
            (std::pair<std::string, std::string>{"M", "32"}));
  const SweepParam sweep = parse_sweep("efSearch=16,64,256", "--sweep");
  EXPECT_EQ(sweep.name, "efSearch");
  EXPECT_EQ(sweep.values, (std::vector<std::string>{"16", "64", "256"}));
  EXPECT_EQ(parse_sweep("nprobe=4", "--sweep").values, std::vector<std::string>{"4"});
  expect_error([] { parse_param_assignment("M32", "--param"); }, {"--param", "NAME=VALUE", "M32"});
  expect_error([] { parse_param_assignment("=3", "--param"); }, {"--param", "'=3'"});
  expect_error([] { parse_sweep("nprobe=1,,4", "--sweep"); }, {"--sweep", "nprobe=1,,4"});
  expect_error([] { parse_sweep("nprobe=", "--sweep"); }, {"--sweep", "NAME=V1,V2"});
  EXPECT_EQ(format_params({{"efSearch", "64"}, {"M", "16"}}), "M=16 efSearch=64");
  EXPECT_EQ(format_params({}), "defaults");
}

TEST(IndexBench, DefaultSettingsFitTheGallery) {
  auto types = [](const std::vector<IndexBenchSetting>& s) {
    std::vector<std::string> t;
    for (const auto& x : s) t.push_back(x.type);
    return t;
  };
  EXPECT_EQ(types(default_index_bench_settings(500, 64)),
            (std::vector<std::string>{"flat", "flat-int8", "flat-binary", "hnsw"}));
  const auto big = default_index_bench_settings(10000, 64);  // default nlist 100
  ASSERT_EQ(types(big), (std::vector<std::string>{"flat", "flat-int8", "flat-binary", "hnsw",
                                                  "ivf-flat", "ivf-pq"}));
  EXPECT_EQ(big[5].sweeps[0].values, (std::vector<std::string>{"1", "4", "16", "64"}));
  const auto small = default_index_bench_settings(1000, 12);  // nlist 32; 12 % 8 != 0
  EXPECT_EQ(types(small).back(), "ivf-flat");
  EXPECT_EQ(small.back().sweeps[0].values, (std::vector<std::string>{"1", "4", "16"}));
}

SyntheticSpec small_spec() {
  SyntheticSpec spec;
  spec.n = 600;
  spec.n_queries = 40;
  spec.d = 24;
  spec.clusters = 6;
  spec.latent_dim = 4;
  spec.seed = 7;
  return spec;
}

TEST(Synthetic, IsDeterministicUnitAndThreadIndependent) {
  const SyntheticData a = make_synthetic_clustered(small_spec(), 1);
  const SyntheticData b = make_synthetic_clustered(small_spec(), 2);
  EXPECT_EQ(a.gallery.values, b.gallery.values);
  EXPECT_EQ(a.queries.values, b.queries.values);
  EXPECT_EQ(a.clusters, 6);
  ASSERT_EQ(a.gallery.rows, 600);
  ASSERT_EQ(a.queries.rows, 40);
  for (std::int64_t i = 0; i < a.gallery.rows; ++i) {
    double norm = 0;
    for (std::int64_t j = 0; j < 24; ++j) norm += double(a.gallery.row(i)[j]) * a.gallery.row(i)[j];
    ASSERT_NEAR(norm, 1.0, 1e-5) << "row " << i;
  }
  SyntheticSpec other = small_spec();
  other.seed = 8;
  EXPECT_NE(make_synthetic_clustered(other, 1).gallery.values, a.gallery.values);
  // Queries are fresh points, not gallery copies.
  EXPECT_FALSE(std::equal(a.queries.row(0), a.queries.row(0) + 24, a.gallery.row(0)));
}

// Clustered: a query's best gallery match is far closer than a random gallery row (for
// uniform random unit vectors in 24 dims both would be near 0).
TEST(Synthetic, QueriesLieNearTheirClusters) {
  const SyntheticData data = make_synthetic_clustered(small_spec(), 0);
  double best_sum = 0, random_sum = 0;
  for (std::int64_t q = 0; q < data.queries.rows; ++q) {
    double best = -2;
    for (std::int64_t i = 0; i < data.gallery.rows; ++i) {
      double s = 0;
      for (std::int64_t j = 0; j < 24; ++j)
        s += double(data.queries.row(q)[j]) * data.gallery.row(i)[j];
      best = std::max(best, s);
      if (i == q) random_sum += s;
    }
    best_sum += best;
  }
  EXPECT_GT(best_sum / 40, 0.85);
  EXPECT_LT(random_sum / 40, 0.5);
}

TEST(Synthetic, RejectsBadSpecs) {
  SyntheticSpec spec = small_spec();
  spec.d = 0;
  expect_error([&] { make_synthetic_clustered(spec); }, {"synthetic gallery", "d", ">= 1"});
  spec = small_spec();
  spec.spread = -1;
  expect_error([&] { make_synthetic_clustered(spec); }, {"spread", "-1"});
  spec = small_spec();
  spec.latent_dim = 0;
  expect_error([&] { make_synthetic_clustered(spec); }, {"latent_dim"});
}

TEST(IndexBench, MeasuresKnownRecallAndBuildsOnce) {
  const SyntheticData data = make_synthetic_clustered(small_spec(), 0);
  int builds = 0;
  IndexFactory factory = [&](const std::string& type, std::int64_t dim, const IndexParams&) {
    ++builds;
    return std::make_unique<StrideIndex>(type, dim);
  };
  const std::vector<IndexBenchSetting> settings = {
      {"flat", {}, {}},
      {"strided", {{"note", "x"}}, {{"stride", {"1", "2", "3"}}}},
  };
  IndexBenchOptions options;
  options.k = 12;
  options.threads = 1;
  options.batch_reps = 1;
  options.latency_reps = 2;
  options.latency_queries = 5;
  const IndexBenchResult r =
      run_index_bench(data.gallery.values.data(), 600, data.queries.values.data(), 40, 24, settings,
                      options, factory);
  EXPECT_EQ(builds, 3);  // ground truth, flat, strided once for the whole sweep
  ASSERT_EQ(r.measurements.size(), 4u);
  EXPECT_EQ(r.latency_queries, 5);
  EXPECT_EQ(r.threads, 1);

  // Independent reference: exact top-r ids by brute force, share divisible by the stride.
  StrideIndex exact("flat", 24);
  exact.add(600, data.gallery.values.data());
  const SearchResult top = exact.search(40, data.queries.values.data(), 12, 1);
  auto expected = [&](std::int64_t stride, std::int64_t r) {
    double sum = 0;
    for (std::int64_t q = 0; q < 40; ++q) {
      std::int64_t hits = 0;
      for (std::int64_t j = 0; j < r; ++j) hits += top.ids[q * 12 + j] % stride == 0;
      sum += static_cast<double>(hits) / r;
    }
    return sum / 40;
  };
  const IndexMeasurement& flat = r.measurements[0];
  EXPECT_EQ(flat.type, "flat");
  EXPECT_EQ(flat.recall_at_1, 1.0);
  EXPECT_EQ(flat.recall_at_10, 1.0);
  EXPECT_EQ(flat.recall_at_k, 1.0);
  for (int i = 1; i <= 3; ++i) {
    const IndexMeasurement& m = r.measurements[i];
    SCOPED_TRACE(i);
    EXPECT_EQ(m.type, "strided");
    EXPECT_EQ(m.search_params, (IndexParams{{"stride", std::to_string(i)}}));
    EXPECT_EQ(m.params.at("stride"), std::to_string(i));
    EXPECT_EQ(m.build_params, (IndexParams{{"note", "x"}}));
    EXPECT_NEAR(m.recall_at_1, expected(i, 1), 1e-12);
    EXPECT_NEAR(m.recall_at_10, expected(i, 10), 1e-12);
    EXPECT_NEAR(m.recall_at_k, expected(i, 12), 1e-12);
    EXPECT_EQ(m.memory_bytes, 600 * 24 * 4);
    EXPECT_DOUBLE_EQ(m.bytes_per_vector, 96.0);
    EXPECT_GT(m.batched_qps, 0);
    EXPECT_GT(m.latency_p50_ms, 0);
    EXPECT_LE(m.latency_p50_ms, m.latency_p95_ms);
    EXPECT_LE(m.latency_p95_ms, m.latency_p99_ms);
  }
  EXPECT_LT(r.measurements[2].recall_at_10, 0.75);  // stride 2 sees half the gallery
  EXPECT_DOUBLE_EQ(r.measurements[1].recall_at_10, 1.0);
  // The frontier flags are exactly pareto_frontier of the measured points.
  std::vector<double> x, y;
  for (const auto& m : r.measurements) {
    x.push_back(m.batched_qps);
    y.push_back(m.recall_at_10);
  }
  const std::vector<bool> frontier = pareto_frontier(x, y);
  for (std::size_t i = 0; i < frontier.size(); ++i)
    EXPECT_EQ(r.measurements[i].pareto, frontier[i]);
}

TEST(IndexBench, RejectsBadRuns) {
  const SyntheticData data = make_synthetic_clustered(small_spec(), 0);
  IndexFactory factory = [](const std::string& type, std::int64_t dim, const IndexParams&) {
    return std::make_unique<StrideIndex>(type, dim);
  };
  const float* g = data.gallery.values.data();
  const float* q = data.queries.values.data();
  IndexBenchOptions options;
  expect_error([&] { run_index_bench(g, 600, q, 40, 24, {}, options, factory); },
               {"index bench", "at least one index setting"});
  options.k = 5;
  expect_error(
      [&] {
        run_index_bench(g, 600, q, 40, 24, {{"flat", {}, {}}}, options, factory);
      },
      {"k", ">= 10", "5"});
  options.k = 10;
  expect_error(
      [&] {
        run_index_bench(g, 8, q, 40, 24, {{"flat", {}, {}}}, options, factory);
      },
      {"gallery", "k = 10", "8"});
  expect_error(
      [&] {
        run_index_bench(g, 600, q, 40, 24, {{"flat", {}, {{"nprobe", {"1"}}}}}, options, factory);
      },
      {"unknown search parameter", "nprobe"});
}

}  // namespace
}  // namespace vlbench
