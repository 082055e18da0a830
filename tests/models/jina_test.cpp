// jina-clip-v1 through the model interface against the goldens of the float64 references
// (../shared/fixtures/jina-clip-tiny, see its README): token ids, pixels (bit-exact), image and
// text embeddings, logits, bf16, batch and thread invariance, the pad mask, and the errors of
// checkpoints whose names or config differ from jina-clip-v1's.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/model_test_util.hpp"
#include "test_util.hpp"
#include "vlbench/core/error.hpp"
#include "vlbench/core/npy.hpp"
#include "vlbench/models/model.hpp"
#include "vlbench/vision/image.hpp"

namespace vlbench {
namespace {

namespace fs = std::filesystem;
using testing::max_abs_diff;
using testing::min_row_cosine;
using testing::read_npy_f32;

fs::path fixture() {
  return fs::path(VLBENCH_SHARED_FIXTURES) / "jina-clip-tiny";
}

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

nlohmann::json manifest() {
  std::ifstream in(fixture() / "golden" / "manifest.json");
  return nlohmann::json::parse(in);
}

// int64 [n, T] ids, padded with 0.
std::vector<std::vector<std::int32_t>> golden_ids() {
  return testing::read_ids(fixture() / "golden" / "text_input_ids.npy");
}

std::vector<std::vector<std::int32_t>> strip_padding(std::vector<std::vector<std::int32_t>> ids) {
  for (auto& caption : ids) {
    while (!caption.empty() && caption.back() == 0) caption.pop_back();
  }
  return ids;
}

std::unique_ptr<EmbeddingModel> load(const fs::path& dir = fixture(),
                                     ComputeType compute = ComputeType::fp32, int threads = 2,
                                     TextPadding padding = TextPadding::model) {
  ModelLoadOptions options;
  options.compute = compute;
  options.threads = threads;
  options.text_padding = padding;
  return load_model(dir, options);
}

std::vector<float> normalized(std::vector<float> v, std::int64_t d) {
  for (std::size_t r = 0; r < v.size() / static_cast<std::size_t>(d); ++r) {
    double sum = 0;
    for (std::int64_t i = 0; i < d; ++i) sum += double{v[r * d + i]} * v[r * d + i];
    const double inv = 1.0 / std::sqrt(sum);
    for (std::int64_t i = 0; i < d; ++i) v[r * d + i] = static_cast<float>(v[r * d + i] * inv);
  }
  return v;
}

TEST(JinaClip, RegistryPicksTheFamilyAndCountsEveryTensor) {
  EXPECT_EQ(detect_model_family(fixture()), "jina-clip");
  const auto model = load();
  EXPECT_EQ(model->family(), "jina-clip");
  EXPECT_EQ(model->name(), "jinaai/jina-clip-v1");
  EXPECT_EQ(model->embed_dim(), 64);
  EXPECT_EQ(model->image_size(), 48);
  EXPECT_EQ(model->similarity(), Similarity::cosine);
  EXPECT_EQ(model->max_text_tokens(), 512);
  EXPECT_NE(model->description().find("SwiGLU 170"), std::string::npos) << model->description();
  // Every tensor of the file, counted independently from the safetensors header (75 tensors).
  std::ifstream in(fixture() / "model.safetensors", std::ios::binary);
  std::uint64_t header_size = 0;
  in.read(reinterpret_cast<char*>(&header_size), 8);
  std::string header(header_size, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header_size));
  std::int64_t count = 0, tensors = 0;
  const nlohmann::json table = nlohmann::json::parse(header);
  for (const auto& [name, entry] : table.items()) {
    if (name == "__metadata__") continue;
    std::int64_t n = 1;
    for (const auto& d : entry["shape"]) n *= d.get<std::int64_t>();
    count += n;
    ++tensors;
  }
  EXPECT_EQ(tensors, 75);
  EXPECT_EQ(model->parameter_count(), count);
  EXPECT_NEAR(model->logit_scale(), 2.6592f, 1e-4);
}

TEST(JinaClip, TokenizerGivesTheGoldenIds) {
  const auto model = load();
  const std::vector<std::string> captions = manifest()["captions"];
  EXPECT_EQ(model->tokenize(captions), strip_padding(golden_ids()));
  // padding=True, as encode_text asks for it: the golden array itself.
  const auto longest = load(fixture(), ComputeType::fp32, 2, TextPadding::longest);
  EXPECT_EQ(longest->tokenize(captions), golden_ids());
}

TEST(JinaClip, PreprocessingIsBitExactWithThePillowGolden) {
  const auto model = load();
  const PreprocessConfig& config = model->preprocess_config();
  const std::vector<float> golden = read_npy_f32(fixture() / "golden" / "pixel_values.npy");
  const std::vector<std::string> names = manifest()["images"];
  const std::int64_t per_image = 3 * 48 * 48;
  ASSERT_EQ(golden.size(), names.size() * per_image);
  for (std::size_t i = 0; i < names.size(); ++i) {
    const ImageRgb8 image = decode_image(fixture() / "golden" / "../../images" / names[i]);
    std::vector<float> pixels(static_cast<std::size_t>(per_image));
    preprocess(image, config, pixels.data());
    for (std::int64_t k = 0; k < per_image; ++k) {
      ASSERT_EQ(pixels[k], golden[i * per_image + k]) << names[i] << " value " << k;
    }
  }
}

TEST(JinaClip, ImageEmbeddingsMatchTheGolden) {
  const auto model = load();
  const std::vector<float> pixels = read_npy_f32(fixture() / "golden" / "pixel_values.npy");
  const std::vector<float> got = testing::encode_images(*model, pixels, 0, 8);
  const double diff = max_abs_diff(got, read_npy_f32(fixture() / "golden" / "image_embeds.npy"));
  std::printf("jina-clip-tiny image embeddings: max |diff| %.3g\n", diff);
  EXPECT_LE(diff, 1e-4);
  EXPECT_LE(max_abs_diff(normalized(got, 64),
                         read_npy_f32(fixture() / "golden" / "image_embeds_normalized.npy")),
            1e-5);
}

TEST(JinaClip, TextEmbeddingsMatchTheGoldenPaddedOrNot) {
  const auto model = load();
  const std::vector<float> golden = read_npy_f32(fixture() / "golden" / "text_embeds.npy");
  const std::vector<float> unpadded = testing::encode_texts(*model, strip_padding(golden_ids()));
  const double diff = max_abs_diff(unpadded, golden);
  std::printf("jina-clip-tiny text embeddings: max |diff| %.3g\n", diff);
  EXPECT_LE(diff, 1e-4);
  // Padded to the longest (the model masks the pad ids): the same values.
  EXPECT_LE(max_abs_diff(testing::encode_texts(*model, golden_ids()), golden), 1e-4);
  EXPECT_LE(max_abs_diff(normalized(unpadded, 64),
                         read_npy_f32(fixture() / "golden" / "text_embeds_normalized.npy")),
            1e-5);
}

TEST(JinaClip, LogitsMatchTheGolden) {
  const auto model = load();
  const std::vector<float> img = normalized(
      testing::encode_images(*model, read_npy_f32(fixture() / "golden" / "pixel_values.npy"), 0, 8),
      64);
  const std::vector<float> txt =
      normalized(testing::encode_texts(*model, strip_padding(golden_ids())), 64);
  std::vector<float> logits(8 * 10);
  const double scale = std::exp(double{model->logit_scale()});
  for (int i = 0; i < 8; ++i) {
    for (int t = 0; t < 10; ++t) {
      double dot = 0;
      for (int k = 0; k < 64; ++k) dot += double{img[i * 64 + k]} * txt[t * 64 + k];
      logits[i * 10 + t] = static_cast<float>(scale * dot);
    }
  }
  EXPECT_LE(max_abs_diff(logits, read_npy_f32(fixture() / "golden" / "logits_per_image.npy")),
            1e-4);
}

TEST(JinaClip, Bf16IsCloseToTheGolden) {
  const auto model = load(fixture(), ComputeType::bf16);
  const std::vector<float> img =
      testing::encode_images(*model, read_npy_f32(fixture() / "golden" / "pixel_values.npy"), 0, 8);
  const std::vector<float> txt = testing::encode_texts(*model, strip_padding(golden_ids()));
  const double image_cos =
      min_row_cosine(img, read_npy_f32(fixture() / "golden" / "image_embeds.npy"), 64);
  const double text_cos =
      min_row_cosine(txt, read_npy_f32(fixture() / "golden" / "text_embeds.npy"), 64);
  std::printf("jina-clip-tiny bf16: min cosine image %.6f, text %.6f\n", image_cos, text_cos);
  EXPECT_GE(image_cos, 0.999);
  EXPECT_GE(text_cos, 0.999);
}

TEST(JinaClip, ThreadsChangeNothingAndBatchesOnlyRounding) {
  const std::vector<float> pixels = read_npy_f32(fixture() / "golden" / "pixel_values.npy");
  const auto ids = strip_padding(golden_ids());
  const auto two = load(fixture(), ComputeType::fp32, 2);
  const auto one = load(fixture(), ComputeType::fp32, 1);
  EXPECT_EQ(testing::encode_images(*two, pixels, 0, 8), testing::encode_images(*one, pixels, 0, 8));
  EXPECT_EQ(testing::encode_texts(*two, ids), testing::encode_texts(*one, ids));
  // One image or caption at a time: within float rounding of the batch (the GEMM blocks rows
  // differently).
  const std::vector<float> batch = testing::encode_images(*two, pixels, 0, 8);
  for (std::int64_t i = 0; i < 8; ++i) {
    const std::vector<float> single = testing::encode_images(*two, pixels, i, 1);
    EXPECT_LE(max_abs_diff(
                  single, std::vector<float>(batch.begin() + i * 64, batch.begin() + (i + 1) * 64)),
              1e-5)
        << i;
  }
  const std::vector<float> all = testing::encode_texts(*two, ids);
  for (std::size_t c = 0; c < ids.size(); ++c) {
    const std::vector<float> single = testing::encode_texts(*two, {ids[c]});
    EXPECT_LE(
        max_abs_diff(single, std::vector<float>(all.begin() + c * 64, all.begin() + (c + 1) * 64)),
        1e-5)
        << c;
  }
}

// tests/fixtures/models/jina (make_jina_goldens.py, the fixture's float64 reference): a pad id
// inside a caption is masked where it stands, a 300-token caption (ALiBi at long distances)
// and a 3-token one, in one 0-padded batch; unpadded the same.
TEST(JinaClip, PadInsideACaptionAndLongCaptionsMatchTheReference) {
  const auto model = load();
  const auto ids = testing::read_ids(testing::test_data("models/jina/ids.npy"));
  ASSERT_EQ(ids.size(), 3u);
  ASSERT_EQ(ids[0].size(), 302u);
  ASSERT_EQ(ids[0][3], 0);  // the pad id inside "a photo [PAD] of a cat"
  const std::vector<float> golden = read_npy_f32(testing::test_data("models/jina/text_embeds.npy"));
  const double padded = max_abs_diff(testing::encode_texts(*model, ids), golden);
  const double unpadded = max_abs_diff(testing::encode_texts(*model, strip_padding(ids)), golden);
  std::printf(
      "jina-clip-tiny mid-caption pad, 300 and 3 tokens: max |diff| %.3g padded, %.3g "
      "unpadded\n",
      padded, unpadded);
  EXPECT_LE(padded, 1e-4);
  EXPECT_LE(unpadded, 1e-4);
  // Without the mask the pad token would count: the first caption would differ.
  std::vector<std::vector<std::int32_t>> no_pad = {{101, 146, 226, 210, 146, 229, 102}};
  EXPECT_GT(max_abs_diff(testing::encode_texts(*model, no_pad),
                         std::vector<float>(golden.begin(), golden.begin() + 64)),
            1e-3);
}

TEST(JinaClip, RenamedTensorsAreListedBesideTheExpectedNames) {
  testing::TempDir dir;
  for (const char* file : {"config.json", "preprocessor_config.json", "tokenizer.json"}) {
    fs::copy_file(fixture() / file, dir / file);
  }
  // The same file with the text tower's attention named as in the original BERT layout.
  std::string bytes;
  {
    std::ifstream in(fixture() / "model.safetensors", std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  for (std::size_t at = bytes.find("mixer.Wqkv"); at != std::string::npos;
       at = bytes.find("mixer.Wqkv", at)) {
    bytes.replace(at, 10, "mixer.Wqkx");
  }
  testing::write_text(dir / "model.safetensors", bytes);
  testing::expect_error([&] { load(dir.path()); },
                        {"4 of the 75 tensors", "are not in the checkpoint",
                         "text_model.transformer.encoder.layers.0.mixer.Wqkv.bias | "
                         "text_model.transformer.encoder.layers.0.mixer.Wqkx.bias"});
}

TEST(JinaClip, OtherVariantsAreErrorsNamingTheField) {
  const auto config = read_json(fixture() / "config.json");
  const std::vector<std::pair<std::function<void(nlohmann::json&)>, std::vector<std::string>>>
      cases = {
          {[](nlohmann::json& c) { c["add_projections"] = true; }, {"add_projections", "true"}},
          {[](nlohmann::json& c) { c["vision_config"]["post_norm"] = true; },
           {"vision_config.post_norm"}},
          {[](nlohmann::json& c) { c["vision_config"]["naive_swiglu"] = false; },
           {"vision_config.naive_swiglu"}},
          {[](nlohmann::json& c) { c["vision_config"]["ls_init_value"] = 0.1; },
           {"vision_config.ls_init_value", "layer scale"}},
          {[](nlohmann::json& c) { c["vision_config"]["pt_hw_seq_len"] = 14; },
           {"vision_config.pt_hw_seq_len", "14", "patch grid 3"}},
          {[](nlohmann::json& c) { c["text_config"]["pooler_type"] = "cls_pooler"; },
           {"text_config.pooler_type", "cls_pooler"}},
          {[](nlohmann::json& c) {
             c["text_config"]["hf_model_config_kwargs"]["mlp_type"] = "mlp";
           },
           {"hf_model_config_kwargs.mlp_type"}},
          {[](nlohmann::json& c) {
             c["vision_config"]["width"] = c["vision_config"]["embed_dim"] = 128;
           },
           {"vision_config.width", "128", "text hidden_size 64"}},
      };
  for (const auto& [edit, parts] : cases) {
    testing::TempDir dir;
    nlohmann::json changed = config;
    edit(changed);
    testing::write_text(dir / "config.json", changed.dump());
    fs::copy_file(fixture() / "model.safetensors", dir / "model.safetensors");
    testing::expect_error([&] { load(dir.path()); }, parts);
  }
}

TEST(JinaClip, BadIdsAreErrorsNamingTheCaption) {
  const auto model = load();
  std::vector<float> out(2 * 64);
  testing::expect_error(
      [&] {
        model->encode_texts({{101, 7, 102}, {101, 335, 102}}, out.data());
      },
      {"caption 1", "335", "vocabulary"});
  testing::expect_error(
      [&] {
        model->encode_texts({{101, 102}, {0, 0}}, out.data());
      },
      {"caption 1", "pad id 0"});
  testing::expect_error([&] { model->encode_texts({{}}, out.data()); }, {"caption 0"});
}

TEST(JinaClip, MaxTextTokensTruncatesWithSepLast) {
  ModelLoadOptions options;
  options.max_text_tokens = 5;
  const auto model = load_model(fixture(), options);
  EXPECT_EQ(model->max_text_tokens(), 5);
  const auto ids = model->tokenize({"the quick brown fox jumps over the lazy dog"});
  ASSERT_EQ(ids[0].size(), 5u);
  EXPECT_EQ(ids[0].front(), 101);
  EXPECT_EQ(ids[0].back(), 102);
  EXPECT_NE(model->text_rules().find("truncated at 5 tokens"), std::string::npos);
  options.max_text_tokens = 2;
  testing::expect_error([&] { load_model(fixture(), options); },
                        {"--max-text-tokens 2", "[3, 8192]"});
}

}  // namespace
}  // namespace vlbench
