#include "eval/eval_test_util.hpp"
#include "test_util.hpp"

#include <vlbench/core/error.hpp>
#include <vlbench/core/random.hpp>
#include <vlbench/eval/embeddings.hpp>
#include <vlbench/eval/evaluate.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace vlbench {
namespace {

using testing::make_dataset;
using testing::make_matrix;

EvalOptions options_for(Protocol protocol, int threads = 1) {
  EvalOptions options;
  options.protocol = protocol;
  options.bootstrap = {200, 0};
  options.threads = threads;
  return options;
}

EvalResult run(const Dataset& dataset, MatrixF32 images, MatrixF32 texts, Protocol protocol) {
  normalize_rows(images, "images");
  normalize_rows(texts, "texts");
  return evaluate(dataset, images, texts, options_for(protocol));
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Evaluate, TiesAreBrokenByGalleryIndexAndCounted) {
  // Images 0 and 2 are the same vector, so captions 0 and 2 (and images 0 and 2 in i2t) tie.
  const Dataset dataset = make_dataset({1, 1, 1});
  const EvalResult r = run(dataset, make_matrix(2, {1, 0, 0, 1, 1, 0}),
                           make_matrix(2, {1, 0, 0.6f, 0.8f, 1, 0}), Protocol::standard);
  ASSERT_TRUE(r.t2i && r.i2t);
  EXPECT_EQ(r.t2i->ranks, (std::vector<std::int32_t>{1, 1, 2}));
  EXPECT_EQ(r.t2i->ties, 2);
  EXPECT_EQ(r.i2t->ranks, (std::vector<std::int32_t>{1, 1, 2}));
  EXPECT_EQ(r.i2t->ties, 2);
  EXPECT_DOUBLE_EQ(r.t2i->r1.value, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(r.t2i->r5.value, 1.0);
  EXPECT_DOUBLE_EQ(r.t2i->r10.value, 1.0);
  EXPECT_DOUBLE_EQ(r.t2i->mrr.value, 2.5 / 3.0);
  EXPECT_DOUBLE_EQ(r.t2i->median_rank.value, 1.0);
  EXPECT_EQ(r.t2i->n_queries, 3);
  EXPECT_EQ(r.t2i->n_gallery, 3);
}

TEST(Evaluate, MultipleCaptionsPerImageUnderEachProtocol) {
  // Image 0's first caption points at image 1; its second caption is right.
  const Dataset dataset = make_dataset({2, 1});
  const MatrixF32 images = make_matrix(2, {1, 0, 0, 1});
  const MatrixF32 texts = make_matrix(2, {0, 1, 1, 0, 0.8f, 0.6f});

  const EvalResult standard = run(dataset, images, texts, Protocol::standard);
  EXPECT_EQ(standard.t2i->ranks, (std::vector<std::int32_t>{2, 1, 2}));
  EXPECT_DOUBLE_EQ(standard.t2i->r1.value, 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(standard.t2i->median_rank.value, 2.0);
  EXPECT_DOUBLE_EQ(standard.t2i->mrr.value, 2.0 / 3.0);
  // i2t: image 0's best caption is its second one (rank 1); image 1's caption is beaten by c0.
  EXPECT_EQ(standard.i2t->ranks, (std::vector<std::int32_t>{1, 2}));
  EXPECT_DOUBLE_EQ(standard.i2t->median_rank.value, 1.5);
  EXPECT_EQ(standard.i2t->n_gallery, 3);

  const EvalResult seed = run(dataset, images, texts, Protocol::seed);
  EXPECT_EQ(seed.t2i->ranks, (std::vector<std::int32_t>{2, 2}));
  EXPECT_EQ(seed.i2t->ranks, (std::vector<std::int32_t>{1, 2}));

  const EvalResult symmetric = run(dataset, images, texts, Protocol::symmetric);
  EXPECT_EQ(symmetric.t2i->ranks, (std::vector<std::int32_t>{2, 2}));
  EXPECT_EQ(symmetric.i2t->ranks, (std::vector<std::int32_t>{2, 2}));
  EXPECT_EQ(symmetric.i2t->n_gallery, 2);
}

Dataset winoground_dataset(int n_examples) {
  Dataset d = make_dataset({});
  d.kind = "winoground";
  for (int e = 0; e < n_examples; ++e) {
    for (int j = 0; j < 2; ++j) {
      d.image_paths.push_back("ex_" + std::to_string(e) + "_img_" + std::to_string(j) + ".png");
      d.captions.push_back("caption");
      d.caption_image.push_back(2 * e + j);
      d.image_caption_begin.push_back(2 * e + j + 1);
    }
    d.examples.push_back({std::to_string(e), "Object", "", e % 2 ? "Relation" : "Object", 1});
  }
  return d;
}

TEST(Evaluate, WinogroundOutcomeIsStrict) {
  // text = s(c0,i0) > s(c1,i0) and s(c1,i1) > s(c0,i1); image = s(c0,i0) > s(c0,i1) and
  // s(c1,i1) > s(c1,i0). Arguments: (c0_i0, c0_i1, c1_i0, c1_i1).
  EXPECT_EQ(winoground_outcome(0.9, 0.1, 0.2, 0.8),
            kWinogroundText | kWinogroundImage | kWinogroundGroup);
  // Text right, image wrong: c0 prefers i1 over i0.
  EXPECT_EQ(winoground_outcome(0.5, 0.6, 0.1, 0.9), kWinogroundText);
  // Image right, text wrong: i0 prefers c1.
  EXPECT_EQ(winoground_outcome(0.5, 0.1, 0.6, 0.9), kWinogroundImage);
  // An exact tie fails its comparison and is flagged.
  EXPECT_EQ(winoground_outcome(0.5, 0.1, 0.5, 0.9), kWinogroundImage | kWinogroundTie);
  EXPECT_EQ(winoground_outcome(0.5, 0.5, 0.5, 0.5), kWinogroundTie);
}

TEST(Evaluate, WinogroundScoresOverallAndPerTag) {
  const Dataset dataset = winoground_dataset(4);
  // Example 0 (Object): perfect. Example 1 (Relation): duplicate images -> ties, all fail.
  // Example 2 (Object): text right, image wrong. Example 3 (Relation): perfect.
  MatrixF32 images = make_matrix(2, {1, 0, 0, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 1});
  MatrixF32 texts = make_matrix(2, {1, 0, 0, 1, 1, 0, 0, 1, 0.6f, 0.8f, 0.28f, 0.96f, 1, 0, 0, 1});
  // Example 2: s(c0,i0)=.6 s(c0,i1)=.8 s(c1,i0)=.28 s(c1,i1)=.96 -> text yes, image no.
  normalize_rows(images, "images");
  normalize_rows(texts, "texts");
  const EvalResult r = evaluate(dataset, images, texts, options_for(Protocol::standard));
  ASSERT_TRUE(r.winoground);
  EXPECT_FALSE(r.t2i);
  EXPECT_EQ(r.protocol, "winoground");
  const auto& w = *r.winoground;
  EXPECT_EQ(w.outcome[0], kWinogroundText | kWinogroundImage | kWinogroundGroup);
  EXPECT_EQ(w.outcome[1], kWinogroundTie);
  EXPECT_EQ(w.outcome[2], kWinogroundText);
  EXPECT_EQ(w.overall.n_examples, 4);
  EXPECT_DOUBLE_EQ(w.overall.text.value, 0.75);
  EXPECT_DOUBLE_EQ(w.overall.image.value, 0.5);
  EXPECT_DOUBLE_EQ(w.overall.group.value, 0.5);
  EXPECT_EQ(w.overall.ties, 1);
  ASSERT_EQ(w.by_collapsed_tag.size(), 2u);
  EXPECT_DOUBLE_EQ(w.by_collapsed_tag.at("Object").text.value, 1.0);
  EXPECT_DOUBLE_EQ(w.by_collapsed_tag.at("Object").image.value, 0.5);
  EXPECT_DOUBLE_EQ(w.by_collapsed_tag.at("Relation").group.value, 0.5);
  EXPECT_EQ(w.by_collapsed_tag.at("Relation").ties, 1);
}

// Clustered random embeddings: image i and its captions share a latent vector.
void random_embeddings(const Dataset& dataset, int d, double noise, MatrixF32& images,
                       MatrixF32& texts) {
  images = {dataset.n_images(), d, std::vector<float>(dataset.n_images() * d)};
  texts = {dataset.n_captions(), d, std::vector<float>(dataset.n_captions() * d)};
  SplitMix64 rng(42);
  std::vector<double> latent(d);
  for (std::int64_t i = 0; i < dataset.n_images(); ++i) {
    for (auto& x : latent) x = rng.normal();
    for (int j = 0; j < d; ++j)
      images.row(i)[j] = static_cast<float>(latent[j] + noise * rng.normal());
    for (auto c = dataset.image_caption_begin[i]; c < dataset.image_caption_begin[i + 1]; ++c) {
      for (int j = 0; j < d; ++j)
        texts.row(c)[j] = static_cast<float>(latent[j] + noise * rng.normal());
    }
  }
  normalize_rows(images, "images");
  normalize_rows(texts, "texts");
}

TEST(Evaluate, IdenticalForOneAndTwoThreads) {
  const Dataset dataset =
      make_dataset({5, 6, 5, 5, 5, 5, 6, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
                    5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5});
  MatrixF32 images, texts;
  random_embeddings(dataset, 16, 1.2, images, texts);
  const EvalResult one = evaluate(dataset, images, texts, options_for(Protocol::standard, 1));
  const EvalResult two = evaluate(dataset, images, texts, options_for(Protocol::standard, 2));
  for (auto pair : {std::make_pair(&one.t2i, &two.t2i), std::make_pair(&one.i2t, &two.i2t)}) {
    const RetrievalMetrics& a = **pair.first;
    const RetrievalMetrics& b = **pair.second;
    EXPECT_EQ(a.ranks, b.ranks);
    for (auto [x, y] :
         {std::make_pair(a.r1, b.r1), std::make_pair(a.r5, b.r5), std::make_pair(a.r10, b.r10),
          std::make_pair(a.mrr, b.mrr), std::make_pair(a.median_rank, b.median_rank)}) {
      EXPECT_EQ(x.value, y.value);
      EXPECT_EQ(x.lo, y.lo);
      EXPECT_EQ(x.hi, y.hi);
    }
  }
  // The noise makes the task hard but far above chance (1/40).
  EXPECT_GT(one.t2i->r1.value, 0.2);
  EXPECT_LT(one.t2i->r1.value, 0.95);
  EXPECT_LT(one.t2i->r1.lo, one.t2i->r1.value);
  EXPECT_GT(one.t2i->r1.hi, one.t2i->r1.value);
}

TEST(Evaluate, RowCountsAndDimensionsMustMatchTheDataset) {
  const Dataset dataset = make_dataset({2, 1});
  MatrixF32 images = make_matrix(2, {1, 0, 0, 1});
  MatrixF32 texts = make_matrix(2, {0, 1, 1, 0, 0.8f, 0.6f});
  const EvalOptions options = options_for(Protocol::standard);
  std::string message = error_of([&] {
    evaluate(dataset, make_matrix(2, {1, 0}), texts, options, "I.npy", "T.npy");
  });
  EXPECT_NE(message.find("I.npy: has 1 rows, expected 2"), std::string::npos) << message;
  message = error_of([&] {
    evaluate(dataset, images, make_matrix(2, {1, 0, 0, 1}), options, "I.npy", "T.npy");
  });
  EXPECT_NE(message.find("T.npy: has 2 rows, expected 3"), std::string::npos) << message;
  message = error_of([&] {
    evaluate(dataset, images, make_matrix(3, {1, 0, 0, 0, 1, 0, 1, 1, 0}), options, "I.npy",
             "T.npy");
  });
  EXPECT_NE(message.find("I.npy has dimension 2 but T.npy has dimension 3"), std::string::npos)
      << message;
}

TEST(Embeddings, BadValuesNameTheFileAndRow) {
  testing::TempDir dir;
  const auto write = [&](const std::string& name, std::vector<float> values, std::int64_t rows,
                         std::int64_t cols) {
    write_npy(dir / name, DType::f32, {rows, cols}, values.data());
    return dir / name;
  };
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  std::string message = error_of([&] {
    load_unit_embeddings(write("nan.npy", {1, 2, 3, nan}, 2, 2), "image embeddings");
  });
  EXPECT_NE(message.find("image embeddings"), std::string::npos) << message;
  EXPECT_NE(message.find("nan.npy: row 1 column 1 is nan"), std::string::npos) << message;
  message = error_of([&] { load_unit_embeddings(write("inf.npy", {inf, 2}, 1, 2), "x"); });
  EXPECT_NE(message.find("row 0 column 0 is inf"), std::string::npos) << message;
  message = error_of([&] {
    load_unit_embeddings(write("zero.npy", {1, 2, 0, 0, 3, 4}, 3, 2), "text embeddings");
  });
  EXPECT_NE(message.find("zero.npy: row 1 is all zeros"), std::string::npos) << message;

  const MatrixF32 unit = load_unit_embeddings(write("ok.npy", {3, 4, 0, 2}, 2, 2), "x");
  EXPECT_FLOAT_EQ(unit.row(0)[0], 0.6f);
  EXPECT_FLOAT_EQ(unit.row(0)[1], 0.8f);
  EXPECT_FLOAT_EQ(unit.row(1)[1], 1.0f);

  std::vector<std::int32_t> ints = {1, 2};
  write_npy(dir / "ints.npy", DType::i32, {1, 2}, ints.data());
  message = error_of([&] { load_unit_embeddings(dir / "ints.npy", "image embeddings"); });
  EXPECT_NE(message.find("ints.npy"), std::string::npos) << message;
  message = error_of([&] { load_unit_embeddings(dir / "missing.npy", "image embeddings"); });
  EXPECT_NE(message.find("missing.npy"), std::string::npos) << message;
}

}  // namespace
}  // namespace vlbench
