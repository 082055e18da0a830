// Compact page tokens for MaxSim (maxsim.hpp's TokenStore).
//
// A candidate is scored block by block: kBlockTokens of its tokens are decoded into a float32
// buffer that stays in L1 (24 tokens × d 128 = 12 KB, beside a 16 KB packed query chunk), the
// float32 tile kernel of maxsim.cpp runs on the block, and the per-lane maxima are carried
// from block to block. Decoding is exact arithmetic (a bf16 widening, int8 code · scale as one
// float multiply, a sign bit to ±1), identical in the scalar and SIMD decoders, and a max over
// blocks is the max over the document, so a score has the bits of maxsim() on the decoded
// tokens, on any CPU. The memory read per candidate drops 2× (bf16), ~4× (int8) or 32×
// (binary); the cost is one decode pass over each block.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include "index/maxsim_isa.hpp"
#include "index/maxsim_kernels.hpp"
#include "vlbench/core/dtype.hpp"
#include "vlbench/core/error.hpp"
#include "vlbench/core/thread_pool.hpp"
#include "vlbench/index/maxsim.hpp"
#include "vlbench/index/quantize.hpp"

namespace vlbench {
namespace {

using namespace maxsim_detail;

// Tokens per decoded block: a multiple of every tile width of maxsim.cpp (12, 6, 2), so only
// a document's last block has a ragged tail.
constexpr std::int64_t kBlockTokens = 24;

// Writes tokens [first, first + count) of the store as float32 into out (count × d).
using Decoder = void (*)(const TokenStore& s, std::int64_t first, std::int64_t count, float* out);

void decode_bf16_scalar(const TokenStore& s, std::int64_t first, std::int64_t count,
                        float* out) {
  const std::uint16_t* src = s.bf16.data() + first * s.d;
  for (std::int64_t k = 0; k < count * s.d; ++k) out[k] = bf16_to_f32(src[k]);
}

void decode_int8_scalar(const TokenStore& s, std::int64_t first, std::int64_t count,
                        float* out) {
  for (std::int64_t t = 0; t < count; ++t) {
    const std::int8_t* codes = s.codes.data() + (first + t) * s.d;
    const float scale = s.scales[static_cast<std::size_t>(first + t)];
    for (std::int64_t p = 0; p < s.d; ++p) out[t * s.d + p] = static_cast<float>(codes[p]) * scale;
  }
}

inline float sign_of_bit(const std::uint8_t* bits, std::int64_t p) {
  return (bits[p / 8] >> (p % 8)) & 1u ? 1.0f : -1.0f;
}

void decode_binary_scalar(const TokenStore& s, std::int64_t first, std::int64_t count,
                          float* out) {
  const std::int64_t bytes = s.bytes_per_token();
  for (std::int64_t t = 0; t < count; ++t) {
    const std::uint8_t* bits = s.bits.data() + (first + t) * bytes;
    for (std::int64_t p = 0; p < s.d; ++p) out[t * s.d + p] = sign_of_bit(bits, p);
  }
}

#if defined(__x86_64__) && defined(__GNUC__)

// The zero-masked forms with every lane set are the plain intrinsics without GCC 12's spurious
// -Wmaybe-uninitialized on their undefined source.
constexpr __mmask16 kAll = 0xFFFF;

__attribute__((target("avx512f"))) void decode_bf16_avx512(const TokenStore& s,
                                                           std::int64_t first,
                                                           std::int64_t count, float* out) {
  const std::uint16_t* src = s.bf16.data() + first * s.d;
  const std::int64_t n = count * s.d;
  std::int64_t k = 0;
  for (; k + 16 <= n; k += 16) {
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + k));
    const __m512i w = _mm512_maskz_slli_epi32(kAll, _mm512_maskz_cvtepu16_epi32(kAll, h), 16);
    _mm512_storeu_ps(out + k, _mm512_castsi512_ps(w));
  }
  for (; k < n; ++k) out[k] = bf16_to_f32(src[k]);
}

