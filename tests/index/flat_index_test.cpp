// flat, flat-int8 and flat-binary against brute-force references, including ties, k > n and
// duplicate rows; the registry and parameter errors.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "index_test_data.hpp"
#include "test_util.hpp"
#include "vlbench/index/quantize.hpp"
#include "vlbench/index/vector_index.hpp"

namespace vlbench {
namespace {

using testing::brute_force_ids;
using testing::dot_double;
using testing::random_unit_rows;

TEST(FlatIndex, TypesAndRegistry) {
  EXPECT_EQ(index_types(), (std::vector<std::string>{"flat", "flat-int8", "flat-binary", "hnsw",
                                                     "ivf-flat", "ivf-pq"}));
  for (const std::string& type : index_types()) {
    const auto index = make_index(type, 16);
    EXPECT_EQ(index->type(), type);
    EXPECT_EQ(index->dim(), 16);
    EXPECT_EQ(index->size(), 0);
  }
  testing::expect_error([] { make_index("lsh", 8); }, {"'lsh'", "flat, flat-int8"});
  testing::expect_error([] { make_index("flat", 0); }, {"dimension", "0"});
  testing::expect_error(
      [] {
        make_index("flat", 8, {{"M", "4"}});
      },
      {"index parameter M", "flat", "no parameters"});
  testing::expect_error([] { make_index("flat", 8)->set_search_param("nprobe", "3"); },
                        {"nprobe", "flat"});
}

TEST(FlatIndex, HandComputedTiesAndShortGallery) {
  // d = 2; rows 0 and 2 are duplicates, row 3 scores the same as row 1 for query (1, 0).
  const std::vector<float> gallery = {0.6f, 0.8f, 1.0f, 0.0f, 0.6f, 0.8f, 1.0f, 0.0f, 0.0f, -1.0f};
  const std::vector<float> queries = {1.0f, 0.0f, 0.0f, 1.0f};
  const auto index = make_index("flat", 2);
  index->add(5, gallery.data());
  const SearchResult r = index->search(2, queries.data(), 7, 1);
  EXPECT_EQ(r.n, 2);
  EXPECT_EQ(r.k, 7);
  // Query (1,0): scores 0.6, 1, 0.6, 1, 0 -> rows 1, 3, 0, 2, 4, then two empty slots.
  const std::vector<std::int64_t> expected_ids = {1, 3, 0, 2, 4, -1, -1,  //
                                                  0, 2, 1, 3, 4, -1, -1};
  EXPECT_EQ(r.ids, expected_ids);
  EXPECT_EQ(r.scores[0], 1.0f);
  EXPECT_EQ(r.scores[2], 0.6f);
  EXPECT_EQ(r.scores[4], 0.0f);
  EXPECT_EQ(r.scores[5], -INFINITY);
  EXPECT_EQ(r.scores[7], 0.8f);
  EXPECT_EQ(r.scores[11], -1.0f);
  EXPECT_EQ(r.scores[13], -INFINITY);
}

TEST(FlatIndex, MatchesBruteForceWithDuplicatesForAnyThreads) {
  const std::int64_t n = 3000, d = 40, n_queries = 70, k = 10;
  std::vector<float> gallery = random_unit_rows(n, d, 5);
  // Exact duplicates at scattered rows: they must tie and come in row order.
  for (std::int64_t r = 0; r < n; r += 97) {
    std::copy_n(gallery.data() + (r / 3) * d, d, gallery.data() + r * d);
  }
  std::vector<float> queries = random_unit_rows(n_queries, d, 6);
  // Query 0 equals row 323, which row 970 duplicates (970 / 3 = 323).
  std::copy_n(gallery.data() + 323 * d, d, queries.data());
  const auto index = make_index("flat", d);
  index->add(n / 2, gallery.data());  // two adds: rows continue
  index->add(n - n / 2, gallery.data() + (n / 2) * d);
  ASSERT_EQ(index->size(), n);
  EXPECT_EQ(index->memory_bytes(), n * d * 4);
  std::vector<double> ref_scores;
  const std::vector<std::int64_t> ref = brute_force_ids(
      n_queries, n, k,
      [&](std::int64_t q, std::int64_t j) {
        return dot_double(queries.data() + q * d, gallery.data() + j * d, d);
      },
      &ref_scores);
  for (const int threads : {1, 2, 0}) {
    const SearchResult r = index->search(n_queries, queries.data(), k, threads);
    EXPECT_EQ(r.ids, ref) << "threads=" << threads;
    for (std::size_t i = 0; i < ref_scores.size(); ++i) {
      EXPECT_EQ(r.scores[i], static_cast<float>(ref_scores[i]));
    }
  }
  const SearchResult one = index->search(1, queries.data(), 3, 1);
  EXPECT_EQ(one.ids[0], 323);
  EXPECT_EQ(one.ids[1], 970);
  EXPECT_EQ(one.scores[0], one.scores[1]);
}

TEST(FlatIndex, KLargerThanGalleryAndEmptyIndex) {
  const std::int64_t d = 8;
  const std::vector<float> gallery = random_unit_rows(3, d, 1);
  const std::vector<float> queries = random_unit_rows(2, d, 2);
  for (const std::string type : {"flat", "flat-int8", "flat-binary"}) {
    const auto index = make_index(type, d);
    const SearchResult empty = index->search(2, queries.data(), 4);
    EXPECT_EQ(empty.ids, std::vector<std::int64_t>(8, -1)) << type;
    index->add(3, gallery.data());
    const SearchResult r = index->search(2, queries.data(), 5);
    for (std::int64_t q = 0; q < 2; ++q) {
      std::vector<std::int64_t> got(r.ids.begin() + q * 5, r.ids.begin() + q * 5 + 3);
      std::sort(got.begin(), got.end());
      EXPECT_EQ(got, (std::vector<std::int64_t>{0, 1, 2})) << type;
      EXPECT_EQ(r.ids[q * 5 + 3], -1);
      EXPECT_EQ(r.scores[q * 5 + 4], -INFINITY);
    }
    testing::expect_error([&] { index->search(2, queries.data(), 0); }, {"k >= 1", "0"});
  }
}

TEST(FlatInt8Index, MatchesBruteForceOverQuantizedScores) {
  const std::int64_t n = 2000, d = 48, n_queries = 40, k = 15;
  std::vector<float> gallery = random_unit_rows(n, d, 8);
  for (std::int64_t r = 0; r < n; r += 51) std::copy_n(gallery.data(), d, gallery.data() + r * d);
  const std::vector<float> queries = random_unit_rows(n_queries, d, 9);
  const Int8Matrix g8 = quantize_int8(gallery.data(), n, d);
  const Int8Matrix q8 = quantize_int8(queries.data(), n_queries, d);
  std::vector<double> ref_scores;
  const auto ref = brute_force_ids(
      n_queries, n, k, [&](std::int64_t q, std::int64_t j) { return int8_score(q8, q, g8, j); },
      &ref_scores);
  const auto index = make_index("flat-int8", d);
  index->add(n, gallery.data());
  EXPECT_EQ(index->memory_bytes(), n * d + n * 4);
  for (const int threads : {1, 2}) {
    const SearchResult r = index->search(n_queries, queries.data(), k, threads);
    EXPECT_EQ(r.ids, ref);
    for (std::size_t i = 0; i < ref_scores.size(); ++i) {
      EXPECT_EQ(r.scores[i], static_cast<float>(ref_scores[i]));
    }
  }
}

TEST(FlatBinaryIndex, MatchesBruteForceOverHammingScoresWithTies) {
  // d = 20 bits: many exact ties, ordered by row.
  const std::int64_t n = 1500, d = 20, n_queries = 30, k = 25;
  const std::vector<float> gallery = random_unit_rows(n, d, 10);
  const std::vector<float> queries = random_unit_rows(n_queries, d, 11);
  const BinaryMatrix gb = quantize_binary(gallery.data(), n, d);
  const BinaryMatrix qb = quantize_binary(queries.data(), n_queries, d);
  std::vector<double> ref_scores;
  const auto ref = brute_force_ids(
      n_queries, n, k,
      [&](std::int64_t q, std::int64_t j) { return double(binary_score(qb, q, gb, j)); },
      &ref_scores);
  const auto index = make_index("flat-binary", d);
  index->add(n, gallery.data());
  EXPECT_EQ(index->memory_bytes(), n * 3);
  for (const int threads : {1, 2}) {
    const SearchResult r = index->search(n_queries, queries.data(), k, threads);
    EXPECT_EQ(r.ids, ref);
    for (std::size_t i = 0; i < ref_scores.size(); ++i) {
      EXPECT_EQ(r.scores[i], static_cast<float>(ref_scores[i]));
    }
  }
}

}  // namespace
}  // namespace vlbench
