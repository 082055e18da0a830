// rank = 1 + #{j : s_j > s_b} + #{j : s_j == s_b and j < b}, b the best target.
#include "index/rank_row.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "vlbench/core/error.hpp"

namespace vlbench {
namespace {

struct Counts {
  std::uint32_t greater = 0;
  std::uint32_t equal = 0;
};

// Branch-free so the compiler vectorizes it: compares give 0/1 that are summed.
// n < 2^31, so 32-bit counters cannot overflow.
Counts count_against(const float* s, std::int64_t n, float v) {
  std::uint32_t greater = 0;
  std::uint32_t equal = 0;
  for (std::int64_t j = 0; j < n; ++j) {
    greater += static_cast<std::uint32_t>(s[j] > v);
    equal += static_cast<std::uint32_t>(s[j] == v);
  }
  return {greater, equal};
}

}  // namespace

RowRank rank_row(const float* scores, std::int64_t n_gallery,
                 std::span<const std::int32_t> targets) {
  VLB_ASSERT(!targets.empty());
  std::int32_t best = targets[0];
  float best_score = scores[best];
  for (const std::int32_t t : targets.subspan(1)) {
    const float s = scores[t];
    if (s > best_score || (s == best_score && t < best)) {
      best = t;
      best_score = s;
    }
  }
  // Unit-vector inputs give finite scores; a NaN would make every comparison false.
  VLB_ASSERT(!std::isnan(best_score));

  // Items before b count when greater or equal; items after b only when greater.
  const Counts before = count_against(scores, best, best_score);
  const Counts after = count_against(scores + best + 1, n_gallery - best - 1, best_score);

  // Items other than b with b's exact score: those after b are all from the "after" pass; no
  // target can be among those before b (it would precede b in the order). A target equal to
  // b's score is not a tie with a non-target, so subtract the distinct ones.
  std::uint32_t equal_others = before.equal + after.equal;
  if (equal_others > 0) {
    std::vector<std::int32_t> equal_targets;
    for (const std::int32_t t : targets) {
      if (t != best && scores[t] == best_score) equal_targets.push_back(t);
    }
    std::sort(equal_targets.begin(), equal_targets.end());
    equal_others -= static_cast<std::uint32_t>(
        std::unique(equal_targets.begin(), equal_targets.end()) - equal_targets.begin());
  }

  RowRank r;
  r.rank = static_cast<std::int32_t>(1 + before.greater + before.equal + after.greater);
  r.best_target = best;
  r.tied = equal_others > 0;
  return r;
}

}  // namespace vlbench
