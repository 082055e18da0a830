// Gemm on oneDNN: C = A · Bᵀ as dnnl_sgemm('N', 'T'), whose C API is row-major.
//
// Debian's libdnnl uses the OpenMP CPU runtime (DNNL_CPU_RUNTIME == DNNL_RUNTIME_OMP), so its
// thread count is OpenMP's nthreads-var. That setting belongs to the calling thread, so it is
// applied right before every call rather than once in set_threads: a Gemm configured on one
// thread and used on another still gets its own count.
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <thread>

#include "kernels/cpu/cpu_gemm.hpp"
#include "vlbench/core/error.hpp"

static_assert(DNNL_CPU_RUNTIME == DNNL_RUNTIME_OMP,
              "gemm_onednn.cpp sets threads through OpenMP; this oneDNN uses another runtime");

namespace vlbench {
namespace {

int resolve_threads(int n_threads) {
  if (n_threads > 0) return n_threads;
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

class OneDnnGemm final : public Gemm {
 public:
  OneDnnGemm() : n_threads_(resolve_threads(0)) {}

  std::string name() const override { return "onednn"; }

  void set_threads(int n_threads) override { n_threads_ = resolve_threads(n_threads); }

  void gemm_nt(std::int64_t m, std::int64_t n, std::int64_t k, const float* a, std::int64_t lda,
               const float* b, std::int64_t ldb, float* c, std::int64_t ldc) const override {
    VLB_ASSERT(m >= 0 && n >= 0 && k >= 0);
    VLB_ASSERT(ldc >= std::max<std::int64_t>(1, n));
    if (m == 0 || n == 0) return;
    if (k == 0) {  // an empty sum: zeros, as the OpenBLAS backend gives
      for (std::int64_t i = 0; i < m; ++i) std::fill_n(c + i * ldc, n, 0.0f);
      return;
    }
    VLB_ASSERT(a != nullptr && b != nullptr && c != nullptr);
    VLB_ASSERT(lda >= k && ldb >= k);
    omp_set_num_threads(n_threads_);
    const dnnl_status_t status = dnnl_sgemm('N', 'T', m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
    if (status != dnnl_success) {
      fail("onednn: dnnl_sgemm failed with status {} for a {}x{}x{} product",
           static_cast<int>(status), m, n, k);
    }
  }

 private:
  int n_threads_;
};

}  // namespace

std::unique_ptr<Gemm> make_onednn_gemm() {
  return std::make_unique<OneDnnGemm>();
}

}  // namespace vlbench
