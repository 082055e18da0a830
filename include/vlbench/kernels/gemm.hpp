// The CPU GEMM backends behind one interface, chosen by name from a registry.
// Only the shape that scoring needs: C = A · Bᵀ, all row-major float32.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace vlbench {

class Gemm {
 public:
  virtual ~Gemm() = default;
  virtual std::string name() const = 0;
  // Threads used inside gemm_nt (<= 0: all cores).
  virtual void set_threads(int n_threads) = 0;
  // c[m × n] (leading dimension ldc) = a[m × k] (lda) · b[n × k]ᵀ (ldb). Row-major.
  // The result for a given element may depend on the backend but not on the call's
  // position in a loop: same inputs and shape give the same bits. They can change with the
  // shape, the element's row or column and the thread count (measured for both backends;
  // OpenBLAS even scores equal rows of b differently), so exact comparisons need
  // exact_rank.hpp's exact scores.
  virtual void gemm_nt(std::int64_t m, std::int64_t n, std::int64_t k, const float* a,
                       std::int64_t lda, const float* b, std::int64_t ldb, float* c,
                       std::int64_t ldc) const = 0;
};

// Names of the backends built into this binary ("openblas", and "onednn" when available).
std::vector<std::string> gemm_backends();
// The default backend, chosen by bench/rank_bench measurements: "onednn" when built (about
// 1.9x OpenBLAS's speed on the COCO-shaped benchmark), else "openblas".
std::string default_gemm_backend();
// Throws Error listing the available names when `name` is unknown.
std::unique_ptr<Gemm> make_gemm(const std::string& name);

}  // namespace vlbench
