// Late interaction (ColBERT / ColPali): multi-vector embeddings and the MaxSim score.
//
// MaxSim(query, doc) = Σ over the query's real tokens i of max over the doc's real tokens j of
// q_i · d_j. Padding rows (token index >= length) are never read: a zero-padded row would
// score 0 and win the max whenever every real dot product is negative.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vlbench {

class ThreadPool;

// n items of up to t_max token vectors of dimension d, float32, stored dense:
// tokens[(item · t_max + t) · d + j]; lengths[item] in [1, t_max] real tokens.
struct MultiVectorSet {
  std::int64_t n = 0;
  std::int64_t t_max = 0;
  std::int64_t d = 0;
  std::vector<float> tokens;          // n × t_max × d
  std::vector<std::int32_t> lengths;  // n

  const float* item(std::int64_t i) const { return tokens.data() + i * t_max * d; }
};

// Reads TOKENS.npy (float16/float32, [n, t_max, d]) and LENGTHS.npy (int32, [n]). Errors name
// the file: wrong rank or dtype, n disagreeing between the files, a length outside
// [1, t_max], NaN/Inf in a real token. `role` ("text tokens", "image tokens") leads messages.
MultiVectorSet load_multi_vectors(const std::filesystem::path& tokens_path,
                                  const std::filesystem::path& lengths_path,
                                  std::string_view role);

// MaxSim of one query (q: n_q × d, all rows real) against one document (doc: n_doc × d).
// SIMD (runtime CPU dispatch), float32 dot products, the sum over query tokens in double.
double maxsim(const float* q, std::int64_t n_q, const float* doc, std::int64_t n_doc,
              std::int64_t d);

// The obvious triple loop (float32 products summed in order; the reference for tests and the
// naive baseline of the benchmark).
double maxsim_reference(const float* q, std::int64_t n_q, const float* doc, std::int64_t n_doc,
                        std::int64_t d);

// Re-scores candidates of one query: scores[c] = maxsim(query, docs.item(candidates[c])).
// No allocation per candidate. candidates: gallery rows of `docs`.
void maxsim_candidates(const float* q, std::int64_t n_q, const MultiVectorSet& docs,
                       std::span<const std::int64_t> candidates, std::span<double> scores);

// The same, with the candidates spread over `pool` (scores identical for any thread count:
// each is computed by one thread alone). Not reentrant: not from inside pool's parallel_for.
void maxsim_candidates(const float* q, std::int64_t n_q, const MultiVectorSet& docs,
                       std::span<const std::int64_t> candidates, std::span<double> scores,
                       ThreadPool& pool);

// Page tokens kept compact for MaxSim re-ranking: how many bytes one d-dimensional token takes.
//   f32     4·d      the tokens as given
//   bf16    2·d      each value rounded to bfloat16 (nearest, ties to even)
//   int8    d + 4    per-token symmetric scale, as quantize.hpp's int8 (codes · scale)
//   binary  ⌈d/8⌉    sign bits, as quantize.hpp's binary (+1 / -1)
// The query stays float32. A score against stored tokens has exactly the bits of maxsim() on
// their decoded float32 values (decode_tokens), so an evaluation on decoded tokens (what
// `vlbench run --token-quantize` does) is the accuracy of this storage.
enum class TokenStorage { f32, bf16, int8, binary };

// "f32" | "bf16" | "int8" | "binary"; anything else is an Error listing them.
TokenStorage parse_token_storage(const std::string& name);
std::string token_storage_name(TokenStorage storage);

// n items of lengths[i] real tokens each, packed without padding: item i's tokens are
// [offsets[i], offsets[i + 1]) of the store.
struct TokenStore {
  TokenStorage storage = TokenStorage::f32;
  std::int64_t n = 0;
  std::int64_t d = 0;
  std::vector<std::int32_t> lengths;  // n, each >= 1
  std::vector<std::int64_t> offsets;  // n + 1, offsets[0] = 0
  std::vector<float> f32;             // f32: total_tokens × d
  std::vector<std::uint16_t> bf16;    // bf16: total_tokens × d, bfloat16 bits
  std::vector<std::int8_t> codes;     // int8: total_tokens × d
  std::vector<float> scales;          // int8: total_tokens
  std::vector<std::uint8_t> bits;     // binary: total_tokens × bytes_per_token()

  std::int64_t total_tokens() const { return offsets.empty() ? 0 : offsets.back(); }
  std::int64_t bytes_per_token() const;
  // Bytes of token payload held (lengths and offsets not counted).
  std::int64_t payload_bytes() const { return total_tokens() * bytes_per_token(); }
};

// The real tokens of `set` in `storage`. Errors (naming item, token and dimension) on a
// non-finite value.
TokenStore store_tokens(const MultiVectorSet& set, TokenStorage storage);

// The float32 values the store scores with, as a MultiVectorSet (t_max = the longest item).
MultiVectorSet decode_tokens(const TokenStore& store);

// scores[c] = MaxSim(query, item candidates[c] of `docs`), bit-identical to maxsim() on the
// decoded tokens. Compact storage is decoded block by block into a per-thread float32 buffer
// in cache, never per page. The pool form gives the same scores at any thread count (each
// candidate is scored by one thread); not from inside pool's parallel_for.
void maxsim_candidates(const float* q, std::int64_t n_q, const TokenStore& docs,
                       std::span<const std::int64_t> candidates, std::span<double> scores);
void maxsim_candidates(const float* q, std::int64_t n_q, const TokenStore& docs,
                       std::span<const std::int64_t> candidates, std::span<double> scores,
                       ThreadPool& pool);

}  // namespace vlbench
