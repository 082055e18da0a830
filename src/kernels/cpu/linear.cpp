// nn.Linear through the GEMM. See ops.hpp.
#include "vlbench/core/error.hpp"
#include "vlbench/kernels/ops.hpp"

namespace vlbench {

void linear(const Gemm& gemm, const float* x, std::int64_t rows, std::int64_t in,
            const float* weight, std::int64_t out, const float* bias, float* y, ThreadPool* pool) {
  VLB_ASSERT(rows >= 0 && in > 0 && out > 0);
  if (rows == 0) return;
  // y[rows × out] = x[rows × in] · weight[out × in]ᵀ
  gemm.gemm_nt(rows, out, in, x, in, weight, in, y, out);
  if (bias != nullptr) add_bias_rows(y, rows, out, bias, pool);
}

}  // namespace vlbench
