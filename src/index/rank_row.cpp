// rank = 1 + #{j : C_j > C_b} + #{j : C_j == C_b and j < b}, b the best target.
#include "index/rank_row.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "vlbench/core/error.hpp"
#include "vlbench/index/exact_rank.hpp"

namespace vlbench {
namespace {

// The smallest float >= x, and the largest float <= x.
float float_at_or_above(double x) {
  const auto f = static_cast<float>(x);
  return static_cast<double>(f) >= x ? f : std::nextafter(f, std::numeric_limits<float>::max());
}
float float_at_or_below(double x) {
  const auto f = static_cast<float>(x);
  return static_cast<double>(f) <= x ? f : std::nextafter(f, -std::numeric_limits<float>::max());
}

// Counts s[j] > hi and appends to window every j (offset by `first`) with lo <= s[j] <= hi.
// Chunks of 32 are counted branch-free (vectorized); the rare chunk holding a window item is
// scanned again one by one, while it is still in L1.
[[gnu::target_clones("avx512f", "avx2", "default")]] std::uint32_t scan_row(
    const float* s, std::int64_t n, float lo, float hi, std::int32_t first,
    std::vector<std::int32_t>& window) {
  constexpr std::int64_t kChunk = 32;
  std::uint32_t greater = 0;
  std::int64_t j0 = 0;
  for (; j0 + kChunk <= n; j0 += kChunk) {
    std::uint32_t chunk_greater = 0;
    std::uint32_t chunk_window = 0;
    for (std::int64_t l = 0; l < kChunk; ++l) {
      const float v = s[j0 + l];
      chunk_greater += static_cast<std::uint32_t>(v > hi);
      chunk_window |= static_cast<std::uint32_t>(v >= lo) & static_cast<std::uint32_t>(v <= hi);
    }
    greater += chunk_greater;
    if (chunk_window != 0) {
      for (std::int64_t l = 0; l < kChunk; ++l) {
        const float v = s[j0 + l];
        if (v >= lo && v <= hi) window.push_back(first + static_cast<std::int32_t>(j0 + l));
      }
    }
  }
  for (; j0 < n; ++j0) {
    const float v = s[j0];
    greater += static_cast<std::uint32_t>(v > hi);
    if (v >= lo && v <= hi) window.push_back(first + static_cast<std::int32_t>(j0));
  }
  return greater;
}

}  // namespace

[[gnu::target_clones("avx512f", "avx2", "default")]] double exact_score(const float* a,
                                                                        const float* b,
                                                                        std::int64_t d) {
  // 16 independent lanes in a fixed order, so vector code (any width) gives the same bits as
  // scalar code. Products of floats are exact in double, so FMA contraction cannot change
  // them either.
  constexpr std::int64_t kLanes = 16;
  double lane[kLanes] = {};
  std::int64_t p = 0;
  for (; p + kLanes <= d; p += kLanes) {
    for (std::int64_t l = 0; l < kLanes; ++l) {
      lane[l] += static_cast<double>(a[p + l]) * static_cast<double>(b[p + l]);
    }
  }
  for (std::int64_t l = 0; p + l < d; ++l) {
    lane[l] += static_cast<double>(a[p + l]) * static_cast<double>(b[p + l]);
  }
  for (std::int64_t width = kLanes / 2; width > 0; width /= 2) {
    for (std::int64_t l = 0; l < width; ++l) lane[l] += lane[l + width];
  }
  return lane[0];
}

double norm(const float* v, std::int64_t d) {
  return std::sqrt(exact_score(v, v, d));
}

double score_error_bound(double norm_a, double norm_b, std::int64_t d) {
  // Higham, Accuracy and Stability of Numerical Algorithms, (3.5): a d-term dot product
  // evaluated in any order has |error| <= gamma_d · Σ|a_p b_p| <= gamma_d · |a| |b|, with
  // gamma_d = d·u / (1 - d·u). Float (u = 2^-24) and double (u = 2^-53) errors add up. The
  // absolute term covers products below the normal range (flushed to zero by some
  // libraries). The factor 2 leaves room for the rounding of the norms and of C_b ± e.
  const auto n = static_cast<double>(d);
  const double u32 = 0x1p-24;
  const double u64 = 0x1p-53;
  VLB_ASSERT(n * u32 < 0.01);  // d below ~167,000: far beyond any embedding
  const double gamma32 = n * u32 / (1 - n * u32);
  const double gamma64 = n * u64 / (1 - n * u64);
  return 2.0 * ((gamma32 + gamma64) * norm_a * norm_b + n * 0x1p-126);
}

RowRank rank_row(const float* approx, std::int64_t n_gallery, const float* query,
                 const float* gallery, std::int64_t d, double error_bound,
                 std::span<const std::int32_t> targets, std::vector<std::int32_t>& window) {
  VLB_ASSERT(!targets.empty());
  // The best target on exact scores, ties to the lowest index.
  std::int32_t best = -1;
  double best_score = 0.0;
  for (const std::int32_t t : targets) {
    const double s = exact_score(query, gallery + static_cast<std::int64_t>(t) * d, d);
    if (best < 0 || s > best_score || (s == best_score && t < best)) {
      best = t;
      best_score = s;
    }
  }
  VLB_ASSERT(std::isfinite(best_score));

  // Items whose float score is above hi are certainly higher; below lo, certainly lower.
  const float hi = float_at_or_above(best_score + error_bound);
  const float lo = float_at_or_below(best_score - error_bound);
  window.clear();
  std::uint32_t greater = scan_row(approx, n_gallery, lo, hi, 0, window);

  std::uint32_t equal_before = 0;
  bool tied = false;
  for (const std::int32_t j : window) {
    if (j == best) continue;
    const double s = exact_score(query, gallery + static_cast<std::int64_t>(j) * d, d);
    if (s > best_score) {
      ++greater;
    } else if (s == best_score) {
      // Before b, no target can score equal (b would not be first), so j is a non-target.
      if (j < best) ++equal_before;
      if (j < best || std::find(targets.begin(), targets.end(), j) == targets.end()) {
        tied = true;
      }
    }
  }

  RowRank r;
  r.rank = static_cast<std::int32_t>(1 + greater + equal_before);
  r.best_target = best;
  r.tied = tied;
  return r;
}

}  // namespace vlbench
