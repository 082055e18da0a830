// rank_targets against hand-computed tie cases and a brute-force reference, and its
// invariance to threads, block size and backend.
#include "vlbench/index/exact_rank.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "index/rank_row.hpp"
#include "vlbench/core/random.hpp"
#include "vlbench/core/thread_pool.hpp"
#include "vlbench/kernels/gemm.hpp"

namespace vlbench {
namespace {

// Embeddings plus per-query target lists, owning what RankInput points to.
struct Problem {
  std::int64_t n_queries = 0, n_gallery = 0, d = 0;
  std::vector<float> queries, gallery;
  std::vector<std::int64_t> target_begin{0};
  std::vector<std::int32_t> target_ids;

  void add_query(std::initializer_list<std::int32_t> targets) {
    target_ids.insert(target_ids.end(), targets.begin(), targets.end());
    target_begin.push_back(static_cast<std::int64_t>(target_ids.size()));
  }
  RankInput input() const {
    RankInput in;
    in.queries = queries.data();
    in.n_queries = n_queries;
    in.gallery = gallery.data();
    in.n_gallery = n_gallery;
    in.d = d;
    in.target_begin = target_begin;
    in.target_ids = target_ids;
    return in;
  }
};

void normalize_rows(std::vector<float>& m, std::int64_t d) {
  for (std::size_t r = 0; r < m.size(); r += static_cast<std::size_t>(d)) {
    double norm = 0.0;
    for (std::int64_t p = 0; p < d; ++p) norm += static_cast<double>(m[r + p]) * m[r + p];
    const float inv = static_cast<float>(1.0 / std::sqrt(norm));
    for (std::int64_t p = 0; p < d; ++p) m[r + p] *= inv;
  }
}

// Random unit vectors with deliberate exact duplicates: every 7th gallery row copies an
// earlier row (ties in every query's scores), every 11th query copies an earlier query.
// Each query gets 1..4 random targets (in random order, possibly repeated).
Problem random_problem(std::int64_t n_queries, std::int64_t n_gallery, std::int64_t d,
                       std::uint64_t seed) {
  SplitMix64 rng(seed);
  Problem p;
  p.n_queries = n_queries;
  p.n_gallery = n_gallery;
  p.d = d;
  p.queries.resize(static_cast<std::size_t>(n_queries * d));
  p.gallery.resize(static_cast<std::size_t>(n_gallery * d));
  for (float& v : p.queries) v = static_cast<float>(rng.normal());
  for (float& v : p.gallery) v = static_cast<float>(rng.normal());
  normalize_rows(p.queries, d);
  normalize_rows(p.gallery, d);
  for (std::int64_t j = 7; j < n_gallery; j += 7) {
    const auto src = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(j)));
    std::copy_n(p.gallery.begin() + src * d, d, p.gallery.begin() + j * d);
  }
  for (std::int64_t q = 11; q < n_queries; q += 11) {
    const auto src = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(q)));
    std::copy_n(p.queries.begin() + src * d, d, p.queries.begin() + q * d);
  }
  for (std::int64_t q = 0; q < n_queries; ++q) {
    const std::uint64_t n_targets = 1 + rng.below(4);
    for (std::uint64_t t = 0; t < n_targets; ++t) {
      p.target_ids.push_back(static_cast<std::int32_t>(rng.below(n_gallery)));
    }
    p.target_begin.push_back(static_cast<std::int64_t>(p.target_ids.size()));
  }
  return p;
}

// Small integers: every dot product is exact in float whatever the summation order, and
// many scores tie.
Problem integer_problem(std::int64_t n_queries, std::int64_t n_gallery, std::int64_t d,
                        std::uint64_t seed) {
  Problem p = random_problem(n_queries, n_gallery, d, seed);
  SplitMix64 rng(seed + 1);
  for (float& v : p.queries) v = static_cast<float>(rng.below(3)) - 1.0f;
  for (float& v : p.gallery) v = static_cast<float>(rng.below(3)) - 1.0f;
  return p;
}

