// Every op of every registered compute backend (kernels/backend.hpp) against the CPU reference
// functions of ops.hpp (which cpu_ops_test.cpp pins to float64 and hand-computed values), with
// a per-op tolerance, in the manner of ggml's test-backend-ops. Data goes through upload and
// download, so a backend with device memory is tested the same way.
#include <gtest/gtest.h>

#include "test_util.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "vlbench/core/dtype.hpp"
#include "vlbench/core/error.hpp"
#include "vlbench/kernels/backend.hpp"
#include "vlbench/kernels/gemm.hpp"
#include "vlbench/kernels/ops.hpp"

namespace vlbench {
namespace {

using testing::expect_error;

using testing::max_abs_diff;
using testing::random_normal_values;

class BackendOps : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    BackendOptions options;
    options.threads = 2;
    backend_ = make_backend(GetParam(), options);
  }

  DeviceBuffer to_device(const std::vector<float>& host) { return upload_f32(*backend_, host); }
  std::vector<float> to_host(const DeviceBuffer& buffer, std::size_t n) {
    std::vector<float> host(n);
    backend_->download(host.data(), buffer.f32(), n * sizeof(float));
    return host;
  }

  std::unique_ptr<Backend> backend_;
};

TEST_P(BackendOps, UploadDownloadRoundTrip) {
  const std::vector<float> x = random_normal_values(1001, 1);
  const DeviceBuffer buffer = to_device(x);
  EXPECT_EQ(buffer.bytes(), x.size() * sizeof(float));
  EXPECT_EQ(to_host(buffer, x.size()), x);
  EXPECT_EQ(backend_->name(), GetParam());
  EXPECT_FALSE(backend_->description().empty());
}

TEST_P(BackendOps, LinearFp32MatchesReference) {
  const std::int64_t rows = 37, in = 70, out = 45;
  const std::vector<float> x = random_normal_values(rows * in, 2),
                           w = random_normal_values(out * in, 3), b = random_normal_values(out, 4);
  std::vector<float> expected(rows * out);
  const auto gemm = make_gemm(default_gemm_backend());
  linear(*gemm, x.data(), rows, in, w.data(), out, b.data(), expected.data());

  const auto layer = backend_->make_linear(w, out, in, b, ComputeType::fp32);
  EXPECT_EQ(layer->in(), in);
  EXPECT_EQ(layer->out(), out);
  const DeviceBuffer dx = to_device(x);
  DeviceBuffer dy(*backend_, rows * out * sizeof(float));
  backend_->linear(*layer, dx.f32(), rows, dy.f32());
  EXPECT_LE(max_abs_diff(to_host(dy, rows * out), expected), 1e-5);

  // No bias.
  linear(*gemm, x.data(), rows, in, w.data(), out, nullptr, expected.data());
  const auto no_bias = backend_->make_linear(w, out, in, {}, ComputeType::fp32);
  backend_->linear(*no_bias, dx.f32(), rows, dy.f32());
  EXPECT_LE(max_abs_diff(to_host(dy, rows * out), expected), 1e-5);
}

TEST_P(BackendOps, LinearBf16MatchesFloat64OfRoundedValues) {
  if (!backend_->supports(ComputeType::bf16)) {
    expect_error([&] { backend_->make_linear({1.0f}, 1, 1, {}, ComputeType::bf16); },
                 {"compute type bf16"});
    GTEST_SKIP() << GetParam() << " has no bf16 in this build";
  }
  const std::int64_t rows = 19, in = 96, out = 33;
  const std::vector<float> x = random_normal_values(rows * in, 5),
                           w = random_normal_values(out * in, 6), b = random_normal_values(out, 7);
  const auto layer = backend_->make_linear(w, out, in, b, ComputeType::bf16);
  EXPECT_EQ(layer->compute(), ComputeType::bf16);
  const DeviceBuffer dx = to_device(x);
  DeviceBuffer dy(*backend_, rows * out * sizeof(float));
  backend_->linear(*layer, dx.f32(), rows, dy.f32());
  const std::vector<float> y = to_host(dy, rows * out);
  auto bf16 = [](float v) { return double{bf16_to_f32(f32_to_bf16(v))}; };
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t o = 0; o < out; ++o) {
      double expected = b[o];
      for (std::int64_t i = 0; i < in; ++i) expected += bf16(x[r * in + i]) * bf16(w[o * in + i]);
      // Products of bf16 values are exact in float32; only the float32 sums round.
      ASSERT_NEAR(y[r * out + o], expected, 2e-5 * in) << r << "," << o;
    }
  }
}

