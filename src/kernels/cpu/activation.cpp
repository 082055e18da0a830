// The MLP activations. See ops.hpp.
#include <algorithm>
#include <cmath>

#include "kernels/cpu/isa_clones.hpp"
#include "kernels/cpu/parallel_rows.hpp"
#include "kernels/cpu/vec_math.hpp"
#include "vlbench/core/error.hpp"
#include "vlbench/kernels/ops.hpp"

namespace vlbench {

Activation parse_activation(const std::string& name) {
  if (name == "quick_gelu") return Activation::quick_gelu;
  if (name == "gelu") return Activation::gelu;
  if (name == "gelu_pytorch_tanh") return Activation::gelu_pytorch_tanh;
  if (name == "silu") return Activation::silu;
  fail("unsupported activation '{}' (supported: quick_gelu, gelu, gelu_pytorch_tanh, silu)", name);
}

std::string activation_name(Activation activation) {
  switch (activation) {
    case Activation::quick_gelu:
      return "quick_gelu";
    case Activation::gelu:
      return "gelu";
    case Activation::gelu_pytorch_tanh:
      return "gelu_pytorch_tanh";
    case Activation::silu:
      return "silu";
  }
  VLB_ASSERT(false);
  return {};
}

namespace {

// The activation of the OpenAI CLIP checkpoints, on every MLP value: worth a vectorized exp
// and a clone per ISA.
VLBENCH_ISA_CLONES
void quick_gelu(float* x, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) x[i] = x[i] / (1.0f + exp_vectorizable(-1.702f * x[i]));
}

// erf(z) by Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7), branch-free so the loop
// vectorizes: erf(|z|) = 1 - t (a1 + t (a2 + ... + t a5)) exp(-z²), t = 1 / (1 + p |z|), and
// erf is odd.
inline float erf_vectorizable(float z) {
  const float a = std::fabs(z);
  const float t = 1.0f / (1.0f + 0.3275911f * a);
  float poly = 1.061405429f;
  poly = poly * t - 1.453152027f;
  poly = poly * t + 1.421413741f;
  poly = poly * t - 0.284496736f;
  poly = poly * t + 0.254829592f;
  const float value = 1.0f - poly * t * exp_vectorizable(-a * a);
  return std::copysign(value, z);
}

// gelu (erf), the activation of the DFN5B and MetaCLIP H/14 towers. Within 1e-6 of the float64
// formula (tests/models/cpu_ops_test.cpp).
VLBENCH_ISA_CLONES
void gelu_erf(float* x, std::int64_t n) {
  constexpr float kInvSqrt2 = 0.70710678118654752f;
  for (std::int64_t i = 0; i < n; ++i) {
    x[i] = 0.5f * x[i] * (1.0f + erf_vectorizable(x[i] * kInvSqrt2));
  }
}

// gelu_pytorch_tanh, the activation of SigLIP's 27 + 27 MLPs: 0.5 v (1 + tanh(u)) is
// v / (1 + exp(-2u)) exactly, which vectorizes (libm's tanhf does not). Within 1e-6 of the
// float64 formula (tests/models/cpu_ops_test.cpp).
VLBENCH_ISA_CLONES
void gelu_tanh(float* x, std::int64_t n) {
  constexpr float kMinusTwoSqrt2OverPi = -1.5957691216057308f;
  for (std::int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    x[i] = v / (1.0f + exp_vectorizable(kMinusTwoSqrt2OverPi * (v + 0.044715f * v * v * v)));
  }
}

// silu, the gate of EVA02's SwiGLU (Jina-CLIP's vision MLPs).
VLBENCH_ISA_CLONES
void silu(float* x, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) x[i] = x[i] / (1.0f + exp_vectorizable(-x[i]));
}

}  // namespace

void apply_activation(Activation activation, float* x, std::int64_t n, ThreadPool* pool) {
  constexpr std::int64_t kChunk = 4096;  // values per parallel item
  const std::int64_t n_chunks = (n + kChunk - 1) / kChunk;
  parallel_rows(pool, n_chunks, 20 * kChunk, [&](std::int64_t begin, std::int64_t end) {
    float* first = x + begin * kChunk;
    const std::int64_t count = std::min(n, end * kChunk) - begin * kChunk;
    switch (activation) {
      case Activation::quick_gelu:
        quick_gelu(first, count);
        break;
      case Activation::gelu:
        gelu_erf(first, count);
        break;
      case Activation::gelu_pytorch_tanh:
        gelu_tanh(first, count);
        break;
      case Activation::silu:
        silu(first, count);
        break;
    }
  });
}

void gated_activation(Activation activation, const float* gate_up, std::int64_t rows,
                      std::int64_t width, float* out, ThreadPool* pool) {
  VLB_ASSERT(rows >= 0 && width > 0);
  parallel_rows(pool, rows, 24 * width, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      const float* gate = gate_up + r * 2 * width;  // [width]
      const float* up = gate + width;               // [width]
      float* o = out + r * width;                   // [width]
      std::copy(gate, gate + width, o);
      apply_activation(activation, o, width);
      for (std::int64_t i = 0; i < width; ++i) o[i] *= up[i];
    }
  });
}

}  // namespace vlbench