// Scores for the reference: plain sequential sums in long double, an evaluation independent
// of exact_score's (they agree on every comparison unless two distinct sums differ by ~1e-16).
std::vector<long double> reference_scores(const Problem& p) {
  std::vector<long double> scores(static_cast<std::size_t>(p.n_queries * p.n_gallery));
  for (std::int64_t q = 0; q < p.n_queries; ++q) {
    for (std::int64_t j = 0; j < p.n_gallery; ++j) {
      long double s = 0;
      for (std::int64_t k = 0; k < p.d; ++k) {
        s += static_cast<long double>(p.queries[q * p.d + k]) * p.gallery[j * p.d + k];
      }
      scores[q * p.n_gallery + j] = s;
    }
  }
  return scores;
}

// The rule taken literally, target by target: rank_t = 1 + #{s_j > s_t} + #{s_j == s_t,
// j < t}; the query's rank is the smallest; tied when a non-target has the best's score.
RankOutput reference_ranks(const Problem& p) {
  const std::vector<long double> scores = reference_scores(p);
  RankOutput out;
  for (std::int64_t q = 0; q < p.n_queries; ++q) {
    const long double* s = scores.data() + q * p.n_gallery;
    const auto first = p.target_ids.begin() + p.target_begin[q];
    const auto last = p.target_ids.begin() + p.target_begin[q + 1];
    std::int32_t best_rank = INT32_MAX, best = -1;
    for (auto it = first; it != last; ++it) {
      const std::int32_t t = *it;
      std::int32_t rank = 1;
      for (std::int64_t j = 0; j < p.n_gallery; ++j) {
        if (s[j] > s[t] || (s[j] == s[t] && j < t)) ++rank;
      }
      if (rank < best_rank) {
        best_rank = rank;
        best = t;
      }
    }
    bool tied = false;
    for (std::int32_t j = 0; j < p.n_gallery; ++j) {
      if (s[j] == s[best] && std::find(first, last, j) == last) tied = true;
    }
    out.rank.push_back(best_rank);
    out.best_target.push_back(best);
    out.tied.push_back(tied ? 1 : 0);
  }
  return out;
}

void expect_same(const RankOutput& actual, const RankOutput& expected, const std::string& what) {
  ASSERT_EQ(actual.rank.size(), expected.rank.size()) << what;
  for (std::size_t q = 0; q < expected.rank.size(); ++q) {
    ASSERT_EQ(actual.rank[q], expected.rank[q]) << what << ": query " << q;
    ASSERT_EQ(actual.best_target[q], expected.best_target[q]) << what << ": query " << q;
    ASSERT_EQ(actual.tied[q], expected.tied[q]) << what << ": query " << q;
  }
}

RankOptions rows_per_block(std::int64_t rows, std::int64_t n_gallery) {
  RankOptions options;
  options.block_bytes = rows * n_gallery * static_cast<std::int64_t>(sizeof(float));
  return options;
}

class RankBackendTest : public ::testing::TestWithParam<std::string> {};

