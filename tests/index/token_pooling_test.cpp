// Hierarchical token pooling against SciPy's linkage(method="ward") + fcluster(maxclust), called
// as colpali-engine's HierarchicalTokenPooler calls it (tests/fixtures/pooling/, made by
// make_pooling_goldens.py), and the pooled set's shape, norms and thread invariance.
#include <vlbench/core/npy.hpp>
#include <vlbench/core/thread_pool.hpp>
#include <vlbench/index/token_pooling.hpp>

#include "test_util.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <fstream>
#include <map>

namespace vlbench {
namespace {

namespace fs = std::filesystem;

std::vector<std::int32_t> read_labels(const fs::path& path) {
  const NpyArray a = read_npy(path);
  EXPECT_EQ(a.dtype, DType::i32) << path;
  std::vector<std::int32_t> out(static_cast<std::size_t>(a.numel()));
  std::memcpy(out.data(), a.data, out.size() * 4);
  return out;
}

// Labels renumbered in order of each cluster's first member: the partition, whatever the ids.
std::vector<std::int32_t> canonical(const std::vector<std::int32_t>& labels) {
  std::map<std::int32_t, std::int32_t> ids;
  std::vector<std::int32_t> out;
  for (const std::int32_t l : labels) {
    const auto [it, added] = ids.emplace(l, static_cast<std::int32_t>(ids.size()));
    out.push_back(it->second);
  }
  return out;
}

TEST(TokenPooling, PartitionsAndPooledTokensMatchScipy) {
  const fs::path dir = testing::test_data("pooling");
  std::ifstream in(dir / "manifest.json");
  const nlohmann::json manifest = nlohmann::json::parse(in);
  ThreadPool pool(2);
  for (const auto& [name, c] : manifest["cases"].items()) {
    const std::int64_t n = c["n"], d = c["d"];
    const std::vector<float> tokens = testing::read_npy_f32(dir / (name + ".npy"), {n, d});
    for (const int k : c["pool_factors"].get<std::vector<int>>()) {
      SCOPED_TRACE(name + " pool factor " + std::to_string(k));
      const std::string stem = name + "_pf" + std::to_string(k);
      const std::vector<std::int32_t> scipy = read_labels(dir / (stem + "_labels.npy"));
      std::int64_t clusters = 0;
      const std::vector<std::int32_t> labels =
          hierarchical_token_clusters(tokens.data(), n, d, k, &clusters);
      EXPECT_EQ(canonical(labels), canonical(scipy));
      EXPECT_EQ(clusters, c["clusters"][std::to_string(k)].get<std::int64_t>());

      // pool_tokens on a set of the one item: the clusters' normalized means. SciPy's order is
      // by label; ours by first member: match them through the partition.
      MultiVectorSet set{1, n, d, tokens, {static_cast<std::int32_t>(n)}};
      const MultiVectorSet pooled = pool_tokens(set, k, pool);
      ASSERT_EQ(pooled.lengths[0], clusters);
      const std::vector<float> golden =
          testing::read_npy_f32(dir / (stem + "_pooled.npy"), {clusters, d});
      std::map<std::int32_t, std::int32_t> ours_of_scipy;  // scipy label -> our label
      for (std::int64_t t = 0; t < n; ++t) ours_of_scipy[scipy[t]] = labels[t];
      std::int32_t row = 0;
      double worst = 0;
      for (const auto& [scipy_label, ours] : ours_of_scipy) {
        for (std::int64_t j = 0; j < d; ++j) {
          worst = std::max(worst, double(std::abs(golden[row * d + j] - pooled.tokens[ours * d + j])));
        }
        ++row;
      }
      EXPECT_LE(worst, 1e-6);
    }
  }
}

TEST(TokenPooling, ShapesNormsAndThreads) {
  const std::vector<float> values = testing::random_normal_values(5 * 12 * 8, 3);
  MultiVectorSet set{5, 12, 8, values, {12, 7, 1, 2, 12}};
  for (std::int64_t i = 0; i < set.n; ++i) {  // unit rows
    for (std::int64_t t = 0; t < set.t_max; ++t) {
      float* row = set.tokens.data() + (i * set.t_max + t) * set.d;
      double norm = 0;
      for (std::int64_t j = 0; j < set.d; ++j) norm += double{row[j]} * row[j];
      for (std::int64_t j = 0; j < set.d; ++j) row[j] = static_cast<float>(row[j] / std::sqrt(norm));
    }
  }
  ThreadPool one(1), two(2);
  const MultiVectorSet a = pool_tokens(set, 3, one), b = pool_tokens(set, 3, two);
  EXPECT_EQ(a.tokens, b.tokens);
  // max(n // 3, 1) clusters: 4, 2, 1 (a single token stays), 1, 4.
  EXPECT_EQ(a.lengths, (std::vector<std::int32_t>{4, 2, 1, 1, 4}));
  EXPECT_EQ(a.t_max, 4);
  for (std::int64_t i = 0; i < a.n; ++i) {
    for (std::int64_t t = 0; t < a.lengths[i]; ++t) {
      double norm = 0;
      for (std::int64_t j = 0; j < a.d; ++j) norm += double{a.item(i)[t * a.d + j]} * a.item(i)[t * a.d + j];
      EXPECT_NEAR(norm, 1.0, 1e-6);
    }
  }
  // The single token of item 2 is unchanged; pool factor 1 changes nothing.
  for (std::int64_t j = 0; j < set.d; ++j) EXPECT_FLOAT_EQ(a.item(2)[j], set.item(2)[j]);
  const MultiVectorSet same = pool_tokens(set, 1, one);
  EXPECT_EQ(same.lengths, set.lengths);
  testing::expect_error([&] { pool_tokens(set, 0, one); }, {"--token-pool-factor", ">= 1"});
}

}  // namespace
}  // namespace vlbench
