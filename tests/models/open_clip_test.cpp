// open_clip checkpoints as CLIP models against the goldens of the public reference code
// (../shared/fixtures/open-clip-tiny, see its README): the config's defaults, both weight files,
// token ids with open_clip's conventions, pixels from open_clip's transform, image and text
// embeddings, and the errors of variants and renamed tensors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/model_test_util.hpp"
#include "test_util.hpp"
#include "vlbench/core/error.hpp"
#include "vlbench/core/safetensors.hpp"
#include "vlbench/models/checkpoint.hpp"
#include "vlbench/models/clip.hpp"
#include "vlbench/models/model.hpp"
#include "vlbench/text/clip_tokenizer.hpp"
#include "vlbench/vision/image.hpp"

namespace vlbench {
namespace {

namespace fs = std::filesystem;
using testing::expect_error;
using testing::max_abs_diff;
using testing::read_npy_f32;

fs::path fixture() {
  return fs::path(VLBENCH_SHARED_FIXTURES) / "open-clip-tiny";
}

nlohmann::json manifest() {
  std::ifstream in(fixture() / "golden" / "manifest.json");
  return nlohmann::json::parse(in);
}

std::unique_ptr<EmbeddingModel> load(const fs::path& dir = fixture(),
                                     ComputeType compute = ComputeType::fp32) {
  ModelLoadOptions options;
  options.compute = compute;
  options.threads = 2;
  return load_model(dir, options);
}

// A folder with the fixture's config and only `weights` (a file name of the fixture), linked.
void link_folder(const fs::path& dir, const std::string& weights) {
  fs::create_symlink(fixture() / "open_clip_config.json", dir / "open_clip_config.json");
  fs::create_symlink(fixture() / weights, dir / weights);
}

// The fixture's config with `edit` applied, and its safetensors weights linked.
void edited_folder(const fs::path& dir, const std::function<void(nlohmann::json&)>& edit) {
  std::ifstream in(fixture() / "open_clip_config.json");
  nlohmann::json config = nlohmann::json::parse(in);
  edit(config);
  std::ofstream(dir / "open_clip_config.json") << config.dump(2);
  fs::create_symlink(fixture() / "open_clip_model.safetensors", dir / "open_clip_model.safetensors");
}

TEST(OpenClip, ConfigTakesOpenClipDefaultsAndHeadWidth) {
  const ClipConfig c = read_clip_config(fixture());
  EXPECT_EQ(c.layout, ClipLayout::open_clip);
  EXPECT_EQ(c.projection_dim, 32);
  EXPECT_EQ(c.image_size, 84);
  EXPECT_EQ(c.patch_size, 14);
  EXPECT_EQ(c.vision.hidden_size, 64);
  EXPECT_EQ(c.vision.num_attention_heads, 2);    // width 64 / head_width 32
  EXPECT_EQ(c.vision.intermediate_size, 256);    // int(64 · 4.0)
  EXPECT_EQ(c.vision.hidden_act, "quick_gelu");  // quick_gelu: true
  EXPECT_EQ(c.text.hidden_size, 32);
  EXPECT_EQ(c.text.num_attention_heads, 2);
  EXPECT_EQ(c.text.intermediate_size, 128);
  EXPECT_EQ(c.max_position_embeddings, 77);
  EXPECT_DOUBLE_EQ(c.vision.layer_norm_eps, 1e-5);

  // LAION's configs leave quick_gelu out (exact GELU); bigG's mlp_ratio 4.9231 truncates.
  testing::TempDir dir;
  edited_folder(dir.path(), [](nlohmann::json& j) {
    j["model_cfg"].erase("quick_gelu");
    j["model_cfg"]["vision_cfg"]["width"] = 1664;
    j["model_cfg"]["vision_cfg"]["head_width"] = 104;
    j["model_cfg"]["vision_cfg"]["mlp_ratio"] = 4.9231;
  });
  const ClipConfig big = read_clip_config(dir.path());
  EXPECT_EQ(big.vision.hidden_act, "gelu");
  EXPECT_EQ(big.text.hidden_act, "gelu");
  EXPECT_EQ(big.vision.num_attention_heads, 16);
  EXPECT_EQ(big.vision.intermediate_size, 8192);
  // ... and that the tensors then disagree with it is an Error naming the tensor.
  expect_error([&] { load(dir.path()); }, {"visual.class_embedding", "[64]", "[1664]"});
}

TEST(OpenClip, RegistryLoadsEitherWeightFileAndCountsEveryTensor) {
  EXPECT_EQ(detect_model_family(fixture()), "clip");
  const auto model = load();
  EXPECT_EQ(model->family(), "clip");
  EXPECT_EQ(model->embed_dim(), 32);
  EXPECT_EQ(model->image_size(), 84);
  EXPECT_NE(model->description().find("open_clip CLIP ViT 84/14"), std::string::npos)
      << model->description();
  EXPECT_FLOAT_EQ(model->logit_scale(), 4.0f);
  std::int64_t count = 0;
  const SafetensorsFile file(fixture() / "open_clip_model.safetensors");
  for (const TensorInfo& tensor : file.tensors()) {
    std::int64_t n = 1;
    for (const std::int64_t d : tensor.shape) n *= d;
    count += n;
  }
  EXPECT_EQ(file.tensors().size(), 62u);  // 14 + 12 per layer of each tower
  EXPECT_EQ(model->parameter_count(), count);  // in_proj counted once, not once per q, k, v

  // The .bin alone gives the same embeddings.
  testing::TempDir dir;
  link_folder(dir.path(), "open_clip_pytorch_model.bin");
  const auto from_bin = load(dir.path());
  const std::vector<float> pixels = read_npy_f32(fixture() / "golden" / "pixel_values.npy");
  EXPECT_EQ(testing::encode_images(*from_bin, pixels, 0, 8),
            testing::encode_images(*model, pixels, 0, 8));
}

TEST(OpenClip, TokenizerGivesOpenClipsIds) {
  const auto model = load();
  const nlohmann::json m = manifest();
  const std::vector<std::string> captions = m["captions"];
  const std::vector<std::vector<std::int32_t>> expected = m["input_ids"];
  EXPECT_EQ(model->tokenize(captions), expected);
  // The golden array is padded with 0, open_clip's pad id.
  const auto padded = testing::read_ids(fixture() / "golden" / "text_input_ids.npy");
  for (std::size_t i = 0; i < padded.size(); ++i) {
    std::vector<std::int32_t> row = expected[i];
    row.resize(77, 0);
    EXPECT_EQ(padded[i], row) << i;
  }
}

TEST(OpenClip, SpecialTokenTextIsOpenClipsOwn) {
  // open_clip's specials are "<start_of_text>" / "<end_of_text>": a literal "<|startoftext|>"
  // is BPE pieces ("<|", "startoftext", "|>"), the same as with spaces between them.
  const fs::path vocab = fs::path(VLBENCH_SOURCE_DIR) / "data" / "tokenizers" / "clip";
  const auto open_clip = ClipTokenizer::from_directory(vocab, ClipTokenizer::Specials::open_clip);
  const auto openai = ClipTokenizer::from_directory(vocab);
  EXPECT_EQ(open_clip.encode("<start_of_text>", 77), (std::vector<std::int32_t>{49406, 49406, 49407}));
  EXPECT_EQ(openai.encode("<|startoftext|>", 77), (std::vector<std::int32_t>{49406, 49406, 49407}));
  const std::vector<std::int32_t> pieces = open_clip.encode("<|startoftext|>", 77);
  EXPECT_EQ(pieces, open_clip.encode("<| startoftext |>", 77));
  EXPECT_GT(pieces.size(), 4u);
  EXPECT_EQ(std::count(pieces.begin(), pieces.end(), 49406), 1);
}

TEST(OpenClip, ImageAndTextEmbeddingsMatchTheGolden) {
  const auto model = load();
  const std::vector<float> pixels = read_npy_f32(fixture() / "golden" / "pixel_values.npy");
  const double image_diff = max_abs_diff(testing::encode_images(*model, pixels, 0, 8),
                                         read_npy_f32(fixture() / "golden" / "image_embeds.npy"));
  const std::vector<std::vector<std::int32_t>> ids = manifest()["input_ids"];
  const std::vector<float> text = testing::encode_texts(*model, ids);
  const double text_diff =
      max_abs_diff(text, read_npy_f32(fixture() / "golden" / "text_embeds.npy"));
  std::printf("open-clip-tiny: max |diff| image %.3g, text %.3g\n", image_diff, text_diff);
  EXPECT_LE(image_diff, 1e-4);
  EXPECT_LE(text_diff, 1e-4);
  // Padded with 0 to 77 as open_clip feeds them: the same (causal mask, pooled at the end token).
  EXPECT_LE(max_abs_diff(testing::encode_texts(
                             *model, testing::read_ids(fixture() / "golden" / "text_input_ids.npy")),
                         text),
            1e-6);
  // bf16
  const auto bf16 = load(fixture(), ComputeType::bf16);
  EXPECT_GE(testing::min_row_cosine(testing::encode_images(*bf16, pixels, 0, 8),
                                    read_npy_f32(fixture() / "golden" / "image_embeds.npy"), 32),
            0.999);
}

TEST(OpenClip, PreprocessingIsOpenClipsTransform) {
  const auto model = load();
  const PreprocessConfig& config = model->preprocess_config();
  EXPECT_TRUE(config.crop_round_half_even);
  EXPECT_TRUE(config.rescale_by_division);
  EXPECT_TRUE(config.resize_in_file_mode);
  const std::vector<float> golden = read_npy_f32(fixture() / "golden" / "pixel_values.npy");
  const std::vector<std::string> names = manifest()["images"];
  const std::int64_t per_image = 3 * 84 * 84;
  ASSERT_EQ(golden.size(), names.size() * per_image);
  for (std::size_t i = 0; i < names.size(); ++i) {
    // In the file's own mode, as the pipeline decodes: the palette and RGBA images too.
    const Image8 image = decode_image_native(fixture() / "../images" / names[i]);
    std::vector<float> pixels(static_cast<std::size_t>(per_image));
    preprocess(image, config, pixels.data());
    const std::vector<float> want(golden.begin() + static_cast<std::ptrdiff_t>(i * per_image),
                                  golden.begin() + static_cast<std::ptrdiff_t>((i + 1) * per_image));
    EXPECT_EQ(pixels, want) << names[i];
  }
}

// resize_mode "squash" (DFN5B's): straight to 84 x 84, no crop, still in the file's mode.
TEST(OpenClip, SquashResizesStraightToTheSize) {
  testing::TempDir dir;
  edited_folder(dir.path(), [](nlohmann::json& j) { j["preprocess_cfg"]["resize_mode"] = "squash"; });
  const PreprocessConfig squash = load(dir.path())->preprocess_config();
  EXPECT_EQ(squash.resize_height, 84);
  EXPECT_EQ(squash.resize_width, 84);
  EXPECT_FALSE(squash.do_center_crop);
  EXPECT_TRUE(squash.resize_in_file_mode);
  // The same as the shortest-edge transform's steps without the crop: for the 1000 x 225 image
  // the whole width is kept (squeezed), so the pixels differ from the cropped ones.
  PreprocessConfig by_hand = load()->preprocess_config();
  by_hand.shortest_edge.reset();
  by_hand.do_center_crop = false;
  by_hand.resize_height = by_hand.resize_width = 84;
  for (const char* name : {"wide_1000x225.jpg", "palette_200x150.png", "rgba_300x300.png"}) {
    const Image8 image = decode_image_native(fixture() / "../images" / name);
    std::vector<float> got(3 * 84 * 84), want(3 * 84 * 84), cropped(3 * 84 * 84);
    preprocess(image, squash, got.data());
    preprocess(image, by_hand, want.data());
    preprocess(image, load()->preprocess_config(), cropped.data());
    EXPECT_EQ(got, want) << name;
    if (std::string(name) != "rgba_300x300.png") {  // a square image: the same either way
      EXPECT_NE(got, cropped) << name;
    }
  }
}

TEST(OpenClip, HuggingFacesProcessorGivesOtherPixelsForFourOfTheImages) {
  // CLIPImageProcessor at 84 px: RGB first, crop at floor((h - 84) / 2), x · (1/255).
  const PreprocessConfig open_clip = load()->preprocess_config();
  PreprocessConfig hf;
  hf.shortest_edge = 84;
  hf.do_center_crop = true;
  hf.crop_height = hf.crop_width = 84;
  for (int c = 0; c < 3; ++c) {
    hf.mean[c] = open_clip.mean[c];
    hf.std[c] = open_clip.std[c];
  }
  const std::vector<float> golden_hf = read_npy_f32(fixture() / "golden" / "pixel_values_hf.npy");
  const std::vector<float> golden = read_npy_f32(fixture() / "golden" / "pixel_values.npy");
  const std::vector<std::string> names = manifest()["images"];
  const std::int64_t per_image = 3 * 84 * 84;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const ImageRgb8 image = decode_image(fixture() / "../images" / names[i]);
    std::vector<float> pixels(static_cast<std::size_t>(per_image));
    preprocess(image, hf, pixels.data());
    const auto at = [&](const std::vector<float>& all) {
      return std::vector<float>(all.begin() + static_cast<std::ptrdiff_t>(i * per_image),
                                all.begin() + static_cast<std::ptrdiff_t>((i + 1) * per_image));
    };
    EXPECT_EQ(pixels, at(golden_hf)) << names[i];
    // The README's table: a crop offset (gray, noise), NEAREST for mode P, premultiplied RGBA.
    const double diff = max_abs_diff(at(golden_hf), at(golden));
    const bool differs = names[i].starts_with("gray") || names[i].starts_with("noise") ||
                         names[i].starts_with("palette") || names[i].starts_with("rgba");
    if (differs) {
      EXPECT_GT(diff, 0.3) << names[i];
    } else {
      EXPECT_LE(diff, 5e-7) << names[i];
    }
  }
}

TEST(OpenClip, VariantsItDoesNotRunAreErrorsNamingTheField) {
  const std::vector<std::pair<std::function<void(nlohmann::json&)>, std::string>> cases = {
      {[](nlohmann::json& j) { j["model_cfg"]["vision_cfg"]["ls_init_value"] = 1e-5; },
       "model_cfg.vision_cfg.ls_init_value"},
      {[](nlohmann::json& j) { j["model_cfg"]["vision_cfg"]["timm_model_name"] = "vit"; },
       "model_cfg.vision_cfg.timm_model_name"},
      {[](nlohmann::json& j) { j["model_cfg"]["vision_cfg"]["layers"] = {3, 4, 6, 3}; },
       "ModifiedResNet"},
      {[](nlohmann::json& j) { j["model_cfg"]["text_cfg"]["hf_model_name"] = "xlm-roberta-large"; },
       "model_cfg.text_cfg.hf_model_name"},
      {[](nlohmann::json& j) { j["model_cfg"]["custom_text"] = true; }, "model_cfg.custom_text"},
      {[](nlohmann::json& j) { j["model_cfg"]["init_logit_bias"] = -10; },
       "model_cfg.init_logit_bias"},
      {[](nlohmann::json& j) { j["model_cfg"]["vision_cfg"]["head_width"] = 48; },
       "model_cfg.vision_cfg.head_width"},
      {[](nlohmann::json& j) { j.erase("model_cfg"); }, "model_cfg"},
      {[](nlohmann::json& j) { j["preprocess_cfg"]["resize_mode"] = "longest"; }, "resize_mode"},
  };
  for (const auto& [edit, field] : cases) {
    testing::TempDir dir;
    edited_folder(dir.path(), edit);
    expect_error(
        [&] {
          const auto model = load(dir.path());
          model->preprocess_config();
        },
        {"open_clip_config.json", field});
  }
}

TEST(OpenClip, RenamedTensorsAreListedBesideTheExpectedNames) {
  // A checkpoint that names ln_final "final_ln": the message pairs the two names.
  testing::TempDir dir;
  fs::copy_file(fixture() / "open_clip_config.json", dir.path() / "open_clip_config.json");
  const Checkpoint source = Checkpoint::open(fixture());
  std::vector<TensorToWrite> tensors;
  std::vector<std::string> names;
  for (const TensorRef& t : source.tensors()) names.push_back(t.name);
  for (std::size_t i = 0; i < names.size(); ++i) {
    std::string& name = names[i];
    if (name.starts_with("ln_final.")) name.replace(0, 8, "final_ln");
    const TensorRef& t = source.tensors()[i];
    tensors.push_back({name, t.dtype, t.shape, t.data});
  }
  write_safetensors(dir.path() / "open_clip_model.safetensors", tensors);
  expect_error([&] { load(dir.path()); }, {"ln_final.bias | final_ln.bias", "open_clip CLIP"});
}

}  // namespace
}  // namespace vlbench