// Query (1, 0) scores gallery row (x, y) exactly x. Scores by gallery index:
//   0: 0.5   1: 0.75   2: 0.5 (duplicate of 0)   3: 0.625   4: 0.5 (same x, other y)
// Query (0, 1) scores y: 3, -1, 3, 0.5, 2.
TEST_P(RankBackendTest, HandComputedTies) {
  Problem p;
  p.n_gallery = 5;
  p.d = 2;
  p.gallery = {0.5f, 3.0f, 0.75f, -1.0f, 0.5f, 3.0f, 0.625f, 0.5f, 0.5f, 2.0f};
  const std::vector<std::vector<std::int32_t>> cases = {
      {2}, {0}, {4}, {4, 3}, {4, 2, 0}, {4, 2}, {3, 1}, {2, 2, 4}, {1}};
  // {rank, best target, tied} for each case above, then the (0, 1) query with target {2}.
  const std::vector<std::array<int, 3>> expected = {
      {4, 2, 1},  // 1 and 3 higher, 0 equal before; 0 and 4 tie
      {3, 0, 1},  // 1 and 3 higher; 2 and 4 tie after
      {5, 4, 1},  // 1 and 3 higher, 0 and 2 equal before
      {2, 3, 0},  // best target is 3 (listed second); only 1 higher
      {3, 0, 0},  // equal-score targets: the lowest index is best; the others are targets
      {4, 2, 1},  // best 2, non-target 0 ties before it
      {1, 1, 0},  // best target not the first listed
      {4, 2, 1},  // a repeated target id changes nothing
      {1, 1, 0}, {2, 2, 1},  // (0, 1) query: row 0 ties before 2
  };
  for (const auto& targets : cases) {
    p.queries.insert(p.queries.end(), {1.0f, 0.0f});
    p.target_ids.insert(p.target_ids.end(), targets.begin(), targets.end());
    p.target_begin.push_back(static_cast<std::int64_t>(p.target_ids.size()));
  }
  p.queries.insert(p.queries.end(), {0.0f, 1.0f});
  p.add_query({2});
  p.n_queries = static_cast<std::int64_t>(p.target_begin.size()) - 1;

  const std::unique_ptr<Gemm> gemm = make_gemm(GetParam());
  ThreadPool pool(2);
  for (const std::int64_t rows : {1, 3, 100}) {
    const RankOutput out = rank_targets(p.input(), *gemm, pool, rows_per_block(rows, 5));
    ASSERT_EQ(out.rank.size(), expected.size());
    for (std::size_t q = 0; q < expected.size(); ++q) {
      EXPECT_EQ(out.rank[q], expected[q][0]) << "query " << q << ", " << rows << " rows";
      EXPECT_EQ(out.best_target[q], expected[q][1]) << "query " << q << ", " << rows << " rows";
      EXPECT_EQ(out.tied[q], expected[q][2]) << "query " << q << ", " << rows << " rows";
    }
  }
}

TEST_P(RankBackendTest, RandomDataMatchesBruteForceReference) {
  const Problem p = random_problem(301, 263, 48, 11);
  const std::unique_ptr<Gemm> gemm = make_gemm(GetParam());
  ThreadPool pool(2);
  const RankOutput expected = reference_ranks(p);
  // The duplicated gallery rows must actually produce ties for the test to mean anything.
  EXPECT_GT(std::count(expected.tied.begin(), expected.tied.end(), 1), 20);
  for (const std::int64_t rows : {1, 10, 301}) {
    expect_same(rank_targets(p.input(), *gemm, pool, rows_per_block(rows, p.n_gallery)), expected,
                GetParam() + ", " + std::to_string(rows) + " rows");
  }
}

// Norms far from 1: the float scores' error bound scales with them.
TEST_P(RankBackendTest, NonUnitNormsMatchBruteForceReference) {
  Problem p = random_problem(120, 300, 40, 14);
  SplitMix64 rng(15);
  for (std::int64_t j = 0; j < p.n_gallery; ++j) {
    const auto scale = static_cast<float>(std::exp(4.0 * rng.uniform() - 2.0));  // e^-2 .. e^2
    for (std::int64_t k = 0; k < p.d; ++k) p.gallery[j * p.d + k] *= scale;
  }
  for (std::int64_t j = 0; j + 1 < p.n_gallery; j += 9) {  // exact duplicates after scaling
    std::copy_n(p.gallery.begin() + j * p.d, p.d, p.gallery.begin() + (j + 1) * p.d);
  }
  for (float& v : p.queries) v *= 30.0f;
  const std::unique_ptr<Gemm> gemm = make_gemm(GetParam());
  ThreadPool pool(2);
  const RankOutput expected = reference_ranks(p);
  EXPECT_GT(std::count(expected.tied.begin(), expected.tied.end(), 1), 0);
  expect_same(rank_targets(p.input(), *gemm, pool, rows_per_block(16, p.n_gallery)), expected,
              GetParam());
}

TEST_P(RankBackendTest, TieHeavyIntegerDataMatchesBruteForceReference) {
  const Problem p = integer_problem(200, 150, 8, 12);
  const std::unique_ptr<Gemm> gemm = make_gemm(GetParam());
  ThreadPool pool(2);
  const RankOutput expected = reference_ranks(p);
  EXPECT_GT(std::count(expected.tied.begin(), expected.tied.end(), 1), 150);
  expect_same(rank_targets(p.input(), *gemm, pool, rows_per_block(7, p.n_gallery)), expected,
              GetParam());
}

