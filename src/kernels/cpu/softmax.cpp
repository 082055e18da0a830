// Row-wise softmax. See ops.hpp.
#include <algorithm>

#include "kernels/cpu/isa_clones.hpp"
#include "kernels/cpu/parallel_rows.hpp"
#include "kernels/cpu/softmax_row.hpp"
#include "kernels/cpu/vec_math.hpp"
#include "vlbench/core/error.hpp"
#include "vlbench/kernels/ops.hpp"

namespace vlbench {

VLBENCH_ISA_CLONES
void scaled_softmax_row(float* x, std::int64_t n, float scale) {
  for (std::int64_t j = 0; j < n; ++j) x[j] *= scale;
  const float max_value = *std::max_element(x, x + n);
  // The exponentials vectorize; the sum stays a plain left-to-right loop.
  for (std::int64_t j = 0; j < n; ++j) x[j] = exp_vectorizable(x[j] - max_value);
  float sum = 0.0f;
  for (std::int64_t j = 0; j < n; ++j) sum += x[j];
  const float inv_sum = 1.0f / sum;
  for (std::int64_t j = 0; j < n; ++j) x[j] *= inv_sum;
}

void softmax_rows(float* x, std::int64_t rows, std::int64_t cols, ThreadPool* pool) {
  VLB_ASSERT(rows >= 0 && cols > 0);
  parallel_rows(pool, rows, 10 * cols, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) scaled_softmax_row(x + r * cols, cols, 1.0f);
  });
}

}  // namespace vlbench
