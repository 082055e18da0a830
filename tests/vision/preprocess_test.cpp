// Preprocessing against Hugging Face CLIPImageProcessor / SiglipImageProcessor + Pillow goldens
// (bicubic and bilinear), and the config reader.
#include <vlbench/core/error.hpp>
#include <vlbench/core/npy.hpp>
#include <vlbench/vision/image.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "test_util.hpp"

namespace vlbench {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::test_data;
using testing::write_text;

// The image order of pixels/manifest.json and clip-tiny-quickgelu/golden/manifest.json.
const char* const kImages[] = {"gradient_640x480.jpg", "shapes_480x640.png", "noise_333x227.jpg",
                               "rgba_300x300.png",     "gray_257x512.png",   "palette_200x150.png",
                               "tiny_10x7.png",        "wide_1000x225.jpg"};

PreprocessConfig clip_config(int size) {
  PreprocessConfig config;
  config.shortest_edge = size;
  config.do_center_crop = true;
  config.crop_height = config.crop_width = size;
  const double mean[3] = {0.48145466, 0.4578275, 0.40821073};
  const double std[3] = {0.26862954, 0.26130258, 0.27577711};
  std::copy(mean, mean + 3, config.mean);
  std::copy(std, std + 3, config.std);
  return config;
}

// Preprocesses the 8 images `names` of `dir` and compares with golden [8, 3, H, W] float32.
void compare_with_golden(const fs::path& golden_path, const PreprocessConfig& config,
                         const fs::path& dir, const std::vector<std::string>& names) {
  const NpyArray golden = read_npy(golden_path);
  const int h = config.output_height();
  const int w = config.output_width();
  ASSERT_EQ(names.size(), 8u);
  ASSERT_EQ(golden.dtype, DType::f32);
  ASSERT_EQ(golden.shape, (std::vector<std::int64_t>{8, 3, h, w}));
  const auto* expected = reinterpret_cast<const float*>(golden.data);
  const std::size_t per_image = static_cast<std::size_t>(3) * h * w;
  std::vector<float> got(per_image);
  double max_error = 0.0;
  std::size_t close = 0;
  for (int i = 0; i < 8; ++i) {
    const ImageRgb8 image = decode_image(dir / names[i]);
    preprocess(image, config, got.data());
    double image_max = 0.0;
    for (std::size_t k = 0; k < per_image; ++k) {
      const double e = std::fabs(static_cast<double>(got[k]) - expected[i * per_image + k]);
      image_max = std::max(image_max, e);
      close += e <= 1e-5;
    }
    std::printf("  %s: max abs error %.3g\n", names[i].c_str(), image_max);
    max_error = std::max(max_error, image_max);
  }
  const double fraction = static_cast<double>(close) / (8.0 * per_image);
  std::printf("  %s: max abs error %.3g, %.6f within 1e-5\n", golden_path.string().c_str(),
              max_error, fraction);
  EXPECT_GE(fraction, 0.999);
  // Integer resampling and float32 normalisation in transformers' order: bit for bit.
  EXPECT_EQ(max_error, 0.0);
  // One uint8 step after normalisation: 1 / 255 / min(std) = 0.0151.
  EXPECT_LE(max_error, 1.0 / 255.0 / 0.26130258 + 1e-6);
}

void compare_with_golden(const fs::path& golden_path, const PreprocessConfig& config) {
  compare_with_golden(golden_path, config, test_data("vision/images"),
                      std::vector<std::string>(std::begin(kImages), std::end(kImages)));
}

// The shared images in sorted file-name order, as the SigLIP fixtures' manifests list them.
std::vector<std::string> sorted_shared_images(const fs::path& manifest_path) {
  const fs::path dir = fs::path(VLBENCH_SHARED_FIXTURES) / "images";
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  std::ifstream in(manifest_path);
  EXPECT_TRUE(in.good()) << manifest_path;
  EXPECT_EQ(nlohmann::json::parse(in)["images"].get<std::vector<std::string>>(), names);
  return names;
}

// A SigLIP checkpoint of ../shared/fixtures: its own preprocessor_config.json (filter
// included) and images, against its golden/pixel_values.npy.
void compare_with_shared_checkpoint(const std::string& name, int resample, int size) {
  const fs::path dir = fs::path(VLBENCH_SHARED_FIXTURES) / name;
  if (!fs::exists(dir / "golden/pixel_values.npy")) {
    GTEST_SKIP() << "no shared fixture at " << dir;
  }
  const PreprocessConfig config = read_preprocess_config(dir);
  EXPECT_EQ(config.resample, resample);
  EXPECT_TRUE(config.rescale_in_float64);
  EXPECT_FALSE(config.do_center_crop);
  ASSERT_EQ(config.output_height(), size);
  ASSERT_EQ(config.output_width(), size);
  compare_with_golden(dir / "golden/pixel_values.npy", config,
                      fs::path(VLBENCH_SHARED_FIXTURES) / "images",
                      sorted_shared_images(dir / "golden/manifest.json"));
}

TEST(Preprocess, MatchesSiglipBicubicGolden40) {
  compare_with_shared_checkpoint("siglip-tiny", kPilBicubic, 40);
}

TEST(Preprocess, MatchesSiglip2BilinearGolden48) {
  compare_with_shared_checkpoint("siglip2-tiny", kPilBilinear, 48);
}

// Byte 3 rescaled by 1/255: 3 * 0.00392156862745098 in float64 rounds to float32 0.011764706,
// float32(3) * float32(1/255) in float32 to the next float up. The SigLIP goldens need the first,
// the CLIP goldens the second.
TEST(Preprocess, RescaleOrderFollowsTheConfig) {
  ImageRgb8 image{1, 1, {3, 6, 255}};
  PreprocessConfig config;
  config.do_resize = false;
  config.do_center_crop = true;
  config.crop_height = config.crop_width = 1;
  config.do_normalize = false;
  config.rescale_factor = 0.00392156862745098;
  float out[3];
  for (bool float64 : {false, true}) {
    config.rescale_in_float64 = float64;
    preprocess(image, config, out);
    for (int c = 0; c < 3; ++c) {
      const int v = image.rgb[c];
      const float expected =
          float64 ? static_cast<float>(v * config.rescale_factor)
                  : static_cast<float>(v) * static_cast<float>(config.rescale_factor);
      EXPECT_EQ(out[c], expected) << v << (float64 ? " float64" : " float32");
    }
  }
  EXPECT_NE(static_cast<float>(3 * 0.00392156862745098),
            3.0f * static_cast<float>(0.00392156862745098));
}

// The filter reaches the resize: the bilinear golden is not the bicubic result.
TEST(Preprocess, UsesTheConfiguredFilter) {
  ImageRgb8 image{10, 7, std::vector<std::uint8_t>(10 * 7 * 3)};
  for (std::size_t i = 0; i < image.rgb.size(); ++i) image.rgb[i] = (i * 37) % 256;
  PreprocessConfig config;
  config.resize_height = 9;
  config.resize_width = 4;
  config.do_rescale = false;
  config.do_normalize = false;
  std::vector<float> out(3 * 9 * 4);
  for (int code = 0; code <= 5; ++code) {
    config.resample = code;
    preprocess(image, config, out.data());
    const ImageRgb8 resized = resize(image, 4, 9, code);
    for (int c = 0; c < 3; ++c) {
      for (int p = 0; p < 36; ++p) {
        ASSERT_EQ(out[c * 36 + p], resized.rgb[p * 3 + c]) << pil_resample_name(code);
      }
    }
  }
  EXPECT_NE(resize(image, 4, 9, kPilBilinear).rgb, resize(image, 4, 9, kPilBicubic).rgb);
}

TEST(Preprocess, MatchesClipGolden224) {
  const fs::path golden = fs::path(VLBENCH_SHARED_FIXTURES) / "pixels/pixel_values_224.npy";
  if (!fs::exists(golden)) GTEST_SKIP() << "no shared fixtures at " << golden;
  compare_with_golden(golden, clip_config(224));
}

TEST(Preprocess, MatchesTinyCheckpointGolden64) {
  const PreprocessConfig config = read_preprocess_config(test_data("vision/golden64"));
  EXPECT_EQ(config.output_height(), 64);
  EXPECT_EQ(config.output_width(), 64);
  compare_with_golden(test_data("vision/golden64/pixel_values.npy"), config);
}

// A 3x1 image, no resize, crop 3x5 (taller than the image): transformers pads with zeros,
// the image lands at rows ceil(4 / 2) = 2, then rescale and normalise apply to the zeros too.
TEST(Preprocess, CenterCropPadsWithZerosBeforeNormalising) {
  ImageRgb8 image{3, 1, {10, 20, 30, 40, 50, 60, 70, 80, 90}};
  PreprocessConfig config;
  config.do_resize = false;
  config.do_center_crop = true;
  config.crop_height = 5;
  config.crop_width = 2;  // narrower: left = (3 - 2) // 2 = 0
  config.mean[0] = 0.5;
  config.std[0] = 0.25;
  std::vector<float> out(3 * 5 * 2);
  preprocess(image, config, out.data());
  for (int y = 0; y < 5; ++y) {
    for (int x = 0; x < 2; ++x) {
      const int v = y == 2 ? image.rgb[x * 3] : 0;
      const float r = (static_cast<float>(v) * static_cast<float>(1.0 / 255.0) - 0.5f) / 0.25f;
      EXPECT_EQ(out[y * 2 + x], r) << y << "," << x;
      const int g = y == 2 ? image.rgb[x * 3 + 1] : 0;
      EXPECT_EQ(out[10 + y * 2 + x], static_cast<float>(g) * static_cast<float>(1.0 / 255.0))
          << y << "," << x;
    }
  }
}

// Odd differences: crop 2 of 5 starts at (5 - 2) // 2 = 1; crop 4 of 1 pads ceil(3 / 2) = 2.
TEST(Preprocess, CenterCropOffsetsFollowPythonFloorDivision) {
  ImageRgb8 image{5, 1, {}};
  for (int i = 0; i < 15; ++i) image.rgb.push_back(static_cast<std::uint8_t>(i * 10));
  PreprocessConfig config;
  config.do_resize = false;
  config.do_center_crop = true;
  config.crop_height = 4;
  config.crop_width = 2;
  config.do_rescale = false;
  config.do_normalize = false;
  std::vector<float> out(3 * 4 * 2);
  preprocess(image, config, out.data());
  const float expected_red[4][2] = {{0, 0}, {0, 0}, {30, 60}, {0, 0}};
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 2; ++x) EXPECT_EQ(out[y * 2 + x], expected_red[y][x]) << y << "," << x;
  }
}

