// Gemm on OpenBLAS: C = A · Bᵀ as cblas_sgemm(RowMajor, NoTrans, Trans).
//
// Debian links the pthread build of OpenBLAS, whose thread count is one process-wide
// setting (openblas_set_num_threads). Each object remembers its own count and re-applies it
// before a call when another object (or other code) changed it in between.
#include <cblas.h>

#include <algorithm>
#include <climits>
#include <thread>

#include "kernels/cpu/cpu_gemm.hpp"
#include "vlbench/core/error.hpp"

namespace vlbench {
namespace {

int resolve_threads(int n_threads) {
  if (n_threads > 0) return n_threads;
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

class OpenBlasGemm final : public Gemm {
 public:
  OpenBlasGemm() : n_threads_(resolve_threads(0)) {}

  std::string name() const override { return "openblas"; }

  void set_threads(int n_threads) override {
    n_threads_ = resolve_threads(n_threads);
    openblas_set_num_threads(n_threads_);
  }

  void gemm_nt(std::int64_t m, std::int64_t n, std::int64_t k, const float* a, std::int64_t lda,
               const float* b, std::int64_t ldb, float* c, std::int64_t ldc) const override {
    VLB_ASSERT(m >= 0 && n >= 0 && k >= 0);
    VLB_ASSERT(ldc >= std::max<std::int64_t>(1, n));
    if (m == 0 || n == 0) return;
    if (k == 0) {  // an empty sum; BLAS would leave C to beta, which we do not rely on
      for (std::int64_t i = 0; i < m; ++i) std::fill_n(c + i * ldc, n, 0.0f);
      return;
    }
    VLB_ASSERT(a != nullptr && b != nullptr && c != nullptr);
    VLB_ASSERT(lda >= k && ldb >= k);
    // blasint is 32-bit in Debian's OpenBLAS (LP64 interface).
    VLB_ASSERT(m <= INT_MAX && n <= INT_MAX && k <= INT_MAX);
    VLB_ASSERT(lda <= INT_MAX && ldb <= INT_MAX && ldc <= INT_MAX);
    if (openblas_get_num_threads() != n_threads_) openblas_set_num_threads(n_threads_);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(m), static_cast<int>(n),
                static_cast<int>(k), 1.0f, a, static_cast<int>(lda), b, static_cast<int>(ldb), 0.0f,
                c, static_cast<int>(ldc));
  }

 private:
  int n_threads_;
};

}  // namespace

std::unique_ptr<Gemm> make_openblas_gemm() {
  return std::make_unique<OpenBlasGemm>();
}

}  // namespace vlbench
