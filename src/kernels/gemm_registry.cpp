// The registry of GEMM backends built into this binary.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "kernels/cpu/cpu_gemm.hpp"
#include "vlbench/core/error.hpp"
#include "vlbench/kernels/gemm.hpp"

namespace vlbench {

std::vector<std::string> gemm_backends() {
  std::vector<std::string> names = {"openblas"};
#if defined(VLBENCH_WITH_ONEDNN)
  names.push_back("onednn");
#endif
  return names;
}

// oneDNN when built: on the 25,010 × 5,000 × 1,024 shape of bench/rank_bench it ran about
// 1.9x faster than OpenBLAS (Debian's OpenBLAS 0.3.21 has no AVX-512 kernels for recent AMD
// CPUs and falls back to its Haswell ones; oneDNN picks AVX-512 from CPUID).
std::string default_gemm_backend() {
#if defined(VLBENCH_WITH_ONEDNN)
  return "onednn";
#else
  return "openblas";
#endif
}

std::unique_ptr<Gemm> make_gemm(const std::string& name) {
  if (name == "openblas") return make_openblas_gemm();
#if defined(VLBENCH_WITH_ONEDNN)
  if (name == "onednn") return make_onednn_gemm();
#endif
  fail("unknown GEMM backend '{}' (available: {})", name, fmt::join(gemm_backends(), ", "));
}

}  // namespace vlbench
