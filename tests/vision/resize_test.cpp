// Pillow resampling on tiny images with hand-computed results, and the argument checks.
#include <vlbench/core/error.hpp>
#include <vlbench/vision/image.hpp>

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <vector>

#include "test_util.hpp"

namespace vlbench {
namespace {

ImageRgb8 gray_row(std::vector<int> values, bool vertical = false) {
  ImageRgb8 image;
  image.width = vertical ? 1 : static_cast<int>(values.size());
  image.height = vertical ? static_cast<int>(values.size()) : 1;
  for (int v : values) {
    for (int c = 0; c < 3; ++c) image.rgb.push_back(static_cast<std::uint8_t>(v));
  }
  return image;
}

std::vector<int> red(const ImageRgb8& image) {
  std::vector<int> out;
  for (std::size_t i = 0; i < image.rgb.size(); i += 3) out.push_back(image.rgb[i]);
  return out;
}

// Upscaling [100, 200] to 4 pixels: scale 0.5, support 2, centers 0.25, 0.75, 1.25, 1.75.
// Output 0 reads pixels 0..1 at distances 0.25 and 1.25: bicubic (a = -0.5) gives 0.8671875
// and -0.0703125, normalised by their sum 0.796875: (100 * 0.8671875 - 200 * 0.0703125) /
// 0.796875 = 91.18 -> 91. Output 1: distances 0.25 and 0.75 -> 0.8671875, 0.2265625:
// (86.71875 + 45.3125) / 1.09375 = 120.71 -> 121. Outputs 2 and 3 mirror: 179.29 -> 179,
// 208.82 -> 209.
TEST(Resize, UpscalesTwoPixelsByHand) {
  EXPECT_EQ(red(resize_bicubic(gray_row({100, 200}), 4, 1)), (std::vector<int>{91, 121, 179, 209}));
  // The same along the vertical pass.
  EXPECT_EQ(red(resize_bicubic(gray_row({100, 200}, true), 1, 4)),
            (std::vector<int>{91, 121, 179, 209}));
}

// Downscaling [10, 50, 90, 130] to 2: scale 2, the kernel is stretched 2x (support 4).
// Output 0 (center 1) weighs pixels 0..3 at scaled distances 0.25, 0.25, 0.75, 1.25:
// 0.8671875, 0.8671875, 0.2265625, -0.0703125 (sum 1.890625): 63.28125 / 1.890625 = 33.47
// -> 33. Output 1 mirrors: 201.40625 / 1.890625 = 106.53 -> 107.
TEST(Resize, DownscalesWithWidenedKernelByHand) {
  EXPECT_EQ(red(resize_bicubic(gray_row({10, 50, 90, 130}), 2, 1)), (std::vector<int>{33, 107}));
  EXPECT_EQ(red(resize_bicubic(gray_row({10, 50, 90, 130}, true), 1, 2)),
            (std::vector<int>{33, 107}));
}

// Overshoot is clipped: [0, 255] upscaled gives (0 - 255 * 0.0882) < 0 -> 0 at the left.
TEST(Resize, ClipsOvershootToByteRange) {
  const std::vector<int> out = red(resize_bicubic(gray_row({0, 255}), 4, 1));
  EXPECT_EQ(out.front(), 0);
  EXPECT_EQ(out.back(), 255);
}

TEST(Resize, ConstantImageStaysConstant) {
  for (const auto& [w, h, ow, oh] : std::vector<std::array<int, 4>>{
           {37, 23, 11, 50}, {5, 3, 224, 224}, {640, 480, 298, 224}, {1, 1, 7, 2}}) {
    ImageRgb8 image{w, h, {}};
    for (int i = 0; i < w * h; ++i) image.rgb.insert(image.rgb.end(), {173, 0, 255});
    const ImageRgb8 out = resize_bicubic(image, ow, oh);
    ASSERT_EQ(out.width, ow);
    ASSERT_EQ(out.height, oh);
    for (std::size_t i = 0; i < out.rgb.size(); i += 3) {
      ASSERT_EQ(out.rgb[i], 173) << w << "x" << h << " -> " << ow << "x" << oh;
      ASSERT_EQ(out.rgb[i + 1], 0);
      ASSERT_EQ(out.rgb[i + 2], 255);
    }
  }
}

// The passes are separable: a 2-d resize of an image that varies only along x equals the
// 1-d resize of a row, on every output row (the vertical pass sees constant columns).
TEST(Resize, SeparablePassesOnRowConstantImage) {
  const std::vector<int> row = {3, 250, 17, 90, 91, 200, 0, 64, 128};
  ImageRgb8 image{9, 6, {}};
  for (int y = 0; y < 6; ++y) {
    for (int v : row) image.rgb.insert(image.rgb.end(), 3, static_cast<std::uint8_t>(v));
  }
  const std::vector<int> expected = red(resize_bicubic(gray_row(row), 4, 1));
  const ImageRgb8 out = resize_bicubic(image, 4, 3);
  for (int y = 0; y < 3; ++y) {
    const std::vector<int> all = red(out);
    EXPECT_EQ(std::vector<int>(all.begin() + y * 4, all.begin() + y * 4 + 4), expected) << y;
  }
}

TEST(Resize, SameSizeIsACopy) {
  ImageRgb8 image{2, 2, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}};
  EXPECT_EQ(resize_bicubic(image, 2, 2).rgb, image.rgb);
}

// Bilinear (support 1) upscaling [10, 200] to 4: centers 0.25, 0.75, 1.25, 1.75. Output 0
// reads only pixel 0 (window [int(-0.25), int(1.75)) = [0, 1)) -> 10. Output 1 reads pixels
// 0..1 at distances 0.25 and 0.75 -> weights 0.75, 0.25: 57.5, and in 22-bit fixed point the
// half rounds up -> 58. Outputs 2 and 3 mirror: 152.5 -> 153, 200.
TEST(Resize, BilinearUpscalesByHand) {
  EXPECT_EQ(red(resize(gray_row({10, 200}), 4, 1, kPilBilinear)),
            (std::vector<int>{10, 58, 153, 200}));
  EXPECT_EQ(red(resize(gray_row({10, 200}, true), 1, 4, kPilBilinear)),
            (std::vector<int>{10, 58, 153, 200}));
}

// Downscaling [10, 50, 90, 130] to 2 (scale 2, supports doubled). Output 0 (center 1):
//  - bilinear, window [0, int(3.5)) = 3 pixels at scaled distances 0.25, 0.25, 0.75:
//    (7.5 + 37.5 + 22.5) / 1.75 = 38.57 -> 39; output 1 mirrors: 177.5 / 1.75 = 101.4 -> 101;
//  - box (support 0.5 -> 1): window [0, 2), both weights 1: 30 and 110;
//  - hamming (support 1 -> 2), window [0, 3) at 0.25, 0.25, 0.75: weights 0.779, 0.779,
//    0.0644: 52.54 / 1.622 = 32.4 -> 32; output 1 mirrors -> 108;
//  - lanczos (support 3 -> 6), all 4 pixels at 0.25, 0.25, 0.75, 1.25: weights 0.890, 0.890,
//    0.270, -0.133: 60.44 / 1.917 = 31.5 -> 32; output 1 -> 108 (Pillow gives the same).
TEST(Resize, EveryFilterDownscalesByHand) {
  const ImageRgb8 row = gray_row({10, 50, 90, 130});
  EXPECT_EQ(red(resize(row, 2, 1, kPilBilinear)), (std::vector<int>{39, 101}));
  EXPECT_EQ(red(resize(row, 2, 1, kPilBox)), (std::vector<int>{30, 110}));
  EXPECT_EQ(red(resize(row, 2, 1, kPilLanczos)), (std::vector<int>{32, 108}));
  EXPECT_EQ(red(resize(row, 2, 1, kPilHamming)), (std::vector<int>{32, 108}));
  EXPECT_EQ(red(resize(row, 2, 1, kPilBicubic)), red(resize_bicubic(row, 2, 1)));
}

// NEAREST 2 -> 7: step 2/7 accumulated from 1/7. Output 3 sits at 3.5 * 2/7 = 1 exactly, but
// the running sum Pillow uses is 0.9999999999999999, so it still takes pixel 0.
TEST(Resize, NearestFollowsPillowsRunningSum) {
  EXPECT_EQ(red(resize(gray_row({10, 200}), 7, 1, kPilNearest)),
            (std::vector<int>{10, 10, 10, 10, 200, 200, 200}));
  EXPECT_EQ(red(resize(gray_row({10, 200}, true), 1, 7, kPilNearest)),
            (std::vector<int>{10, 10, 10, 10, 200, 200, 200}));
  // Downscaling 5 -> 2 picks pixels int(1.25) = 1 and int(3.75) = 3.
  EXPECT_EQ(red(resize(gray_row({0, 1, 2, 3, 4}), 2, 1, kPilNearest)), (std::vector<int>{1, 3}));
}

TEST(Resize, EveryFilterKeepsConstantImagesAndCopiesSameSize) {
  ImageRgb8 image{9, 5, {}};
  for (int i = 0; i < 9 * 5; ++i) image.rgb.insert(image.rgb.end(), {173, 0, 255});
  ImageRgb8 varied{3, 2, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18}};
  for (int code = 0; code <= 5; ++code) {
    SCOPED_TRACE(pil_resample_name(code));
    for (const auto& [w, h] : std::vector<std::array<int, 2>>{{4, 11}, {1, 1}, {30, 2}}) {
      const ImageRgb8 out = resize(image, w, h, code);
      for (std::size_t i = 0; i < out.rgb.size(); i += 3) {
        ASSERT_EQ(out.rgb[i], 173) << w << "x" << h;
        ASSERT_EQ(out.rgb[i + 1], 0);
        ASSERT_EQ(out.rgb[i + 2], 255);
      }
    }
    EXPECT_EQ(resize(varied, 3, 2, code).rgb, varied.rgb);
  }
}

