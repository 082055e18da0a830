// Preprocessing in the file's own mode (PreprocessConfig::resize_in_file_mode) against
// open_clip's and jina-clip's torchvision-on-PIL goldens, and the Hugging Face path (convert to
// RGB first) of the same images against transformers' golden: the shared fixtures
// open-clip-tiny and jina-clip-tiny, whose READMEs give the transforms.
#include <vlbench/core/npy.hpp>
#include <vlbench/vision/image.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "test_util.hpp"

namespace vlbench {
namespace {

namespace fs = std::filesystem;

fs::path shared() { return fs::path(VLBENCH_SHARED_FIXTURES); }

std::vector<std::string> manifest_images(const fs::path& manifest) {
  std::ifstream in(manifest);
  EXPECT_TRUE(in.good()) << manifest;
  return nlohmann::json::parse(in)["images"].get<std::vector<std::string>>();
}

// open_clip's eval transform for this fixture (its README and golden/manifest.json): the short
// side to 84 with BICUBIC, an 84 x 84 center crop at int(round((h - 84) / 2)), /255 in float32,
// OpenAI CLIP mean and std.
PreprocessConfig open_clip_config() {
  PreprocessConfig config;
  config.shortest_edge = 84;
  config.resample = kPilBicubic;
  config.do_center_crop = true;
  config.crop_height = config.crop_width = 84;
  config.crop_round_half_even = true;
  config.rescale_by_division = true;
  const double mean[3] = {0.48145466, 0.4578275, 0.40821073};
  const double std[3] = {0.26862954, 0.26130258, 0.27577711};
  for (int c = 0; c < 3; ++c) {
    config.mean[c] = mean[c];
    config.std[c] = std[c];
  }
  config.resize_in_file_mode = true;
  return config;
}

// Distance in float32 units in the last place (0: the same float).
std::int64_t ulps(float a, float b) {
  std::int32_t ia, ib;
  std::memcpy(&ia, &a, 4);
  std::memcpy(&ib, &b, 4);
  if (ia < 0) ia = std::numeric_limits<std::int32_t>::min() - ia;
  if (ib < 0) ib = std::numeric_limits<std::int32_t>::min() - ib;
  return std::llabs(std::int64_t{ia} - ib);
}

// Preprocesses every image of the manifest (decoded in its own mode) and compares with the
// [n, 3, size, size] golden: returns the largest ulp distance, printing it per image.
std::int64_t compare(const fs::path& golden_path, const fs::path& images,
                     const std::vector<std::string>& names, const PreprocessConfig& config) {
  const NpyArray golden = read_npy(golden_path);
  const int size = config.output_height();
  EXPECT_EQ(golden.dtype, DType::f32);
  EXPECT_EQ(golden.shape,
            (std::vector<std::int64_t>{static_cast<std::int64_t>(names.size()), 3, size, size}));
  const auto* expected = reinterpret_cast<const float*>(golden.data);
  const std::size_t per_image = std::size_t{3} * size * size;
  std::vector<float> got(per_image);
  std::int64_t worst = 0;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const Image8 image = decode_image_native(images / names[i]);
    preprocess(image, config, got.data());
    std::int64_t image_worst = 0;
    std::size_t differing = 0;
    for (std::size_t k = 0; k < per_image; ++k) {
      const std::int64_t d = ulps(got[k], expected[i * per_image + k]);
      image_worst = std::max(image_worst, d);
      differing += d != 0;
    }
    std::printf("  %s (mode %s): %zu values differ, max %lld ulp\n", names[i].c_str(),
                pil_mode_name(image.mode), differing, static_cast<long long>(image_worst));
    worst = std::max(worst, image_worst);
  }
  return worst;
}

TEST(FileModePreprocess, MatchesOpenClipPixelsBitForBit) {
  const fs::path dir = shared() / "open-clip-tiny" / "golden";
  if (!fs::exists(dir / "pixel_values.npy")) GTEST_SKIP() << "no shared fixture at " << dir;
  const std::vector<std::string> names = manifest_images(dir / "manifest.json");
  ASSERT_EQ(names.size(), 8u);
  EXPECT_EQ(compare(dir / "pixel_values.npy", shared() / "images", names, open_clip_config()), 0);
}

TEST(FileModePreprocess, ConvertingFirstMatchesTheHuggingFaceGoldenAsBefore) {
  const fs::path dir = shared() / "open-clip-tiny" / "golden";
  if (!fs::exists(dir / "pixel_values_hf.npy")) GTEST_SKIP() << "no shared fixture at " << dir;
  // CLIPImageProcessor: RGB first, floor crop offset, x * float32(1/255).
  PreprocessConfig config = open_clip_config();
  config.resize_in_file_mode = false;
  config.crop_round_half_even = false;
  config.rescale_by_division = false;
  const std::vector<std::string> names = manifest_images(dir / "manifest.json");
  EXPECT_EQ(compare(dir / "pixel_values_hf.npy", shared() / "images", names, config), 0);
  // The same through the RGB overload: the false path is the old one, bit for bit.
  std::vector<float> a(3 * 84 * 84), b(3 * 84 * 84);
  for (const std::string& name : names) {
    const Image8 native = decode_image_native(shared() / "images" / name);
    preprocess(native, config, a.data());
    preprocess(decode_image(shared() / "images" / name), config, b.data());
    EXPECT_EQ(a, b) << name;
  }
}

TEST(FileModePreprocess, TheFileModeChangesPalettedAndTransparentImagesOnly) {
  // open_clip's own table: P (NEAREST forced) and RGBA (premultiplied) move; RGB and L do not.
  const fs::path images = shared() / "images";
  if (!fs::exists(images / "palette_200x150.png")) GTEST_SKIP() << "no shared images";
  PreprocessConfig in_mode = open_clip_config();
  PreprocessConfig rgb_first = in_mode;
  rgb_first.resize_in_file_mode = false;
  std::vector<float> a(3 * 84 * 84), b(3 * 84 * 84);
  for (const char* name : {"palette_200x150.png", "rgba_300x300.png", "gray_257x512.png",
                           "noise_333x227.jpg"}) {
    const Image8 image = decode_image_native(images / name);
    preprocess(image, in_mode, a.data());
    preprocess(image, rgb_first, b.data());
    const bool moves = image.mode == PilMode::P || image.mode == PilMode::RGBA;
    EXPECT_EQ(a != b, moves) << name << " mode " << pil_mode_name(image.mode);
  }
}

TEST(FileModePreprocess, MatchesJinaClipProcessorOnImagesInTheirOwnMode) {
  // jina-clip's processor called on the image as opened (torchvision, resize and crop in the
  // file mode); read_preprocess_config gives its transform, the flag the call order.
  const fs::path dir = shared() / "jina-clip-tiny";
  if (!fs::exists(dir / "golden/pixel_values_processor_direct.npy")) {
    GTEST_SKIP() << "no shared fixture at " << dir;
  }
  PreprocessConfig config = read_preprocess_config(dir);
  const std::vector<std::string> names = manifest_images(dir / "golden/manifest.json");
  config.resize_in_file_mode = true;
  EXPECT_EQ(compare(dir / "golden/pixel_values_processor_direct.npy", shared() / "images", names,
                    config),
            0);
  config.resize_in_file_mode = false;  // encode_image converts to RGB first
  EXPECT_EQ(compare(dir / "golden/pixel_values.npy", shared() / "images", names, config), 0);
}

}  // namespace
}  // namespace vlbench
