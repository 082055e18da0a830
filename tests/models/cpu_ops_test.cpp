// The CPU transformer ops (kernels/ops.hpp) against hand-computed values and float64 loops.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "kernels/cpu/vec_math.hpp"
#include "test_util.hpp"
#include "vlbench/core/dtype.hpp"
#include "vlbench/core/error.hpp"
#include "vlbench/core/thread_pool.hpp"
#include "vlbench/kernels/gemm.hpp"
#include "vlbench/kernels/ops.hpp"

namespace vlbench {
namespace {

using testing::random_normal_values;

TEST(CpuOps, LayerNormHandComputed) {
  // Row [1, 2, 3, 4]: mean 2.5, biased variance 1.25.
  const float x[4] = {1, 2, 3, 4};
  const float gamma[4] = {1, 2, 1, 1};
  const float beta[4] = {0, 0, 1, -1};
  float y[4];
  layer_norm(x, 1, 4, gamma, beta, 0.0f, y);
  const double inv_std = 1.0 / std::sqrt(1.25);
  EXPECT_NEAR(y[0], -1.5 * inv_std, 1e-6);
  EXPECT_NEAR(y[1], 2 * -0.5 * inv_std, 1e-6);
  EXPECT_NEAR(y[2], 0.5 * inv_std + 1, 1e-6);
  EXPECT_NEAR(y[3], 1.5 * inv_std - 1, 1e-6);
}

TEST(CpuOps, LayerNormMatchesFloat64AndIgnoresThreads) {
  const std::int64_t rows = 300, d = 96;
  std::vector<float> x = random_normal_values(rows * d, 1, 3.0f);
  for (float& v : x) v += 50.0f;  // a large mean: the two-pass variance must not cancel
  const std::vector<float> gamma = random_normal_values(d, 2), beta = random_normal_values(d, 3);
  std::vector<float> y(x.size()), y_pool(x.size());
  layer_norm(x.data(), rows, d, gamma.data(), beta.data(), 1e-5f, y.data());
  ThreadPool pool(2);
  layer_norm(x.data(), rows, d, gamma.data(), beta.data(), 1e-5f, y_pool.data(), &pool);
  EXPECT_EQ(y, y_pool);
  for (std::int64_t r = 0; r < rows; ++r) {
    double mean = 0, var = 0;
    for (std::int64_t i = 0; i < d; ++i) mean += x[r * d + i];
    mean /= d;
    for (std::int64_t i = 0; i < d; ++i) var += (x[r * d + i] - mean) * (x[r * d + i] - mean);
    var /= d;
    for (std::int64_t i = 0; i < d; ++i) {
      const double expected = (x[r * d + i] - mean) / std::sqrt(var + 1e-5) * gamma[i] + beta[i];
      ASSERT_NEAR(y[r * d + i], expected, 2e-5) << r << "," << i;
    }
  }
}

TEST(CpuOps, VectorizableExpIsWithinTwoUlp) {
  double worst = 0.0;  // relative error against float64 exp
  for (double x = -87.0; x <= 88.0; x += 0.000731) {
    const float xf = static_cast<float>(x);
    const double exact = std::exp(double{xf});
    worst = std::max(worst, std::abs(exp_vectorizable(xf) - exact) / exact);
  }
  std::printf("exp_vectorizable max relative error: %.3g\n", worst);
  EXPECT_LE(worst, 2.0 * std::ldexp(1.0, -23));  // 2 ulp: an ulp is at most 2^-23 relative
  EXPECT_EQ(exp_vectorizable(0.0f), 1.0f);
  EXPECT_NEAR(exp_vectorizable(-200.0f), 0.0f, 1e-37f);  // clamped, no garbage
  EXPECT_TRUE(std::isnan(exp_vectorizable(std::nanf(""))));
}

// The vectorized gelu and gelu_pytorch_tanh against their float64 formulas on a dense grid.
TEST(CpuOps, GeluActivationsMatchTheFormulaEverywhere) {
  std::vector<float> x;
  for (int i = -40000; i <= 40000; ++i) x.push_back(static_cast<float>(i) * 5e-4f);
  for (const float big : {-1e4f, -200.0f, -30.0f, 30.0f, 200.0f, 1e4f, 1e-30f, -1e-30f}) {
    x.push_back(big);
  }
  for (const Activation act : {Activation::gelu, Activation::gelu_pytorch_tanh}) {
    std::vector<float> y = x;
    apply_activation(act, y.data(), static_cast<std::int64_t>(y.size()));
    double worst = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double v = x[i];
      const double expected =
          act == Activation::gelu
              ? 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)))
              : 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
      worst = std::max(worst, std::abs(y[i] - expected) / std::max(1.0, std::abs(expected)));
      ASSERT_TRUE(std::isfinite(y[i])) << activation_name(act) << " at " << v;
    }
    std::printf("%s: max error %.3g\n", activation_name(act).c_str(), worst);
    EXPECT_LE(worst, 1e-6) << activation_name(act);
  }
}

