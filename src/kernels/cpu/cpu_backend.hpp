// The CPU backend (backend.hpp): host memory, the ops of ops.hpp, GEMMs through the default
// Gemm (oneDNN or OpenBLAS), bf16 Linear layers through LinearBf16 (oneDNN).
#pragma once

#include <vlbench/kernels/backend.hpp>

#include <memory>

namespace vlbench {

std::unique_ptr<Backend> make_cpu_backend(const BackendOptions& options);

}  // namespace vlbench
