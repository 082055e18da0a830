// Exact ranks of the correct items of each query, by blocked GEMM.
//
// Rank rule (DESIGN.md): rank of target t for query q =
//   1 + #{j : s(q,j) > s(q,t)} + #{j : s(q,j) == s(q,t) and j < t}.
// With several targets per query, the query's rank is the smallest over its targets: that
// is the rank of the target first in (score desc, index asc) order.
//
// The scores s are exact_score values: float products summed in double in a fixed order,
// so they do not depend on the GEMM backend, its threads or tiles, or the block size, and
// exact duplicate gallery vectors always tie. (A float32 GEMM gives none of that: OpenBLAS
// scores duplicate gallery rows differently depending on their column, and both backends'
// bits change with the row block height and the thread count.) The GEMM still does all the
// bulk work: one GEMM per block of queries against the whole gallery gives float scores
// within a proven bound of s, which settle every comparison except for the few items within
// that bound of the best target's score; only those get exact_score computed. At most one
// block of the score matrix exists at a time.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace vlbench {

class Gemm;
class ThreadPool;

struct RankInput {
  const float* queries = nullptr;  // n_queries × d, row-major (callers pass unit vectors)
  std::int64_t n_queries = 0;
  const float* gallery = nullptr;  // n_gallery × d, row-major
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
  // (exact_score; such items before the target counted in its rank), else 0.
  std::vector<std::uint8_t> tied;
};

// The score s(q, j) of the rank rule: a[d] · b[d], each float product exact in double and
// summed in double in a fixed order (the same bits on every CPU and build).
double exact_score(const float* a, const float* b, std::int64_t d);

// Wall seconds of one rank_targets call by phase (for benchmarks): the GEMM calls, and
// the ranking of their rows (norms, row scans, exact scores).
struct RankTiming {
  double gemm_seconds = 0;
  double rank_seconds = 0;
};

struct RankOptions {
  // Upper bound on the bytes of one score block (n_block_queries × n_gallery × 4); at least
  // one query per block. 96 MiB gives oneDNN the ~1,000+ rows per GEMM it needs for full
  // speed in both COCO directions (t2i: 5,033 queries × 5,000; i2t: 1,006 × 25,010) while
  // peak memory stays near inputs + block (bench/rank_bench).
  std::int64_t block_bytes = 96ll << 20;
  // When set, receives the call's time split (overwritten, not accumulated).
  RankTiming* timing = nullptr;
};

// gemm computes the float scores (with its own threads); pool ranks queries in parallel.
// Output is identical for any gemm backend, thread counts and block_bytes.
RankOutput rank_targets(const RankInput& input, const Gemm& gemm, ThreadPool& pool,
                        const RankOptions& options = {});

}  // namespace vlbench
