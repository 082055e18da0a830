// Two-stage evaluation, one query at a time (the way a search service runs it):
//   stage 1: exact_score against every gallery item, the top `depth` by (score desc, gallery
//            position asc); the target's rank by the same rule as rank_targets, so stage-1
//            ranks, ties and metrics are evaluate()'s exactly;
//   stage 2: MaxSim of those candidates, stable-sorted (ties keep stage-1 order);
//   full:    MaxSim against every gallery item, ranked by the rank rule.
// Queries run in parallel over the pool, each on one thread with its own scratch; latencies
// are per query on one thread (with pool.size() queries in flight).
#include "eval/internal.hpp"

#include <vlbench/core/error.hpp>
#include <vlbench/core/thread_pool.hpp>
#include <vlbench/eval/rerank.hpp>
#include <vlbench/index/exact_rank.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

namespace vlbench {

namespace {

using Clock = std::chrono::steady_clock;

// A query's rank under scores s over gallery positions 0..n-1 (DESIGN.md's rule): b = the
// first target in (s desc, position asc) order, rank = 1 + #{s_j > s_b} + #{s_j == s_b, j < b};
// tied when a non-target item scores exactly s_b.
struct RankOfQuery {
  std::int32_t rank = 0;
  bool tied = false;
};

RankOfQuery rank_by_scores(std::span<const double> s, std::span<const std::int32_t> targets) {
  std::int32_t best = -1;
  for (const std::int32_t t : targets) {
    if (best < 0 || s[t] > s[best] || (s[t] == s[best] && t < best)) best = t;
  }
  const double sb = s[best];
  std::int64_t above = 0;
  bool tied = false;
  for (std::int64_t j = 0; j < static_cast<std::int64_t>(s.size()); ++j) {
    if (s[j] > sb || (s[j] == sb && j < best)) ++above;
    if (s[j] == sb && j != best &&
        std::find(targets.begin(), targets.end(), static_cast<std::int32_t>(j)) == targets.end()) {
      tied = true;
    }
  }
  return {static_cast<std::int32_t>(1 + above), tied};
}

// p-th percentile (nearest rank: the ceil(p·n)-th smallest) of per-query seconds.
StageLatency latency_of(std::vector<double> seconds) {
  StageLatency l;
  if (seconds.empty()) return l;
  std::sort(seconds.begin(), seconds.end());
  const auto at = [&](double p) {
    const auto n = static_cast<double>(seconds.size());
    const auto k = static_cast<std::size_t>(std::max(1.0, std::ceil(p * n)));
    return seconds[std::min(k, seconds.size()) - 1];
  };
  l.p50 = at(0.50);
  l.p95 = at(0.95);
  l.p99 = at(0.99);
  return l;
}

// One direction: queries (dense + tokens) against the gallery (dense + tokens).
struct DirectionInput {
  const RetrievalTask* task = nullptr;
  const MatrixF32* query_dense = nullptr;
  const MatrixF32* gallery_dense = nullptr;
  const MultiVectorSet* query_tokens = nullptr;
  const MultiVectorSet* gallery_tokens = nullptr;
};

RerankDirectionResult run_direction(const DirectionInput& in, std::int64_t depth,
                                    const BootstrapOptions& bootstrap, ThreadPool& pool) {
  const RetrievalTask& task = *in.task;
  const std::int64_t n_queries = task.n_queries();
  const std::int64_t n_gallery = task.n_gallery();
  const std::int64_t d = in.query_dense->cols;
  const std::int64_t n_candidates = std::min(depth, n_gallery);
  // Gallery positions as rows of the gallery-side matrices, for maxsim_candidates.
  const std::vector<std::int64_t> gallery_rows(task.gallery_rows.begin(), task.gallery_rows.end());

  std::vector<std::int32_t> rank1(n_queries), rank2(n_queries), rank_full(n_queries);
  std::vector<std::uint8_t> tied1(n_queries), tied2(n_queries), tied_full(n_queries);
  std::vector<double> seconds1(n_queries), seconds2(n_queries);

  pool.parallel_for(
      n_queries,
      [&](std::int64_t begin, std::int64_t end) {
        std::vector<double> dense(n_gallery), full(n_gallery), rescored(n_candidates);
        std::vector<std::int32_t> order(n_gallery);
        std::vector<std::int64_t> candidate_rows(n_candidates);
        std::vector<std::int64_t> stage2(n_candidates);  // candidate indices, re-ordered
        for (std::int64_t q = begin; q < end; ++q) {
          const std::int32_t query_row = task.query_rows[q];
          const float* query = in.query_dense->row(query_row);
          const std::span<const std::int32_t> targets(
              task.target_ids.data() + task.target_begin[q],
              static_cast<std::size_t>(task.target_begin[q + 1] - task.target_begin[q]));

          // Stage 1: dense top-N of this query.
          const Clock::time_point t0 = Clock::now();
          for (std::int64_t g = 0; g < n_gallery; ++g) {
            dense[g] = exact_score(query, in.gallery_dense->row(task.gallery_rows[g]), d);
          }
          std::iota(order.begin(), order.end(), 0);
          std::partial_sort(order.begin(), order.begin() + n_candidates, order.end(),
                            [&](std::int32_t a, std::int32_t b) {
                              return dense[a] > dense[b] || (dense[a] == dense[b] && a < b);
                            });
          const Clock::time_point t1 = Clock::now();
          const RankOfQuery r1 = rank_by_scores(dense, targets);

          // Stage 2: MaxSim of the N candidates, stable re-order.
          const Clock::time_point t2 = Clock::now();
          for (std::int64_t c = 0; c < n_candidates; ++c) {
            candidate_rows[c] = gallery_rows[order[c]];
          }
          const float* query_tokens = in.query_tokens->item(query_row);
          const std::int64_t n_q = in.query_tokens->lengths[query_row];
          maxsim_candidates(query_tokens, n_q, *in.gallery_tokens, candidate_rows, rescored);
          std::iota(stage2.begin(), stage2.end(), 0);
          std::stable_sort(stage2.begin(), stage2.end(), [&](std::int64_t a, std::int64_t b) {
            return rescored[a] > rescored[b];
          });
          const Clock::time_point t3 = Clock::now();

          RankOfQuery r2 = r1;  // a best target beyond the depth keeps its stage-1 place
          for (std::int64_t k = 0; k < n_candidates; ++k) {
            const std::int32_t position = order[stage2[k]];
            if (std::find(targets.begin(), targets.end(), position) == targets.end()) continue;
            r2.rank = static_cast<std::int32_t>(k + 1);
            r2.tied = false;
            for (std::int64_t c = 0; c < n_candidates; ++c) {
              if (rescored[c] == rescored[stage2[k]] &&
                  std::find(targets.begin(), targets.end(), order[c]) == targets.end()) {
                r2.tied = true;
              }
            }
            break;
          }

          // Full: MaxSim against the whole gallery.
          maxsim_candidates(query_tokens, n_q, *in.gallery_tokens, gallery_rows, full);
          const RankOfQuery rf = rank_by_scores(full, targets);

          rank1[q] = r1.rank;
          tied1[q] = r1.tied;
          rank2[q] = r2.rank;
          tied2[q] = r2.tied;
          rank_full[q] = rf.rank;
          tied_full[q] = rf.tied;
          seconds1[q] = std::chrono::duration<double>(t1 - t0).count();
          seconds2[q] = std::chrono::duration<double>(t3 - t2).count();
        }
      },
      8);

  const auto count = [](const std::vector<std::uint8_t>& v) {
    return static_cast<std::int64_t>(std::count(v.begin(), v.end(), std::uint8_t{1}));
  };
  RerankDirectionResult r;
  r.stage1 =
      retrieval_metrics(task.direction, std::move(rank1), n_gallery, count(tied1), bootstrap, pool);
  r.stage2 =
      retrieval_metrics(task.direction, std::move(rank2), n_gallery, count(tied2), bootstrap, pool);
  r.full_maxsim = retrieval_metrics(task.direction, std::move(rank_full), n_gallery,
                                    count(tied_full), bootstrap, pool);
  r.stage1_latency = latency_of(std::move(seconds1));
  r.stage2_latency = latency_of(std::move(seconds2));
  return r;
}

// Every query of one direction against the whole gallery by MaxSim (the full ranking of
// run_direction alone), queries in parallel, each scored by one thread.
RetrievalMetrics full_maxsim_direction(const RetrievalTask& task, const MultiVectorSet& queries,
                                       const MultiVectorSet& gallery,
                                       const BootstrapOptions& bootstrap, ThreadPool& pool) {
  const std::int64_t n_queries = task.n_queries();
  const std::int64_t n_gallery = task.n_gallery();
  const std::vector<std::int64_t> gallery_rows(task.gallery_rows.begin(), task.gallery_rows.end());
  std::vector<std::int32_t> ranks(n_queries);
  std::vector<std::uint8_t> tied(n_queries);
  pool.parallel_for(
      n_queries,
      [&](std::int64_t begin, std::int64_t end) {
        std::vector<double> scores(n_gallery);
        for (std::int64_t q = begin; q < end; ++q) {
          const std::int32_t row = task.query_rows[q];
          maxsim_candidates(queries.item(row), queries.lengths[row], gallery, gallery_rows,
                            scores);
          const std::span<const std::int32_t> targets(
              task.target_ids.data() + task.target_begin[q],
              static_cast<std::size_t>(task.target_begin[q + 1] - task.target_begin[q]));
          const RankOfQuery r = rank_by_scores(scores, targets);
          ranks[q] = r.rank;
          tied[q] = r.tied;
        }
      },
      8);
  const auto ties = static_cast<std::int64_t>(std::count(tied.begin(), tied.end(), 1));
  return retrieval_metrics(task.direction, std::move(ranks), n_gallery, ties, bootstrap, pool);
}

void check_token_sets(const Dataset& dataset, const MultiVectorSet& image_tokens,
                      const MultiVectorSet& text_tokens) {
  if (image_tokens.n != dataset.n_images()) {
    fail("image tokens: {} items, expected {} (one per image of {} split '{}')", image_tokens.n,
         dataset.n_images(), dataset.annotation_path.string(), dataset.split);
  }
  if (text_tokens.n != dataset.n_captions()) {
    fail("text tokens: {} items, expected {} (one per caption of {} split '{}')", text_tokens.n,
         dataset.n_captions(), dataset.annotation_path.string(), dataset.split);
  }
  if (image_tokens.d != text_tokens.d) {
    fail("image tokens have dimension {} but text tokens {}: expected the same", image_tokens.d,
         text_tokens.d);
  }
}

}  // namespace

EvalResult evaluate_maxsim(const Dataset& dataset, const MultiVectorSet& image_tokens,
                           const MultiVectorSet& text_tokens, const EvalOptions& options) {
  check_token_sets(dataset, image_tokens, text_tokens);
  if (options.bootstrap.n_resamples < 0) {
    fail("--bootstrap must be >= 0, got {}", options.bootstrap.n_resamples);
  }
  ThreadPool pool(options.threads);
  EvalResult result;
  if (dataset.kind == "winoground") {
    result.protocol = "winoground";
    result.winoground = run_winoground(
        dataset,
        [&](std::int64_t caption, std::int64_t image) {
          return maxsim(text_tokens.item(caption), text_tokens.lengths[caption],
                        image_tokens.item(image), image_tokens.lengths[image], text_tokens.d);
        },
        pool, options.bootstrap);
    return result;
  }
  result.protocol = protocol_name(options.protocol);
  result.gemm = "maxsim";
  const RetrievalTask t2i = make_task(dataset, options.protocol, Direction::t2i);
  result.t2i = full_maxsim_direction(t2i, text_tokens, image_tokens, options.bootstrap, pool);
  const RetrievalTask i2t = make_task(dataset, options.protocol, Direction::i2t);
  result.i2t = full_maxsim_direction(i2t, image_tokens, text_tokens, options.bootstrap, pool);
  return result;
}

RerankResult evaluate_rerank(const Dataset& dataset, const MatrixF32& images,
                             const MatrixF32& texts, const MultiVectorSet& image_tokens,
                             const MultiVectorSet& text_tokens, const EvalOptions& options,
                             const RerankOptions& rerank) {
  if (dataset.kind == "winoground") {
    fail(
        "{}: two-stage re-ranking needs a retrieval dataset; winoground has no retrieval "
        "protocol",
        dataset.annotation_path.string());
  }
  if (images.rows != dataset.n_images() || texts.rows != dataset.n_captions()) {
    fail("embeddings have {} image rows and {} text rows, expected {} and {} ({} split '{}')",
         images.rows, texts.rows, dataset.n_images(), dataset.n_captions(),
         dataset.annotation_path.string(), dataset.split);
  }
  if (images.cols != texts.cols) {
    fail("image embeddings have dimension {} but text embeddings {}: expected the same",
         images.cols, texts.cols);
  }
  check_token_sets(dataset, image_tokens, text_tokens);
  if (rerank.depth < 1) fail("--rerank-depth must be >= 1, got {}", rerank.depth);
  if (options.bootstrap.n_resamples < 0) {
    fail("--bootstrap must be >= 0, got {}", options.bootstrap.n_resamples);
  }

  ThreadPool pool(options.threads);
  RerankResult result;
  result.protocol = protocol_name(options.protocol);
  result.depth = rerank.depth;
  const RetrievalTask t2i = make_task(dataset, options.protocol, Direction::t2i);
  result.t2i = run_direction({&t2i, &texts, &images, &text_tokens, &image_tokens}, rerank.depth,
                             options.bootstrap, pool);
  const RetrievalTask i2t = make_task(dataset, options.protocol, Direction::i2t);
  result.i2t = run_direction({&i2t, &images, &texts, &image_tokens, &text_tokens}, rerank.depth,
                             options.bootstrap, pool);
  return result;
}

}  // namespace vlbench
