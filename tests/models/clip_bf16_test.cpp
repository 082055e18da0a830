// ComputeType::bf16 of the CLIP engine on the CPU backend (every Linear layer bf16, attention,
// layer norms and the residual stream float32) against the golden float64 outputs of
// /work/shared/fixtures/clip-tiny-quickgelu/golden.
#include <gtest/gtest.h>

#include "clip_fixture.hpp"
#include "test_util.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "vlbench/core/error.hpp"
#include "vlbench/core/npy.hpp"
#include "vlbench/kernels/ops.hpp"
#include "vlbench/models/clip.hpp"

namespace vlbench {
namespace {

namespace fs = std::filesystem;
using testing::clip_fixture_dir;
using testing::clip_fixture_golden_ids;
using testing::max_abs_diff;
using testing::min_row_cosine;
using testing::read_npy_f32;

constexpr std::int64_t kDim = 32;  // projection_dim of the fixture

// max |a - b| relative to max |b|.
double relative_max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    diff = std::max(diff, std::abs(double{a[i]} - b[i]));
    scale = std::max(scale, std::abs(double{b[i]}));
  }
  return diff / scale;
}

class ClipTinyBf16 : public testing::ClipTinyFixture<ComputeType::bf16> {};

TEST_F(ClipTinyBf16, ImageEmbedsCloseToGolden) {
  const std::vector<float> golden =
      read_npy_f32(clip_fixture_dir() / "golden" / "image_embeds.npy", {8, kDim});
  const std::vector<float> bf16 = images(*model_, 0, 8);
  const double cosine = min_row_cosine(bf16, golden, kDim);
  std::printf("bf16 image_embeds: min cosine to golden %.7f, relative max diff %.3g\n", cosine,
              relative_max_diff(bf16, golden));
  EXPECT_GE(cosine, 0.999);
}

TEST_F(ClipTinyBf16, TextEmbedsCloseToGolden) {
  ASSERT_EQ(ids_.size(), 8u);
  const std::vector<float> golden =
      read_npy_f32(clip_fixture_dir() / "golden" / "text_embeds.npy", {8, kDim});
  const std::vector<float> bf16 = texts(*model_, ids_);
  const double cosine = min_row_cosine(bf16, golden, kDim);
  std::printf("bf16 text_embeds: min cosine to golden %.7f, relative max diff %.3g\n", cosine,
              relative_max_diff(bf16, golden));
  EXPECT_GE(cosine, 0.999);
}

TEST_F(ClipTinyBf16, ComputesInBf16NotFloat32) {
  // The float32 engine matches golden to ~1e-6; bf16 rounding must leave a visible trace.
  const ClipModel fp32 = load(ComputeType::fp32, 2);
  EXPECT_GT(relative_max_diff(images(*model_, 0, 8), images(fp32, 0, 8)), 1e-5);
  EXPECT_GT(relative_max_diff(texts(*model_, ids_), texts(fp32, ids_)), 1e-5);
  EXPECT_EQ(model_->parameter_count(), fp32.parameter_count());
}

TEST_F(ClipTinyBf16, BatchOfOneMatchesBatchOfEight) {
  // Other row counts change the float32 summation order inside the matmul, and an input that
  // then lands on the other side of a bf16 rounding boundary moves by one bf16 step.
  const std::vector<float> batch = images(*model_, 0, 8);
  std::vector<float> single;
  for (std::int64_t i = 0; i < 8; ++i) {
    const std::vector<float> one = images(*model_, i, 1);
    single.insert(single.end(), one.begin(), one.end());
  }
  const double image_diff = relative_max_diff(single, batch);
  std::vector<float> text_single;
  for (const auto& caption : ids_) {
    const std::vector<float> one = texts(*model_, {caption});
    text_single.insert(text_single.end(), one.begin(), one.end());
  }
  const std::vector<std::vector<std::int32_t>> same_length(8, ids_[0]);  // one group of 8
  const std::vector<float> text_batch = texts(*model_, same_length);
  const std::vector<float> text_one = texts(*model_, {ids_[0]});
  double text_diff = relative_max_diff(text_single, texts(*model_, ids_));
  for (std::int64_t i = 0; i < 8; ++i) {
    const std::vector<float> row(text_batch.begin() + i * kDim,
                                 text_batch.begin() + (i + 1) * kDim);
    text_diff = std::max(text_diff, relative_max_diff(row, text_one));
  }
  std::printf("bf16 batch 1 vs 8: relative max diff images %.3g, texts %.3g\n", image_diff,
              text_diff);
  EXPECT_LE(image_diff, 1e-3);
  EXPECT_LE(text_diff, 1e-3);
}

TEST_F(ClipTinyBf16, OneThreadMatchesTwo) {
  const ClipModel one = load(ComputeType::bf16, 1);
  const double image_diff = relative_max_diff(images(one, 0, 8), images(*model_, 0, 8));
  const double text_diff = relative_max_diff(texts(one, ids_), texts(*model_, ids_));
  std::printf("bf16 1 vs 2 threads: relative max diff images %.3g, texts %.3g\n", image_diff,
              text_diff);
  EXPECT_LE(image_diff, 1e-3);
  EXPECT_LE(text_diff, 1e-3);
}

}  // namespace
}  // namespace vlbench
