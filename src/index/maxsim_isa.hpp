// MaxSim with a chosen kernel instead of the runtime pick, so tests can check that every
// kernel this CPU runs gives the same bits (maxsim.cpp's header comment says why they do).
#pragma once

#include <cstdint>

namespace vlbench {

enum class MaxSimIsa { avx512, avx2, scalar };

// Whether this build and CPU can run the kernel (scalar: always).
bool maxsim_isa_supported(MaxSimIsa isa);

// maxsim() computed by `isa`'s kernel; isa must be supported.
double maxsim_with_isa(MaxSimIsa isa, const float* q, std::int64_t n_q, const float* doc,
                       std::int64_t n_doc, std::int64_t d);

struct TokenStore;

// maxsim_candidates() on item `item` of a TokenStore, decoded and scored by `isa`'s code.
double maxsim_stored_with_isa(MaxSimIsa isa, const float* q, std::int64_t n_q,
                              const TokenStore& docs, std::int64_t item);

}  // namespace vlbench
