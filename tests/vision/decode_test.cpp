// Decoding against Pillow 9.4's Image.open(...).convert("RGB") bytes, recorded by
// tests/fixtures/vision/pillow/make_refs.py, and every error path.
#include <vlbench/core/error.hpp>
#include <vlbench/vision/image.hpp>

#include <gtest/gtest.h>

#include <cstdint>
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

std::vector<std::uint8_t> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

class PillowReference : public ::testing::TestWithParam<const char*> {};

TEST_P(PillowReference, DecodesAsPillowConvertRgb) {
  const fs::path path = test_data(std::string("vision/pillow/") + GetParam());
  const std::vector<std::uint8_t> expected = read_bytes(path.string() + ".rgb");
  const ImageRgb8 image = decode_image(path);
  EXPECT_EQ(image.width, 13);
  EXPECT_EQ(image.height, 9);
  ASSERT_EQ(image.rgb.size(), expected.size());
  int differing = 0;
  for (std::size_t i = 0; i < expected.size(); ++i) differing += image.rgb[i] != expected[i];
  EXPECT_EQ(differing, 0) << "bytes differing from Pillow";
}

INSTANTIATE_TEST_SUITE_P(
    AllKinds, PillowReference,
    ::testing::Values("gray1.png", "gray2.png", "gray4.png", "gray8.png", "gray16.png",
                      "gray16_small.png", "gray8_trns.png", "gray_alpha8.png", "gray_alpha16.png",
                      "rgb8.png", "rgb16.png", "rgba8.png", "rgba16.png", "rgb8_trns.png",
                      "palette1.png", "palette2.png", "palette4.png", "palette8.png",
                      "palette8_short.png", "rgb8_interlaced.png", "gray4_interlaced.png",
                      "rgb420.jpg", "rgb444.jpg", "rgb_progressive.jpg", "gray.jpg", "cmyk.jpg"),
    [](const ::testing::TestParamInfo<const char*>& info) {
      std::string name = info.param;
      for (char& c : name) {
        if (c == '.') c = '_';
      }
      return name;
    });

// Hand-checked facts of Pillow's conversions, independent of the recorded bytes: 16-bit gray
// is clipped (Pillow mode "I"), not reduced to its high byte; gray is replicated.
TEST(Decode, SixteenBitGrayClipsLikePillowModeI) {
  const ImageRgb8 image = decode_image(test_data("vision/pillow/gray16_small.png"));
  const std::vector<std::uint8_t> bytes = read_bytes(test_data("vision/pillow/gray16_small.png"));
  int clipped = 0;
  for (std::size_t i = 0; i < image.rgb.size(); i += 3) {
    EXPECT_EQ(image.rgb[i], image.rgb[i + 1]);
    EXPECT_EQ(image.rgb[i], image.rgb[i + 2]);
    clipped += image.rgb[i] == 255;
  }
  // Values are uniform in 0..300: about 45 / 301 of the 117 pixels are above 254, and with
  // the high byte instead every pixel would be 0 or 1.
  EXPECT_GT(clipped, 5);
}

TEST(Decode, FixtureImagesHaveTheirSizes) {
  const struct {
    const char* name;
    int width, height;
  } cases[] = {{"gradient_640x480.jpg", 640, 480}, {"gray_257x512.png", 257, 512},
               {"palette_200x150.png", 200, 150},  {"rgba_300x300.png", 300, 300},
               {"tiny_10x7.png", 10, 7},           {"wide_1000x225.jpg", 1000, 225}};
  for (const auto& c : cases) {
    const ImageRgb8 image = decode_image(test_data(std::string("vision/images/") + c.name));
    EXPECT_EQ(image.width, c.width) << c.name;
    EXPECT_EQ(image.height, c.height) << c.name;
    EXPECT_EQ(image.rgb.size(), static_cast<std::size_t>(c.width) * c.height * 3) << c.name;
  }
}

