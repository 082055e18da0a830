// Two-stage evaluation: stage 1 equals evaluate(); exact-arithmetic single-vector token sets
// give stage 2 = full = stage 1; a hand-built case where MaxSim moves ranks; stage 2 and full
// MaxSim ranks against a sort-based brute force; the input errors.
#include "eval_test_util.hpp"
#include "test_util.hpp"

#include <vlbench/core/random.hpp>
#include <vlbench/eval/evaluate.hpp>
#include <vlbench/eval/rerank.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace vlbench {
namespace {

using testing::expect_error;
using testing::make_dataset;

void expect_same_estimate(const Estimate& a, const Estimate& b, const char* what) {
  EXPECT_EQ(a.value, b.value) << what;
  EXPECT_EQ(a.lo, b.lo) << what;
  EXPECT_EQ(a.hi, b.hi) << what;
}

void expect_same_metrics(const RetrievalMetrics& a, const RetrievalMetrics& b) {
  EXPECT_EQ(a.direction, b.direction);
  EXPECT_EQ(a.n_queries, b.n_queries);
  EXPECT_EQ(a.n_gallery, b.n_gallery);
  EXPECT_EQ(a.ranks, b.ranks);
  EXPECT_EQ(a.ties, b.ties);
  expect_same_estimate(a.r1, b.r1, "r1");
  expect_same_estimate(a.r5, b.r5, "r5");
  expect_same_estimate(a.r10, b.r10, "r10");
  expect_same_estimate(a.mrr, b.mrr, "mrr");
  expect_same_estimate(a.median_rank, b.median_rank, "median_rank");
}

// Rows with entries from {-2, -1, 0, 1, 2} / 4: every product and partial sum is exact in
// float, so float dot products equal the exact scores and equal vectors tie exactly.
MatrixF32 grid_matrix(std::int64_t rows, std::int64_t d, SplitMix64& rng) {
  MatrixF32 m{rows, d, std::vector<float>(static_cast<std::size_t>(rows * d))};
  for (float& x : m.values) x = static_cast<float>(static_cast<int>(rng.below(5)) - 2) / 4.0f;
  for (std::int64_t r = 0; r < rows; ++r) m.row(r)[r % d] = 1.0f;  // no all-zero row
  return m;
}

MatrixF32 unit_matrix(std::int64_t rows, std::int64_t d, SplitMix64& rng) {
  MatrixF32 m{rows, d, std::vector<float>(static_cast<std::size_t>(rows * d))};
  for (std::int64_t r = 0; r < rows; ++r) {
    double norm = 0;
    for (std::int64_t p = 0; p < d; ++p) {
      m.row(r)[p] = static_cast<float>(rng.normal());
      norm += static_cast<double>(m.row(r)[p]) * m.row(r)[p];
    }
    const double inv = 1.0 / std::sqrt(norm);
    for (std::int64_t p = 0; p < d; ++p) m.row(r)[p] = static_cast<float>(m.row(r)[p] * inv);
  }
  return m;
}

// The dense rows as one-token sets (t_max 2: the padding row is never read).
MultiVectorSet single_token_sets(const MatrixF32& m) {
  MultiVectorSet s;
  s.n = m.rows;
  s.t_max = 2;
  s.d = m.cols;
  s.tokens.assign(static_cast<std::size_t>(m.rows * 2 * m.cols), 0.0f);
  for (std::int64_t r = 0; r < m.rows; ++r) {
    std::copy(m.row(r), m.row(r) + m.cols, s.tokens.begin() + r * 2 * m.cols);
  }
  s.lengths.assign(static_cast<std::size_t>(m.rows), 1);
  return s;
}

MultiVectorSet random_tokens(std::int64_t n, std::int64_t t_max, std::int64_t d, SplitMix64& rng) {
  MultiVectorSet s;
  s.n = n;
  s.t_max = t_max;
  s.d = d;
  s.tokens.assign(static_cast<std::size_t>(n * t_max * d), 0.0f);
  for (std::int64_t i = 0; i < n; ++i) {
    const auto length = static_cast<std::int32_t>(1 + rng.below(static_cast<std::uint64_t>(t_max)));
    s.lengths.push_back(length);
    for (std::int64_t k = 0; k < length * d; ++k) {
      s.tokens[i * t_max * d + k] = static_cast<float>(rng.normal());
    }
  }
  return s;
}

EvalOptions options_for(Protocol protocol) {
  EvalOptions options;
  options.protocol = protocol;
  options.bootstrap = {200, 5};
  options.threads = 2;
  return options;
}

TEST(Rerank, StageOneEqualsEvaluate) {
  const Dataset dataset = make_dataset({1, 3, 2, 5, 1, 1, 4, 2, 3, 1, 2, 2, 1, 6});
  SplitMix64 rng(3);
  for (const bool grid : {true, false}) {
    // Grid rows in d 3 tie often; unit rows in d 16 with copied rows tie exactly.
    MatrixF32 images =
        grid ? grid_matrix(dataset.n_images(), 3, rng) : unit_matrix(dataset.n_images(), 16, rng);
    MatrixF32 texts = grid ? grid_matrix(dataset.n_captions(), 3, rng)
                           : unit_matrix(dataset.n_captions(), 16, rng);
    std::copy(images.row(2), images.row(3), images.row(7));
    std::copy(texts.row(4), texts.row(5), texts.row(20));
    const MultiVectorSet image_tokens = random_tokens(dataset.n_images(), 5, 8, rng);
    const MultiVectorSet text_tokens = random_tokens(dataset.n_captions(), 4, 8, rng);
    for (const Protocol protocol : {Protocol::seed, Protocol::standard, Protocol::symmetric}) {
      for (const std::int64_t depth : {1, 4, 100}) {
        SCOPED_TRACE(::testing::Message() << "grid " << grid << " protocol "
                                          << protocol_name(protocol) << " depth " << depth);
        const EvalOptions options = options_for(protocol);
        const EvalResult dense = evaluate(dataset, images, texts, options);
        const RerankResult r =
            evaluate_rerank(dataset, images, texts, image_tokens, text_tokens, options, {depth});
        EXPECT_EQ(r.protocol, protocol_name(protocol));
        EXPECT_EQ(r.depth, depth);
        expect_same_metrics(r.t2i->stage1, *dense.t2i);
        expect_same_metrics(r.i2t->stage1, *dense.i2t);
        if (grid && protocol == Protocol::standard) {
          EXPECT_GT(dense.t2i->ties + dense.i2t->ties, 0);  // the tie rule is exercised
        }
        for (const auto* dir : {&*r.t2i, &*r.i2t}) {
          EXPECT_GT(dir->stage1_latency.p50, 0.0);
          EXPECT_LE(dir->stage1_latency.p50, dir->stage1_latency.p95);
          EXPECT_LE(dir->stage1_latency.p95, dir->stage1_latency.p99);
          EXPECT_GT(dir->stage2_latency.p50, 0.0);
          EXPECT_LE(dir->stage2_latency.p50, dir->stage2_latency.p95);
          EXPECT_LE(dir->stage2_latency.p95, dir->stage2_latency.p99);
        }
      }
    }
  }
}

TEST(Rerank, DenseTokensWithFullDepthReproduceStageOne) {
  const Dataset dataset = make_dataset({2, 1, 3, 1, 1, 2, 4, 1, 1, 2, 1});
  SplitMix64 rng(9);
  const MatrixF32 images = grid_matrix(dataset.n_images(), 3, rng);
  const MatrixF32 texts = grid_matrix(dataset.n_captions(), 3, rng);
  for (const Protocol protocol : {Protocol::seed, Protocol::standard, Protocol::symmetric}) {
    SCOPED_TRACE(protocol_name(protocol));
    const RerankResult r =
        evaluate_rerank(dataset, images, texts, single_token_sets(images), single_token_sets(texts),
                        options_for(protocol), {dataset.n_captions()});
    for (const auto* dir : {&*r.t2i, &*r.i2t}) {
      expect_same_metrics(dir->stage2, dir->stage1);
      expect_same_metrics(dir->full_maxsim, dir->stage1);
    }
  }
}

TEST(Rerank, HandBuiltReorder) {
  // Images e0, e1; caption 0 of image 0 is (0.6, 0.8), caption 1 of image 1 is e1.
  const Dataset dataset = make_dataset({1, 1});
  const MatrixF32 images = testing::make_matrix(2, {1, 0, 0, 1});
  const MatrixF32 texts = testing::make_matrix(2, {0.6f, 0.8f, 0, 1});
  // Image tokens: image 0 {e0, e1}; image 1 {(-1, -0.5)} + a zero padding row.
  MultiVectorSet image_tokens{2, 2, 2, {1, 0, 0, 1, -1, -0.5f, 0, 0}, {2, 1}};
  // Caption tokens: caption 0 {e0}, caption 1 {e1}.
  MultiVectorSet text_tokens{2, 1, 2, {1, 0, 0, 1}, {1, 1}};

  const EvalOptions options = options_for(Protocol::standard);
  RerankResult r = evaluate_rerank(dataset, images, texts, image_tokens, text_tokens, options, {2});
  // t2i dense: caption 0 scores image 1 (0.8) over image 0 (0.6): rank 2. MaxSim: caption 0
  // gets 1 from image 0 and -1 from image 1 (rank 1); caption 1 gets 1 from image 0 and -0.5
  // from image 1 (a zero padding row would have given 0): rank 2.
  EXPECT_EQ(r.t2i->stage1.ranks, (std::vector<std::int32_t>{2, 1}));
  EXPECT_EQ(r.t2i->stage2.ranks, (std::vector<std::int32_t>{1, 2}));
  EXPECT_EQ(r.t2i->full_maxsim.ranks, (std::vector<std::int32_t>{1, 2}));
  EXPECT_DOUBLE_EQ(r.t2i->stage2.r1.value, 0.5);
  EXPECT_DOUBLE_EQ(r.t2i->stage2.mrr.value, 0.75);
  // i2t: image 0's tokens give caption 0 and caption 1 both 1 (a tie kept in stage-1 order,
  // counted); image 1's token gives caption 0 -1 and caption 1 -0.5.
  EXPECT_EQ(r.i2t->stage1.ranks, (std::vector<std::int32_t>{1, 1}));
  EXPECT_EQ(r.i2t->stage1.ties, 0);
  EXPECT_EQ(r.i2t->stage2.ranks, (std::vector<std::int32_t>{1, 1}));
  EXPECT_EQ(r.i2t->stage2.ties, 1);
  EXPECT_EQ(r.i2t->full_maxsim.ranks, (std::vector<std::int32_t>{1, 1}));
  EXPECT_EQ(r.i2t->full_maxsim.ties, 1);

  // Depth 1: caption 0's target is beyond the depth and keeps its stage-1 rank.
  r = evaluate_rerank(dataset, images, texts, image_tokens, text_tokens, options, {1});
  EXPECT_EQ(r.t2i->stage2.ranks, (std::vector<std::int32_t>{2, 1}));
  EXPECT_EQ(r.t2i->full_maxsim.ranks, (std::vector<std::int32_t>{1, 2}));
}

// Rank of the first target in `order` (gallery positions, best first), 1-based.
std::int32_t first_target(const std::vector<std::int32_t>& order,
                          std::span<const std::int32_t> targets) {
  for (std::size_t k = 0; k < order.size(); ++k) {
    if (std::find(targets.begin(), targets.end(), order[k]) != targets.end()) {
      return static_cast<std::int32_t>(k + 1);
    }
  }
  ADD_FAILURE() << "no target";
  return 0;
}

TEST(Rerank, StageTwoAndFullMatchBruteForce) {
  const Dataset dataset = make_dataset({3, 1, 2, 2, 1, 4, 1, 2, 1, 1, 3, 2, 1, 1, 2, 1});
  SplitMix64 rng(21);
  const MatrixF32 images = unit_matrix(dataset.n_images(), 12, rng);
  const MatrixF32 texts = unit_matrix(dataset.n_captions(), 12, rng);
  const MultiVectorSet image_tokens = random_tokens(dataset.n_images(), 9, 7, rng);
  const MultiVectorSet text_tokens = random_tokens(dataset.n_captions(), 6, 7, rng);
  const std::int64_t depth = 5;
  for (const Protocol protocol : {Protocol::standard, Protocol::symmetric}) {
    const RerankResult r = evaluate_rerank(dataset, images, texts, image_tokens, text_tokens,
                                           options_for(protocol), {depth});
    for (const Direction direction : {Direction::t2i, Direction::i2t}) {
      SCOPED_TRACE(protocol_name(protocol) + " " + direction_name(direction));
      const RetrievalTask task = make_task(dataset, protocol, direction);
      const bool t2i = direction == Direction::t2i;
      const MatrixF32& q_dense = t2i ? texts : images;
      const MatrixF32& g_dense = t2i ? images : texts;
      const MultiVectorSet& q_tokens = t2i ? text_tokens : image_tokens;
      const MultiVectorSet& g_tokens = t2i ? image_tokens : text_tokens;
      const RerankDirectionResult& got = t2i ? *r.t2i : *r.i2t;
      for (std::int64_t q = 0; q < task.n_queries(); ++q) {
        const std::int32_t qr = task.query_rows[q];
        const std::span<const std::int32_t> targets(
            task.target_ids.data() + task.target_begin[q],
            static_cast<std::size_t>(task.target_begin[q + 1] - task.target_begin[q]));
        std::vector<double> dense, late;
        for (const std::int32_t gr : task.gallery_rows) {
          double s = 0;
          for (std::int64_t p = 0; p < q_dense.cols; ++p) {
            s += static_cast<double>(q_dense.row(qr)[p]) * g_dense.row(gr)[p];
          }
          dense.push_back(s);
          late.push_back(maxsim(q_tokens.item(qr), q_tokens.lengths[qr], g_tokens.item(gr),
                                g_tokens.lengths[gr], q_tokens.d));
        }
        const auto sorted_by = [&](const std::vector<double>& s) {
          std::vector<std::int32_t> order(s.size());
          std::iota(order.begin(), order.end(), 0);
          std::stable_sort(order.begin(), order.end(),
                           [&](std::int32_t a, std::int32_t b) { return s[a] > s[b]; });
          return order;
        };
        std::vector<std::int32_t> stage2 = sorted_by(dense);
        std::stable_sort(stage2.begin(), stage2.begin() + depth,
                         [&](std::int32_t a, std::int32_t b) { return late[a] > late[b]; });
        EXPECT_EQ(got.stage1.ranks[q], first_target(sorted_by(dense), targets)) << q;
        EXPECT_EQ(got.stage2.ranks[q], first_target(stage2, targets)) << q;
        EXPECT_EQ(got.full_maxsim.ranks[q], first_target(sorted_by(late), targets)) << q;
      }
    }
  }
}

TEST(Rerank, Errors) {
  const Dataset dataset = make_dataset({1, 2});
  SplitMix64 rng(1);
  const MatrixF32 images = unit_matrix(2, 4, rng);
  const MatrixF32 texts = unit_matrix(3, 4, rng);
  const MultiVectorSet image_tokens = random_tokens(2, 3, 5, rng);
  const MultiVectorSet text_tokens = random_tokens(3, 3, 5, rng);
  const EvalOptions options = options_for(Protocol::standard);
  expect_error(
      [&] { evaluate_rerank(dataset, images, texts, image_tokens, image_tokens, options, {10}); },
      {"text tokens", "2 items, expected 3", "caption"});
  expect_error(
      [&] { evaluate_rerank(dataset, images, texts, text_tokens, text_tokens, options, {10}); },
      {"image tokens", "3 items, expected 2", "image"});
  const MultiVectorSet narrow = random_tokens(3, 3, 4, rng);
  expect_error(
      [&] { evaluate_rerank(dataset, images, texts, image_tokens, narrow, options, {10}); },
      {"image tokens have dimension 5", "text tokens 4"});
  expect_error(
      [&] { evaluate_rerank(dataset, images, texts, image_tokens, text_tokens, options, {0}); },
      {"--rerank-depth", "got 0"});
  expect_error(
      [&] { evaluate_rerank(dataset, texts, texts, image_tokens, text_tokens, options, {10}); },
      {"3 image rows", "expected 2"});
  Dataset winoground = dataset;
  winoground.kind = "winoground";
  expect_error(
      [&] { evaluate_rerank(winoground, images, texts, image_tokens, text_tokens, options, {10}); },
      {"constructed.jsonl", "winoground"});
}


TEST(EvaluateMaxSim, HandBuiltRanksAreThoseOfTheFullMaxSim) {
  // The tokens of Rerank.HandBuiltReorder: caption 0 {e0}, caption 1 {e1}; image 0 {e0, e1},
  // image 1 {(-1, -0.5)}. t2i: caption 0 ranks image 0 first (1 vs -1), caption 1 image 1
  // second (1 from image 0, -0.5 from its own); i2t: image 0 scores both captions 1 (a tie).
  const Dataset dataset = make_dataset({1, 1});
  MultiVectorSet image_tokens{2, 2, 2, {1, 0, 0, 1, -1, -0.5f, 0, 0}, {2, 1}};
  MultiVectorSet text_tokens{2, 1, 2, {1, 0, 0, 1}, {1, 1}};
  const EvalResult r =
      evaluate_maxsim(dataset, image_tokens, text_tokens, options_for(Protocol::standard));
  EXPECT_EQ(r.gemm, "maxsim");
  EXPECT_EQ(r.t2i->ranks, (std::vector<std::int32_t>{1, 2}));
  EXPECT_EQ(r.t2i->ties, 0);
  EXPECT_DOUBLE_EQ(r.t2i->mrr.value, 0.75);
  EXPECT_EQ(r.i2t->ranks, (std::vector<std::int32_t>{1, 1}));
  EXPECT_EQ(r.i2t->ties, 1);
  // Counts that disagree with the dataset are errors naming them.
  MultiVectorSet three = text_tokens;
  three.n = 3;
  testing::expect_error(
      [&] { evaluate_maxsim(dataset, image_tokens, three, options_for(Protocol::standard)); },
      {"text tokens", "3 items", "expected 2"});
}

TEST(EvaluateMaxSim, EqualsTheFullMaxSimOfTheTwoStageEvaluation) {
  const Dataset dataset = make_dataset({3, 1, 2, 2, 1, 4, 1, 2, 1, 1, 3, 2, 1, 1, 2, 1});
  SplitMix64 rng(5);
  const MatrixF32 images = unit_matrix(dataset.n_images(), 12, rng);
  const MatrixF32 texts = unit_matrix(dataset.n_captions(), 12, rng);
  const MultiVectorSet image_tokens = random_tokens(dataset.n_images(), 9, 7, rng);
  const MultiVectorSet text_tokens = random_tokens(dataset.n_captions(), 6, 7, rng);
  for (const Protocol protocol : {Protocol::seed, Protocol::standard, Protocol::symmetric}) {
    EvalOptions options = options_for(protocol);
    const EvalResult full = evaluate_maxsim(dataset, image_tokens, text_tokens, options);
    const RerankResult two = evaluate_rerank(dataset, images, texts, image_tokens, text_tokens,
                                             options, {3});
    EXPECT_EQ(full.t2i->ranks, two.t2i->full_maxsim.ranks);
    EXPECT_EQ(full.i2t->ranks, two.i2t->full_maxsim.ranks);
    EXPECT_EQ(full.t2i->r1.lo, two.t2i->full_maxsim.r1.lo);  // same bootstrap
    // Any thread count: the same metrics.
    options.threads = 1;
    const EvalResult one = evaluate_maxsim(dataset, image_tokens, text_tokens, options);
    EXPECT_EQ(one.t2i->ranks, full.t2i->ranks);
    EXPECT_EQ(one.i2t->mrr.hi, full.i2t->mrr.hi);
  }
}

TEST(EvaluateMaxSim, WinogroundScoresCaptionTokensAgainstImageTokens) {
  // One example: caption 0 {e0}, caption 1 {e1}; image 0 {e0}, image 1 {(0.6, 0.8)}.
  // s(c0,i0) = 1, s(c0,i1) = 0.6, s(c1,i0) = 0, s(c1,i1) = 0.8: text and image right.
  Dataset dataset = make_dataset({});
  dataset.kind = "winoground";
  for (int j = 0; j < 2; ++j) {
    dataset.image_paths.push_back("img_" + std::to_string(j) + ".png");
    dataset.captions.push_back("caption");
    dataset.caption_image.push_back(j);
    dataset.image_caption_begin.push_back(j + 1);
  }
  dataset.examples.push_back({"0", "Object", "", "Object", 1});
  MultiVectorSet image_tokens{2, 1, 2, {1, 0, 0.6f, 0.8f}, {1, 1}};
  MultiVectorSet text_tokens{2, 1, 2, {1, 0, 0, 1}, {1, 1}};
  const EvalResult r =
      evaluate_maxsim(dataset, image_tokens, text_tokens, options_for(Protocol::standard));
  ASSERT_TRUE(r.winoground);
  EXPECT_EQ(r.winoground->outcome,
            (std::vector<std::uint8_t>{kWinogroundText | kWinogroundImage | kWinogroundGroup}));
  // Image 1 = {(0.6, 0.8), (1, 0)}: s(c0,i1) = 1 ties s(c0,i0) (the image score fails, flagged)
  // and beats s(c1,i1) = 0.8 (the text score fails).
  image_tokens = {2, 2, 2, {1, 0, 0, 0, 0.6f, 0.8f, 1, 0}, {1, 2}};
  const EvalResult tied =
      evaluate_maxsim(dataset, image_tokens, text_tokens, options_for(Protocol::standard));
  EXPECT_EQ(tied.winoground->outcome, (std::vector<std::uint8_t>{kWinogroundTie}));
}

}  // namespace
}  // namespace vlbench
