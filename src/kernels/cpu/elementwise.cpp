// Bias and residual additions, and masked mean pooling. See ops.hpp.
#include <algorithm>

#include "kernels/cpu/parallel_rows.hpp"
#include "vlbench/core/error.hpp"
#include "vlbench/kernels/ops.hpp"

namespace vlbench {

void add_bias_rows(float* y, std::int64_t rows, std::int64_t cols, const float* bias,
                   ThreadPool* pool) {
  VLB_ASSERT(rows >= 0 && cols >= 0);
  parallel_rows(pool, rows, cols, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      float* yr = y + r * cols;  // [cols]
      for (std::int64_t i = 0; i < cols; ++i) yr[i] += bias[i];
    }
  });
}

void add_inplace(float* y, const float* x, std::int64_t n, ThreadPool* pool) {
  VLB_ASSERT(n >= 0);
  constexpr std::int64_t kChunk = 4096;  // values per parallel item
  const std::int64_t n_chunks = (n + kChunk - 1) / kChunk;
  parallel_rows(pool, n_chunks, kChunk, [&](std::int64_t begin, std::int64_t end) {
    const std::int64_t last = std::min(n, end * kChunk);
    for (std::int64_t i = begin * kChunk; i < last; ++i) y[i] += x[i];
  });
}

void masked_mean_rows(const float* x, std::int64_t n_seq, std::int64_t seq_len, std::int64_t d,
                      const std::uint8_t* key_mask, float* out, ThreadPool* pool) {
  VLB_ASSERT(n_seq >= 0 && seq_len > 0 && d > 0);
  parallel_rows(pool, n_seq, seq_len * d, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t s = begin; s < end; ++s) {
      float* o = out + s * d;  // [d]
      std::fill(o, o + d, 0.0f);
      std::int64_t count = 0;
      for (std::int64_t t = 0; t < seq_len; ++t) {
        if (key_mask && key_mask[s * seq_len + t] == 0) continue;
        const float* row = x + (s * seq_len + t) * d;  // [d]
        for (std::int64_t i = 0; i < d; ++i) o[i] += row[i];
        ++count;
      }
      VLB_ASSERT(count > 0);
      const auto n = static_cast<float>(count);
      for (std::int64_t i = 0; i < d; ++i) o[i] /= n;
    }
  });
}

}  // namespace vlbench
