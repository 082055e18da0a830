// Exact ranks by blocked GEMM: one float score block of (block rows × n_gallery) is computed,
// every query of the block is ranked from its own row (rank_row settles the few comparisons
// the float scores cannot on exact scores), and the block is reused for the next rows.
#include "vlbench/index/exact_rank.hpp"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <new>
#include <vector>

#include <sys/mman.h>

#include "index/rank_row.hpp"
#include "vlbench/core/error.hpp"
#include "vlbench/core/thread_pool.hpp"
#include "vlbench/kernels/gemm.hpp"

namespace vlbench {
namespace {

// Sizes and target lists are built by the caller (the eval layer checks user data first), so
// anything wrong here is a bug.
void check_input(const RankInput& input) {
  VLB_ASSERT(input.n_queries >= 0 && input.n_gallery >= 0 && input.d >= 0);
  VLB_ASSERT(static_cast<std::int64_t>(input.target_begin.size()) == input.n_queries + 1);
  VLB_ASSERT(input.target_begin[0] == 0);
  VLB_ASSERT(input.target_begin[input.n_queries] ==
             static_cast<std::int64_t>(input.target_ids.size()));
  if (input.n_queries == 0) return;
  VLB_ASSERT(input.n_gallery >= 1 && input.d >= 1);
  VLB_ASSERT(input.n_gallery <= INT32_MAX);  // ranks and ids are int32
  VLB_ASSERT(input.queries != nullptr && input.gallery != nullptr);
  for (std::int64_t q = 0; q < input.n_queries; ++q) {
    VLB_ASSERT(input.target_begin[q] < input.target_begin[q + 1]);  // at least one target
  }
  for (const std::int32_t id : input.target_ids) {
    VLB_ASSERT(id >= 0 && id < input.n_gallery);
  }
}

struct FreeDeleter {
  void operator()(float* p) const { std::free(p); }
};

// The score block, block_rows × n_gallery floats, left uninitialized (the GEMM writes it
// all). Large blocks are 2 MiB-aligned and marked for transparent huge pages: first-touch
// page faults of a fresh block otherwise cost as much as ranking it (~3 ms per MiB in the
// VM of bench/rank_bench's report; about half that with huge pages).
std::unique_ptr<float[], FreeDeleter> allocate_block(std::size_t n_floats) {
  constexpr std::size_t kHuge = std::size_t{2} << 20;
  std::size_t bytes = n_floats * sizeof(float);
  void* p = nullptr;
  if (bytes >= kHuge) {
    bytes = (bytes + kHuge - 1) / kHuge * kHuge;
    p = std::aligned_alloc(kHuge, bytes);
#if defined(MADV_HUGEPAGE)
    if (p != nullptr) madvise(p, bytes, MADV_HUGEPAGE);  // a hint: failure costs only speed
#endif
  } else {
    p = std::malloc(bytes);
  }
  if (p == nullptr) throw std::bad_alloc();
  return std::unique_ptr<float[], FreeDeleter>(static_cast<float*>(p));
}

}  // namespace

RankOutput rank_targets(const RankInput& input, const Gemm& gemm, ThreadPool& pool,
                        const RankOptions& options) {
  check_input(input);
  const std::int64_t n_queries = input.n_queries;
  const std::int64_t n_gallery = input.n_gallery;
  const std::int64_t d = input.d;

  RankOutput output;
  output.rank.resize(static_cast<std::size_t>(n_queries));
  output.best_target.resize(static_cast<std::size_t>(n_queries));
  output.tied.resize(static_cast<std::size_t>(n_queries));
  if (n_queries == 0) return output;

  using Clock = std::chrono::steady_clock;
  Clock::duration gemm_time{0};
  const Clock::time_point norms_start = Clock::now();
  // The error bound of a query's float scores uses the largest gallery norm.
  std::vector<double> chunk_max_norm(static_cast<std::size_t>(pool.size()), 0.0);
  const std::int64_t norm_grain = (n_gallery - 1) / pool.size() + 1;
  pool.parallel_for(
      n_gallery,
      [&](std::int64_t begin, std::int64_t end) {
        double m = 0.0;
        for (std::int64_t j = begin; j < end; ++j) m = std::max(m, norm(input.gallery + j * d, d));
        chunk_max_norm[static_cast<std::size_t>(begin / norm_grain)] = m;
      },
      norm_grain);
  const double gallery_max_norm = *std::max_element(chunk_max_norm.begin(), chunk_max_norm.end());
  // Unit vectors in practice; anything near float overflow breaks the float GEMM's bound.
  VLB_ASSERT(std::isfinite(gallery_max_norm) && gallery_max_norm < 1e15);
  Clock::duration rank_time = Clock::now() - norms_start;

  const std::int64_t row_bytes = n_gallery * static_cast<std::int64_t>(sizeof(float));
  const std::int64_t block_rows =
      std::min(n_queries, std::max<std::int64_t>(1, options.block_bytes / row_bytes));
  // The one score block: block_rows × n_gallery.
  const auto scores = allocate_block(static_cast<std::size_t>(block_rows * n_gallery));

  // Chunks of rows for the pool: enough to balance, few enough that dispatch costs nothing
  // next to a row scan of n_gallery floats.
  const std::int64_t grain = std::max<std::int64_t>(1, (std::int64_t{1} << 16) / n_gallery);

  for (std::int64_t q0 = 0; q0 < n_queries; q0 += block_rows) {
    const std::int64_t m = std::min(block_rows, n_queries - q0);
    const Clock::time_point gemm_start = Clock::now();
    // scores[m × n_gallery] = queries[q0 .. q0+m) · galleryᵀ
    gemm.gemm_nt(m, n_gallery, d, input.queries + q0 * d, d, input.gallery, d, scores.get(),
                 n_gallery);
    const Clock::time_point rank_start = Clock::now();
    gemm_time += rank_start - gemm_start;
    pool.parallel_for(
        m,
        [&](std::int64_t begin, std::int64_t end) {
          std::vector<std::int32_t> window;  // scratch of rank_row
          for (std::int64_t i = begin; i < end; ++i) {
            const std::int64_t q = q0 + i;
            const float* query = input.queries + q * d;
            const double query_norm = norm(query, d);
            VLB_ASSERT(std::isfinite(query_norm) && query_norm < 1e15);
            const std::span<const std::int32_t> targets = input.target_ids.subspan(
                static_cast<std::size_t>(input.target_begin[q]),
                static_cast<std::size_t>(input.target_begin[q + 1] - input.target_begin[q]));
            const RowRank r =
                rank_row(scores.get() + i * n_gallery, n_gallery, query, input.gallery, d,
                         score_error_bound(query_norm, gallery_max_norm, d), targets, window);
            output.rank[static_cast<std::size_t>(q)] = r.rank;
            output.best_target[static_cast<std::size_t>(q)] = r.best_target;
            output.tied[static_cast<std::size_t>(q)] = r.tied ? 1 : 0;
          }
        },
        grain);
    rank_time += Clock::now() - rank_start;
  }
  if (options.timing != nullptr) {
    options.timing->gemm_seconds = std::chrono::duration<double>(gemm_time).count();
    options.timing->rank_seconds = std::chrono::duration<double>(rank_time).count();
  }
  return output;
}

}  // namespace vlbench
