// The GEMM backends against a double-precision reference, their bit reproducibility across
// row blocks and thread counts, and the registry.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "vlbench/core/error.hpp"
#include "vlbench/core/random.hpp"
#include "vlbench/kernels/gemm.hpp"

namespace vlbench {
namespace {

std::vector<float> random_matrix(std::int64_t rows, std::int64_t cols, std::uint64_t seed) {
  SplitMix64 rng(seed);
  std::vector<float> m(static_cast<std::size_t>(rows * cols));
  for (float& v : m) v = static_cast<float>(rng.normal());
  return m;
}

bool same_bits(const float* a, const float* b, std::int64_t n) {
  return std::memcmp(a, b, static_cast<std::size_t>(n) * sizeof(float)) == 0;
}

class GemmBackendTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GemmBackendTest, MatchesDoubleReferenceWithPaddedLeadingDimensions) {
  const std::unique_ptr<Gemm> gemm = make_gemm(GetParam());
  EXPECT_EQ(gemm->name(), GetParam());
  const std::int64_t m = 37, n = 53, k = 70, lda = 75, ldb = 71, ldc = 60;
  const std::vector<float> a = random_matrix(m, lda, 1);
  const std::vector<float> b = random_matrix(n, ldb, 2);
  std::vector<float> c(static_cast<std::size_t>(m * ldc), -7.0f);
  gemm->gemm_nt(m, n, k, a.data(), lda, b.data(), ldb, c.data(), ldc);
  for (std::int64_t i = 0; i < m; ++i) {
    for (std::int64_t j = 0; j < n; ++j) {
      double expected = 0.0, magnitude = 0.0;
      for (std::int64_t p = 0; p < k; ++p) {
        const double term = static_cast<double>(a[i * lda + p]) * b[j * ldb + p];
        expected += term;
        magnitude += std::abs(term);
      }
      ASSERT_NEAR(c[i * ldc + j], expected, 1e-6 * magnitude + 1e-6) << i << "," << j;
    }
    // Padding columns of C are not written.
    for (std::int64_t j = n; j < ldc; ++j) ASSERT_EQ(c[i * ldc + j], -7.0f);
  }
}

TEST_P(GemmBackendTest, EmptySumGivesZerosAndEmptyOutputWritesNothing) {
  const std::unique_ptr<Gemm> gemm = make_gemm(GetParam());
  std::vector<float> c(6, -1.0f);
  const float dummy = 1.0f;
  gemm->gemm_nt(2, 3, 0, &dummy, 1, &dummy, 1, c.data(), 3);
  EXPECT_EQ(c, std::vector<float>(6, 0.0f));
  std::vector<float> untouched(6, -1.0f);
  gemm->gemm_nt(0, 3, 4, &dummy, 4, &dummy, 4, untouched.data(), 3);
  EXPECT_EQ(untouched, std::vector<float>(6, -1.0f));
}

// The contract: the same call gives the same bits, whatever ran before it. (Bits do change
// with the row block height, the thread count and, for OpenBLAS, an item's column: that is
// why rank_targets does not rely on them.)
TEST_P(GemmBackendTest, RepeatedCallGivesSameBits) {
  const std::unique_ptr<Gemm> gemm = make_gemm(GetParam());
  const std::int64_t m = 203, n = 517, k = 384;
  const std::vector<float> a = random_matrix(m, k, 3);
  const std::vector<float> b = random_matrix(n, k, 4);
  for (const int threads : {1, 2}) {
    gemm->set_threads(threads);
    std::vector<float> first(static_cast<std::size_t>(m * n));
    gemm->gemm_nt(m, n, k, a.data(), k, b.data(), k, first.data(), n);
    std::vector<float> other(static_cast<std::size_t>(7 * n));
    gemm->gemm_nt(7, n, k, a.data() + 50 * k, k, b.data(), k, other.data(), n);
    std::vector<float> again(static_cast<std::size_t>(m * n));
    gemm->gemm_nt(m, n, k, a.data(), k, b.data(), k, again.data(), n);
    EXPECT_TRUE(same_bits(first.data(), again.data(), m * n)) << "threads " << threads;
  }
  gemm->set_threads(0);
}

INSTANTIATE_TEST_SUITE_P(AllBackends, GemmBackendTest, ::testing::ValuesIn(gemm_backends()));

TEST(GemmRegistry, ListsOpenBlasAndDefaultIsAvailable) {
  const std::vector<std::string> names = gemm_backends();
  ASSERT_FALSE(names.empty());
  EXPECT_EQ(names[0], "openblas");
  EXPECT_NE(std::find(names.begin(), names.end(), default_gemm_backend()), names.end());
}

TEST(GemmRegistry, UnknownNameListsAvailableBackends) {
  std::string expected = "unknown GEMM backend 'cublas' (available: openblas";
  for (std::size_t i = 1; i < gemm_backends().size(); ++i) expected += ", " + gemm_backends()[i];
  expected += ")";
  try {
    make_gemm("cublas");
    FAIL() << "make_gemm accepted an unknown name";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), expected);
  }
  if (gemm_backends().size() == 2) {
    EXPECT_EQ(expected, "unknown GEMM backend 'cublas' (available: openblas, onednn)");
  }
}

}  // namespace
}  // namespace vlbench
