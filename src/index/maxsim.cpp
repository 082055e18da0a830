// MaxSim by register-blocked tiles.
//
// The query is packed once, transposed into chunks of kLanes query tokens:
//   packed[(chunk · d + p) · kLanes + lane] = q[(chunk · kLanes + lane) · d + p]
// (zero past n_q), so one vector load gives dimension p of 16 (AVX-512) or 8 (AVX2) query
// tokens. A tile multiplies those vectors by broadcasts of dimension p of a few document
// tokens, read in place from the row-major document (nothing is packed per candidate), and
// the running maxima are plain vector max operations: no horizontal reduction until the end
// of the document.
//
// Every lane computes its dot product as one FMA chain, p = 0 .. d-1 in order, starting from
// 0, so each q_i · d_j has the same bits in the AVX-512, AVX2 and scalar (std::fma) kernels;
// the maxima and the double sum in query order are exact operations on those bits. Scores
// therefore do not depend on the CPU, the tile a token fell in, or threads.
#include "vlbench/index/maxsim.hpp"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "index/maxsim_isa.hpp"
#include "index/maxsim_kernels.hpp"
#include "vlbench/core/dtype.hpp"
#include "vlbench/core/error.hpp"
#include "vlbench/core/npy.hpp"
#include "vlbench/core/thread_pool.hpp"