TEST(Preprocess, ShortestEdgeKeepsAspectWithTruncation) {
  // 10x7 at shortest edge 224: long side int(224 * 10 / 7) = int(320.0) = 320; a no-crop
  // config with a fixed size checks the exact-resize path against resize_bicubic directly.
  ImageRgb8 image{10, 7, std::vector<std::uint8_t>(10 * 7 * 3)};
  for (std::size_t i = 0; i < image.rgb.size(); ++i) image.rgb[i] = (i * 37) % 256;
  PreprocessConfig config;
  config.resize_height = 9;
  config.resize_width = 4;
  config.do_rescale = false;
  config.do_normalize = false;
  std::vector<float> out(3 * 9 * 4);
  preprocess(image, config, out.data());
  const ImageRgb8 resized = resize_bicubic(image, 4, 9);
  for (int c = 0; c < 3; ++c) {
    for (int p = 0; p < 36; ++p) EXPECT_EQ(out[c * 36 + p], resized.rgb[p * 3 + c]);
  }
  // Shortest edge 3 on a 10x7 image: 3 x int(3 * 10 / 7) = 3 x 4, cropped to 2x2 at (1, 0).
  PreprocessConfig se;
  se.shortest_edge = 3;
  se.do_center_crop = true;
  se.crop_height = 2;
  se.crop_width = 2;
  se.do_rescale = false;
  se.do_normalize = false;
  std::vector<float> crop(3 * 2 * 2);
  preprocess(image, se, crop.data());
  const ImageRgb8 small = resize_bicubic(image, 4, 3);
  EXPECT_EQ(crop[0], small.rgb[(0 * 4 + 1) * 3]);
  EXPECT_EQ(crop[1], small.rgb[(0 * 4 + 2) * 3]);
  EXPECT_EQ(crop[2], small.rgb[(1 * 4 + 1) * 3]);
  EXPECT_EQ(crop[3], small.rgb[(1 * 4 + 2) * 3]);
}