TEST(CpuOps, ActivationsMatchTheirFormulas) {
  const std::vector<float> x = {-6.0f, -1.5f, -0.3f, 0.0f, 0.7f, 2.0f, 8.0f};
  for (Activation act : {Activation::quick_gelu, Activation::gelu, Activation::gelu_pytorch_tanh,
                         Activation::silu}) {
    std::vector<float> y = x;
    apply_activation(act, y.data(), static_cast<std::int64_t>(y.size()));
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double v = x[i];
      double expected = 0;
      if (act == Activation::quick_gelu) expected = v / (1 + std::exp(-1.702 * v));
      if (act == Activation::gelu) expected = 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
      if (act == Activation::gelu_pytorch_tanh) {
        expected = 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
      }
      if (act == Activation::silu) expected = v / (1 + std::exp(-v));
      EXPECT_NEAR(y[i], expected, 1e-6) << activation_name(act) << " at " << v;
    }
    EXPECT_EQ(parse_activation(activation_name(act)), act);
  }
  try {
    parse_activation("relu");
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'relu'"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("quick_gelu"), std::string::npos);
  }
}

TEST(CpuOps, SoftmaxHandComputed) {
  std::vector<float> x = {0.0f, std::log(3.0f), 1000.0f, 1000.0f};
  softmax_rows(x.data(), 2, 2);
  EXPECT_NEAR(x[0], 0.25, 1e-7);
  EXPECT_NEAR(x[1], 0.75, 1e-7);
  EXPECT_NEAR(x[2], 0.5, 1e-7);  // no overflow: the row max is subtracted
  EXPECT_NEAR(x[3], 0.5, 1e-7);
}

TEST(CpuOps, LinearIsXTimesWeightTransposedPlusBias) {
  const std::int64_t rows = 5, in = 7, out = 3;
  const std::vector<float> x = random_normal_values(rows * in, 4),
                           w = random_normal_values(out * in, 5);
  const std::vector<float> b = random_normal_values(out, 6);
  std::vector<float> y(rows * out);
  const auto gemm = make_gemm(default_gemm_backend());
  linear(*gemm, x.data(), rows, in, w.data(), out, b.data(), y.data());
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t o = 0; o < out; ++o) {
      double expected = b[o];
      for (std::int64_t i = 0; i < in; ++i) expected += double{x[r * in + i]} * w[o * in + i];
      EXPECT_NEAR(y[r * out + o], expected, 1e-5);
    }
  }
  std::vector<float> residual = {1, 2, 3};
  add_inplace(residual.data(), b.data(), 3);
  EXPECT_FLOAT_EQ(residual[2], 3 + b[2]);
}

float bf16_round(float x) {
  return bf16_to_f32(f32_to_bf16(x));
}

TEST(CpuOps, Bf16LinearRoundsInputsToNearestEven) {
  if (!bf16_linear_available()) GTEST_SKIP() << "built without oneDNN: no bf16 linear";
  // bf16 keeps 8 significant bits: 1 + 2^-8 is a tie that rounds to 1 (even), 1 + 3·2^-8 a
  // tie that rounds to 1 + 2^-6 (even); 3 and 0.5 are exact. So y = 3 · (2 + 2^-6) + 0.5.
  const float x[2] = {1.0f + 0x1p-8f, 1.0f + 3 * 0x1p-8f};
  const float w[2] = {3.0f, 3.0f};
  const float b[1] = {0.5f};
  float y[1] = {0.0f};
  const LinearBf16 layer(w, 1, 2, b);
  EXPECT_EQ(layer.in(), 2);
  EXPECT_EQ(layer.out(), 1);
  layer.run(x, 1, y);
  EXPECT_EQ(y[0], 3 * (2 + 0x1p-6f) + 0.5f);
  // Weights are rounded the same way; no bias.
  const LinearBf16 swapped(x, 1, 2, nullptr);
  swapped.run(w, 1, y);
  EXPECT_EQ(y[0], 3 * (2 + 0x1p-6f));
}