__attribute__((target("avx512f"))) void decode_int8_avx512(const TokenStore& s,
                                                           std::int64_t first,
                                                           std::int64_t count, float* out) {
  for (std::int64_t t = 0; t < count; ++t) {
    const std::int8_t* codes = s.codes.data() + (first + t) * s.d;
    const float scale = s.scales[static_cast<std::size_t>(first + t)];
    const __m512 vscale = _mm512_set1_ps(scale);
    float* dst = out + t * s.d;
    std::int64_t p = 0;
    for (; p + 16 <= s.d; p += 16) {
      const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(codes + p));
      const __m512 v = _mm512_maskz_cvtepi32_ps(kAll, _mm512_maskz_cvtepi8_epi32(kAll, c));
      _mm512_storeu_ps(dst + p, _mm512_mul_ps(v, vscale));
    }
    for (; p < s.d; ++p) dst[p] = static_cast<float>(codes[p]) * scale;
  }
}

__attribute__((target("avx512f"))) void decode_binary_avx512(const TokenStore& s,
                                                             std::int64_t first,
                                                             std::int64_t count, float* out) {
  const std::int64_t bytes = s.bytes_per_token();
  const __m512 plus = _mm512_set1_ps(1.0f), minus = _mm512_set1_ps(-1.0f);
  for (std::int64_t t = 0; t < count; ++t) {
    const std::uint8_t* bits = s.bits.data() + (first + t) * bytes;
    float* dst = out + t * s.d;
    std::int64_t p = 0;
    for (; p + 16 <= s.d; p += 16) {
      std::uint16_t mask;  // bit k = dimension p + k (least significant bit first)
      std::memcpy(&mask, bits + p / 8, sizeof mask);
      _mm512_storeu_ps(dst + p, _mm512_mask_blend_ps(mask, minus, plus));
    }
    for (; p < s.d; ++p) dst[p] = sign_of_bit(bits, p);
  }
}

__attribute__((target("avx2"))) void decode_bf16_avx2(const TokenStore& s, std::int64_t first,
                                                      std::int64_t count, float* out) {
  const std::uint16_t* src = s.bf16.data() + first * s.d;
  const std::int64_t n = count * s.d;
  std::int64_t k = 0;
  for (; k + 8 <= n; k += 8) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + k));
    const __m256i w = _mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16);
    _mm256_storeu_ps(out + k, _mm256_castsi256_ps(w));
  }
  for (; k < n; ++k) out[k] = bf16_to_f32(src[k]);
}

__attribute__((target("avx2"))) void decode_int8_avx2(const TokenStore& s, std::int64_t first,
                                                      std::int64_t count, float* out) {
  for (std::int64_t t = 0; t < count; ++t) {
    const std::int8_t* codes = s.codes.data() + (first + t) * s.d;
    const float scale = s.scales[static_cast<std::size_t>(first + t)];
    const __m256 vscale = _mm256_set1_ps(scale);
    float* dst = out + t * s.d;
    std::int64_t p = 0;
    for (; p + 8 <= s.d; p += 8) {
      const __m128i c = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(codes + p));
      _mm256_storeu_ps(dst + p, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(c)), vscale));
    }
    for (; p < s.d; ++p) dst[p] = static_cast<float>(codes[p]) * scale;
  }
}

__attribute__((target("avx2"))) void decode_binary_avx2(const TokenStore& s, std::int64_t first,
                                                        std::int64_t count, float* out) {
  const std::int64_t bytes = s.bytes_per_token();
  const __m256 plus = _mm256_set1_ps(1.0f), minus = _mm256_set1_ps(-1.0f);
  const __m256i select = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
  for (std::int64_t t = 0; t < count; ++t) {
    const std::uint8_t* bits = s.bits.data() + (first + t) * bytes;
    float* dst = out + t * s.d;
    std::int64_t p = 0;
    for (; p + 8 <= s.d; p += 8) {
      const __m256i byte = _mm256_set1_epi32(bits[p / 8]);
      const __m256i set = _mm256_cmpeq_epi32(_mm256_and_si256(byte, select), select);
      _mm256_storeu_ps(dst + p, _mm256_blendv_ps(minus, plus, _mm256_castsi256_ps(set)));
    }
    for (; p < s.d; ++p) dst[p] = sign_of_bit(bits, p);
  }
}

