// int8 / binary quantization against hand-computed codes and direct float computations.
#include "vlbench/index/quantize.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "test_util.hpp"
#include "vlbench/core/random.hpp"

namespace vlbench {
namespace {

std::vector<float> random_rows(std::int64_t rows, std::int64_t d, std::uint64_t seed) {
  SplitMix64 rng(seed);
  std::vector<float> x(static_cast<std::size_t>(rows * d));
  for (float& v : x) v = static_cast<float>(rng.normal());
  return x;
}

TEST(Quantize, ParseNames) {
  EXPECT_EQ(parse_quantization("none"), Quantization::none);
  EXPECT_EQ(parse_quantization("int8"), Quantization::int8);
  EXPECT_EQ(parse_quantization("binary"), Quantization::binary);
  EXPECT_EQ(quantization_name(Quantization::int8), "int8");
  EXPECT_EQ(quantization_name(Quantization::binary), "binary");
  EXPECT_EQ(quantization_name(Quantization::none), "none");
  testing::expect_error([] { parse_quantization("fp16"); }, {"fp16", "none, int8, binary"});
}

TEST(Quantize, Int8HandComputedCodesRoundHalfEven) {
  // Row 0: max |x| = 127, so scale = 1 and the codes are x rounded half to even.
  // Row 1: all zero -> scale 0, codes 0.
  // Row 2: max |x| = 127 · 2^-7, so scale = 2^-7 exactly and x / scale is exact.
  const float s = 1.0f / 128.0f;
  const std::vector<float> x = {
      127,     2.5f,       -2.5f,     3.5f,      0.5f,      -0.5f, 1.5f,     -127,  //
      0,       0,          0,         0,         0,         0,     0,        0,     //
      127 * s, -63.5f * s, 62.5f * s, -0.5f * s, 1.25f * s, 0,     -127 * s, 100.75f * s};
  const Int8Matrix m = quantize_int8(x.data(), 3, 8);
  EXPECT_EQ(m.rows, 3);
  EXPECT_EQ(m.d, 8);
  const std::vector<std::int8_t> expected = {127, 2,   -2, 4, 0, 0, 2,    -127,  //
                                             0,   0,   0,  0, 0, 0, 0,    0,     //
                                             127, -64, 62, 0, 1, 0, -127, 101};
  EXPECT_EQ(m.codes, expected);
  ASSERT_EQ(m.scales.size(), 3u);
  EXPECT_EQ(m.scales[0], 1.0f);
  EXPECT_EQ(m.scales[1], 0.0f);
  EXPECT_EQ(m.scales[2], s);
}

TEST(Quantize, Int8CodesBoundedAndReconstructionWithinHalfStep) {
  const std::int64_t rows = 50, d = 37;
  const std::vector<float> x = random_rows(rows, d, 7);
  const Int8Matrix m = quantize_int8(x.data(), rows, d);
  for (std::int64_t r = 0; r < rows; ++r) {
    double max_abs = 0;
    for (std::int64_t j = 0; j < d; ++j)
      max_abs = std::max(max_abs, std::fabs(double(x[r * d + j])));
    const double scale = m.scales[r];
    EXPECT_NEAR(scale, max_abs / 127, 1e-7 * max_abs);
    int max_code = 0;
    for (std::int64_t j = 0; j < d; ++j) {
      const int q = m.codes[r * d + j];
      max_code = std::max(max_code, std::abs(q));
      EXPECT_LE(std::fabs(q * scale - x[r * d + j]), 0.5 * scale * (1 + 1e-6));
    }
    EXPECT_EQ(max_code, 127);  // the largest element maps to ±127
  }
}

TEST(Quantize, Int8ScoreMatchesCodesAndApproximatesFloatDot) {
  const std::int64_t d = 64;
  const std::vector<float> a = random_rows(6, d, 11);
  const std::vector<float> b = random_rows(5, d, 12);
  const Int8Matrix qa = quantize_int8(a.data(), 6, d);
  const Int8Matrix qb = quantize_int8(b.data(), 5, d);
  for (std::int64_t i = 0; i < 6; ++i) {
    for (std::int64_t j = 0; j < 5; ++j) {
      long long sum = 0;
      double dot = 0, na = 0, nb = 0;
      for (std::int64_t t = 0; t < d; ++t) {
        sum += static_cast<long long>(qa.codes[i * d + t]) * qb.codes[j * d + t];
        dot += double(a[i * d + t]) * b[j * d + t];
        na += double(a[i * d + t]) * a[i * d + t];
        nb += double(b[j * d + t]) * b[j * d + t];
      }
      const double score = int8_score(qa, i, qb, j);
      EXPECT_EQ(score, double(qa.scales[i]) * double(qb.scales[j]) * double(sum));
      // Each element moves by at most half a step: |Δ| <= (|a|·s_b + |b|·s_a)·sqrt(d)/2 + ...
      const double bound = 0.5 * std::sqrt(double(d)) *
                               (std::sqrt(na) * qb.scales[j] + std::sqrt(nb) * qa.scales[i]) +
                           0.25 * d * qa.scales[i] * qb.scales[j];
      EXPECT_NEAR(score, dot, bound);
      EXPECT_NEAR(score, dot, 0.02 * std::sqrt(na * nb));  // measured: well under 1%
    }
  }
}

TEST(Quantize, BinaryBitPackingOrder) {
  // d = 10: bit j in byte j / 8 at position j % 8, LSB first; 0 and -0 give 0 bits.
  const std::vector<float> x = {1,  -1, 0,  2,  -3, 0.5f, 0,  0,  7,  -0.0f,  //
                                -1, -1, -1, -1, -1, -1,   -1, -1, -1, 1};
  const BinaryMatrix m = quantize_binary(x.data(), 2, 10);
  EXPECT_EQ(m.rows, 2);
  EXPECT_EQ(m.d, 10);
  EXPECT_EQ(m.bytes_per_row, 2);
  const std::vector<std::uint8_t> expected = {0b00101001, 0b00000001, 0b00000000, 0b00000010};
  EXPECT_EQ(m.bits, expected);
  // Row 0 as ±1: + - - + - + - - + -; row 1: all - except the last.
  // Dot product: agreements at j = 1, 2, 4, 6, 7 (both -) -> 5 agree, 5 disagree -> 0.
  EXPECT_EQ(binary_score(m, 0, m, 1), 0);
  EXPECT_EQ(binary_score(m, 0, m, 0), 10);
  EXPECT_EQ(binary_score(m, 1, m, 1), 10);
}

TEST(Quantize, BinaryScoreEqualsSignDotProduct) {
  for (const std::int64_t d : {1, 7, 8, 63, 64, 65, 200}) {
    const std::vector<float> a = random_rows(4, d, 21 + d);
    const std::vector<float> b = random_rows(3, d, 31 + d);
    const BinaryMatrix qa = quantize_binary(a.data(), 4, d);
    const BinaryMatrix qb = quantize_binary(b.data(), 3, d);
    EXPECT_EQ(qa.bytes_per_row, (d + 7) / 8);
    for (std::int64_t i = 0; i < 4; ++i) {
      for (std::int64_t j = 0; j < 3; ++j) {
        std::int64_t dot = 0;
        for (std::int64_t t = 0; t < d; ++t) {
          dot += (a[i * d + t] > 0 ? 1 : -1) * (b[j * d + t] > 0 ? 1 : -1);
        }
        EXPECT_EQ(binary_score(qa, i, qb, j), dot) << "d=" << d;
      }
    }
  }
}

TEST(Quantize, DequantizeInt8AndBinary) {
  const float s = 1.0f / 128.0f;
  std::vector<float> x = {127 * s, -63.5f * s, 62.5f * s, 0,  //
                          0,       0,          0,         0};
  quantize_dequantize(Quantization::int8, x.data(), 2, 4);
  const std::vector<float> expected = {127 * s, -64 * s, 62 * s, 0, 0, 0, 0, 0};
  EXPECT_EQ(x, expected);

  std::vector<float> y = {0.3f, -0.2f, 0, -0.0f, 5};
  quantize_dequantize(Quantization::binary, y.data(), 1, 5);
  EXPECT_EQ(y, (std::vector<float>{1, -1, -1, -1, 1}));

  std::vector<float> z = {0.3f, -0.2f};
  quantize_dequantize(Quantization::none, z.data(), 1, 2);
  EXPECT_EQ(z, (std::vector<float>{0.3f, -0.2f}));
}

TEST(Quantize, DequantizedDotOrdersLikeQuantizedScores) {
  const std::int64_t d = 48, n = 40;
  std::vector<float> x = random_rows(n, d, 99);
  const Int8Matrix m = quantize_int8(x.data(), n, d);
  const BinaryMatrix bm = quantize_binary(x.data(), n, d);
  std::vector<float> xi = x, xb = x;
  quantize_dequantize(Quantization::int8, xi.data(), n, d);
  quantize_dequantize(Quantization::binary, xb.data(), n, d);
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j < n; ++j) {
      double di = 0, db = 0, abs_sum = 0;
      for (std::int64_t t = 0; t < d; ++t) {
        di += double(xi[i * d + t]) * xi[j * d + t];
        db += double(xb[i * d + t]) * xb[j * d + t];
        abs_sum += std::fabs(double(xi[i * d + t]) * xi[j * d + t]);
      }
      // Each dequantized value q · scale is rounded to float32 (relative 2^-24), so each
      // product moves by at most 2 · 2^-24 (+ tiny) of its magnitude.
      EXPECT_NEAR(di, int8_score(m, i, m, j), 2.01 * 0x1p-24 * abs_sum);
      EXPECT_EQ(db, static_cast<double>(binary_score(bm, i, bm, j)));
    }
  }
}

TEST(Quantize, NonFiniteValueIsAnError) {
  const std::vector<float> x = {1, NAN, 0};
  testing::expect_error([&] { quantize_int8(x.data(), 1, 3); }, {"row 0", "column 1", "finite"});
  testing::expect_error([&] { quantize_binary(x.data(), 1, 3); }, {"row 0", "column 1"});
}

}  // namespace
}  // namespace vlbench