TEST(CpuOps, Bf16LinearMatchesFloat64OfRoundedValues) {
  if (!bf16_linear_available()) GTEST_SKIP() << "built without oneDNN: no bf16 linear";
  const std::int64_t in = 300, out = 70;
  const std::vector<float> w = random_normal_values(out * in, 7), b = random_normal_values(out, 8);
  ThreadPool pool(2);
  for (const std::int64_t rows : {1, 37, 200}) {
    const std::vector<float> x = random_normal_values(rows * in, 9 + static_cast<unsigned>(rows));
    for (const bool with_bias : {true, false}) {
      LinearBf16 layer(w.data(), out, in, with_bias ? b.data() : nullptr);
      for (const int threads : {1, 2}) {
        layer.set_threads(threads);
        std::vector<float> y(static_cast<std::size_t>(rows * out));
        layer.run(x.data(), rows, y.data(), threads == 2 ? &pool : nullptr);
        for (std::int64_t r = 0; r < rows; ++r) {
          for (std::int64_t o = 0; o < out; ++o) {
            // Products of bf16 values are exact in float32 (and double); only the float32
            // sum rounds: |error| <= in · 2^-24 · Σ|terms| (a loose bound for any order).
            double expected = with_bias ? b[o] : 0.0, magnitude = std::abs(expected);
            for (std::int64_t i = 0; i < in; ++i) {
              const double term = double{bf16_round(x[r * in + i])} * bf16_round(w[o * in + i]);
              expected += term;
              magnitude += std::abs(term);
            }
            ASSERT_NEAR(y[r * out + o], expected, static_cast<double>(in) * 0x1p-24 * magnitude)
                << "rows " << rows << " row " << r << " col " << o << " threads " << threads;
          }
        }
      }
    }
  }
}

// Attention of every (sequence, head) in float64.
std::vector<double> reference_attention(const std::vector<float>& qkv, const AttentionShape& s) {
  const std::int64_t d = s.n_heads * s.head_dim, t = s.seq_len;
  const std::int64_t kv = s.kv_heads() * s.head_dim, ld = d + 2 * kv;
  std::vector<double> out(static_cast<std::size_t>(s.n_seq * t * d));
  for (std::int64_t seq = 0; seq < s.n_seq; ++seq) {
    for (std::int64_t h = 0; h < s.n_heads; ++h) {
      const std::int64_t kv_head = h * s.kv_heads() / s.n_heads;
      auto at = [&](int part, std::int64_t token, std::int64_t i) {
        const std::int64_t column = part == 0 ? h * s.head_dim
                                              : d + (part - 1) * kv + kv_head * s.head_dim;
        return double{qkv[(seq * t + token) * ld + column + i]};
      };
      const std::int64_t n_real = s.key_lengths ? s.key_lengths[seq] : t;
      const double slope = s.alibi_slopes ? s.alibi_slopes[h] : 0.0;
      for (std::int64_t i = 0; i < t; ++i) {
        const std::int64_t n_keys = std::min(s.causal ? i + 1 : t, n_real);
        std::vector<double> p(static_cast<std::size_t>(n_keys));
        std::vector<bool> allowed(static_cast<std::size_t>(n_keys), true);
        double max_score = -1e300, sum = 0;
        for (std::int64_t j = 0; j < n_keys; ++j) {
          if (s.key_mask && s.key_mask[seq * t + j] == 0) allowed[j] = false;
          for (std::int64_t k = 0; k < s.head_dim; ++k) p[j] += at(0, i, k) * at(1, j, k);
          p[j] = p[j] * s.scale - slope * static_cast<double>(std::abs(i - j));
          if (allowed[j]) max_score = std::max(max_score, p[j]);
        }
        for (std::int64_t j = 0; j < n_keys; ++j) {
          p[j] = allowed[j] ? std::exp(p[j] - max_score) : 0.0;
          sum += p[j];
        }
        for (std::int64_t k = 0; k < s.head_dim; ++k) {
          double acc = 0;
          for (std::int64_t j = 0; j < n_keys; ++j) acc += p[j] / sum * at(2, j, k);
          out[(seq * t + i) * d + h * s.head_dim + k] = acc;
        }
      }
    }
  }
  return out;
}