TEST_P(BackendOps, LayerNormMatchesReference) {
  const std::int64_t rows = 29, d = 80;
  const std::vector<float> x = random_normal_values(rows * d, 8, 2.0f),
                           g = random_normal_values(d, 9), b = random_normal_values(d, 10);
  std::vector<float> expected(x.size());
  layer_norm(x.data(), rows, d, g.data(), b.data(), 1e-5f, expected.data());
  DeviceBuffer dx = to_device(x);
  const DeviceBuffer dg = to_device(g), db = to_device(b);
  backend_->layer_norm(dx.f32(), rows, d, dg.f32(), db.f32(), 1e-5f, dx.f32());  // in place
  EXPECT_LE(max_abs_diff(to_host(dx, x.size()), expected), 1e-5);
}

TEST_P(BackendOps, ActivationsMatchReference) {
  for (const Activation activation : {Activation::quick_gelu, Activation::gelu,
                                      Activation::gelu_pytorch_tanh, Activation::silu}) {
    const std::vector<float> x = random_normal_values(5000, 11, 3.0f);
    std::vector<float> expected = x;
    apply_activation(activation, expected.data(), static_cast<std::int64_t>(expected.size()));
    DeviceBuffer dx = to_device(x);
    backend_->activation(activation, dx.f32(), static_cast<std::int64_t>(x.size()));
    EXPECT_LE(max_abs_diff(to_host(dx, x.size()), expected), 1e-6) << activation_name(activation);
  }
}

TEST_P(BackendOps, AddAndAddRepeatedAreExact) {
  const std::vector<float> y = random_normal_values(600, 12), x = random_normal_values(600, 13),
                           table = random_normal_values(150, 14);
  DeviceBuffer dy = to_device(y);
  const DeviceBuffer dx = to_device(x), dt = to_device(table);
  backend_->add(dy.f32(), dx.f32(), 600);
  backend_->add_repeated(dy.f32(), dt.f32(), 600, 150);
  const std::vector<float> got = to_host(dy, 600);
  for (std::size_t i = 0; i < 600; ++i) {
    ASSERT_EQ(got[i], (y[i] + x[i]) + table[i % 150]) << i;  // single float32 roundings
  }
}

TEST_P(BackendOps, AttentionMatchesReference) {
  for (const bool causal : {false, true}) {
    AttentionShape shape;
    shape.n_seq = 3;
    shape.seq_len = 17;
    shape.n_heads = 4;
    shape.head_dim = 8;
    shape.causal = causal;
    shape.scale = 1.0f / std::sqrt(8.0f);
    const std::int64_t rows = shape.n_seq * shape.seq_len, d = shape.n_heads * shape.head_dim;
    const std::vector<float> qkv = random_normal_values(rows * 3 * d, 15);
    std::vector<float> expected(rows * d);
    multi_head_attention(qkv.data(), shape, expected.data());
    const DeviceBuffer dqkv = to_device(qkv);
    DeviceBuffer dout(*backend_, rows * d * sizeof(float));
    backend_->attention(dqkv.f32(), shape, dout.f32());
    EXPECT_LE(max_abs_diff(to_host(dout, rows * d), expected), 1e-5) << "causal " << causal;
  }
}

TEST_P(BackendOps, GroupedAttentionWithKeyLengthsMatchesReference) {
  AttentionShape shape;
  shape.n_seq = 3;
  shape.seq_len = 19;
  shape.n_heads = 4;
  shape.head_dim = 16;
  shape.n_kv_heads = 1;
  shape.scale = 0.25f;
  const std::vector<std::int64_t> lengths = {19, 7, 1};
  shape.key_lengths = lengths.data();
  const std::int64_t rows = shape.n_seq * shape.seq_len, d = 64, ld = d + 2 * 16;
  const std::vector<float> qkv = random_normal_values(rows * ld, 19);
  std::vector<float> expected(rows * d);
  multi_head_attention(qkv.data(), shape, expected.data());
  const DeviceBuffer dqkv = to_device(qkv);
  DeviceBuffer dout(*backend_, rows * d * sizeof(float));
  backend_->attention(dqkv.f32(), shape, dout.f32());
  EXPECT_LE(max_abs_diff(to_host(dout, rows * d), expected), 1e-5);
}