namespace vlbench {
namespace maxsim_detail {

void pack_query(const float* q, std::int64_t n_q, std::int64_t d, PackedQuery& out) {
  out.n_q = n_q;
  out.d = d;
  out.n_chunks = (n_q + kLanes - 1) / kLanes;
  out.packed.assign(static_cast<std::size_t>(out.n_chunks * d * kLanes), 0.0f);
  for (std::int64_t i = 0; i < n_q; ++i) {
    float* base = out.packed.data() + (i / kLanes) * d * kLanes + i % kLanes;
    for (std::int64_t p = 0; p < d; ++p) base[p * kLanes] = q[i * d + p];
  }
}

namespace {

void chunk_maxima_scalar(const float* chunk, std::int64_t real_tokens, const float* doc,
                         std::int64_t n_doc, std::int64_t d, float* out) {
  for (std::int64_t lane = 0; lane < kLanes; ++lane) {
    out[lane] = -std::numeric_limits<float>::infinity();
  }
  for (std::int64_t j = 0; j < n_doc; ++j) {
    const float* token = doc + j * d;
    for (std::int64_t lane = 0; lane < real_tokens; ++lane) {
      float acc = 0.0f;
      for (std::int64_t p = 0; p < d; ++p) acc = std::fma(chunk[p * kLanes + lane], token[p], acc);
      // Same operand order as vmaxps(max, acc): equal values (±0) take acc.
      out[lane] = out[lane] > acc ? out[lane] : acc;
    }
  }
}

#if defined(__x86_64__) && defined(__GNUC__)

// Asks for document rows [first, first + count) (clipped to n_doc) while the current tile
// computes: candidates are rarely in cache, and hardware prefetch alone left a third of the
// time in memory stalls (bench/maxsim_bench: 6.7 -> 4.8 ms CPU time per 100 candidates).
inline void prefetch_rows(const float* doc, std::int64_t n_doc, std::int64_t d, std::int64_t first,
                          std::int64_t count) {
  const auto* p = reinterpret_cast<const char*>(doc + std::min(first, n_doc) * d);
  const auto* end = reinterpret_cast<const char*>(doc + std::min(first + count, n_doc) * d);
  for (; p < end; p += 64) _mm_prefetch(p, _MM_HINT_T0);
}

// QV vectors of 16 query tokens × JB document tokens per tile.
template <int QV, int JB>
__attribute__((target("avx512f"))) inline void tile_avx512(const float* chunk, const float* doc,
                                                           std::int64_t d, __m512* maxima) {
  __m512 acc[QV][JB];
  for (int v = 0; v < QV; ++v) {
    for (int b = 0; b < JB; ++b) acc[v][b] = _mm512_setzero_ps();
  }
  for (std::int64_t p = 0; p < d; ++p) {
    __m512 qv[QV];
    for (int v = 0; v < QV; ++v) qv[v] = _mm512_loadu_ps(chunk + p * kLanes + 16 * v);
    for (int b = 0; b < JB; ++b) {
      const __m512 x = _mm512_set1_ps(doc[b * d + p]);
      for (int v = 0; v < QV; ++v) acc[v][b] = _mm512_fmadd_ps(qv[v], x, acc[v][b]);
    }
  }
  // The masked form (all lanes) is _mm512_max_ps without GCC 12's spurious
  // -Wmaybe-uninitialized on the unmasked intrinsic's undefined source.
  for (int v = 0; v < QV; ++v) {
    for (int b = 0; b < JB; ++b) {
      maxima[v] = _mm512_mask_max_ps(maxima[v], 0xFFFF, maxima[v], acc[v][b]);
    }
  }
}

template <int QV, int JB>
__attribute__((target("avx512f"))) void doc_avx512(const float* chunk, const float* doc,
                                                   std::int64_t n_doc, std::int64_t d, float* out) {
  __m512 maxima[QV];
  for (int v = 0; v < QV; ++v) maxima[v] = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  std::int64_t j = 0;
  for (; j + JB <= n_doc; j += JB) {
    prefetch_rows(doc, n_doc, d, j + 2 * JB, JB);
    tile_avx512<QV, JB>(chunk, doc + j * d, d, maxima);
  }
  for (; j < n_doc; ++j) tile_avx512<QV, 1>(chunk, doc + j * d, d, maxima);
  for (int v = 0; v < QV; ++v) _mm512_storeu_ps(out + 16 * v, maxima[v]);
}

__attribute__((target("avx512f"))) void chunk_maxima_avx512(const float* chunk,
                                                            std::int64_t real_tokens,
                                                            const float* doc, std::int64_t n_doc,
                                                            std::int64_t d, float* out) {
  // 12 accumulators either way: enough independent FMA chains to cover the FMA latency.
  if (real_tokens <= 16) {
    doc_avx512<1, 12>(chunk, doc, n_doc, d, out);
  } else {
    doc_avx512<2, 6>(chunk, doc, n_doc, d, out);
  }
}

// AVX2: 4 vectors of 8 query tokens × 2 document tokens (8 of the 16 ymm registers).
template <int JB>
__attribute__((target("avx2,fma"))) inline void tile_avx2(const float* chunk, const float* doc,
                                                          std::int64_t d, __m256* maxima) {
  constexpr int QV = 4;
  __m256 acc[QV][JB];
  for (int v = 0; v < QV; ++v) {
    for (int b = 0; b < JB; ++b) acc[v][b] = _mm256_setzero_ps();
  }
  for (std::int64_t p = 0; p < d; ++p) {
    __m256 qv[QV];
    for (int v = 0; v < QV; ++v) qv[v] = _mm256_loadu_ps(chunk + p * kLanes + 8 * v);
    for (int b = 0; b < JB; ++b) {
      const __m256 x = _mm256_set1_ps(doc[b * d + p]);
      for (int v = 0; v < QV; ++v) acc[v][b] = _mm256_fmadd_ps(qv[v], x, acc[v][b]);
    }
  }
  for (int v = 0; v < QV; ++v) {
    for (int b = 0; b < JB; ++b) maxima[v] = _mm256_max_ps(maxima[v], acc[v][b]);
  }
}

__attribute__((target("avx2,fma"))) void chunk_maxima_avx2(const float* chunk,
                                                           std::int64_t /*real_tokens*/,
                                                           const float* doc, std::int64_t n_doc,
                                                           std::int64_t d, float* out) {
  constexpr int QV = 4;
  __m256 maxima[QV];
  for (int v = 0; v < QV; ++v) maxima[v] = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  std::int64_t j = 0;
  for (; j + 2 <= n_doc; j += 2) {
    prefetch_rows(doc, n_doc, d, j + 4, 2);
    tile_avx2<2>(chunk, doc + j * d, d, maxima);
  }
  for (; j < n_doc; ++j) tile_avx2<1>(chunk, doc + j * d, d, maxima);
  for (int v = 0; v < QV; ++v) _mm256_storeu_ps(out + 8 * v, maxima[v]);
}

}  // namespace

ChunkKernel kernel_for(MaxSimIsa isa) {
  __builtin_cpu_init();
  switch (isa) {
    case MaxSimIsa::avx512:
      return __builtin_cpu_supports("avx512f") ? chunk_maxima_avx512 : nullptr;
    case MaxSimIsa::avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? chunk_maxima_avx2
                                                                             : nullptr;
    case MaxSimIsa::scalar:
      return chunk_maxima_scalar;
  }
  return nullptr;
}

void prefetch_bytes(const void* p, std::int64_t bytes) {
  const auto* c = static_cast<const char*>(p);
  for (std::int64_t i = 0; i < bytes; i += 64) _mm_prefetch(c + i, _MM_HINT_T0);
}

#else

}  // namespace

ChunkKernel kernel_for(MaxSimIsa isa) {
  return isa == MaxSimIsa::scalar ? chunk_maxima_scalar : nullptr;
}

void prefetch_bytes(const void*, std::int64_t) {}

#endif

ChunkKernel selected_kernel() {
  static const ChunkKernel selected = [] {
    for (const MaxSimIsa isa : {MaxSimIsa::avx512, MaxSimIsa::avx2}) {
      if (const ChunkKernel k = kernel_for(isa)) return k;
    }
    return kernel_for(MaxSimIsa::scalar);
  }();
  return selected;
}

}  // namespace maxsim_detail