TEST(CpuOps, MultiHeadAttentionMatchesFloat64) {
  // {n_seq, seq_len, n_heads, head_dim}: every block path of the kernel (16- and 8-column
  // blocks, single columns, 4-row blocks, single rows); 72 is SigLIP so400m's head_dim.
  const std::int64_t shapes[][4] = {{3, 11, 4, 8}, {2, 37, 2, 72}};
  for (const auto& dims : shapes) {
    for (bool causal : {false, true}) {
      AttentionShape shape;
      shape.n_seq = dims[0];
      shape.seq_len = dims[1];
      shape.n_heads = dims[2];
      shape.head_dim = dims[3];
      shape.causal = causal;
      shape.scale = 1.0f / std::sqrt(static_cast<float>(dims[3]));
      const std::int64_t d = shape.n_heads * shape.head_dim;
      const std::vector<float> qkv =
          random_normal_values(shape.n_seq * shape.seq_len * 3 * d, 7, 2.0f);
      std::vector<float> out(shape.n_seq * shape.seq_len * d), out_pool(out.size());
      multi_head_attention(qkv.data(), shape, out.data());
      ThreadPool pool(2);
      multi_head_attention(qkv.data(), shape, out_pool.data(), &pool);
      EXPECT_EQ(out, out_pool);
      const std::vector<double> expected = reference_attention(qkv, shape);
      for (std::size_t i = 0; i < out.size(); ++i) {
        ASSERT_NEAR(out[i], expected[i], 1e-5) << "causal " << causal << " at " << i;
      }
      if (causal) {  // the first token of a sequence sees only itself: its own v
        for (std::int64_t k = 0; k < d; ++k) EXPECT_FLOAT_EQ(out[k], qkv[2 * d + k]);
      }
    }
  }
}

// Grouped-query attention (Gemma's multi-query: 1 kv head for 4 query heads; and 2 for 4) with
// a padding mask: keys past each sequence's length are never attended, rows past it are still
// computed.
TEST(CpuOps, GroupedQueryAttentionWithKeyLengthsMatchesFloat64) {
  for (const std::int64_t kv_heads : {1, 2}) {
    AttentionShape shape;
    shape.n_seq = 3;
    shape.seq_len = 13;
    shape.n_heads = 4;
    shape.head_dim = 16;
    shape.n_kv_heads = kv_heads;
    shape.scale = 0.25f;
    const std::vector<std::int64_t> lengths = {13, 5, 1};
    shape.key_lengths = lengths.data();
    const std::int64_t d = 4 * 16, rows = 3 * 13, ld = d + 2 * kv_heads * 16;
    std::vector<float> qkv = random_normal_values(rows * ld, 40);
    std::vector<float> out(rows * d);
    ThreadPool pool(2);
    multi_head_attention(qkv.data(), shape, out.data(), &pool);
    const std::vector<double> expected = reference_attention(qkv, shape);
    for (std::size_t i = 0; i < out.size(); ++i) {
      ASSERT_NEAR(out[i], expected[i], 1e-5) << "kv heads " << kv_heads << " at " << i;
    }
    // Sequence 2 has one real key: every row of it is that key's v, for each query head.
    for (std::int64_t r = 0; r < 13; ++r) {
      for (std::int64_t h = 0; h < 4; ++h) {
        const std::int64_t v = (2 * 13) * ld + d + kv_heads * 16 + (h * kv_heads / 4) * 16;
        for (std::int64_t k = 0; k < 16; ++k) {
          ASSERT_FLOAT_EQ(out[(2 * 13 + r) * d + h * 16 + k], qkv[v + k]);
        }
      }
    }
    // Changing a masked key or value changes nothing.
    std::vector<float> changed = qkv;
    for (std::int64_t j = 5; j < 13; ++j) {
      for (std::int64_t c = d; c < ld; ++c) changed[(13 + j) * ld + c] = 1e3f;
    }
    std::vector<float> out_changed(rows * d);
    multi_head_attention(changed.data(), shape, out_changed.data(), &pool);
    for (std::int64_t i = 13 * d; i < 26 * d; ++i) ASSERT_EQ(out_changed[i], out[i]);
  }
}