TEST_P(BackendOps, AlibiAttentionWithKeyMaskMatchesReference) {
  AttentionShape shape;
  shape.n_seq = 2;
  shape.seq_len = 21;
  shape.n_heads = 3;
  shape.head_dim = 16;
  shape.scale = 0.25f;
  const std::vector<float> slopes = {0.0625f, 0.00390625f, 0.25f};
  shape.alibi_slopes = slopes.data();
  std::vector<std::uint8_t> mask(42, 1);
  mask[4] = mask[20] = mask[30] = 0;
  shape.key_mask = mask.data();
  const std::int64_t rows = 42, d = 48;
  const std::vector<float> qkv = random_normal_values(rows * 3 * d, 24);
  std::vector<float> expected(rows * d);
  multi_head_attention(qkv.data(), shape, expected.data());
  const DeviceBuffer dqkv = to_device(qkv);
  DeviceBuffer dout(*backend_, rows * d * sizeof(float));
  backend_->attention(dqkv.f32(), shape, dout.f32());
  EXPECT_LE(max_abs_diff(to_host(dout, rows * d), expected), 1e-5);
}

TEST_P(BackendOps, RotaryTableMatchesReference) {
  const std::int64_t n_seq = 3, seq_len = 10, ld = 80, heads = 4, head_dim = 16;
  const std::vector<float> x = random_normal_values(n_seq * seq_len * ld, 25);
  const std::vector<float> cos = random_normal_values(seq_len * head_dim, 26),
                           sin = random_normal_values(seq_len * head_dim, 27);
  std::vector<float> expected = x;
  rotary_table(expected.data(), n_seq, seq_len, ld, heads, head_dim, cos.data(), sin.data());
  DeviceBuffer dx = to_device(x);
  const DeviceBuffer dcos = to_device(cos), dsin = to_device(sin);
  backend_->rotary_table(dx.f32(), n_seq, seq_len, ld, heads, head_dim, dcos.f32(), dsin.f32());
  EXPECT_LE(max_abs_diff(to_host(dx, x.size()), expected), 1e-6);
}

TEST_P(BackendOps, MaskedMeanRowsMatchesReference) {
  const std::int64_t n_seq = 4, seq_len = 9, d = 33;
  const std::vector<float> x = random_normal_values(n_seq * seq_len * d, 28);
  std::vector<std::uint8_t> mask(n_seq * seq_len, 1);
  mask[2] = mask[9 + 8] = mask[18] = 0;
  for (const std::uint8_t* m :
       {static_cast<const std::uint8_t*>(nullptr), const_cast<const std::uint8_t*>(mask.data())}) {
    std::vector<float> expected(n_seq * d);
    masked_mean_rows(x.data(), n_seq, seq_len, d, m, expected.data());
    const DeviceBuffer dx = to_device(x);
    DeviceBuffer dout(*backend_, n_seq * d * sizeof(float));
    backend_->masked_mean_rows(dx.f32(), n_seq, seq_len, d, m, dout.f32());
    EXPECT_LE(max_abs_diff(to_host(dout, n_seq * d), expected), 1e-6);
  }
}

TEST_P(BackendOps, RmsNormMatchesReference) {
  const std::int64_t rows = 23, d = 70;
  const std::vector<float> x = random_normal_values(rows * d, 20, 2.0f),
                           w = random_normal_values(d, 21);
  std::vector<float> expected(x.size());
  rms_norm(x.data(), rows, d, w.data(), 1e-6f, expected.data());
  DeviceBuffer dx = to_device(x);
  const DeviceBuffer dw = to_device(w);
  backend_->rms_norm(dx.f32(), rows, d, dw.f32(), 1e-6f, dx.f32());  // in place
  EXPECT_LE(max_abs_diff(to_host(dx, x.size()), expected), 1e-5);
}

