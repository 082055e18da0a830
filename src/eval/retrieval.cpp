#include "eval/internal.hpp"

#include <vlbench/core/error.hpp>
#include <vlbench/core/thread_pool.hpp>
#include <vlbench/index/exact_rank.hpp>

#include <cstring>

namespace vlbench {

namespace {

// The rows of `m` listed in `rows`, as a contiguous matrix.
MatrixF32 gather_rows(const MatrixF32& m, const std::vector<std::int32_t>& rows) {
  MatrixF32 out;
  out.rows = static_cast<std::int64_t>(rows.size());
  out.cols = m.cols;
  out.values.resize(static_cast<std::size_t>(out.rows * out.cols));
  for (std::int64_t i = 0; i < out.rows; ++i) {
    std::memcpy(out.row(i), m.row(rows[i]), sizeof(float) * static_cast<std::size_t>(m.cols));
  }
  return out;
}

bool is_all_rows(const std::vector<std::int32_t>& rows, std::int64_t n) {
  if (static_cast<std::int64_t>(rows.size()) != n) return false;
  for (std::int64_t i = 0; i < n; ++i) {
    if (rows[i] != i) return false;
  }
  return true;
}

// Uses `m` itself when every row is taken in order, else a gathered copy kept in `storage`.
const MatrixF32& select_rows(const MatrixF32& m, const std::vector<std::int32_t>& rows,
                             MatrixF32& storage) {
  if (is_all_rows(rows, m.rows)) return m;
  storage = gather_rows(m, rows);
  return storage;
}

}  // namespace

RetrievalMetrics retrieval_metrics(Direction direction, std::vector<std::int32_t> ranks,
                                   std::int64_t n_gallery, std::int64_t ties,
                                   const BootstrapOptions& bootstrap, ThreadPool& pool) {
  VLB_ASSERT(!ranks.empty());
  const std::size_t n = ranks.size();
  // Per-query values; every statistic below is over these columns, resampled jointly.
  std::vector<double> hit1(n), hit5(n), hit10(n), reciprocal(n), rank(n);
  for (std::size_t q = 0; q < n; ++q) {
    VLB_ASSERT(ranks[q] >= 1);
    hit1[q] = ranks[q] <= 1 ? 1.0 : 0.0;
    hit5[q] = ranks[q] <= 5 ? 1.0 : 0.0;
    hit10[q] = ranks[q] <= 10 ? 1.0 : 0.0;
    reciprocal[q] = 1.0 / ranks[q];
    rank[q] = ranks[q];
  }
  const std::span<const double> columns[] = {hit1, hit5, hit10, reciprocal, rank};
  const Statistic statistics[] = {Statistic::mean, Statistic::mean, Statistic::mean,
                                  Statistic::mean, Statistic::median};
  const std::vector<Estimate> estimates = bootstrap_estimates(columns, statistics, bootstrap, pool);

  RetrievalMetrics m;
  m.direction = direction;
  m.n_queries = static_cast<std::int64_t>(n);
  m.n_gallery = n_gallery;
  m.r1 = estimates[0];
  m.r5 = estimates[1];
  m.r10 = estimates[2];
  m.mrr = estimates[3];
  m.median_rank = estimates[4];
  m.ties = ties;
  m.ranks = std::move(ranks);
  return m;
}

RetrievalMetrics run_retrieval(const RetrievalTask& task, const MatrixF32& query_side,
                               const MatrixF32& gallery_side, const Gemm& gemm, ThreadPool& pool,
                               const BootstrapOptions& bootstrap) {
  VLB_ASSERT(query_side.cols == gallery_side.cols);
  MatrixF32 query_storage, gallery_storage;
  const MatrixF32& queries = select_rows(query_side, task.query_rows, query_storage);
  const MatrixF32& gallery = select_rows(gallery_side, task.gallery_rows, gallery_storage);

  RankInput input;
  input.queries = queries.values.data();
  input.n_queries = queries.rows;
  input.gallery = gallery.values.data();
  input.n_gallery = gallery.rows;
  input.d = queries.cols;
  input.target_begin = task.target_begin;
  input.target_ids = task.target_ids;
  RankOutput ranked = rank_targets(input, gemm, pool);

  std::int64_t ties = 0;
  for (std::uint8_t t : ranked.tied) ties += t;
  return retrieval_metrics(task.direction, std::move(ranked.rank), gallery.rows, ties, bootstrap,
                           pool);
}

}  // namespace vlbench