// JinaBERT's attention: symmetric ALiBi slopes per head and a key mask of any form (a pad id
// inside a caption), against float64; masked keys and values change nothing.
TEST(CpuOps, AlibiAttentionWithAKeyMaskMatchesFloat64) {
  AttentionShape shape;
  shape.n_seq = 2;
  shape.seq_len = 19;
  shape.n_heads = 3;
  shape.head_dim = 16;
  shape.scale = 0.25f;
  // Three heads (not a power of two): 2^-4, 2^-8 and 2^-2 as Press et al.'s rule gives them.
  const std::vector<float> slopes = {0.0625f, 0.00390625f, 0.25f};
  shape.alibi_slopes = slopes.data();
  const std::int64_t d = 3 * 16, rows = 2 * 19, ld = 3 * d;
  std::vector<std::uint8_t> mask(static_cast<std::size_t>(rows), 1);
  mask[3] = mask[18] = 0;            // sequence 0: two keys masked, one of them the last
  for (int j = 10; j < 19; ++j) mask[19 + j] = 0;  // sequence 1: right padding
  const std::vector<float> qkv = random_normal_values(rows * ld, 45, 2.0f);
  ThreadPool pool(2);
  for (const bool masked : {false, true}) {
    shape.key_mask = masked ? mask.data() : nullptr;
    std::vector<float> out(rows * d), out_one(rows * d);
    multi_head_attention(qkv.data(), shape, out.data(), &pool);
    multi_head_attention(qkv.data(), shape, out_one.data());
    EXPECT_EQ(out, out_one);
    const std::vector<double> expected = reference_attention(qkv, shape);
    for (std::size_t i = 0; i < out.size(); ++i) {
      ASSERT_NEAR(out[i], expected[i], 1e-5) << "masked " << masked << " at " << i;
    }
    if (!masked) continue;
    std::vector<float> changed = qkv;
    for (std::int64_t r = 0; r < rows; ++r) {
      if (mask[r]) continue;
      for (std::int64_t c = d; c < ld; ++c) changed[r * ld + c] = 1e3f;  // its k and v
    }
    std::vector<float> out_changed(rows * d);
    multi_head_attention(changed.data(), shape, out_changed.data(), &pool);
    EXPECT_EQ(out_changed, out);
  }
  // ALiBi with slope 0 and no mask is the plain attention, bit for bit.
  const std::vector<float> zero(3, 0.0f);
  shape.alibi_slopes = zero.data();
  shape.key_mask = nullptr;
  std::vector<float> with_zero(rows * d), plain(rows * d);
  multi_head_attention(qkv.data(), shape, with_zero.data());
  shape.alibi_slopes = nullptr;
  multi_head_attention(qkv.data(), shape, plain.data());
  for (std::size_t i = 0; i < plain.size(); ++i) ASSERT_NEAR(with_zero[i], plain[i], 1e-6);
}

