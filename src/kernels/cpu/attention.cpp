// Multi-head scaled dot-product attention. See ops.hpp.
//
// The sequences of the vision and text towers are short (50 to 577 tokens) and every
// (sequence, head) pair is an independent job, so the pairs are split over the ThreadPool and
// each runs its two products with a small register-blocked kernel: a Gemm call per head
// would cost more in call and threading overhead than the arithmetic, and would nest the
// Gemm's own threads inside the pool's.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels/cpu/isa_clones.hpp"
#include "kernels/cpu/parallel_rows.hpp"
#include "kernels/cpu/softmax_row.hpp"
#include "kernels/cpu/vec_math.hpp"
#include "vlbench/core/error.hpp"
#include "vlbench/kernels/ops.hpp"

namespace vlbench {
namespace {

constexpr std::int64_t kBlockRows = 4;
constexpr std::int64_t kBlockCols = 16;

// Eight floats as one value (GCC vector extension): the compiler maps it to whatever the
// clone's ISA has (one AVX register, or two SSE ones) without reordering any arithmetic.
using Vec8 = float __attribute__((vector_size(32)));

// c[m × n] (ldc) = a[m × k] (lda) · b[k × n] (ldb), every element summed over k in order
// from 0, so edge and full blocks give the same bits. A 4 × 16 block of c stays in
// registers while k runs.
VLBENCH_ISA_CLONES
void small_matmul(std::int64_t m, std::int64_t n, std::int64_t k, const float* a, std::int64_t lda,
                  const float* b, std::int64_t ldb, float* c, std::int64_t ldc) {
  std::int64_t i = 0;
  for (; i + kBlockRows <= m; i += kBlockRows) {
    std::int64_t j = 0;
    for (; j + kBlockCols <= n; j += kBlockCols) {
      Vec8 acc[kBlockRows][2] = {};
      for (std::int64_t p = 0; p < k; ++p) {
        Vec8 b_low, b_high;  // b[p, j .. j + 16), unaligned loads
        std::memcpy(&b_low, b + p * ldb + j, sizeof b_low);
        std::memcpy(&b_high, b + p * ldb + j + 8, sizeof b_high);
        for (std::int64_t r = 0; r < kBlockRows; ++r) {
          const float ar = a[(i + r) * lda + p];
          acc[r][0] += ar * b_low;
          acc[r][1] += ar * b_high;
        }
      }
      for (std::int64_t r = 0; r < kBlockRows; ++r) {
        std::memcpy(c + (i + r) * ldc + j, &acc[r][0], sizeof acc[r][0]);
        std::memcpy(c + (i + r) * ldc + j + 8, &acc[r][1], sizeof acc[r][1]);
      }
    }
    if (j + 8 <= n) {  // 8 more columns (head_dim 72 = 4 · 16 + 8)
      Vec8 acc[kBlockRows] = {};
      for (std::int64_t p = 0; p < k; ++p) {
        Vec8 b_low;
        std::memcpy(&b_low, b + p * ldb + j, sizeof b_low);
        for (std::int64_t r = 0; r < kBlockRows; ++r) acc[r] += a[(i + r) * lda + p] * b_low;
      }
      for (std::int64_t r = 0; r < kBlockRows; ++r) {
        std::memcpy(c + (i + r) * ldc + j, &acc[r], sizeof acc[r]);
      }
      j += 8;
    }
    for (std::int64_t r = i; r < i + kBlockRows; ++r) {  // the last columns
      for (std::int64_t col = j; col < n; ++col) {
        float sum = 0.0f;
        for (std::int64_t p = 0; p < k; ++p) sum += a[r * lda + p] * b[p * ldb + col];
        c[r * ldc + col] = sum;
      }
    }
  }
  for (; i < m; ++i) {  // the last rows
    for (std::int64_t col = 0; col < n; ++col) {
      float sum = 0.0f;
      for (std::int64_t p = 0; p < k; ++p) sum += a[i * lda + p] * b[p * ldb + col];
      c[i * ldc + col] = sum;
    }
  }
}

// Softmax of scale · row[j] − slope · |i − j| over the keys j whose mask byte is non-zero
// (mask nullptr: all), in place; masked keys get probability exactly 0.
void biased_masked_softmax_row(float* row, std::int64_t t, std::int64_t i, float scale, float slope,
                               const std::uint8_t* mask) {
  float max_value = -std::numeric_limits<float>::infinity();
  for (std::int64_t j = 0; j < t; ++j) {
    row[j] = row[j] * scale - slope * static_cast<float>(std::abs(i - j));
    if (!mask || mask[j]) max_value = std::max(max_value, row[j]);
  }
  float sum = 0.0f;
  for (std::int64_t j = 0; j < t; ++j) {
    row[j] = !mask || mask[j] ? exp_vectorizable(row[j] - max_value) : 0.0f;
    sum += row[j];
  }
  const float inv_sum = 1.0f / sum;
  for (std::int64_t j = 0; j < t; ++j) row[j] *= inv_sum;
}

// One (sequence, head). q, k, v: seq_len rows with stride `ld` (head_dim used); keys from
// n_real on are masked, and those whose `mask` byte is 0 (mask: seq_len bytes or nullptr).
// slope: this head's ALiBi slope (0: none). out: seq_len rows with stride `ld_out`. key_t:
// head_dim × seq_len, value: seq_len × head_dim, probs: seq_len × seq_len, all scratch.
void attend_one_head(const float* q, const float* k, const float* v, std::int64_t ld,
                     const AttentionShape& shape, std::int64_t n_real, const std::uint8_t* mask,
                     float slope, float* out, std::int64_t ld_out, float* key_t, float* value,
                     float* probs) {
  const std::int64_t t = shape.seq_len;
  const std::int64_t hd = shape.head_dim;
  // key_t[d, j] = k[j, d] -> [head_dim, seq_len]; value[j, d] = v[j, d] -> [seq_len, head_dim]:
  // contiguous, so the products read a few pages instead of one page per token.
  for (std::int64_t j = 0; j < t; ++j) {
    for (std::int64_t d = 0; d < hd; ++d) key_t[d * t + j] = k[j * ld + d];
    std::memcpy(value + j * hd, v + j * ld, static_cast<std::size_t>(hd) * sizeof(float));
  }
  small_matmul(t, t, hd, q, ld, key_t, t, probs, t);  // q · kᵀ -> probs [t, t]
  for (std::int64_t i = 0; i < t; ++i) {
    float* row = probs + i * t;
    if (mask || slope != 0.0f) {
      biased_masked_softmax_row(row, t, i, shape.scale, slope, mask);
      continue;
    }
    // The keys token i may attend to.
    const std::int64_t n_keys = std::min(shape.causal ? i + 1 : t, n_real);
    scaled_softmax_row(row, n_keys, shape.scale);
    std::fill(row + n_keys, row + t, 0.0f);  // masked keys: probability 0
  }
  small_matmul(t, hd, t, probs, t, value, hd, out, ld_out);  // probs · v -> out [t, head_dim]
}

}  // namespace

void multi_head_attention(const float* qkv, const AttentionShape& shape, float* out,
                          ThreadPool* pool) {
  VLB_ASSERT(shape.n_seq >= 0 && shape.seq_len > 0 && shape.n_heads > 0 && shape.head_dim > 0);
  const std::int64_t t = shape.seq_len;
  const std::int64_t kv_heads = shape.kv_heads();
  VLB_ASSERT(kv_heads > 0 && shape.n_heads % kv_heads == 0);
  VLB_ASSERT(!shape.key_mask || (!shape.key_lengths && !shape.causal));
  VLB_ASSERT(!shape.alibi_slopes || !shape.causal);
  const std::int64_t group = shape.n_heads / kv_heads;  // query heads per kv head
  const std::int64_t d_model = shape.n_heads * shape.head_dim;
  const std::int64_t kv_width = kv_heads * shape.head_dim;
  const std::int64_t ld_qkv = d_model + 2 * kv_width;
  const std::int64_t n_jobs = shape.n_seq * shape.n_heads;
  const std::int64_t cost = 4 * t * t * shape.head_dim;
  parallel_rows(pool, n_jobs, cost, [&](std::int64_t begin, std::int64_t end) {
    // Scratch once per chunk of jobs, not per token.
    std::vector<float> key_t(static_cast<std::size_t>(shape.head_dim * t));
    std::vector<float> value(static_cast<std::size_t>(shape.head_dim * t));
    std::vector<float> probs(static_cast<std::size_t>(t * t));
    for (std::int64_t job = begin; job < end; ++job) {
      const std::int64_t seq = job / shape.n_heads;
      const std::int64_t head = job % shape.n_heads;
      const std::int64_t n_real = shape.key_lengths ? shape.key_lengths[seq] : t;
      VLB_ASSERT(n_real >= 1 && n_real <= t);
      const std::uint8_t* mask = shape.key_mask ? shape.key_mask + seq * t : nullptr;
      const float slope = shape.alibi_slopes ? shape.alibi_slopes[head] : 0.0f;
      const float* rows = qkv + seq * t * ld_qkv;
      const float* k = rows + d_model + (head / group) * shape.head_dim;
      attend_one_head(rows + head * shape.head_dim, k, k + kv_width, ld_qkv, shape, n_real, mask,
                      slope, out + seq * t * d_model + head * shape.head_dim, d_model, key_t.data(),
                      value.data(), probs.data());
    }
  });
}

void pooling_attention(const float* q, std::int64_t q_stride, const float* kv,
                       const AttentionShape& shape, float* out, ThreadPool* pool) {
  VLB_ASSERT(shape.n_seq >= 0 && shape.seq_len > 0 && shape.n_heads > 0 && shape.head_dim > 0);
  VLB_ASSERT(!shape.causal && shape.kv_heads() == shape.n_heads && shape.key_lengths == nullptr);
  VLB_ASSERT(shape.key_mask == nullptr && shape.alibi_slopes == nullptr);
  const std::int64_t t = shape.seq_len;
  const std::int64_t hd = shape.head_dim;
  const std::int64_t d_model = shape.n_heads * hd;
  const std::int64_t ld_kv = 2 * d_model;
  const std::int64_t n_jobs = shape.n_seq * shape.n_heads;
  parallel_rows(pool, n_jobs, 4 * t * hd, [&](std::int64_t begin, std::int64_t end) {
    std::vector<float> probs(static_cast<std::size_t>(t));
    for (std::int64_t job = begin; job < end; ++job) {
      const std::int64_t seq = job / shape.n_heads;
      const std::int64_t head = job % shape.n_heads;
      const float* query = q + seq * q_stride + head * hd;
      const float* keys = kv + seq * t * ld_kv + head * hd;
      const float* values = keys + d_model;
      for (std::int64_t j = 0; j < t; ++j) {  // q · kᵀ, summed in order over head_dim
        const float* key = keys + j * ld_kv;
        float sum = 0.0f;
        for (std::int64_t i = 0; i < hd; ++i) sum += query[i] * key[i];
        probs[static_cast<std::size_t>(j)] = sum;
      }
      scaled_softmax_row(probs.data(), t, shape.scale);
      float* o = out + seq * d_model + head * hd;  // probs · v, summed in order over tokens
      std::fill(o, o + hd, 0.0f);
      for (std::int64_t j = 0; j < t; ++j) {
        const float p = probs[static_cast<std::size_t>(j)];
        const float* value = values + j * ld_kv;
        for (std::int64_t i = 0; i < hd; ++i) o[i] += p * value[i];
      }
    }
  });
}

}  // namespace vlbench
