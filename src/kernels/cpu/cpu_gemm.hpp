// Factories of the CPU GEMM backends, used only by the registry (gemm_registry.cpp).
#pragma once

#include <memory>

#include "vlbench/kernels/gemm.hpp"

namespace vlbench {

// OpenBLAS cblas_sgemm. Its thread count is process-wide state of OpenBLAS.
std::unique_ptr<Gemm> make_openblas_gemm();

#if defined(VLBENCH_WITH_ONEDNN)
// oneDNN dnnl_sgemm on its OpenMP CPU runtime.
std::unique_ptr<Gemm> make_onednn_gemm();
#endif

}  // namespace vlbench