// EVA02's rotary embedding: interleaved pairs rotated by a table; a row of cos 1, sin 0 (the
// class token) is unchanged; the columns after the rotated heads are untouched.
TEST(CpuOps, RotaryTableRotatesInterleavedPairs) {
  const std::int64_t n_seq = 2, seq_len = 5, head_dim = 8, heads = 4, ld = 6 * head_dim;
  const std::vector<float> x = random_normal_values(n_seq * seq_len * ld, 46);
  std::vector<float> cos(seq_len * head_dim), sin(cos.size());
  for (std::int64_t t = 0; t < seq_len; ++t) {
    for (std::int64_t i = 0; i < head_dim; ++i) {
      const double angle = t == 0 ? 0.0 : 0.3 * t + 0.7 * (i / 2);
      cos[t * head_dim + i] = static_cast<float>(std::cos(angle));
      sin[t * head_dim + i] = static_cast<float>(std::sin(angle));
    }
  }
  std::vector<float> y = x;
  ThreadPool pool(2);
  rotary_table(y.data(), n_seq, seq_len, ld, heads, head_dim, cos.data(), sin.data(), &pool);
  for (std::int64_t r = 0; r < n_seq * seq_len; ++r) {
    const std::int64_t t = r % seq_len;
    for (std::int64_t h = 0; h < heads; ++h) {
      const float* in = x.data() + r * ld + h * head_dim;
      const float* out = y.data() + r * ld + h * head_dim;
      for (std::int64_t i = 0; i < head_dim; i += 2) {
        const double angle = t == 0 ? 0.0 : 0.3 * t + 0.7 * (i / 2);
        const double a = in[i], b = in[i + 1];
        ASSERT_NEAR(out[i], a * std::cos(angle) - b * std::sin(angle), 1e-6) << r << "," << i;
        ASSERT_NEAR(out[i + 1], b * std::cos(angle) + a * std::sin(angle), 1e-6) << r << "," << i;
        if (t == 0) {
          ASSERT_EQ(out[i], in[i]);
          ASSERT_EQ(out[i + 1], in[i + 1]);
        }
      }
    }
    for (std::int64_t c = heads * head_dim; c < ld; ++c) ASSERT_EQ(y[r * ld + c], x[r * ld + c]);
  }
}

TEST(CpuOps, MaskedMeanRowsAveragesTheMaskedRows) {
  // Hand-computed: sequence 0 rows {1, 2}, {3, 4}, {5, 9} with the middle masked -> {3, 5.5};
  // sequence 1 all three -> the plain mean.
  const std::vector<float> x = {1, 2, 3, 4, 5, 9, 0, 0, 1, 1, 2, 5};
  const std::vector<std::uint8_t> mask = {1, 0, 1, 1, 1, 1};
  std::vector<float> out(4);
  masked_mean_rows(x.data(), 2, 3, 2, mask.data(), out.data());
  EXPECT_EQ(out, (std::vector<float>{3.0f, 5.5f, 1.0f, 2.0f}));
  masked_mean_rows(x.data(), 2, 3, 2, nullptr, out.data());
  EXPECT_EQ(out, (std::vector<float>{3.0f, 5.0f, 1.0f, 2.0f}));
}

TEST(CpuOps, RmsNormMatchesFloat64) {
  const std::int64_t rows = 7, d = 37;
  const std::vector<float> x = random_normal_values(rows * d, 41, 3.0f),
                           w = random_normal_values(d, 42);
  std::vector<float> y(x.size());
  rms_norm(x.data(), rows, d, w.data(), 1e-6f, y.data());
  for (std::int64_t r = 0; r < rows; ++r) {
    double sum_sq = 0;
    for (std::int64_t i = 0; i < d; ++i) sum_sq += double{x[r * d + i]} * x[r * d + i];
    const double inv = 1.0 / std::sqrt(sum_sq / d + 1e-6);
    for (std::int64_t i = 0; i < d; ++i) {
      ASSERT_NEAR(y[r * d + i], x[r * d + i] * inv * w[i], 1e-5) << r << "," << i;
    }
  }
  // Hand-computed: [3, 4] has mean square 12.5; weight 1.
  const float row[2] = {3.0f, 4.0f}, ones[2] = {1.0f, 1.0f};
  float normed[2];
  rms_norm(row, 1, 2, ones, 0.0f, normed);
  EXPECT_NEAR(normed[0], 3.0 / std::sqrt(12.5), 1e-7);
  EXPECT_NEAR(normed[1], 4.0 / std::sqrt(12.5), 1e-7);
}

TEST(CpuOps, GatedActivationIsActOfGateTimesUp) {
  const std::int64_t rows = 5, width = 33;
  const std::vector<float> gate_up = random_normal_values(rows * 2 * width, 43, 2.0f);
  std::vector<float> out(rows * width);
  gated_activation(Activation::gelu_pytorch_tanh, gate_up.data(), rows, width, out.data());
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t i = 0; i < width; ++i) {
      const double g = gate_up[r * 2 * width + i], u = gate_up[r * 2 * width + width + i];
      const double gelu = 0.5 * g * (1 + std::tanh(std::sqrt(2 / M_PI) * (g + 0.044715 * g * g * g)));
      ASSERT_NEAR(out[r * width + i], gelu * u, 1e-5) << r << "," << i;
    }
  }
}

