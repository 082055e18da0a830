// LayerNorm and RMSNorm over the last dimension. See ops.hpp.
#include <cmath>

#include "kernels/cpu/parallel_rows.hpp"
#include "vlbench/core/error.hpp"
#include "vlbench/kernels/ops.hpp"

namespace vlbench {
namespace {

constexpr int kLanes = 8;

// Σ (x[i] - shift), or Σ (x[i] - shift)² when `squares`: the mean pass (shift 0) and the
// variance pass (shift = mean) of a row of d values. Eight interleaved partial sums, combined
// pairwise at the end: the compiler can vectorize them without reordering anything itself, and the
// rounding error grows with d / 8 instead of d, close to PyTorch's cascaded float32 sums.
float lane_sum(const float* x, std::int64_t d, float shift, bool squares) {
  float lanes[kLanes] = {};
  std::int64_t i = 0;
  for (; i + kLanes <= d; i += kLanes) {
    for (int l = 0; l < kLanes; ++l) {
      const float v = x[i + l] - shift;
      lanes[l] += squares ? v * v : v;
    }
  }
  for (int l = 0; i < d; ++i, ++l) {
    const float v = x[i] - shift;
    lanes[l] += squares ? v * v : v;
  }
  for (int width = kLanes / 2; width > 0; width /= 2) {
    for (int l = 0; l < width; ++l) lanes[l] += lanes[l + width];
  }
  return lanes[0];
}

}  // namespace

void layer_norm(const float* x, std::int64_t rows, std::int64_t d, const float* gamma,
                const float* beta, float eps, float* y, ThreadPool* pool) {
  VLB_ASSERT(rows >= 0 && d > 0);
  parallel_rows(pool, rows, 8 * d, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      const float* xr = x + r * d;  // [d]
      float* yr = y + r * d;        // [d]
      const float mean = lane_sum(xr, d, 0.0f, false) / static_cast<float>(d);
      const float sum_sq = lane_sum(xr, d, mean, true);
      const float variance = sum_sq / static_cast<float>(d);  // biased, as PyTorch
      const float inv_std = 1.0f / std::sqrt(variance + eps);
      for (std::int64_t i = 0; i < d; ++i) yr[i] = (xr[i] - mean) * inv_std * gamma[i] + beta[i];
    }
  });
}

void rms_norm(const float* x, std::int64_t rows, std::int64_t d, const float* weight, float eps,
              float* y, ThreadPool* pool) {
  VLB_ASSERT(rows >= 0 && d > 0);
  parallel_rows(pool, rows, 4 * d, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      const float* xr = x + r * d;  // [d]
      float* yr = y + r * d;        // [d]
      const float mean_sq = lane_sum(xr, d, 0.0f, true) / static_cast<float>(d);
      const float inv_rms = 1.0f / std::sqrt(mean_sq + eps);
      for (std::int64_t i = 0; i < d; ++i) yr[i] = xr[i] * inv_rms * weight[i];
    }
  });
}

}  // namespace vlbench
