// Late interaction (ColBERT / ColPali): multi-vector embeddings and the MaxSim score.
//
// MaxSim(query, doc) = Σ over the query's real tokens i of max over the doc's real tokens j of
// q_i · d_j. Padding rows (token index >= length) are never read: a zero-padded row would
// score 0 and win the max whenever every real dot product is negative.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
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

}  // namespace vlbench
