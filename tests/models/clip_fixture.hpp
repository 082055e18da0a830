// The tiny CLIP fixture (/work/shared/fixtures/clip-tiny-quickgelu) loaded once per test suite
// with one compute type, with its golden pixels and caption ids.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <vector>

#include "test_util.hpp"
#include "vlbench/models/clip.hpp"

namespace vlbench::testing {

template <ComputeType kCompute>
class ClipTinyFixture : public ::testing::Test {
 protected:
  static ClipModel load(ComputeType compute, int threads) {
    ClipLoadOptions options;
    options.compute = compute;
    options.threads = threads;
    return ClipModel::load(clip_fixture_dir(), options);
  }

  static bool available() {
    return std::filesystem::exists(clip_fixture_dir()) &&
           make_backend("cpu")->supports(kCompute);
  }

  static void SetUpTestSuite() {
    if (!available()) return;
    model_ = std::make_unique<ClipModel>(load(kCompute, 2));
    pixels_ = read_npy_f32(clip_fixture_dir() / "golden" / "pixel_values.npy", {8, 3, 64, 64});
    ids_ = clip_fixture_golden_ids();
  }
  static void TearDownTestSuite() { model_.reset(); }

  void SetUp() override {
    if (!std::filesystem::exists(clip_fixture_dir())) {
      GTEST_SKIP() << "no fixture at " << clip_fixture_dir();
    }
    if (!available()) GTEST_SKIP() << "this build has no " << compute_type_name(kCompute);
  }

  // image_embeds of golden images first .. first + n - 1: n × embed_dim.
  static std::vector<float> images(const ClipModel& model, std::int64_t first, std::int64_t n) {
    std::vector<float> out(static_cast<std::size_t>(n * model.embed_dim()));
    model.encode_images(pixels_.data() + first * 3 * 64 * 64, n, out.data());
    return out;
  }
  static std::vector<float> texts(const ClipModel& model,
                                  const std::vector<std::vector<std::int32_t>>& ids) {
    std::vector<float> out(ids.size() * static_cast<std::size_t>(model.embed_dim()));
    model.encode_texts(ids, out.data());
    return out;
  }

  static inline std::unique_ptr<ClipModel> model_;
  static inline std::vector<float> pixels_;                  // [8, 3, 64, 64]
  static inline std::vector<std::vector<std::int32_t>> ids_;  // 8 golden captions
};

}  // namespace vlbench::testing
