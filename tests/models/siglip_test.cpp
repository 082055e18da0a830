// SigLIP and SigLIP 2 (fixed resolution) through the model interface against the goldens of
// the float64 reference (../shared/fixtures/siglip-tiny, siglip2-tiny; see their READMEs):
// tokenizer ids, embeddings, logits with logit_bias, the padding trap, bf16, invariances.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/model_test_util.hpp"
#include "test_util.hpp"
#include "vlbench/core/error.hpp"
#include "vlbench/core/npy.hpp"
#include "vlbench/models/model.hpp"
#include "vlbench/text/hf_tokenizer.hpp"
#include "vlbench/text/text_utils.hpp"

namespace vlbench {
namespace {

namespace fs = std::filesystem;
using testing::encode_images;
using testing::encode_texts;
using testing::max_abs_diff;
using testing::min_row_cosine;
using testing::read_ids;
using testing::read_npy_f32;

fs::path fixture(const std::string& name) {
  return fs::path(VLBENCH_SHARED_FIXTURES) / name;
}

nlohmann::json manifest(const fs::path& dir) {
  std::ifstream in(dir / "golden" / "manifest.json");
  return nlohmann::json::parse(in);
}

std::unique_ptr<EmbeddingModel> load(const fs::path& dir, ComputeType compute = ComputeType::fp32,
                                     int threads = 2, TextPadding padding = TextPadding::model) {
  ModelLoadOptions options;
  options.compute = compute;
  options.threads = threads;
  options.text_padding = padding;
  return load_model(dir, options);
}

class Siglip : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = fixture(GetParam());
    if (!fs::exists(dir_)) GTEST_SKIP() << "no fixture at " << dir_;
    model_ = load(dir_);
    const fs::path golden = dir_ / "golden";
    const std::int64_t size = model_->image_size();
    pixels_ = read_npy_f32(golden / "pixel_values.npy", {8, 3, size, size});
    ids_ = read_ids(golden / "text_input_ids.npy");
    captions_ = manifest(dir_)["captions"].get<std::vector<std::string>>();
  }

  fs::path dir_;
  std::unique_ptr<EmbeddingModel> model_;
  std::vector<float> pixels_;
  std::vector<std::vector<std::int32_t>> ids_;
  std::vector<std::string> captions_;
};

TEST_P(Siglip, RegistryPicksTheFamilyFromConfigJson) {
  EXPECT_EQ(detect_model_family(dir_), "siglip");
  EXPECT_EQ(model_->family(), "siglip");
  EXPECT_EQ(model_->name(), GetParam());
  EXPECT_EQ(model_->similarity(), Similarity::sigmoid);
  EXPECT_EQ(model_->output_kind(), OutputKind::single_vector);
  const nlohmann::json m = manifest(dir_);
  EXPECT_FLOAT_EQ(model_->logit_scale(), m["logit_scale"].get<float>());
  EXPECT_FLOAT_EQ(model_->logit_bias(), m["logit_bias"].get<float>());
}

TEST_P(Siglip, ParameterCountIsEveryTensorOfTheFile) {
  // Counted independently from the safetensors header.
  std::ifstream in(dir_ / "model.safetensors", std::ios::binary);
  std::uint64_t header_size = 0;
  in.read(reinterpret_cast<char*>(&header_size), 8);
  std::string header(header_size, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header_size));
  const nlohmann::json tensors = nlohmann::json::parse(header);
  std::int64_t count = 0;
  for (const auto& [name, entry] : tensors.items()) {
    if (name == "__metadata__") continue;
    std::int64_t n = 1;
    for (const auto& d : entry["shape"]) n *= d.get<std::int64_t>();
    count += n;
  }
  EXPECT_EQ(model_->parameter_count(), count);
}