#endif

// The decoder of `storage` at `isa`'s level (nullptr for f32, which is scored in place).
Decoder decoder_for(MaxSimIsa isa, TokenStorage storage) {
  if (storage == TokenStorage::f32) return nullptr;
#if defined(__x86_64__) && defined(__GNUC__)
  if (isa == MaxSimIsa::avx512) {
    return storage == TokenStorage::bf16   ? decode_bf16_avx512
           : storage == TokenStorage::int8 ? decode_int8_avx512
                                           : decode_binary_avx512;
  }
  if (isa == MaxSimIsa::avx2) {
    return storage == TokenStorage::bf16   ? decode_bf16_avx2
           : storage == TokenStorage::int8 ? decode_int8_avx2
                                           : decode_binary_avx2;
  }
#endif
  (void)isa;
  return storage == TokenStorage::bf16   ? decode_bf16_scalar
         : storage == TokenStorage::int8 ? decode_int8_scalar
                                         : decode_binary_scalar;
}

MaxSimIsa selected_isa() {
  static const MaxSimIsa isa = [] {
    for (const MaxSimIsa i : {MaxSimIsa::avx512, MaxSimIsa::avx2}) {
      if (kernel_for(i) != nullptr) return i;
    }
    return MaxSimIsa::scalar;
  }();
  return isa;
}

// Per-thread buffers, reused from call to call.
struct Scratch {
  std::vector<float> block;   // kBlockTokens × d
  std::vector<float> maxima;  // n_chunks × kLanes
};

// The tile kernel and decoder of one ISA level, looked up once per call, not per candidate.
struct StoredKernels {
  ChunkKernel kernel = nullptr;
  Decoder decode = nullptr;  // nullptr: float32, scored in place
};

StoredKernels kernels_for(MaxSimIsa isa, TokenStorage storage) {
  return {kernel_for(isa), decoder_for(isa, storage)};
}

double stored_maxsim(const PackedQuery& query, const TokenStore& s, std::int64_t item,
                     const StoredKernels& kernels, Scratch& scratch) {
  const ChunkKernel kernel = kernels.kernel;
  const Decoder decode = kernels.decode;
  const std::int64_t first = s.offsets[static_cast<std::size_t>(item)];
  const std::int64_t n_doc = s.lengths[static_cast<std::size_t>(item)];
  const std::int64_t d = s.d;
  alignas(64) float lane_max[kLanes];
  double total = 0.0;
  if (decode == nullptr) {  // float32: the tokens are scored where they lie
    for (std::int64_t c = 0; c < query.n_chunks; ++c) {
      const std::int64_t real = query.chunk_tokens(c);
      kernel(query.chunk(c), real, s.f32.data() + first * d, n_doc, d, lane_max);
      for (std::int64_t lane = 0; lane < real; ++lane) total += static_cast<double>(lane_max[lane]);
    }
    return total;
  }
  scratch.block.resize(static_cast<std::size_t>(kBlockTokens * d));
  scratch.maxima.assign(static_cast<std::size_t>(query.n_chunks * kLanes),
                        -std::numeric_limits<float>::infinity());
  const std::int64_t bytes_per_token = s.bytes_per_token();
  const void* payload = s.storage == TokenStorage::bf16   ? static_cast<const void*>(s.bf16.data())
                        : s.storage == TokenStorage::int8 ? static_cast<const void*>(s.codes.data())
                                                          : static_cast<const void*>(s.bits.data());
  for (std::int64_t j = 0; j < n_doc; j += kBlockTokens) {
    const std::int64_t count = std::min(kBlockTokens, n_doc - j);
    // The next block's bytes are requested while this one is decoded and scored.
    const std::int64_t next = std::min(kBlockTokens, n_doc - j - count);
    if (next > 0) {
      prefetch_bytes(static_cast<const char*>(payload) + (first + j + count) * bytes_per_token,
                     next * bytes_per_token);
    }
    decode(s, first + j, count, scratch.block.data());
    for (std::int64_t c = 0; c < query.n_chunks; ++c) {
      kernel(query.chunk(c), query.chunk_tokens(c), scratch.block.data(), count, d, lane_max);
      float* m = scratch.maxima.data() + c * kLanes;
      for (std::int64_t lane = 0; lane < kLanes; ++lane) {
        m[lane] = m[lane] > lane_max[lane] ? m[lane] : lane_max[lane];
      }
    }
  }
  for (std::int64_t c = 0; c < query.n_chunks; ++c) {
    const float* m = scratch.maxima.data() + c * kLanes;
    for (std::int64_t lane = 0; lane < query.chunk_tokens(c); ++lane) {
      total += static_cast<double>(m[lane]);
    }
  }
  return total;
}

