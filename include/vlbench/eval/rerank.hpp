// Two-stage retrieval evaluation: dense top-N candidates (stage 1), re-scored by late
// interaction MaxSim (stage 2), compared with MaxSim over the whole gallery.
//
// For each direction of the protocol (t2i: caption queries over images; i2t: image queries
// over captions) and each query:
//   stage 1: the exact dense ranking (evaluate.hpp's rank rule on the unit embeddings);
//   stage 2: the top `depth` stage-1 items re-ordered by MaxSim (ties: stage-1 order), items
//            beyond the depth keep their stage-1 order after them;
//   full:    every gallery item ordered by MaxSim (ties: lower gallery row first).
// The query's rank is that of its best target in each ordering; metrics (R@1/5/10, MRR,
// median rank, bootstrap intervals) as in evaluate.hpp. When depth >= n_gallery and the
// token sets hold exactly the dense embeddings as single vectors, stage 2 equals stage 1 up
// to items whose scores differ by less than MaxSim's float32 rounding (about d · 2^-24):
// stage 1 orders by exact (double) scores, MaxSim by float32 dot products.
#pragma once

#include <vlbench/eval/evaluate.hpp>
#include <vlbench/index/maxsim.hpp>

#include <cstdint>

namespace vlbench {

struct RerankOptions {
  std::int64_t depth = 100;  // N candidates from stage 1, >= 1
};

// Per-query latency of each stage, seconds: p50 / p95 / p99 over the queries.
struct StageLatency {
  double p50 = 0, p95 = 0, p99 = 0;
};

struct RerankDirectionResult {
  RetrievalMetrics stage1;
  RetrievalMetrics stage2;
  RetrievalMetrics full_maxsim;
  StageLatency stage1_latency;  // dense top-N of one query (single-query search)
  StageLatency stage2_latency;  // MaxSim of the N candidates of one query
};

struct RerankResult {
  std::string protocol;
  std::int64_t depth = 0;
  std::optional<RerankDirectionResult> t2i;
  std::optional<RerankDirectionResult> i2t;
};

// Late interaction alone: evaluate()'s metrics with MaxSim over the whole gallery in place of
// the dense score. A query's tokens are summed (t2i: caption tokens over an image's tokens;
// i2t: image tokens over a caption's, as FILIP scores the two directions); Winoground scores
// s(caption, image) = MaxSim(caption tokens, image tokens). The rank rule and the bootstrap are
// evaluate()'s; EvalResult::gemm is "maxsim". Token counts and dimensions that disagree with
// the dataset are Errors naming them.
EvalResult evaluate_maxsim(const Dataset& dataset, const MultiVectorSet& image_tokens,
                           const MultiVectorSet& text_tokens, const EvalOptions& options);

// images/texts: unit dense embeddings as for evaluate(); image_tokens.n == n_images,
// text_tokens.n == n_captions, same d for both token sets (Errors name the counts).
// Winoground datasets are an Error (no retrieval protocol).
RerankResult evaluate_rerank(const Dataset& dataset, const MatrixF32& images,
                             const MatrixF32& texts, const MultiVectorSet& image_tokens,
                             const MultiVectorSet& text_tokens, const EvalOptions& options,
                             const RerankOptions& rerank);

}  // namespace vlbench
