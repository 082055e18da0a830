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

std::string default_gemm_backend() { return "openblas"; }

std::unique_ptr<Gemm> make_gemm(const std::string& name) {
  if (name == "openblas") return make_openblas_gemm();
#if defined(VLBENCH_WITH_ONEDNN)
  if (name == "onednn") return make_onednn_gemm();
#endif
  fail("unknown GEMM backend '{}' (available: {})", name, fmt::join(gemm_backends(), ", "));
}

}  // namespace vlbench
