// Rotary position embedding. See ops.hpp.
#include <cmath>
#include <vector>

#include "kernels/cpu/parallel_rows.hpp"
#include "vlbench/core/error.hpp"
#include "vlbench/kernels/ops.hpp"

namespace vlbench {

void rotary_embedding(float* x, std::int64_t n_seq, std::int64_t seq_len, std::int64_t ld,
                      std::int64_t n_heads, std::int64_t head_dim, std::int64_t first_position,
                      double theta, ThreadPool* pool) {
  VLB_ASSERT(n_seq >= 0 && seq_len > 0 && head_dim > 0 && head_dim % 2 == 0 && theta > 0);
  VLB_ASSERT(n_heads * head_dim <= ld);
  const std::int64_t half = head_dim / 2;
  // cos and sin of every (position, frequency), once per call: [seq_len, half] each.
  std::vector<float> cos_table(static_cast<std::size_t>(seq_len * half));
  std::vector<float> sin_table(cos_table.size());
  for (std::int64_t i = 0; i < half; ++i) {
    const double inv_freq = 1.0 / std::pow(theta, static_cast<double>(2 * i) / head_dim);
    for (std::int64_t t = 0; t < seq_len; ++t) {
      const double angle = static_cast<double>(first_position + t) * inv_freq;
      cos_table[t * half + i] = static_cast<float>(std::cos(angle));
      sin_table[t * half + i] = static_cast<float>(std::sin(angle));
    }
  }
  parallel_rows(pool, n_seq * seq_len, 6 * n_heads * head_dim,
                [&](std::int64_t begin, std::int64_t end) {
                  for (std::int64_t r = begin; r < end; ++r) {
                    const float* c = cos_table.data() + (r % seq_len) * half;  // [half]
                    const float* s = sin_table.data() + (r % seq_len) * half;  // [half]
                    for (std::int64_t h = 0; h < n_heads; ++h) {
                      float* head = x + r * ld + h * head_dim;  // [head_dim]
                      for (std::int64_t i = 0; i < half; ++i) {
                        const float a = head[i], b = head[i + half];
                        head[i] = a * c[i] - b * s[i];
                        head[i + half] = b * c[i] + a * s[i];
                      }
                    }
                  }
                });
}

void rotary_table(float* x, std::int64_t n_seq, std::int64_t seq_len, std::int64_t ld,
                  std::int64_t n_heads, std::int64_t head_dim, const float* cos, const float* sin,
                  ThreadPool* pool) {
  VLB_ASSERT(n_seq >= 0 && seq_len > 0 && head_dim > 0 && head_dim % 2 == 0);
  VLB_ASSERT(n_heads * head_dim <= ld);
  parallel_rows(pool, n_seq * seq_len, 6 * n_heads * head_dim,
                [&](std::int64_t begin, std::int64_t end) {
                  for (std::int64_t r = begin; r < end; ++r) {
                    const float* c = cos + (r % seq_len) * head_dim;  // [head_dim]
                    const float* s = sin + (r % seq_len) * head_dim;  // [head_dim]
                    for (std::int64_t h = 0; h < n_heads; ++h) {
                      float* head = x + r * ld + h * head_dim;  // [head_dim]
                      for (std::int64_t i = 0; i < head_dim; i += 2) {
                        const float a = head[i], b = head[i + 1];
                        head[i] = a * c[i] - b * s[i];
                        head[i + 1] = b * c[i + 1] + a * s[i + 1];
                      }
                    }
                  }
                });
}

}  // namespace vlbench