namespace {

using namespace maxsim_detail;

double packed_maxsim(const PackedQuery& query, const float* doc, std::int64_t n_doc,
                     ChunkKernel kernel = nullptr) {
  if (kernel == nullptr) kernel = selected_kernel();
  double total = 0.0;
  alignas(64) float maxima[kLanes];
  for (std::int64_t c = 0; c < query.n_chunks; ++c) {
    const std::int64_t real = query.chunk_tokens(c);
    kernel(query.chunk(c), real, doc, n_doc, query.d, maxima);
    for (std::int64_t lane = 0; lane < real; ++lane) total += static_cast<double>(maxima[lane]);
  }
  return total;
}

void check_shapes(std::int64_t n_q, std::int64_t n_doc, std::int64_t d) {
  VLB_ASSERT(n_q >= 1 && n_doc >= 1 && d >= 1);
}

void check_candidates(const float* q, std::int64_t n_q, const MultiVectorSet& docs,
                      std::span<const std::int64_t> candidates, std::span<double> scores) {
  VLB_ASSERT(q != nullptr && n_q >= 1 && docs.d >= 1);
  VLB_ASSERT(candidates.size() == scores.size());
  for (const std::int64_t c : candidates) VLB_ASSERT(c >= 0 && c < docs.n);
}

std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace

MultiVectorSet load_multi_vectors(const std::filesystem::path& tokens_path,
                                  const std::filesystem::path& lengths_path,
                                  std::string_view role) {
  NpyArray tokens, lengths;
  try {
    tokens = read_npy(tokens_path);
    lengths = read_npy(lengths_path);
  } catch (const Error& e) {
    fail("{}: {}", role, e.what());
  }
  if (tokens.shape.size() != 3 || (tokens.dtype != DType::f32 && tokens.dtype != DType::f16)) {
    fail(
        "{} {}: expected a 3-d float32 or float16 array [n, t_max, d], got a {}-d {} array of "
        "shape {}",
        role, tokens_path.string(), tokens.shape.size(), dtype_name(tokens.dtype),
        shape_string(tokens.shape));
  }
  const std::int64_t n = tokens.shape[0];
  const std::int64_t t_max = tokens.shape[1];
  const std::int64_t d = tokens.shape[2];
  if (t_max < 1 || d < 1) {
    fail("{} {}: shape {} has t_max = {} and d = {}, expected both >= 1", role,
         tokens_path.string(), shape_string(tokens.shape), t_max, d);
  }
  if (lengths.shape.size() != 1 || lengths.dtype != DType::i32) {
    fail("{} {}: expected a 1-d int32 array [n] of token counts, got a {}-d {} array of shape {}",
         role, lengths_path.string(), lengths.shape.size(), dtype_name(lengths.dtype),
         shape_string(lengths.shape));
  }
  if (lengths.shape[0] != n) {
    fail("{} {}: has {} lengths, expected {} (the n of {} {})", role, lengths_path.string(),
         lengths.shape[0], n, tokens_path.string(), shape_string(tokens.shape));
  }

  MultiVectorSet set;
  set.n = n;
  set.t_max = t_max;
  set.d = d;
  set.lengths.resize(static_cast<std::size_t>(n));
  if (n > 0) {
    std::memcpy(set.lengths.data(), lengths.data, sizeof(std::int32_t) * set.lengths.size());
  }
  for (std::int64_t i = 0; i < n; ++i) {
    if (set.lengths[i] < 1 || set.lengths[i] > t_max) {
      fail("{} {}: entry {} is {}, expected a token count in [1, {}] (t_max of {})", role,
           lengths_path.string(), i, set.lengths[i], t_max, tokens_path.string());
    }
  }

  // Real tokens are converted and checked; padding rows are stored as zeros (never read).
  set.tokens.assign(static_cast<std::size_t>(n * t_max * d), 0.0f);
  const std::size_t item_size = dtype_size(tokens.dtype);
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t count = set.lengths[i] * d;
    const std::byte* src = tokens.data + static_cast<std::size_t>(i * t_max * d) * item_size;
    float* dst = set.tokens.data() + i * t_max * d;
    if (tokens.dtype == DType::f32) {
      std::memcpy(dst, src, sizeof(float) * static_cast<std::size_t>(count));
    } else {
      for (std::int64_t k = 0; k < count; ++k) {
        std::uint16_t h;
        std::memcpy(&h, src + 2 * k, sizeof h);
        dst[k] = f16_to_f32(h);
      }
    }
    for (std::int64_t k = 0; k < count; ++k) {
      if (!std::isfinite(dst[k])) {
        fail("{} {}: item {} token {} dimension {} is {}, expected finite values", role,
             tokens_path.string(), i, k / d, k % d, dst[k]);
      }
    }
  }
  return set;
}