TEST(PreprocessConfig, ReadsTinyCheckpointConfig) {
  const PreprocessConfig c = read_preprocess_config(test_data("vision/golden64"));
  EXPECT_TRUE(c.do_resize);
  ASSERT_TRUE(c.shortest_edge.has_value());
  EXPECT_EQ(*c.shortest_edge, 64);
  EXPECT_FALSE(c.resize_height.has_value());
  EXPECT_TRUE(c.do_center_crop);
  EXPECT_EQ(c.crop_height, 64);
  EXPECT_EQ(c.crop_width, 64);
  EXPECT_EQ(c.rescale_factor, 0.00392156862745098);
  EXPECT_EQ(c.mean[1], 0.4578275);
  EXPECT_EQ(c.std[2], 0.27577711);
  EXPECT_EQ(c.resample, 3);
  EXPECT_FALSE(c.rescale_in_float64);
}

TEST(PreprocessConfig, DefaultsFollowTheProcessorClass) {
  TempDir dir;
  write_text(dir / "preprocessor_config.json", R"({"image_processor_type": "CLIPImageProcessor"})");
  PreprocessConfig c = read_preprocess_config(dir.path());
  EXPECT_EQ(*c.shortest_edge, 224);
  EXPECT_TRUE(c.do_center_crop);
  EXPECT_EQ(c.crop_height, 224);
  EXPECT_EQ(c.mean[0], 0.48145466);
  write_text(dir / "preprocessor_config.json",
             R"({"image_processor_type": "SiglipImageProcessor", "size": {"height": 256,
                 "width": 256}})");
  c = read_preprocess_config(dir.path());
  EXPECT_FALSE(c.do_center_crop);
  EXPECT_FALSE(c.shortest_edge.has_value());
  EXPECT_EQ(c.output_height(), 256);
  EXPECT_EQ(c.output_width(), 256);
  EXPECT_EQ(c.mean[2], 0.5);
  EXPECT_EQ(c.std[0], 0.5);
  EXPECT_TRUE(c.rescale_in_float64);
  // Old CLIPFeatureExtractor files: integer size (shortest edge) and crop_size.
  write_text(dir / "preprocessor_config.json",
             R"({"feature_extractor_type": "CLIPFeatureExtractor", "size": 336,
                 "crop_size": 300, "image_mean": 0.25})");
  c = read_preprocess_config(dir.path());
  EXPECT_EQ(*c.shortest_edge, 336);
  EXPECT_EQ(c.crop_height, 300);
  EXPECT_EQ(c.crop_width, 300);
  EXPECT_EQ(c.mean[1], 0.25);
}