void check_candidates(const float* q, std::int64_t n_q, const TokenStore& docs,
                      std::span<const std::int64_t> candidates, std::span<double> scores) {
  VLB_ASSERT(q != nullptr && n_q >= 1 && docs.d >= 1);
  VLB_ASSERT(candidates.size() == scores.size());
  for (const std::int64_t c : candidates) VLB_ASSERT(c >= 0 && c < docs.n);
}

}  // namespace

TokenStorage parse_token_storage(const std::string& name) {
  if (name == "f32") return TokenStorage::f32;
  if (name == "bf16") return TokenStorage::bf16;
  if (name == "int8") return TokenStorage::int8;
  if (name == "binary") return TokenStorage::binary;
  fail("token storage: expected one of f32, bf16, int8, binary, got '{}'", name);
}

std::string token_storage_name(TokenStorage storage) {
  switch (storage) {
    case TokenStorage::f32:
      return "f32";
    case TokenStorage::bf16:
      return "bf16";
    case TokenStorage::int8:
      return "int8";
    case TokenStorage::binary:
      return "binary";
  }
  VLB_ASSERT(false);
  return {};
}

std::int64_t TokenStore::bytes_per_token() const {
  switch (storage) {
    case TokenStorage::f32:
      return 4 * d;
    case TokenStorage::bf16:
      return 2 * d;
    case TokenStorage::int8:
      return d + static_cast<std::int64_t>(sizeof(float));
    case TokenStorage::binary:
      return (d + 7) / 8;
  }
  VLB_ASSERT(false);
  return 0;
}

TokenStore store_tokens(const MultiVectorSet& set, TokenStorage storage) {
  VLB_ASSERT(set.d >= 1 && set.lengths.size() == static_cast<std::size_t>(set.n));
  TokenStore s;
  s.storage = storage;
  s.n = set.n;
  s.d = set.d;
  s.lengths = set.lengths;
  s.offsets.assign(static_cast<std::size_t>(set.n + 1), 0);
  for (std::int64_t i = 0; i < set.n; ++i) {
    const std::int32_t length = set.lengths[static_cast<std::size_t>(i)];
    VLB_ASSERT(length >= 1 && length <= set.t_max);
    s.offsets[static_cast<std::size_t>(i + 1)] = s.offsets[static_cast<std::size_t>(i)] + length;
  }
  const std::int64_t d = set.d;
  const auto values = static_cast<std::size_t>(s.total_tokens() * d);
  switch (storage) {
    case TokenStorage::f32:
      s.f32.resize(values);
      break;
    case TokenStorage::bf16:
      s.bf16.resize(values);
      break;
    case TokenStorage::int8:
      s.codes.resize(values);
      s.scales.resize(static_cast<std::size_t>(s.total_tokens()));
      break;
    case TokenStorage::binary:
      s.bits.resize(static_cast<std::size_t>(s.total_tokens() * s.bytes_per_token()));
      break;
  }
  for (std::int64_t i = 0; i < set.n; ++i) {
    const float* src = set.item(i);
    const std::int64_t length = set.lengths[static_cast<std::size_t>(i)];
    const std::int64_t first = s.offsets[static_cast<std::size_t>(i)];
    for (std::int64_t k = 0; k < length * d; ++k) {
      if (!std::isfinite(src[k])) {
        fail("store_tokens: item {} token {} dimension {} is {}, expected a finite value", i,
             k / d, k % d, src[k]);
      }
    }
    switch (storage) {
      case TokenStorage::f32:
        std::copy(src, src + length * d, s.f32.begin() + first * d);
        break;
      case TokenStorage::bf16:
        for (std::int64_t k = 0; k < length * d; ++k) {
          const std::uint16_t h = f32_to_bf16(src[k]);
          if (!std::isfinite(bf16_to_f32(h))) {
            fail("store_tokens: item {} token {} dimension {} is {}, beyond bfloat16's range", i,
                 k / d, k % d, src[k]);
          }
          s.bf16[static_cast<std::size_t>(first * d + k)] = h;
        }
        break;
      case TokenStorage::int8: {
        const Int8Matrix m = quantize_int8(src, length, d);
        std::copy(m.codes.begin(), m.codes.end(), s.codes.begin() + first * d);
        std::copy(m.scales.begin(), m.scales.end(), s.scales.begin() + first);
        break;
      }
      case TokenStorage::binary: {
        const BinaryMatrix m = quantize_binary(src, length, d);
        std::copy(m.bits.begin(), m.bits.end(), s.bits.begin() + first * s.bytes_per_token());
        break;
      }
    }
  }
  return s;
}

