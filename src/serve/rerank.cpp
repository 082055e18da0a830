#include "serve/rerank.hpp"

#include <vlbench/core/error.hpp>

#include <algorithm>
#include <numeric>

namespace vlbench::serve {

RankedList rerank_candidates(const float* q, std::int64_t n_q, const TokenStore& docs,
                             const std::vector<std::int64_t>& candidates,
                             const std::vector<float>& dense_scores, std::int64_t k) {
  VLB_ASSERT(candidates.size() == dense_scores.size());
  std::vector<double> maxsim_scores(candidates.size());
  maxsim_candidates(q, n_q, docs, candidates, maxsim_scores);
  std::vector<std::size_t> order(candidates.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (maxsim_scores[a] != maxsim_scores[b]) return maxsim_scores[a] > maxsim_scores[b];
    return candidates[a] < candidates[b];
  });
  order.resize(std::min(order.size(), static_cast<std::size_t>(k)));
  RankedList out;
  for (const std::size_t c : order) {
    out.ids.push_back(candidates[c]);
    out.scores.push_back(maxsim_scores[c]);
    out.dense_scores.push_back(dense_scores[c]);
  }
  return out;
}

}  // namespace vlbench::serve