TEST(PreprocessConfig, ReadsEverySupportedResampleCode) {
  TempDir dir;
  for (int code = 0; code <= 5; ++code) {
    write_text(dir / "preprocessor_config.json", "{\"resample\": " + std::to_string(code) + "}");
    EXPECT_EQ(read_preprocess_config(dir.path()).resample, code);
  }
  write_text(dir / "preprocessor_config.json", R"({"resample": null})");
  EXPECT_EQ(read_preprocess_config(dir.path()).resample, kPilBicubic);
  write_text(dir / "preprocessor_config.json", "{}");
  EXPECT_EQ(read_preprocess_config(dir.path()).resample, kPilBicubic);
}

void expect_config_error(const std::string& json, const std::string& needle) {
  TempDir dir;
  write_text(dir / "preprocessor_config.json", json);
  try {
    read_preprocess_config(dir.path());
    ADD_FAILURE() << "no error for " << json;
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("preprocessor_config.json"), std::string::npos) << message;
    EXPECT_NE(message.find(needle), std::string::npos) << message;
  }
}

TEST(PreprocessConfig, ErrorsNameTheFileAndField) {
  expect_config_error(R"({"resample": 6})", "field resample");
  expect_config_error(R"({"resample": 6})", "got 6");
  expect_config_error(R"({"resample": 6})", "2 (BILINEAR)");
  expect_config_error(R"({"resample": -1})", "got -1");
  expect_config_error(R"({"resample": 2.0})", "resample");
  expect_config_error(R"({"resample": "bilinear"})", "resample");
  expect_config_error(R"({"resample": 4294967298})", "resample");
  expect_config_error(R"({"size": {"shortest_edge": 0}})", "size.shortest_edge");
  expect_config_error(R"({"size": {"longest_edge": 5}})", "size");
  expect_config_error(R"({"crop_size": {"height": 5}})", "crop_size.width");
  expect_config_error(R"({"do_resize": "yes"})", "do_resize");
  expect_config_error(R"({"image_std": [1, 2]})", "image_std");
  expect_config_error(R"({"image_std": [1, 0, 1]})", "image_std");
  expect_config_error(R"({"rescale_factor": "x"})", "rescale_factor");
  expect_config_error(R"({"image_processor_type": "ViltImageProcessor"})", "ViltImageProcessor");
  expect_config_error(R"({"do_center_crop": false})", "do_center_crop");
  expect_config_error(R"({"size": )", "invalid JSON");
  expect_config_error(R"([1, 2])", "expected a JSON object");
  TempDir empty;
  try {
    read_preprocess_config(empty.path());
    ADD_FAILURE() << "no error for a missing config";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("preprocessor_config.json"), std::string::npos);
  }
}