// transformers' q · cos + rotate_half(q) · sin, in float64, for q and k heads of a fused row;
// the v columns after them are untouched.
TEST(CpuOps, RotaryEmbeddingMatchesRotateHalfInFloat64) {
  const std::int64_t n_seq = 2, seq_len = 9, head_dim = 16, heads = 3, ld = 4 * head_dim;
  const std::vector<float> x = random_normal_values(n_seq * seq_len * ld, 44);
  std::vector<float> y = x;
  ThreadPool pool(2);
  rotary_embedding(y.data(), n_seq, seq_len, ld, heads, head_dim, /*first_position=*/1, 10000.0,
                   &pool);
  for (std::int64_t r = 0; r < n_seq * seq_len; ++r) {
    const double position = 1 + r % seq_len;
    for (std::int64_t h = 0; h < heads; ++h) {
      for (std::int64_t i = 0; i < head_dim; ++i) {
        const std::int64_t f = i % (head_dim / 2);
        const double angle = position / std::pow(10000.0, 2.0 * f / head_dim);
        const float* head = x.data() + r * ld + h * head_dim;
        const double rotated = i < head_dim / 2 ? -double{head[i + head_dim / 2]}
                                                : double{head[i - head_dim / 2]};
        const double expected = head[i] * std::cos(angle) + rotated * std::sin(angle);
        ASSERT_NEAR(y[r * ld + h * head_dim + i], expected, 1e-5) << r << "," << h << "," << i;
      }
    }
    for (std::int64_t c = heads * head_dim; c < ld; ++c) ASSERT_EQ(y[r * ld + c], x[r * ld + c]);
  }
  // Position 0 is the identity.
  std::vector<float> z = x;
  rotary_embedding(z.data(), 1, 1, ld, heads, head_dim, 0, 10000.0);
  for (std::int64_t c = 0; c < ld; ++c) ASSERT_EQ(z[c], x[c]);
}

// The pooled output equals the first token's row of a full attention whose first query is
// the pooling query (computed in float64).
TEST(CpuOps, PoolingAttentionMatchesFloat64) {
  AttentionShape shape;
  shape.n_seq = 3;
  shape.seq_len = 13;
  shape.n_heads = 2;
  shape.head_dim = 12;
  shape.scale = 1.0f / std::sqrt(12.0f);
  const std::int64_t d = shape.n_heads * shape.head_dim, t = shape.seq_len;
  const std::vector<float> kv = random_normal_values(shape.n_seq * t * 2 * d, 21, 2.0f);
  const std::vector<float> q = random_normal_values(shape.n_seq * d, 22, 2.0f);
  for (const std::int64_t q_stride : {std::int64_t{0}, d}) {
    std::vector<float> qkv(static_cast<std::size_t>(shape.n_seq * t * 3 * d), 0.0f);
    for (std::int64_t seq = 0; seq < shape.n_seq; ++seq) {
      for (std::int64_t j = 0; j < t; ++j) {
        float* row = qkv.data() + (seq * t + j) * 3 * d;
        std::copy_n(kv.data() + (seq * t + j) * 2 * d, 2 * d, row + d);
        if (j == 0) std::copy_n(q.data() + seq * q_stride, d, row);
      }
    }
    const std::vector<double> expected = reference_attention(qkv, shape);
    std::vector<float> out(static_cast<std::size_t>(shape.n_seq * d)), out_pool(out.size());
    pooling_attention(q.data(), q_stride, kv.data(), shape, out.data());
    ThreadPool pool(2);
    pooling_attention(q.data(), q_stride, kv.data(), shape, out_pool.data(), &pool);
    EXPECT_EQ(out, out_pool);
    for (std::int64_t seq = 0; seq < shape.n_seq; ++seq) {
      for (std::int64_t k = 0; k < d; ++k) {
        ASSERT_NEAR(out[seq * d + k], expected[seq * t * d + k], 1e-5)
            << "q_stride " << q_stride << " seq " << seq << " dim " << k;
      }
    }
  }
}

}  // namespace
}  // namespace vlbench