void expect_decode_error(const std::vector<std::uint8_t>& bytes, const std::string& needle) {
  try {
    decode_image_bytes(bytes, "some/image.bin");
    ADD_FAILURE() << "no error, expected " << needle;
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind("some/image.bin: ", 0), 0u) << message;
    EXPECT_NE(message.find(needle), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

TEST(DecodeErrors, TruncatedJpeg) {
  const std::vector<std::uint8_t> bytes = read_bytes(test_data("vision/images/noise_333x227.jpg"));
  expect_decode_error({bytes.begin(), bytes.begin() + bytes.size() / 2},
                      "corrupt JPEG image: Premature end of JPEG file");
  expect_decode_error({bytes.begin(), bytes.begin() + 3}, "corrupt JPEG image");
}

TEST(DecodeErrors, CorruptJpeg) {
  std::vector<std::uint8_t> bytes = read_bytes(test_data("vision/pillow/rgb444.jpg"));
  // Garbage over the headers after SOI: libjpeg stops at the first bad marker.
  for (std::size_t i = 4; i < 40 && i < bytes.size(); ++i) bytes[i] = 0x5A;
  expect_decode_error(bytes, "corrupt JPEG image");
}

TEST(DecodeErrors, TruncatedPng) {
  const std::vector<std::uint8_t> bytes = read_bytes(test_data("vision/images/rgba_300x300.png"));
  expect_decode_error({bytes.begin(), bytes.begin() + bytes.size() / 2},
                      "corrupt PNG image: file is truncated");
  expect_decode_error({bytes.begin(), bytes.begin() + 12}, "corrupt PNG image");
}

TEST(DecodeErrors, CorruptPng) {
  std::vector<std::uint8_t> bytes = read_bytes(test_data("vision/pillow/rgb8.png"));
  bytes[20] ^= 0xFF;  // inside IHDR's width: its CRC no longer matches
  expect_decode_error(bytes, "corrupt PNG image");
  bytes = read_bytes(test_data("vision/pillow/rgb8.png"));
  bytes[bytes.size() - 30] ^= 0x55;  // inside the compressed image data
  expect_decode_error(bytes, "corrupt PNG image");
}

TEST(DecodeErrors, NotAnImage) {
  const std::string text = "P6\n2 2\n255\n";
  expect_decode_error({text.begin(), text.end()}, "not an image format vlbench reads");
  expect_decode_error({}, "not an image format vlbench reads");
  TempDir dir;
  write_bytes(dir / "notes.jpg", {'h', 'e', 'l', 'l', 'o'});
  try {
    decode_image(dir / "notes.jpg");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    // The file is named, and every supported format listed.
    EXPECT_EQ(std::string(e.what()),
              (dir / "notes.jpg").string() +
                  ": not an image format vlbench reads (expected JPEG, PNG, GIF, BMP, TIFF, "
                  "WebP, HEIF/HEIC or AVIF; the format is recognised by the file's first bytes, "
                  "not its name)");
  }
}

TEST(DecodeErrors, MissingFileNamesThePath) {
  TempDir dir;
  try {
    decode_image(dir / "absent.png");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind((dir / "absent.png").string() + ": ", 0), 0u) << message;
    EXPECT_NE(message.find("no such file"), std::string::npos) << message;
  }
}

TEST(DecodeErrors, FileErrorsNameThePath) {
  TempDir dir;
  try {
    decode_image(dir.path());
    ADD_FAILURE() << "no error for a folder";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              dir.path().string() + ": cannot read image: not a regular file");
  }
  const std::vector<std::uint8_t> bytes = read_bytes(test_data("vision/pillow/gray.jpg"));
  write_bytes(dir / "cut.jpg", {bytes.begin(), bytes.begin() + bytes.size() - 40});
  try {
    decode_image(dir / "cut.jpg");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind((dir / "cut.jpg").string() + ": corrupt JPEG", 0), 0u)
        << e.what();
  }
}

}  // namespace
}  // namespace vlbench
