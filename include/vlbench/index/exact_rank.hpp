// Exact ranks of the correct items of each query, by blocked GEMM.
//
// Rank rule (DESIGN.md): rank of target t for query q =
//   1 + #{j : s(q,j) > s(q,t)} + #{j : s(q,j) == s(q,t) and j < t}.
// With several targets per query, the query's rank is the smallest over its targets: that
// is the rank of the target first in (score desc, index asc) order.
//
// Scores come from one GEMM per block of queries against the whole gallery, and every
// comparison for a query uses the values of that one block, so the rule holds exactly on
// the computed scores. At most one block of the score matrix exists at a time.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace vlbench {

class Gemm;
class ThreadPool;

struct RankInput {
  const float* queries = nullptr;   // n_queries × d, row-major (callers pass unit vectors)
  std::int64_t n_queries = 0;
  const float* gallery = nullptr;   // n_gallery × d, row-major
  std::int64_t n_gallery = 0;
  std::int64_t d = 0;
  // Targets of query q: target_ids[target_begin[q] .. target_begin[q+1]), gallery rows.
  // Every query has at least one target.
  std::span<const std::int64_t> target_begin;  // n_queries + 1
  std::span<const std::int32_t> target_ids;
};

struct RankOutput {
  std::vector<std::int32_t> rank;         // n_queries, 1-based
  std::vector<std::int32_t> best_target;  // n_queries: the target that gave the rank
  // n_queries: 1 when some non-target item scored exactly equal to the best target's score
  // (the tie rule decided the order), else 0.
  std::vector<std::uint8_t> tied;
};

struct RankOptions {
  // Upper bound on the bytes of one score block (n_block_queries × n_gallery × 4).
  std::int64_t block_bytes = 64ll << 20;
};

// gemm computes the scores (with its own threads); pool counts ranks in parallel.
RankOutput rank_targets(const RankInput& input, const Gemm& gemm, ThreadPool& pool,
                        const RankOptions& options = {});

}  // namespace vlbench
