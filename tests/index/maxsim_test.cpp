// MaxSim against a double-precision direct implementation, the naive float loop and an
// exact-bits FMA-chain reference, with uneven lengths and all-negative dot products (where a
// zero-scored padding row would win every max); load_multi_vectors and its errors.
#include "vlbench/index/maxsim.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "index/maxsim_isa.hpp"
#include "test_util.hpp"
#include "vlbench/core/dtype.hpp"
#include "vlbench/core/npy.hpp"
#include "vlbench/core/random.hpp"
#include "vlbench/core/thread_pool.hpp"

namespace vlbench {
namespace {

using testing::expect_error;
using testing::TempDir;

// Σ_i max_j q_i · d_j with every product and sum in double (the mathematical value up to
// double rounding), plus Σ_i max_j Σ_p |q_ip d_jp| for the float error bound.
struct Direct {
  double value = 0;
  double magnitude = 0;
};

Direct direct_maxsim(const float* q, std::int64_t n_q, const float* doc, std::int64_t n_doc,
                     std::int64_t d) {
  Direct r;
  for (std::int64_t i = 0; i < n_q; ++i) {
    double best = -std::numeric_limits<double>::infinity();
    double best_magnitude = 0;
    for (std::int64_t j = 0; j < n_doc; ++j) {
      double s = 0, m = 0;
      for (std::int64_t p = 0; p < d; ++p) {
        s += static_cast<double>(q[i * d + p]) * doc[j * d + p];
        m += std::abs(static_cast<double>(q[i * d + p]) * doc[j * d + p]);
      }
      best = std::max(best, s);
      best_magnitude = std::max(best_magnitude, m);
    }
    r.value += best;
    r.magnitude += best_magnitude;
  }
  return r;
}

// The bits maxsim.hpp's kernels promise: each dot product one FMA chain over p in order from
// 0, max over doc tokens in order, the maxima summed in double in query order.
double fma_chain_maxsim(const float* q, std::int64_t n_q, const float* doc, std::int64_t n_doc,
                        std::int64_t d) {
  double total = 0;
  for (std::int64_t i = 0; i < n_q; ++i) {
    float best = -std::numeric_limits<float>::infinity();
    for (std::int64_t j = 0; j < n_doc; ++j) {
      float s = 0.0f;
      for (std::int64_t p = 0; p < d; ++p) s = std::fma(q[i * d + p], doc[j * d + p], s);
      best = best > s ? best : s;
    }
    total += best;
  }
  return total;
}

// Query entries in [0.1, 1), document entries in (-1, -0.1]: every dot product is negative.
// Lengths uneven in [1, t_max]; padding rows left zero, as load_multi_vectors stores them.
MultiVectorSet negative_docs(std::int64_t n, std::int64_t t_max, std::int64_t d, SplitMix64& rng) {
  MultiVectorSet set;
  set.n = n;
  set.t_max = t_max;
  set.d = d;
  set.tokens.assign(static_cast<std::size_t>(n * t_max * d), 0.0f);
  for (std::int64_t i = 0; i < n; ++i) {
    const auto length = static_cast<std::int32_t>(1 + rng.below(static_cast<std::uint64_t>(t_max)));
    set.lengths.push_back(length);
    for (std::int64_t k = 0; k < length * d; ++k) {
      set.tokens[i * t_max * d + k] = static_cast<float>(-0.1 - 0.9 * rng.uniform());
    }
  }
  return set;
}

std::vector<float> positive_query(std::int64_t n_q, std::int64_t d, SplitMix64& rng) {
  std::vector<float> q(static_cast<std::size_t>(n_q * d));
  for (float& x : q) x = static_cast<float>(0.1 + 0.9 * rng.uniform());
  return q;
}

TEST(MaxSim, HandComputedNegativeScoresIgnorePadding) {
  // q = [[1, 0], [0, 1]]; doc real tokens [[-1, -2], [-3, -0.5]] and one zero padding row.
  // Token 0: max(-1, -3) = -1; token 1: max(-2, -0.5) = -0.5. Zero padding would give 0.
  MultiVectorSet docs;
  docs.n = 1;
  docs.t_max = 3;
  docs.d = 2;
  docs.tokens = {-1, -2, -3, -0.5f, 0, 0};
  docs.lengths = {2};
  const std::vector<float> q = {1, 0, 0, 1};
  EXPECT_EQ(maxsim(q.data(), 2, docs.item(0), 2, 2), -1.5);
  EXPECT_EQ(maxsim_reference(q.data(), 2, docs.item(0), 2, 2), -1.5);
  const std::vector<std::int64_t> candidates = {0};
  std::vector<double> scores(1);
  maxsim_candidates(q.data(), 2, docs, candidates, scores);
  EXPECT_EQ(scores[0], -1.5);
}

TEST(MaxSim, MatchesReferencesForOddShapes) {
  SplitMix64 rng(7);
  ThreadPool pool(3);
  for (const std::int64_t d : {1, 3, 17, 128, 130}) {
    for (const std::int64_t n_q : {1, 5, 16, 17, 25, 32, 33, 70}) {
      const MultiVectorSet docs = negative_docs(9, 23, d, rng);
      const std::vector<float> q = positive_query(n_q, d, rng);
      std::vector<std::int64_t> candidates;
      for (std::int64_t c = 8; c >= 0; --c) candidates.push_back(c);
      candidates.push_back(3);  // a repeated candidate
      std::vector<double> scores(candidates.size()), pooled(candidates.size());
      maxsim_candidates(q.data(), n_q, docs, candidates, scores);
      maxsim_candidates(q.data(), n_q, docs, candidates, pooled, pool);
      for (std::size_t c = 0; c < candidates.size(); ++c) {
        SCOPED_TRACE(::testing::Message() << "d " << d << " n_q " << n_q << " candidate " << c);
        const std::int64_t item = candidates[c];
        const std::int64_t n_doc = docs.lengths[item];
        const float* doc = docs.item(item);
        const double single = maxsim(q.data(), n_q, doc, n_doc, d);
        // The documented bits: equal for every entry point, thread count and CPU.
        EXPECT_EQ(scores[c], single);
        EXPECT_EQ(pooled[c], single);
        EXPECT_EQ(single, fma_chain_maxsim(q.data(), n_q, doc, n_doc, d));
        for (const MaxSimIsa isa : {MaxSimIsa::avx512, MaxSimIsa::avx2, MaxSimIsa::scalar}) {
          if (maxsim_isa_supported(isa)) {
            EXPECT_EQ(maxsim_with_isa(isa, q.data(), n_q, doc, n_doc, d), single);
          }
        }
        // Float rounding of each dot product: at most d·2^-24 of its magnitude per token.
        const Direct exact = direct_maxsim(q.data(), n_q, doc, n_doc, d);
        const double tolerance = 2.0 * static_cast<double>(d) * 0x1p-24 * exact.magnitude;
        EXPECT_LT(single, 0.0);
        EXPECT_NEAR(single, exact.value, tolerance);
        EXPECT_NEAR(maxsim_reference(q.data(), n_q, doc, n_doc, d), exact.value, tolerance);
      }
    }
  }
}

TEST(MaxSim, MixedSignsMatchDirect) {
  SplitMix64 rng(11);
  const std::int64_t d = 64, t_max = 40;
  MultiVectorSet docs = negative_docs(5, t_max, d, rng);
  for (float& x : docs.tokens) x = x == 0.0f ? 0.0f : static_cast<float>(rng.normal());
  std::vector<float> q(static_cast<std::size_t>(19 * d));
  for (float& x : q) x = static_cast<float>(rng.normal());
  for (std::int64_t i = 0; i < docs.n; ++i) {
    const Direct exact = direct_maxsim(q.data(), 19, docs.item(i), docs.lengths[i], d);
    EXPECT_NEAR(maxsim(q.data(), 19, docs.item(i), docs.lengths[i], d), exact.value,
                2.0 * d * 0x1p-24 * exact.magnitude);
  }
}

// Writes TOKENS.npy / LENGTHS.npy of the given dtypes and shapes.
struct TokenFiles {
  TempDir dir;
  std::filesystem::path tokens = dir / "tokens.npy";
  std::filesystem::path lengths = dir / "lengths.npy";
};

TEST(LoadMultiVectors, ReadsFloat32AndZeroesPadding) {
  TokenFiles files;
  // n 2, t_max 3, d 2; item 0 has 2 tokens, item 1 has 3. Padding holds NaN (never read).
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> tokens = {1, 2, 3, 4, nan, nan, 5, 6, 7, 8, 9, 10};
  write_npy(files.tokens, DType::f32, {2, 3, 2}, tokens.data());
  const std::vector<std::int32_t> lengths = {2, 3};
  write_npy(files.lengths, DType::i32, {2}, lengths.data());
  const MultiVectorSet set = load_multi_vectors(files.tokens, files.lengths, "image tokens");
  EXPECT_EQ(set.n, 2);
  EXPECT_EQ(set.t_max, 3);
  EXPECT_EQ(set.d, 2);
  EXPECT_EQ(set.lengths, lengths);
  EXPECT_EQ(set.tokens, (std::vector<float>{1, 2, 3, 4, 0, 0, 5, 6, 7, 8, 9, 10}));
}

TEST(LoadMultiVectors, ConvertsFloat16) {
  TokenFiles files;
  const std::vector<float> values = {0.5f, -1.25f, 3.0f, -0.0009765625f, 65504.0f, -2.0f};
  std::vector<std::uint16_t> halves;
  for (const float v : values) halves.push_back(f32_to_f16(v));
  write_npy(files.tokens, DType::f16, {1, 2, 3}, halves.data());
  const std::vector<std::int32_t> lengths = {2};
  write_npy(files.lengths, DType::i32, {1}, lengths.data());
  const MultiVectorSet set = load_multi_vectors(files.tokens, files.lengths, "text tokens");
  EXPECT_EQ(set.tokens, values);  // every value is exact in binary16
}

TEST(LoadMultiVectors, Errors) {
  TokenFiles files;
  const std::vector<float> tokens(2 * 3 * 2, 0.25f);
  const std::vector<std::int32_t> good_lengths = {1, 3};
  const auto write_lengths = [&](std::vector<std::int32_t> l) {
    write_npy(files.lengths, DType::i32, {static_cast<std::int64_t>(l.size())}, l.data());
  };
  const auto load = [&] { load_multi_vectors(files.tokens, files.lengths, "image tokens"); };

  write_npy(files.tokens, DType::f32, {6, 2}, tokens.data());
  write_lengths(good_lengths);
  expect_error(load, {"image tokens", "tokens.npy", "3-d float32 or float16", "2-d", "[6, 2]"});

  const std::vector<std::int32_t> ints(12, 1);
  write_npy(files.tokens, DType::i32, {2, 3, 2}, ints.data());
  expect_error(load, {"image tokens", "tokens.npy", "3-d float32 or float16", "i32"});

  write_npy(files.tokens, DType::f32, {2, 3, 2}, tokens.data());
  const std::vector<std::int64_t> wide = {1, 3};
  write_npy(files.lengths, DType::i64, {2}, wide.data());
  expect_error(load, {"image tokens", "lengths.npy", "1-d int32", "i64"});

  write_lengths({1, 3, 2});
  expect_error(load, {"image tokens", "lengths.npy", "has 3 lengths, expected 2", "tokens.npy"});

  write_lengths({1, 0});
  expect_error(load, {"image tokens", "lengths.npy", "entry 1 is 0", "[1, 3]"});

  write_lengths({4, 1});
  expect_error(load, {"image tokens", "lengths.npy", "entry 0 is 4", "[1, 3]"});

  std::vector<float> with_nan = tokens;
  with_nan[1 * 3 * 2 + 2 * 2 + 1] = std::numeric_limits<float>::quiet_NaN();  // item 1 token 2
  write_npy(files.tokens, DType::f32, {2, 3, 2}, with_nan.data());
  write_lengths(good_lengths);
  expect_error(load, {"image tokens", "tokens.npy", "item 1 token 2 dimension 1", "nan", "finite"});

  // The same NaN in a padding row is never read.
  write_lengths({1, 2});
  EXPECT_NO_THROW(load());

  std::filesystem::remove(files.tokens);
  expect_error(load, {"image tokens", "tokens.npy"});
}

}  // namespace
}  // namespace vlbench
