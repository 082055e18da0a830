// The CPU CLIP engine against the golden outputs of the reference forward pass (float64
// PyTorch, /work/shared/fixtures/clip-tiny-quickgelu/golden), plus its invariances and errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "clip_fixture.hpp"
#include "test_util.hpp"
#include "vlbench/core/error.hpp"
#include "vlbench/core/npy.hpp"
#include "vlbench/core/safetensors.hpp"
#include "vlbench/kernels/ops.hpp"
#include "vlbench/models/checkpoint.hpp"
#include "vlbench/models/clip.hpp"

namespace vlbench {
namespace {

namespace fs = std::filesystem;
using testing::clip_fixture_dir;
using testing::clip_fixture_golden_ids;
using testing::max_abs_diff;
using testing::read_npy_f32;

constexpr std::int32_t kEndOfText = 49407;

class ClipTiny : public testing::ClipTinyFixture<ComputeType::fp32> {};

TEST_F(ClipTiny, ConfigAndParameterCount) {
  EXPECT_EQ(model_->embed_dim(), 32);
  EXPECT_EQ(model_->config().vision.hidden_size, 128);
  EXPECT_EQ(model_->config().text.hidden_size, 64);
  // Every tensor of the file except the position_ids buffers, counted independently.
  const SafetensorsFile file(clip_fixture_dir() / "model.safetensors");
  std::int64_t expected = 0;
  for (const TensorInfo& tensor : file.tensors()) {
    if (tensor.name.find("position_ids") != std::string::npos) continue;
    std::int64_t numel = 1;
    for (std::int64_t extent : tensor.shape) numel *= extent;
    expected += numel;
  }
  EXPECT_EQ(model_->parameter_count(), expected);
}

TEST_F(ClipTiny, ImageEmbedsMatchGolden) {
  const std::vector<float> golden =
      read_npy_f32(clip_fixture_dir() / "golden" / "image_embeds.npy", {8, 32});
  const float diff = max_abs_diff(images(*model_, 0, 8), golden);
  std::printf("image_embeds max abs diff vs golden: %.3g\n", static_cast<double>(diff));
  EXPECT_LE(diff, 1e-4f);
}

TEST_F(ClipTiny, TextEmbedsMatchGolden) {
  ASSERT_EQ(ids_.size(), 8u);
  const std::vector<float> golden = read_npy_f32(clip_fixture_dir() / "golden" / "text_embeds.npy", {8, 32});
  const float diff = max_abs_diff(texts(*model_, ids_), golden);
  std::printf("text_embeds max abs diff vs golden: %.3g\n", static_cast<double>(diff));
  EXPECT_LE(diff, 1e-4f);
}

TEST_F(ClipTiny, LogitsMatchGolden) {
  // logits_per_image = exp(logit_scale) · cosine(image, text): checks logit_scale too.
  const std::vector<float> golden =
      read_npy_f32(clip_fixture_dir() / "golden" / "logits_per_image.npy", {8, 8});
  const std::vector<float> image = images(*model_, 0, 8);
  const std::vector<float> text = texts(*model_, ids_);
  const double scale = std::exp(static_cast<double>(model_->logit_scale()));
  auto norm = [](const float* v) {
    double sum = 0.0;
    for (int i = 0; i < 32; ++i) sum += double{v[i]} * v[i];
    return std::sqrt(sum);
  };
  double worst = 0.0;
  for (int i = 0; i < 8; ++i) {
    for (int t = 0; t < 8; ++t) {
      double dot = 0.0;
      for (int k = 0; k < 32; ++k) dot += double{image[i * 32 + k]} * text[t * 32 + k];
      const double logit = scale * dot / (norm(&image[i * 32]) * norm(&text[t * 32]));
      worst = std::max(worst, std::abs(logit - golden[i * 8 + t]));
    }
  }
  std::printf("logits_per_image max abs diff vs golden: %.3g\n", worst);
  EXPECT_LE(worst, 1e-3);
}

TEST_F(ClipTiny, BatchOfOneEqualsFullBatch) {
  const std::vector<float> all_images = images(*model_, 0, 8);
  const std::vector<float> all_texts = texts(*model_, ids_);
  for (std::int64_t i = 0; i < 8; ++i) {
    const std::vector<float> one = images(*model_, i, 1);
    const std::vector<float> expected(all_images.begin() + i * 32,
                                      all_images.begin() + i * 32 + 32);
    EXPECT_LE(max_abs_diff(one, expected), 1e-5f) << "image " << i;
    const std::vector<float> one_text = texts(*model_, {ids_[static_cast<std::size_t>(i)]});
    const std::vector<float> expected_text(all_texts.begin() + i * 32,
                                           all_texts.begin() + i * 32 + 32);
    EXPECT_LE(max_abs_diff(one_text, expected_text), 1e-5f) << "caption " << i;
  }
}

TEST_F(ClipTiny, OneThreadEqualsTwo) {
  ClipLoadOptions options;
  options.threads = 1;
  const ClipModel single = ClipModel::load(clip_fixture_dir(), options);
  EXPECT_LE(max_abs_diff(images(single, 0, 8), images(*model_, 0, 8)), 1e-5f);
  EXPECT_LE(max_abs_diff(texts(single, ids_), texts(*model_, ids_)), 1e-5f);
}

TEST_F(ClipTiny, EqualLengthCaptionsBatchTogether) {
  // The same caption three times (one group) and interleaved with another length.
  const std::vector<std::vector<std::int32_t>> ids = {ids_[0], ids_[7], ids_[0], ids_[0]};
  const std::vector<float> out = texts(*model_, ids);
  const std::vector<float> first = texts(*model_, {ids_[0]});
  const std::vector<float> last = texts(*model_, {ids_[7]});
  for (int c : {0, 2, 3}) {
    EXPECT_LE(
        max_abs_diff(std::vector<float>(out.begin() + c * 32, out.begin() + c * 32 + 32), first),
        1e-5f);
  }
  EXPECT_LE(max_abs_diff(std::vector<float>(out.begin() + 32, out.begin() + 64), last), 1e-5f);
}

TEST_F(ClipTiny, TokensAfterTheEndTokenDoNotMatter) {
  // Causal mask + pooling at the first end token: trailing padding changes nothing.
  std::vector<std::int32_t> padded = ids_[0];
  padded.insert(padded.end(), {0, 0, 320});
  EXPECT_LE(max_abs_diff(texts(*model_, {padded}), texts(*model_, {ids_[0]})), 1e-5f);
}

TEST_F(ClipTiny, BadCaptionsAreErrors) {
  float out[32];
  auto message = [&](const std::vector<std::vector<std::int32_t>>& ids) {
    try {
      model_->encode_texts(ids, out);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({{49406, 320, 1125}}).find("no end token (eos_token_id 49407)"),
            std::string::npos);
  EXPECT_NE(message({{49406, 49408, 49407}}).find("token id 49408 at position 1"),
            std::string::npos);
  EXPECT_NE(message({{}}).find("caption 0: expected 1 to 77 token ids"), std::string::npos);
  EXPECT_NE(message({std::vector<std::int32_t>(78, kEndOfText)}).find("got 78"), std::string::npos);
  EXPECT_NE(message({ids_[0], {-1, 49407}}).find("caption 1: token id -1"), std::string::npos);
}

TEST_F(ClipTiny, Bf16ComputeLoadsWhereOneDnnIsBuilt) {
  // Its numbers are checked in clip_bf16_test.cpp; without oneDNN it is an Error naming bf16.
  ClipLoadOptions options;
  options.compute = ComputeType::bf16;
  options.threads = 1;
  if (bf16_linear_available()) {
    const ClipModel model = ClipModel::load(clip_fixture_dir(), options);
    EXPECT_EQ(model.embed_dim(), 32);
    EXPECT_EQ(model.parameter_count(), model_->parameter_count());
    return;
  }
  try {
    ClipModel::load(clip_fixture_dir(), options);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bf16"), std::string::npos) << e.what();
  }
}

TEST_F(ClipTiny, EosTokenIdTwoPoolsAtArgmax) {
  // The openai/laion configs say eos_token_id 2: pooling is then at argmax(ids), which is the
  // end token 49407 (the largest id), so the golden embeddings still come out.
  testing::TempDir dir;
  fs::copy_file(clip_fixture_dir() / "model.safetensors", dir / "model.safetensors");
  std::string config;
  {
    std::FILE* file = std::fopen((clip_fixture_dir() / "config.json").c_str(), "rb");
    ASSERT_NE(file, nullptr);
    char buffer[4096];
    std::size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) config.append(buffer, n);
    std::fclose(file);
  }
  const std::string key = "\"eos_token_id\": 49407";
  const std::size_t at = config.find(key);
  ASSERT_NE(at, std::string::npos);
  config.replace(at, key.size(), "\"eos_token_id\": 2");
  testing::write_text(dir / "config.json", config);
  const ClipModel model = ClipModel::load(dir.path());
  ASSERT_EQ(model.config().eos_token_id, 2);
  const std::vector<float> golden = read_npy_f32(clip_fixture_dir() / "golden" / "text_embeds.npy", {8, 32});
  EXPECT_LE(max_abs_diff(texts(model, ids_), golden), 1e-4f);
  // No 49407 at all is fine here: the pooled token is the largest id.
  std::vector<std::int32_t> no_end = ids_[0];
  no_end.pop_back();
  std::vector<std::int32_t> cut = no_end;
  const auto largest = std::max_element(cut.begin(), cut.end()) - cut.begin();
  cut.resize(static_cast<std::size_t>(largest) + 1);
  EXPECT_LE(max_abs_diff(texts(model, {no_end}), texts(model, {cut})), 1e-5f);
}

// A copy of the fixture checkpoint with its tensors edited by `edit`.
void write_edited_copy(const fs::path& dir,
                       void (*edit)(std::vector<TensorToWrite>&, std::vector<float>&)) {
  fs::copy_file(clip_fixture_dir() / "config.json", dir / "config.json");
  const SafetensorsFile file(clip_fixture_dir() / "model.safetensors");
  std::vector<TensorToWrite> tensors;
  for (const TensorInfo& info : file.tensors()) {
    tensors.push_back({info.name, info.dtype, info.shape, file.data(info)});
  }
  static std::vector<float> extra(4, 1.0f);
  edit(tensors, extra);
  write_safetensors(dir / "model.safetensors", tensors);
}

std::string load_error(const fs::path& dir) {
  try {
    ClipModel::load(dir);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST_F(ClipTiny, UnknownTensorIsAnError) {
  testing::TempDir dir;
  write_edited_copy(dir.path(), [](std::vector<TensorToWrite>& tensors, std::vector<float>& extra) {
    tensors.push_back({"text_model.encoder.layers.2.mlp.fc1.bias", DType::f32, {4}, extra.data()});
  });
  const std::string message = load_error(dir.path());
  EXPECT_NE(message.find("unknown tensor 'text_model.encoder.layers.2.mlp.fc1.bias'"),
            std::string::npos)
      << message;
}

TEST_F(ClipTiny, MissingTensorIsAnError) {
  testing::TempDir dir;
  write_edited_copy(dir.path(), [](std::vector<TensorToWrite>& tensors, std::vector<float>&) {
    tensors.erase(std::remove_if(tensors.begin(), tensors.end(),
                                 [](const TensorToWrite& t) {
                                   return t.name == "vision_model.post_layernorm.bias";
                                 }),
                  tensors.end());
  });
  const std::string message = load_error(dir.path());
  EXPECT_NE(message.find("vision_model.post_layernorm.bias"), std::string::npos) << message;
}

TEST_F(ClipTiny, MisshapenTensorIsAnError) {
  testing::TempDir dir;
  write_edited_copy(dir.path(), [](std::vector<TensorToWrite>& tensors, std::vector<float>& extra) {
    for (TensorToWrite& t : tensors) {
      if (t.name == "text_model.final_layer_norm.bias") {
        t.shape = {4};
        t.data = extra.data();
      }
    }
  });
  const std::string message = load_error(dir.path());
  EXPECT_NE(message.find("text_model.final_layer_norm.bias"), std::string::npos) << message;
}

}  // namespace
}  // namespace vlbench