MultiVectorSet decode_tokens(const TokenStore& store) {
  MultiVectorSet set;
  set.n = store.n;
  set.d = store.d;
  set.lengths = store.lengths;
  set.t_max = set.lengths.empty() ? 1 : *std::max_element(set.lengths.begin(), set.lengths.end());
  set.tokens.assign(static_cast<std::size_t>(set.n * set.t_max * set.d), 0.0f);
  const Decoder decode = decoder_for(MaxSimIsa::scalar, store.storage);
  for (std::int64_t i = 0; i < store.n; ++i) {
    const std::int64_t first = store.offsets[static_cast<std::size_t>(i)];
    const std::int64_t length = store.lengths[static_cast<std::size_t>(i)];
    float* dst = set.tokens.data() + i * set.t_max * set.d;
    if (decode == nullptr) {
      std::copy(store.f32.begin() + first * store.d, store.f32.begin() + (first + length) * store.d,
                dst);
    } else {
      decode(store, first, length, dst);
    }
  }
  return set;
}

void maxsim_candidates(const float* q, std::int64_t n_q, const TokenStore& docs,
                       std::span<const std::int64_t> candidates, std::span<double> scores) {
  check_candidates(q, n_q, docs, candidates, scores);
  thread_local PackedQuery packed;
  thread_local Scratch scratch;
  pack_query(q, n_q, docs.d, packed);
  const StoredKernels kernels = kernels_for(selected_isa(), docs.storage);
  for (std::size_t c = 0; c < candidates.size(); ++c) {
    scores[c] = stored_maxsim(packed, docs, candidates[c], kernels, scratch);
  }
}

void maxsim_candidates(const float* q, std::int64_t n_q, const TokenStore& docs,
                       std::span<const std::int64_t> candidates, std::span<double> scores,
                       ThreadPool& pool) {
  check_candidates(q, n_q, docs, candidates, scores);
  PackedQuery packed;
  pack_query(q, n_q, docs.d, packed);
  const StoredKernels kernels = kernels_for(selected_isa(), docs.storage);
  pool.parallel_for(
      static_cast<std::int64_t>(candidates.size()),
      [&](std::int64_t begin, std::int64_t end) {
        thread_local Scratch scratch;
        for (std::int64_t c = begin; c < end; ++c) {
          scores[c] = stored_maxsim(packed, docs, candidates[c], kernels, scratch);
        }
      },
      4);
}

double maxsim_stored_with_isa(MaxSimIsa isa, const float* q, std::int64_t n_q,
                              const TokenStore& docs, std::int64_t item) {
  VLB_ASSERT(kernel_for(isa) != nullptr && item >= 0 && item < docs.n && n_q >= 1);
  PackedQuery packed;
  pack_query(q, n_q, docs.d, packed);
  Scratch scratch;
  return stored_maxsim(packed, docs, item, kernels_for(isa, docs.storage), scratch);
}

}  // namespace vlbench