// Identical output for 1 or 2 GEMM threads, 1 or 2 pool threads, and any block height,
// including one query per block; data large enough for multi-threaded GEMM paths.
TEST_P(RankBackendTest, InvariantToThreadsAndBlockSize) {
  const Problem p = random_problem(520, 1100, 96, 13);
  const std::unique_ptr<Gemm> gemm = make_gemm(GetParam());
  ThreadPool pool1(1);
  ThreadPool pool2(2);
  gemm->set_threads(2);
  RankOptions huge;
  huge.block_bytes = std::int64_t{1} << 40;
  const RankOutput first = rank_targets(p.input(), *gemm, pool2, huge);
  EXPECT_GT(std::count(first.tied.begin(), first.tied.end(), 1), 10);
  for (const int gemm_threads : {1, 2}) {
    gemm->set_threads(gemm_threads);
    for (ThreadPool* pool : {&pool1, &pool2}) {
      RankOptions tiny;
      tiny.block_bytes = 1;  // one query per block
      for (const RankOptions& options :
           {tiny, rows_per_block(33, p.n_gallery), RankOptions{}, huge}) {
        expect_same(rank_targets(p.input(), *gemm, *pool, options), first,
                    GetParam() + ": gemm threads " + std::to_string(gemm_threads) + ", pool " +
                        std::to_string(pool->size()) + ", block_bytes " +
                        std::to_string(options.block_bytes));
      }
    }
  }
  gemm->set_threads(0);
}

TEST_P(RankBackendTest, NoQueriesGivesEmptyOutput) {
  Problem p;
  p.n_gallery = 3;
  p.d = 2;
  p.gallery = {1, 0, 0, 1, 1, 1};
  const std::unique_ptr<Gemm> gemm = make_gemm(GetParam());
  ThreadPool pool(1);
  const RankOutput out = rank_targets(p.input(), *gemm, pool);
  EXPECT_TRUE(out.rank.empty());
  EXPECT_TRUE(out.best_target.empty());
  EXPECT_TRUE(out.tied.empty());
}

INSTANTIATE_TEST_SUITE_P(AllBackends, RankBackendTest, ::testing::ValuesIn(gemm_backends()));

// Every backend gives the same output on float data full of exact and near ties.
TEST(RankBackends, IdenticalOutputForEveryBackend) {
  const Problem p = random_problem(400, 900, 64, 21);
  const Problem integers = integer_problem(150, 120, 16, 22);
  ThreadPool pool(2);
  const RankOutput first = rank_targets(p.input(), *make_gemm("openblas"), pool);
  const RankOutput first_integers = rank_targets(integers.input(), *make_gemm("openblas"), pool);
  for (const std::string& name : gemm_backends()) {
    expect_same(rank_targets(p.input(), *make_gemm(name), pool), first, name);
    expect_same(rank_targets(integers.input(), *make_gemm(name), pool), first_integers,
                name + ", integer data");
  }
}