TEST(Preprocess, RejectsUnsupportedResampleAndImageDependentSizes) {
  ImageRgb8 image{2, 2, std::vector<std::uint8_t>(12, 7)};
  std::vector<float> out(3 * 4 * 4);
  PreprocessConfig config = clip_config(4);
  config.resample = 6;
  testing::expect_error([&] { preprocess(image, config, out.data()); },
                        {"resample 6", "3 (BICUBIC)"});
  PreprocessConfig open_ended;
  open_ended.shortest_edge = 4;
  EXPECT_THROW(open_ended.output_height(), Error);
  EXPECT_THROW(preprocess(image, open_ended, out.data()), Error);
}


// A 1 x 5,000,000 strip (a valid image, under the pixel limit) resized so that its short side
// is 16 would be 16 x 80,000,000: refused by its size, not attempted (found by fuzz_image).
TEST(Preprocess, ExtremeAspectRatioIsRefusedBeforeResizing) {
  ImageRgb8 strip;
  strip.width = 1;
  strip.height = 5'000'000;
  strip.rgb.assign(3u * 5'000'000u, 7);
  PreprocessConfig config;
  config.shortest_edge = 16;
  config.do_center_crop = true;
  config.crop_height = config.crop_width = 16;
  std::vector<float> out(3 * 16 * 16);
  testing::expect_error([&] { preprocess(strip, config, out.data()); },
                        {"1x5000000 image", "16 x 80000000", "extreme aspect ratio"});
  // A panorama of ordinary proportions still works.
  ImageRgb8 wide;
  wide.width = 4000;
  wide.height = 100;
  wide.rgb.assign(3u * 4000u * 100u, 200);
  preprocess(wide, config, out.data());
  EXPECT_NEAR(out[0], (200 / 255.0 - 0.0) / 1.0, 1e-6);
}

}  // namespace
}  // namespace vlbench
