// The rank rule applied to one row of scores; shared by rank_targets and its tests.
#pragma once

#include <cstdint>
#include <span>

namespace vlbench {

struct RowRank {
  std::int32_t rank = 0;         // 1-based
  std::int32_t best_target = 0;  // first target in (score desc, index asc) order
  bool tied = false;             // a non-target item scored exactly the best target's score
};

// scores: n_gallery values of one query; targets: its gallery rows (at least one, each in
// [0, n_gallery), n_gallery <= INT32_MAX). One pass over the row.
RowRank rank_row(const float* scores, std::int64_t n_gallery,
                 std::span<const std::int32_t> targets);

}  // namespace vlbench
