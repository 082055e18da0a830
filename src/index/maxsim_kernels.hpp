// The MaxSim tile kernels of maxsim.cpp, shared with token_store.cpp (which decodes compact
// page tokens into float32 blocks and runs the same kernels on them, so its scores have the
// bits of the float32 path on the decoded values).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "index/maxsim_isa.hpp"

namespace vlbench::maxsim_detail {

inline constexpr std::int64_t kLanes = 32;  // query tokens per packed chunk

// The query, transposed per chunk of kLanes tokens:
//   packed[(chunk · d + p) · kLanes + lane] = q[(chunk · kLanes + lane) · d + p]  (zero past n_q)
struct PackedQuery {
  std::int64_t n_q = 0;
  std::int64_t d = 0;
  std::int64_t n_chunks = 0;
  std::vector<float> packed;  // n_chunks × d × kLanes

  const float* chunk(std::int64_t c) const { return packed.data() + c * d * kLanes; }
  std::int64_t chunk_tokens(std::int64_t c) const { return std::min(kLanes, n_q - c * kLanes); }
};

void pack_query(const float* q, std::int64_t n_q, std::int64_t d, PackedQuery& out);

// Writes max_j (q_i · d_j) over the n_doc row-major tokens of `doc` (n_doc × d float32) for
// the chunk's first real_tokens lanes into out[kLanes] (other lanes unspecified).
using ChunkKernel = void (*)(const float* chunk, std::int64_t real_tokens, const float* doc,
                             std::int64_t n_doc, std::int64_t d, float* out);

// nullptr when this build or CPU cannot run `isa`'s kernel.
ChunkKernel kernel_for(MaxSimIsa isa);

// The fastest kernel this CPU runs (chosen once).
ChunkKernel selected_kernel();

// Asks the memory system for [p, p + bytes) (no-op where there is no prefetch instruction).
void prefetch_bytes(const void* p, std::int64_t bytes);

}  // namespace vlbench::maxsim_detail
