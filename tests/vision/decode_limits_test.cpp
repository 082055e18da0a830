// Decompression bombs: a small file whose header declares a huge image is an ImageTooLarge
// error raised from the header, before any pixel buffer exists; the limit is Pillow's
// MAX_IMAGE_PIXELS by default, exact at its boundary, and off at 0.
#include <vlbench/core/atomic_file.hpp>
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

using Bytes = std::vector<std::uint8_t>;
using testing::test_data;

Bytes read_bytes(const std::string& fixture) {
  const std::string bytes = read_file(test_data("vision/pillow/" + fixture));
  return {bytes.begin(), bytes.end()};
}

Bytes png_declaring(std::uint32_t width, std::uint32_t height) {
  const std::string png = testing::png_declaring(width, height);
  return {png.begin(), png.end()};
}

// The JPEG with its start-of-frame marker rewritten to declare width × height.
Bytes jpeg_declaring(const std::string& fixture, std::uint16_t width, std::uint16_t height) {
  Bytes jpeg = read_bytes(fixture);
  for (std::size_t i = 2; i + 9 < jpeg.size(); ++i) {
    if (jpeg[i] == 0xFF && (jpeg[i + 1] == 0xC0 || jpeg[i + 1] == 0xC2)) {
      // FF Cx, length (2), precision (1), height (2), width (2)
      jpeg[i + 5] = static_cast<std::uint8_t>(height >> 8);
      jpeg[i + 6] = static_cast<std::uint8_t>(height);
      jpeg[i + 7] = static_cast<std::uint8_t>(width >> 8);
      jpeg[i + 8] = static_cast<std::uint8_t>(width);
      return jpeg;
    }
  }
  ADD_FAILURE() << "no SOF0/SOF2 marker in " << fixture;
  return jpeg;
}

std::string too_large_message(const Bytes& bytes, const DecodeOptions& options = {}) {
  try {
    decode_image_bytes(bytes, "bomb", options);
  } catch (const ImageTooLarge& e) {
    return e.what();
  } catch (const Error& e) {
    return std::string("another error: ") + e.what();
  }
  return "(decoded)";
}

TEST(DecodeLimits, BombsAreRefusedFromTheirHeader) {
  EXPECT_EQ(too_large_message(png_declaring(30000, 30000)),
            "bomb: the image declares 30000x30000 = 900000000 pixels, over the limit of 89478485 "
            "(a decompression bomb? raise it with --max-image-pixels, 0 for no limit)");
  EXPECT_NE(too_large_message(png_declaring(65500, 65500)).find("65500x65500"), std::string::npos);
  for (const char* jpeg : {"rgb444.jpg", "rgb_progressive.jpg", "gray.jpg", "cmyk.jpg"}) {
    SCOPED_TRACE(jpeg);
    EXPECT_NE(too_large_message(jpeg_declaring(jpeg, 65500, 65500)).find("65500x65500 ="),
              std::string::npos);
  }
}

TEST(DecodeLimits, TheLimitIsExactAndZeroTurnsItOff) {
  const Bytes png = read_bytes("rgb8.png");
  const ImageRgb8 image = decode_image_bytes(png, "rgb8.png");
  const std::int64_t pixels = std::int64_t{image.width} * image.height;
  EXPECT_EQ(decode_image_bytes(png, "rgb8.png", DecodeOptions{pixels}).rgb, image.rgb);
  EXPECT_NE(too_large_message(png, DecodeOptions{pixels - 1}).find("over the limit of"),
            std::string::npos);
  const Bytes jpeg = read_bytes("rgb444.jpg");
  const ImageRgb8 photo = decode_image_bytes(jpeg, "rgb444.jpg");
  EXPECT_NE(too_large_message(jpeg, DecodeOptions{std::int64_t{photo.width} * photo.height - 1})
                .find("over the limit of"),
            std::string::npos);

  // No limit: a 3000 x 3000 declaration goes on to decode, and fails on the missing data.
  const std::string message = too_large_message(png_declaring(3000, 3000), DecodeOptions{0});
  EXPECT_NE(message.find("another error: bomb: corrupt PNG image"), std::string::npos) << message;
  testing::expect_error([&] { decode_image_bytes(png, "x", DecodeOptions{-1}); },
                        {"max_pixels", "-1"});
}

TEST(DecodeLimits, FilesOnDiskAreLimitedToo) {
  testing::TempDir dir;
  const Bytes bomb = png_declaring(30000, 30000);
  testing::write_text(dir / "bomb.png", std::string(bomb.begin(), bomb.end()));
  testing::expect_error([&] { decode_image(dir / "bomb.png"); },
                        {(dir / "bomb.png").string(), "30000x30000", "--max-image-pixels"});
}

}  // namespace
}  // namespace vlbench