TEST_P(Siglip, TokenizerGivesTheGoldenIds) {
  const auto ids = model_->tokenize(captions_);
  ASSERT_EQ(ids.size(), ids_.size());
  for (std::size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(ids[i], ids_[i]) << captions_[i];
}

TEST_P(Siglip, ImageEmbedsMatchGolden) {
  const std::vector<float> golden =
      read_npy_f32(dir_ / "golden" / "image_embeds.npy", {8, model_->embed_dim()});
  const std::vector<float> got = encode_images(*model_, pixels_, 0, 8);
  const double diff = max_abs_diff(got, golden);
  std::printf("%s image_embeds max abs diff %.3g\n", GetParam().c_str(), diff);
  EXPECT_LE(diff, 1e-4);
}

TEST_P(Siglip, TextEmbedsMatchGolden) {
  const auto n = static_cast<std::int64_t>(ids_.size());
  const std::vector<float> golden =
      read_npy_f32(dir_ / "golden" / "text_embeds.npy", {n, model_->embed_dim()});
  const std::vector<float> got = encode_texts(*model_, ids_);
  const double diff = max_abs_diff(got, golden);
  std::printf("%s text_embeds max abs diff %.3g\n", GetParam().c_str(), diff);
  EXPECT_LE(diff, 1e-4);
}

TEST_P(Siglip, LogitsWithBiasMatchGolden) {
  const std::int64_t d = model_->embed_dim();
  const auto n_texts = static_cast<std::int64_t>(ids_.size());
  const std::vector<float> images = encode_images(*model_, pixels_, 0, 8);
  const std::vector<float> texts = encode_texts(*model_, ids_);
  const std::vector<float> golden =
      read_npy_f32(dir_ / "golden" / "logits_per_image.npy", {8, n_texts});
  const double scale = std::exp(double{model_->logit_scale()});
  double worst = 0;
  for (std::int64_t i = 0; i < 8; ++i) {
    for (std::int64_t t = 0; t < n_texts; ++t) {
      double ab = 0, aa = 0, bb = 0;
      for (std::int64_t k = 0; k < d; ++k) {
        ab += double{images[i * d + k]} * texts[t * d + k];
        aa += double{images[i * d + k]} * images[i * d + k];
        bb += double{texts[t * d + k]} * texts[t * d + k];
      }
      const double logit = ab / std::sqrt(aa * bb) * scale + model_->logit_bias();
      worst = std::max(worst, std::abs(logit - golden[i * n_texts + t]));
    }
  }
  std::printf("%s logits_per_image max abs diff %.3g\n", GetParam().c_str(), worst);
  EXPECT_LE(worst, 1e-3);
}

// The padding trap: padding to the longest caption instead of 64 changes the embeddings. The
// diagnostic reproduces the reference's wrong ids and embeddings exactly, and they are far from
// the right ones.
TEST_P(Siglip, PaddingToTheLongestReproducesTheTrap) {
  const fs::path golden = dir_ / "golden";
  const auto wrong_ids = read_ids(golden / "text_input_ids_padded_to_longest.npy");
  const auto rows = manifest(dir_)["padded_to_longest"]["rows"].get<std::vector<std::size_t>>();
  ASSERT_EQ(rows.size(), wrong_ids.size());
  std::vector<std::string> captions;
  for (std::size_t r : rows) captions.push_back(captions_[r]);

  const auto longest = load(dir_, ComputeType::fp32, 2, TextPadding::longest);
  EXPECT_EQ(longest->tokenize(captions), wrong_ids);

  const std::int64_t d = model_->embed_dim();
  const std::vector<float> wrong_golden = read_npy_f32(golden / "text_embeds_padded_to_longest.npy",
                                                       {static_cast<std::int64_t>(rows.size()), d});
  const std::vector<float> wrong = encode_texts(*longest, wrong_ids);
  EXPECT_LE(max_abs_diff(wrong, wrong_golden), 1e-4);

  const std::vector<float> right_golden =
      read_npy_f32(golden / "text_embeds.npy", {static_cast<std::int64_t>(ids_.size()), d});
  std::vector<float> right_rows;
  for (std::size_t r : rows) {
    right_rows.insert(right_rows.end(), right_golden.begin() + static_cast<std::ptrdiff_t>(r * d),
                      right_golden.begin() + static_cast<std::ptrdiff_t>((r + 1) * d));
  }
  EXPECT_GT(max_abs_diff(wrong, right_rows), 0.5);
}

TEST_P(Siglip, Bf16CloseToGolden) {
  if (!make_backend("cpu")->supports(ComputeType::bf16)) GTEST_SKIP() << "no bf16 in this build";
  const auto bf16 = load(dir_, ComputeType::bf16);
  const std::int64_t d = model_->embed_dim();
  const auto n = static_cast<std::int64_t>(ids_.size());
  const double images =
      min_row_cosine(encode_images(*bf16, pixels_, 0, 8),
                     read_npy_f32(dir_ / "golden" / "image_embeds.npy", {8, d}), d);
  const double texts = min_row_cosine(encode_texts(*bf16, ids_),
                                      read_npy_f32(dir_ / "golden" / "text_embeds.npy", {n, d}), d);
  std::printf("%s bf16 min cosine vs golden: images %.7f, texts %.7f\n", GetParam().c_str(), images,
              texts);
  EXPECT_GE(images, 0.999);
  EXPECT_GE(texts, 0.999);
  // bf16 leaves a trace: it is not the fp32 engine.
  EXPECT_GT(
      max_abs_diff(encode_images(*bf16, pixels_, 0, 8), encode_images(*model_, pixels_, 0, 8)),
      1e-5);
}

TEST_P(Siglip, BatchOfOneAndOneThreadMatch) {
  const std::int64_t d = model_->embed_dim();
  const std::vector<float> all = encode_images(*model_, pixels_, 0, 8);
  const std::vector<float> all_texts = encode_texts(*model_, ids_);
  for (std::int64_t i = 0; i < 8; ++i) {
    const std::vector<float> one = encode_images(*model_, pixels_, i, 1);
    EXPECT_LE(max_abs_diff(one, std::vector<float>(all.begin() + i * d, all.begin() + (i + 1) * d)),
              1e-5)
        << "image " << i;
  }
  const std::vector<float> one_text = encode_texts(*model_, {ids_[3]});
  EXPECT_LE(max_abs_diff(one_text,
                         std::vector<float>(all_texts.begin() + 3 * d, all_texts.begin() + 4 * d)),
            1e-5);
  const auto single_thread = load(dir_, ComputeType::fp32, 1);
  EXPECT_LE(max_abs_diff(encode_images(*single_thread, pixels_, 0, 8), all), 1e-5);
  EXPECT_LE(max_abs_diff(encode_texts(*single_thread, ids_), all_texts), 1e-5);
}

TEST_P(Siglip, BadIdsAreErrorsNamingTheCaption) {
  std::vector<std::vector<std::int32_t>> ids = {ids_[0], ids_[1]};
  ids[1][5] = 1 << 20;
  testing::expect_error([&] { encode_texts(*model_, ids); },
                        {"caption 1", "token id 1048576 at position 5", "outside the vocabulary"});
  ids[1] = std::vector<std::int32_t>(65, 1);
  testing::expect_error([&] { encode_texts(*model_, ids); },
                        {"caption 1", "expected 1 to 64 token ids", "got 65"});
}

INSTANTIATE_TEST_SUITE_P(Fixtures, Siglip, ::testing::Values("siglip-tiny", "siglip2-tiny"),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

// SigLIP 2 was trained on lower-cased text and its tokenizer does not lower-case: the model
// lower-cases. The reference's not-lower-cased ids are another (wrong) input.
TEST(Siglip2, CaptionsAreLowerCasedBeforeTheTokenizer) {
  const fs::path dir = fixture("siglip2-tiny");
  if (!fs::exists(dir)) GTEST_SKIP() << "no fixture at " << dir;
  const auto model = load(dir);
  const nlohmann::json m = manifest(dir);
  const auto captions = m["captions"].get<std::vector<std::string>>();
  const auto upper_ids = read_ids(dir / "golden" / "text_input_ids_not_lowercased.npy");
  const auto ids = model->tokenize(captions);
  for (std::size_t r : m["not_lowercased_rows_differing"].get<std::vector<std::size_t>>()) {
    EXPECT_NE(ids[r], upper_ids[r]) << "row " << r;
  }
  const std::int64_t d = model->embed_dim();
  const auto n = static_cast<std::int64_t>(upper_ids.size());
  EXPECT_LE(max_abs_diff(encode_texts(*model, upper_ids),
                         read_npy_f32(dir / "golden" / "text_embeds_not_lowercased.npy", {n, d})),
            1e-4);
}

// A SigLIP 2 checkpoint that ships only Gemma's SentencePiece tokenizer.model: read through
// libsentencepiece, it gives the ids of the equivalent tokenizer.json (lower-cased, <eos> last,
// <pad> = 0 to 64). The pair is colpali-tiny's Gemma-style tokenizer (its README).
TEST(Siglip2, TokenizerModelGivesTheIdsOfTheTokenizerJson) {
  const fs::path siglip2 = fixture("siglip2-tiny");
  const fs::path gemma = fixture("colpali-tiny") / "base";
  if (!fs::exists(siglip2) || !fs::exists(gemma)) GTEST_SKIP() << "no fixtures";
  testing::TempDir dir;
  for (const char* file : {"config.json", "model.safetensors", "preprocessor_config.json",
                           "tokenizer_config.json", "special_tokens_map.json"}) {
    fs::copy_file(siglip2 / file, dir / file);
  }
  fs::copy_file(gemma / "tokenizer.model", dir / "tokenizer.model");
  ModelLoadOptions options;
  options.weights = false;
  const auto model = load_model(dir.path(), options);
  EXPECT_NE(model->text_rules().find("tokenizer.model"), std::string::npos) << model->text_rules();

  // The expected ids from tokenizer.json, whose post-processor adds <bos> where SigLIP 2's adds
  // <eos>: drop the one, append the other.
  const HfTokenizer json = HfTokenizer::from_file(gemma / "tokenizer.json");
  auto captions = manifest(siglip2)["captions"].get<std::vector<std::string>>();
  captions.push_back(std::string(300, 'x') + " a very long caption");
  const auto ids = model->tokenize(captions);
  for (std::size_t i = 0; i < captions.size(); ++i) {
    std::vector<std::int32_t> expected = json.encode(python_lower(captions[i]), 0);
    ASSERT_EQ(expected.front(), 2) << "<bos>";
    expected.erase(expected.begin());
    if (expected.size() > 63) expected.resize(63);
    expected.push_back(1);   // <eos>
    expected.resize(64, 0);  // <pad>
    EXPECT_EQ(ids[i], expected) << captions[i];
  }
}

TEST(SiglipRegistry, NaflexAndUnknownModelTypesAreErrors) {
  testing::TempDir dir;
  testing::write_text(dir / "config.json", R"({"model_type": "siglip2"})");
  testing::expect_error([&] { load_model(dir.path()); },
                        {"config.json", "'siglip2'", "NaFlex", "not run yet"});
  testing::write_text(dir / "config.json", R"({"model_type": "blip"})");
  testing::expect_error([&] { detect_model_family(dir.path()); },
                        {"config.json", "unsupported model type 'blip'", "clip:", "siglip:"});
  fs::remove(dir / "config.json");
  testing::expect_error([&] { detect_model_family(dir.path()); }, {"no config.json"});
}

TEST(SiglipRegistry, ConfigDefaultsAreSiglipsNotClips) {
  // The fixture's config.json leaves out hidden_act, layer_norm_eps and max_position_embeddings;
  // a tanh-GELU / 1e-6 / 64 model meets the goldens (the tests above), and a config that sets
  // CLIP's values instead gives other embeddings.
  const fs::path source = fixture("siglip-tiny");
  if (!fs::exists(source)) GTEST_SKIP();
  testing::TempDir dir;
  for (const auto& entry : fs::directory_iterator(source)) {
    if (entry.is_regular_file())
      fs::copy_file(entry.path(), dir / entry.path().filename().string());
  }
  nlohmann::json config = nlohmann::json::parse(std::ifstream(source / "config.json"));
  config["vision_config"]["hidden_act"] = "quick_gelu";
  fs::permissions(dir / "config.json", fs::perms::owner_write, fs::perm_options::add);
  testing::write_text(dir / "config.json", config.dump());
  const auto changed = load(dir.path());
  const auto model = load(source);
  const std::vector<float> pixels =
      read_npy_f32(source / "golden" / "pixel_values.npy", {8, 3, 40, 40});
  EXPECT_GT(
      max_abs_diff(encode_images(*changed, pixels, 0, 2), encode_images(*model, pixels, 0, 2)),
      1e-3);
}

TEST(SiglipRegistry, MissingAndMisshapenTensorsAreNamed) {
  const fs::path source = fixture("siglip-tiny");
  if (!fs::exists(source)) GTEST_SKIP();
  testing::TempDir dir;
  for (const char* file : {"config.json", "preprocessor_config.json", "spiece.model"}) {
    fs::copy_file(source / file, dir / file);
  }
  nlohmann::json config = nlohmann::json::parse(std::ifstream(source / "config.json"));
  config["vision_config"]["patch_size"] = 4;  // 10×10 patches: position_embedding [100, 96]
  fs::permissions(dir / "config.json", fs::perms::owner_write, fs::perm_options::add);
  testing::write_text(dir / "config.json", config.dump());
  fs::copy_file(source / "model.safetensors", dir / "model.safetensors");
  testing::expect_error([&] { load(dir.path()); },
                        {"vision_model.embeddings.patch_embedding.weight"});
}

}  // namespace
}  // namespace vlbench
