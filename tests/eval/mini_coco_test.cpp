// Metrics on the bundled mini COCO (data/coco-karpathy-mini: 16 test images, images 2 and 8
// with 6 captions, 82 captions) with one-hot embeddings whose ranks are known by hand.
#include "test_util.hpp"

#include <vlbench/data/dataset.hpp>
#include <vlbench/eval/evaluate.hpp>

#include <gtest/gtest.h>

namespace vlbench {
namespace {

struct MiniCoco : ::testing::Test {
  void SetUp() override {
    DatasetOptions options;
    options.allow_any_size = true;
    dataset = open_dataset(
        "coco-karpathy:" + testing::repo_path("data/coco-karpathy-mini").string(), options);
    ASSERT_EQ(dataset.n_images(), 16);
    ASSERT_EQ(dataset.n_captions(), 82);
    ASSERT_EQ(dataset.image_caption_begin[3] - dataset.image_caption_begin[2], 6);
    ASSERT_EQ(dataset.image_caption_begin[9] - dataset.image_caption_begin[8], 6);
    // Image i is e_i; each caption is its image's vector, except the 6th caption of image 8,
    // which points at image 9.
    const std::int64_t n = dataset.n_images();
    images = {n, n, std::vector<float>(n * n, 0.0f)};
    texts = {dataset.n_captions(), n, std::vector<float>(dataset.n_captions() * n, 0.0f)};
    for (std::int64_t i = 0; i < n; ++i) images.row(i)[i] = 1.0f;
    for (std::int64_t c = 0; c < dataset.n_captions(); ++c) {
      texts.row(c)[dataset.caption_image[c]] = 1.0f;
    }
    moved = dataset.image_caption_begin[8] + 5;
    texts.row(moved)[8] = 0.0f;
    texts.row(moved)[9] = 1.0f;
  }

  EvalResult run(Protocol protocol) {
    EvalOptions options;
    options.protocol = protocol;
    options.bootstrap = {100, 0};
    return evaluate(dataset, images, texts, options);
  }

  Dataset dataset;
  MatrixF32 images, texts;
  std::int32_t moved = 0;
};

TEST_F(MiniCoco, StandardProtocol) {
  const EvalResult r = run(Protocol::standard);
  ASSERT_EQ(r.t2i->n_queries, 82);
  // The moved caption: image 9 scores higher, images 0..7 tie at 0 with lower indices.
  for (std::int32_t q = 0; q < 82; ++q) EXPECT_EQ(r.t2i->ranks[q], q == moved ? 10 : 1) << q;
  EXPECT_EQ(r.t2i->ties, 1);
  EXPECT_DOUBLE_EQ(r.t2i->r1.value, 81.0 / 82.0);
  EXPECT_DOUBLE_EQ(r.t2i->r5.value, 81.0 / 82.0);
  EXPECT_DOUBLE_EQ(r.t2i->r10.value, 1.0);
  EXPECT_DOUBLE_EQ(r.t2i->mrr.value, (81.0 + 0.1) / 82.0);
  // i2t: image 9 finds the moved caption (lower index, equal score) before its own.
  ASSERT_EQ(r.i2t->n_queries, 16);
  EXPECT_EQ(r.i2t->n_gallery, 82);
  for (std::int32_t q = 0; q < 16; ++q) EXPECT_EQ(r.i2t->ranks[q], q == 9 ? 2 : 1) << q;
  EXPECT_EQ(r.i2t->ties, 1);
  EXPECT_DOUBLE_EQ(r.i2t->r1.value, 15.0 / 16.0);
}

TEST_F(MiniCoco, SeedProtocolUsesFirstCaptions) {
  const EvalResult r = run(Protocol::seed);
  EXPECT_EQ(r.t2i->n_queries, 16);
  EXPECT_DOUBLE_EQ(r.t2i->r1.value, 1.0);
  EXPECT_EQ(r.i2t->n_gallery, 82);
  EXPECT_DOUBLE_EQ(r.i2t->r1.value, 15.0 / 16.0);
}

TEST_F(MiniCoco, SymmetricProtocolUsesFirstCaptionsBothWays) {
  const EvalResult r = run(Protocol::symmetric);
  EXPECT_EQ(r.t2i->n_queries, 16);
  EXPECT_EQ(r.i2t->n_gallery, 16);
  EXPECT_DOUBLE_EQ(r.i2t->r1.value, 1.0);
  EXPECT_EQ(r.i2t->ties, 0);
}

}  // namespace
}  // namespace vlbench
