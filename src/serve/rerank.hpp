// Second stage of a served query: dense candidates re-scored by MaxSim (index/maxsim.hpp).
#pragma once

#include <vlbench/index/maxsim.hpp>

#include <cstdint>
#include <vector>

namespace vlbench::serve {

struct RankedList {
  std::vector<std::int64_t> ids;    // gallery rows, best first
  std::vector<double> scores;       // final scores (MaxSim)
  std::vector<float> dense_scores;  // the rows' first-stage scores
};

// Re-scores `candidates` (gallery rows of `docs`, dense order, no -1 entries) with the query
// q (n_q × docs.d) and keeps the best k, ordered by MaxSim descending, ties by lower row.
RankedList rerank_candidates(const float* q, std::int64_t n_q, const TokenStore& docs,
                             const std::vector<std::int64_t>& candidates,
                             const std::vector<float>& dense_scores, std::int64_t k);

}  // namespace vlbench::serve