double maxsim(const float* q, std::int64_t n_q, const float* doc, std::int64_t n_doc,
              std::int64_t d) {
  check_shapes(n_q, n_doc, d);
  thread_local PackedQuery packed;  // reused: repeated calls do not allocate
  pack_query(q, n_q, d, packed);
  return packed_maxsim(packed, doc, n_doc);
}

bool maxsim_isa_supported(MaxSimIsa isa) {
  return kernel_for(isa) != nullptr;
}

double maxsim_with_isa(MaxSimIsa isa, const float* q, std::int64_t n_q, const float* doc,
                       std::int64_t n_doc, std::int64_t d) {
  check_shapes(n_q, n_doc, d);
  const ChunkKernel kernel = kernel_for(isa);
  VLB_ASSERT(kernel != nullptr);
  PackedQuery packed;
  pack_query(q, n_q, d, packed);
  return packed_maxsim(packed, doc, n_doc, kernel);
}

double maxsim_reference(const float* q, std::int64_t n_q, const float* doc, std::int64_t n_doc,
                        std::int64_t d) {
  check_shapes(n_q, n_doc, d);
  double total = 0.0;
  for (std::int64_t i = 0; i < n_q; ++i) {
    float best = -std::numeric_limits<float>::infinity();
    for (std::int64_t j = 0; j < n_doc; ++j) {
      float s = 0.0f;
      for (std::int64_t p = 0; p < d; ++p) s += q[i * d + p] * doc[j * d + p];
      best = std::max(best, s);
    }
    total += static_cast<double>(best);
  }
  return total;
}

void maxsim_candidates(const float* q, std::int64_t n_q, const MultiVectorSet& docs,
                       std::span<const std::int64_t> candidates, std::span<double> scores) {
  check_candidates(q, n_q, docs, candidates, scores);
  PackedQuery packed;
  pack_query(q, n_q, docs.d, packed);
  for (std::size_t c = 0; c < candidates.size(); ++c) {
    const std::int64_t item = candidates[c];
    scores[c] = packed_maxsim(packed, docs.item(item), docs.lengths[item]);
  }
}

void maxsim_candidates(const float* q, std::int64_t n_q, const MultiVectorSet& docs,
                       std::span<const std::int64_t> candidates, std::span<double> scores,
                       ThreadPool& pool) {
  check_candidates(q, n_q, docs, candidates, scores);
  PackedQuery packed;
  pack_query(q, n_q, docs.d, packed);
  // Each score is one candidate's alone, so the split over threads cannot change it.
  pool.parallel_for(
      static_cast<std::int64_t>(candidates.size()),
      [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t c = begin; c < end; ++c) {
          const std::int64_t item = candidates[c];
          scores[c] = packed_maxsim(packed, docs.item(item), docs.lengths[item]);
        }
      },
      4);
}

}  // namespace vlbench
