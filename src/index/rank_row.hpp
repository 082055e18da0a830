// The rank rule for one query, on exact scores, with the GEMM's float scores as a filter.
//
// The float32 GEMM's score L_j of gallery item j may differ from the true dot product by
// rounding, by an amount that depends on the library, the tile the item fell in, the row
// block and the thread count (OpenBLAS even gives exact duplicate gallery rows different
// scores). So ranks are decided on the exact score C_j (exact_score: float products summed in
// double, in a fixed order), and L_j only decides comparisons that rounding cannot flip:
// |L_j - C_j| <= e for a proven bound e (score_error_bound), so L_j > C_b + e means C_j > C_b,
// L_j < C_b - e means C_j < C_b, and only the few items in between get C_j computed.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace vlbench {

// Bound on |L - C| for any float32 evaluation L (any summation order, with or without FMA,
// denormals flushed or not) and the double evaluation C of a d-term dot product of vectors
// with Euclidean norms at most norm_a and norm_b. Twice the textbook gamma_d bound.
double score_error_bound(double norm_a, double norm_b, std::int64_t d);

// Euclidean norm, accumulated in double.
double norm(const float* v, std::int64_t d);

struct RowRank {
  std::int32_t rank = 0;         // 1-based
  std::int32_t best_target = 0;  // first target in (exact score desc, index asc) order
  bool tied = false;             // a non-target item has exactly the best target's score
};

// One query. approx: its n_gallery float scores from the GEMM; query: its d floats;
// gallery: n_gallery × d; error_bound: score_error_bound for this query's norm and the
// largest gallery norm; targets: at least one, each in [0, n_gallery). window is scratch.
// One pass over approx, plus exact scores for the targets and the few items near the best.
RowRank rank_row(const float* approx, std::int64_t n_gallery, const float* query,
                 const float* gallery, std::int64_t d, double error_bound,
                 std::span<const std::int32_t> targets, std::vector<std::int32_t>& window);

}  // namespace vlbench