// rank_row on float scores perturbed by 0.999 of the error bound it is given, each item in
// the direction that most misleads (towards and across the best target's score): still exact.
TEST(RankRow, AnyFloatErrorWithinTheBoundGivesExactRanks) {
  const Problem p = random_problem(200, 400, 32, 41);
  const RankOutput expected = reference_ranks(p);
  const double gallery_max_norm = 1.0 + 1e-6;  // unit rows, up to float rounding
  std::vector<std::int32_t> window;
  std::vector<float> approx(static_cast<std::size_t>(p.n_gallery));
  std::int64_t misleading = 0;
  for (std::int64_t q = 0; q < p.n_queries; ++q) {
    const float* query = p.queries.data() + q * p.d;
    // The real bound, and (every other query) a much wider one, to mislead many items.
    const double e = q % 2 ? 1e-2 : score_error_bound(norm(query, p.d), gallery_max_norm, p.d);
    const std::int32_t best = expected.best_target[static_cast<std::size_t>(q)];
    const double best_score = exact_score(query, p.gallery.data() + best * p.d, p.d);
    for (std::int64_t j = 0; j < p.n_gallery; ++j) {
      const double s = exact_score(query, p.gallery.data() + j * p.d, p.d);
      const double shifted = s > best_score ? s - 0.999 * e : s + 0.999 * e;
      const float a = static_cast<float>(j == best ? s : shifted);
      approx[static_cast<std::size_t>(j)] = a;
      misleading += (s > best_score) != (a > static_cast<float>(best_score));
    }
    const std::span<const std::int32_t> targets(
        p.target_ids.data() + p.target_begin[q],
        static_cast<std::size_t>(p.target_begin[q + 1] - p.target_begin[q]));
    const RowRank r =
        rank_row(approx.data(), p.n_gallery, query, p.gallery.data(), p.d, e, targets, window);
    ASSERT_EQ(r.rank, expected.rank[static_cast<std::size_t>(q)]) << "query " << q;
    ASSERT_EQ(r.best_target, best) << "query " << q;
    ASSERT_EQ(r.tied ? 1 : 0, expected.tied[static_cast<std::size_t>(q)]) << "query " << q;
  }
  // The perturbation must have put many items on the wrong side of the best score.
  EXPECT_GT(misleading, 1000);
}

// The bound holds for a naive float loop on cancellation-heavy vectors, and is as tight as
// intended for unit vectors (2·gamma_1024 ≈ 1.2e-4).
TEST(RankRow, ErrorBoundCoversFloatDotProducts) {
  SplitMix64 rng(51);
  const std::int64_t d = 1024;
  std::vector<float> a(d), b(d);
  for (int trial = 0; trial < 200; ++trial) {
    for (std::int64_t k = 0; k < d; ++k) {
      a[k] = static_cast<float>(rng.normal() * (k % 2 ? 1e3 : 1e-3));
      b[k] = static_cast<float>(rng.normal() * (k % 2 ? 1e-3 : 1e3));
    }
    float naive = 0.0f;
    for (std::int64_t k = 0; k < d; ++k) naive += a[k] * b[k];
    const double exact = exact_score(a.data(), b.data(), d);
    EXPECT_LE(std::abs(naive - exact), score_error_bound(norm(a.data(), d), norm(b.data(), d), d));
  }
  EXPECT_NEAR(score_error_bound(1.0, 1.0, 1024), 2 * 1024 * 0x1p-24, 1e-8);
}

TEST(RankRow, ExactScoreOfRepresentableSums) {
  // Products exact in double and sums without rounding: the exact value, bit for bit.
  const std::vector<float> a = {0.5f, -3.0f, 1024.0f, 0.75f, -1024.0f};
  const std::vector<float> b = {0.25f, 2.0f, 3.0f, 0x1p-20f, 3.0f};
  EXPECT_EQ(exact_score(a.data(), b.data(), 5), 0.125 - 6.0 + 0.75 * 0x1p-20);
  const std::vector<float> ones(37, 1.0f);
  EXPECT_EQ(exact_score(ones.data(), ones.data(), 37), 37.0);
  EXPECT_DOUBLE_EQ(norm(ones.data(), 37), std::sqrt(37.0));
}

TEST(RankTargetsDeathTest, BrokenTargetListsAbort) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Problem p = random_problem(4, 5, 3, 31);
  const std::unique_ptr<Gemm> gemm = make_gemm(default_gemm_backend());
  ThreadPool pool(1);
  Problem short_begin = p;
  short_begin.target_begin.pop_back();
  EXPECT_DEATH(rank_targets(short_begin.input(), *gemm, pool), "target_begin");
  Problem out_of_range = p;
  out_of_range.target_ids[0] = 5;
  EXPECT_DEATH(rank_targets(out_of_range.input(), *gemm, pool), "n_gallery");
  Problem no_target = p;
  no_target.target_begin = {0, 0, 2, 3, static_cast<std::int64_t>(p.target_ids.size())};
  EXPECT_DEATH(rank_targets(no_target.input(), *gemm, pool), "target_begin");
}

}  // namespace
}  // namespace vlbench