TEST_P(BackendOps, GatedActivationMatchesReference) {
  const std::int64_t rows = 11, width = 40;
  const std::vector<float> gate_up = random_normal_values(rows * 2 * width, 22, 2.0f);
  std::vector<float> expected(rows * width);
  gated_activation(Activation::gelu_pytorch_tanh, gate_up.data(), rows, width, expected.data());
  const DeviceBuffer dx = to_device(gate_up);
  DeviceBuffer dout(*backend_, rows * width * sizeof(float));
  backend_->gated_activation(Activation::gelu_pytorch_tanh, dx.f32(), rows, width, dout.f32());
  EXPECT_LE(max_abs_diff(to_host(dout, rows * width), expected), 1e-6);
}

TEST_P(BackendOps, RotaryEmbeddingMatchesReference) {
  const std::int64_t n_seq = 2, seq_len = 31, ld = 96, heads = 5, head_dim = 16;
  const std::vector<float> x = random_normal_values(n_seq * seq_len * ld, 23);
  std::vector<float> expected = x;
  rotary_embedding(expected.data(), n_seq, seq_len, ld, heads, head_dim, 1, 10000.0);
  DeviceBuffer dx = to_device(x);
  backend_->rotary_embedding(dx.f32(), n_seq, seq_len, ld, heads, head_dim, 1, 10000.0);
  EXPECT_LE(max_abs_diff(to_host(dx, x.size()), expected), 1e-6);
}

TEST_P(BackendOps, PoolingAttentionMatchesReference) {
  AttentionShape shape;
  shape.n_seq = 3;
  shape.seq_len = 25;
  shape.n_heads = 4;
  shape.head_dim = 8;
  shape.scale = 1.0f / std::sqrt(8.0f);
  const std::int64_t d = shape.n_heads * shape.head_dim;
  const std::vector<float> kv = random_normal_values(shape.n_seq * shape.seq_len * 2 * d, 17);
  const std::vector<float> q = random_normal_values(shape.n_seq * d, 18);
  for (const std::int64_t q_stride : {std::int64_t{0}, d}) {  // shared probe, query per sequence
    std::vector<float> expected(shape.n_seq * d);
    pooling_attention(q.data(), q_stride, kv.data(), shape, expected.data());
    const DeviceBuffer dq = to_device(q), dkv = to_device(kv);
    DeviceBuffer dout(*backend_, shape.n_seq * d * sizeof(float));
    backend_->pooling_attention(dq.f32(), q_stride, dkv.f32(), shape, dout.f32());
    EXPECT_LE(max_abs_diff(to_host(dout, shape.n_seq * d), expected), 1e-5)
        << "q_stride " << q_stride;
  }
}

TEST_P(BackendOps, GatherRowsCopiesTheNamedRows) {
  const std::int64_t d = 5;
  const std::vector<float> x = random_normal_values(10 * d, 16);
  const std::vector<std::int64_t> rows = {7, 0, 7, 9};
  const DeviceBuffer dx = to_device(x);
  DeviceBuffer dout(*backend_, rows.size() * d * sizeof(float));
  backend_->gather_rows(dx.f32(), d, rows, dout.f32());
  const std::vector<float> got = to_host(dout, rows.size() * d);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    for (std::int64_t j = 0; j < d; ++j) ASSERT_EQ(got[i * d + j], x[rows[i] * d + j]);
  }
}

INSTANTIATE_TEST_SUITE_P(Registered, BackendOps, ::testing::ValuesIn(backend_names()));

TEST(BackendRegistry, CpuIsAlwaysBuiltAndUnknownNamesListTheBuiltOnes) {
  const std::vector<std::string> names = backend_names();
  ASSERT_FALSE(names.empty());
  EXPECT_EQ(names.front(), "cpu");
  EXPECT_TRUE(make_backend("cpu")->host_memory());
  expect_error([] { make_backend("tpu"); },
               {"unknown compute backend 'tpu'", "(built into this binary: cpu"});
}

TEST(BackendRegistry, ComputeTypeNames) {
  EXPECT_EQ(parse_compute_type("fp32"), ComputeType::fp32);
  EXPECT_EQ(parse_compute_type("bf16"), ComputeType::bf16);
  EXPECT_EQ(compute_type_name(ComputeType::bf16), "bf16");
  expect_error([] { parse_compute_type("fp8"); },
               {"unknown compute type 'fp8' (supported: fp32, bf16)"});
}

}  // namespace
}  // namespace vlbench