TEST(Resize, UnknownFilterNamesTheCodeAndTheSupportedOnes) {
  ImageRgb8 image{2, 2, std::vector<std::uint8_t>(12)};
  for (int code : {-1, 6, 7}) {
    testing::expect_error([&] { resize(image, 3, 3, code); },
                          {"resample code " + std::to_string(code), "0 (NEAREST)", "1 (LANCZOS)",
                           "2 (BILINEAR)", "3 (BICUBIC)", "4 (BOX)", "5 (HAMMING)"});
  }
  EXPECT_EQ(pil_resample_name(2), std::string("BILINEAR"));
  EXPECT_EQ(pil_resample_name(6), nullptr);
}

TEST(Resize, RejectsEmptySizes) {
  ImageRgb8 image{2, 2, std::vector<std::uint8_t>(12)};
  EXPECT_THROW(resize_bicubic(image, 0, 3), Error);
  EXPECT_THROW(resize_bicubic(ImageRgb8{}, 3, 3), Error);
  ImageRgb8 short_buffer{2, 2, std::vector<std::uint8_t>(11)};
  EXPECT_THROW(resize_bicubic(short_buffer, 3, 3), Error);
  EXPECT_THROW(resize(image, 3, -1, kPilNearest), Error);
  EXPECT_THROW(resize(short_buffer, 3, 3, kPilLanczos), Error);
}

}  // namespace
}  // namespace vlbench
