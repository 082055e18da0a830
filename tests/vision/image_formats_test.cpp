// Every image format and mode against Pillow 9.4: tests/fixtures/images/goldens.json, written
// with Pillow (and, for HEIF and AVIF, the libraries' reference decoders) by
// make_image_goldens.py. Decoding (the mode Image.open gives, and convert("RGB")), EXIF
// orientation (ImageOps.exif_transpose), resizing and cropping in the file's own mode, the
// pixel limit of every decoder, and the errors for damaged or unsupported files.
#include <vlbench/core/error.hpp>
#include <vlbench/vision/image.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdint>
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
using nlohmann::json;
using Bytes = std::vector<std::uint8_t>;

fs::path dir() { return testing::test_data("images"); }

Bytes read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

const json& goldens() {
  static const json cases = [] {
    std::ifstream in(dir() / "goldens.json");
    return json::parse(in);
  }();
  return cases;
}

// The expected RGB bytes of a case: its [offset, size] slice of goldens.bin.
Bytes expected_rgb(const json& slice) {
  static const Bytes blob = read_bytes(dir() / "goldens.bin");
  const std::size_t offset = slice[0].get<std::size_t>();
  const std::size_t size = slice[1].get<std::size_t>();
  EXPECT_LE(offset + size, blob.size());
  return {blob.begin() + static_cast<std::ptrdiff_t>(offset),
          blob.begin() + static_cast<std::ptrdiff_t>(offset + size)};
}

// How many bytes differ (0 expected), with the size checked first.
void expect_rgb(const ImageRgb8& got, const json& c, const json& slice) {
  ASSERT_EQ(got.width, c["width"].get<int>());
  ASSERT_EQ(got.height, c["height"].get<int>());
  const Bytes want = expected_rgb(slice);
  ASSERT_EQ(got.rgb.size(), want.size());
  std::size_t differing = 0;
  for (std::size_t i = 0; i < want.size(); ++i) differing += got.rgb[i] != want[i];
  EXPECT_EQ(differing, 0u) << "bytes differing from the golden, of " << want.size();
}

DecodeOptions oriented() {
  DecodeOptions options;
  options.exif_orientation = true;
  return options;
}

TEST(ImageFormats, EveryFixtureDecodesToPillowsModeAndRgb) {
  std::size_t checked = 0;
  for (const json& c : goldens()["decode"]) {
    const std::string file = c["file"];
    SCOPED_TRACE(file + " (Pillow mode " + c["pillow_mode"].get<std::string>() + ")");
    const Image8 image = decode_image_native(dir() / file);
    EXPECT_STREQ(pil_mode_name(image.mode), c["mode"].get<std::string>().c_str());
    expect_rgb(convert_rgb(image), c, c["rgb"]);
    expect_rgb(decode_image(dir() / file), c, c["rgb"]);
    ++checked;
  }
  EXPECT_GE(checked, 100u);
}

TEST(ImageFormats, ExifOrientationIsAppliedAsExifTranspose) {
  std::size_t rotated = 0;
  for (const json& c : goldens()["exif"]) {
    const std::string file = c["file"];
    SCOPED_TRACE(file);
    expect_rgb(decode_image(dir() / file, oriented()), c, c["rgb"]);
    // Off (the default): the stored pixels.
    const ImageRgb8 stored = decode_image(dir() / file);
    if (c["orientation"].is_number() && c["orientation"].get<int>() >= 5) {
      EXPECT_EQ(stored.width, c["height"].get<int>());
      ++rotated;
    }
  }
  EXPECT_GE(rotated, 8u);
}

TEST(ImageFormats, TiffOrientationIsAppliedOnLoadAsPillowsLoaderDoes) {
  for (const char* file : {"tiff/orient6.tif", "tiff/orient8_big_endian.tif"}) {
    SCOPED_TRACE(file);
    const ImageRgb8 plain = decode_image(dir() / file);
    const ImageRgb8 flagged = decode_image(dir() / file, oriented());
    EXPECT_EQ(plain.width, 9);
    EXPECT_EQ(plain.height, 13);
    EXPECT_EQ(plain.rgb, flagged.rgb);  // not rotated twice
  }
}

TEST(ImageFormats, ExifBlocksAreReadAsPillowReadsThem) {
  // Little and big endian, SHORT and LONG; the "Exif\0\0" prefix optional.
  const Bytes ii = {'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0};
  EXPECT_EQ(exif_orientation_of(ii), 6);
  Bytes prefixed = {'E', 'x', 'i', 'f', 0, 0};
  prefixed.insert(prefixed.end(), ii.begin(), ii.end());
  EXPECT_EQ(exif_orientation_of(prefixed), 6);
  const Bytes mm = {'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 4, 0, 0, 0, 1, 0, 0, 0, 8};
  EXPECT_EQ(exif_orientation_of(mm), 8);
  // A damaged block (a directory past its end, a wrong type, a bad header) has none.
  Bytes cut(ii.begin(), ii.end() - 4);
  EXPECT_EQ(exif_orientation_of(cut), 0);
  Bytes ascii = ii;
  ascii[12] = 2;  // type ASCII
  EXPECT_EQ(exif_orientation_of(ascii), 0);
  Bytes junk = ii;
  junk[0] = 'X';
  EXPECT_EQ(exif_orientation_of(junk), 0);
  EXPECT_EQ(exif_orientation_of({}), 0);
}

TEST(ImageFormats, ResizingInTheFileModeMatchesPillow) {
  std::size_t checked = 0;
  for (const json& c : goldens()["resize"]) {
    const std::string file = c["file"];
    const int resample = c["resample"];
    SCOPED_TRACE(file + " resample " + std::to_string(resample));
    const Image8 image = decode_image_native(dir() / file);
    const Image8 resized = resize(image, c["width"], c["height"], resample);
    EXPECT_EQ(resized.mode, image.mode);
    expect_rgb(convert_rgb(resized), c, c["rgb"]);
    ++checked;
  }
  EXPECT_GE(checked, 60u);
}

TEST(ImageFormats, CroppingInTheFileModeMatchesPillow) {
  for (const json& c : goldens()["crop"]) {
    const std::string file = c["file"];
    SCOPED_TRACE(file + " crop at " + c["left"].dump() + "," + c["top"].dump());
    const Image8 image = decode_image_native(dir() / file);
    expect_rgb(convert_rgb(crop(image, c["left"], c["top"], c["width"], c["height"])), c,
               c["rgb"]);
  }
}

TEST(ImageFormats, HeifAndAvifMatchTheirReferenceDecoders) {
  std::size_t oriented_checked = 0;
  for (const json& c : goldens()["reference"]) {
    const std::string file = c["file"];
    SCOPED_TRACE(file + " against " + c["tool"].get<std::string>());
    const Image8 image = decode_image_native(dir() / file);
    EXPECT_STREQ(pil_mode_name(image.mode), c["mode"].get<std::string>().c_str());
    expect_rgb(convert_rgb(image), c, c["rgb"]);
    if (c.contains("oriented")) {
      expect_rgb(decode_image(dir() / file, oriented()), c["oriented"], c["oriented"]["rgb"]);
      ++oriented_checked;
    } else {
      expect_rgb(decode_image(dir() / file, oriented()), c, c["rgb"]);
    }
  }
  EXPECT_EQ(oriented_checked, 1u);
}

TEST(ImageFormats, DamagedAndUnsupportedFilesAreClearErrors) {
  for (const json& c : goldens()["errors"]) {
    const fs::path file = dir() / c["file"].get<std::string>();
    testing::expect_error([&] { decode_image(file); },
                          {file.string(), c["message"].get<std::string>()});
  }
}

TEST(ImageFormats, TheFormatComesFromTheBytesNotTheName) {
  const std::pair<const char*, const char*> kinds[] = {
      {"jpeg/orient1.jpg", "JPEG"}, {"png/rgb.png", "PNG"},       {"gif/pillow.gif", "GIF"},
      {"bmp/p4.bmp", "BMP"},        {"tiff/l.tif", "TIFF"},        {"webp/lossy.webp", "WebP"},
      {"heif/rgb.heic", "HEIF"},    {"avif/rgb.avif", "AVIF"},     {"tiff/rgb16_big_endian.tif", "TIFF"}};
  testing::TempDir tmp;
  for (const auto& [file, format] : kinds) {
    SCOPED_TRACE(file);
    const Bytes bytes = read_bytes(dir() / file);
    EXPECT_STREQ(detect_image_format(bytes), format);
    // Under a misleading name it decodes all the same.
    const fs::path renamed = tmp / "photo.jpg.png";
    std::ofstream(renamed, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    EXPECT_EQ(decode_image(renamed).rgb, decode_image(dir() / file).rgb);
  }
  EXPECT_EQ(detect_image_format(Bytes{'G', 'I', 'F', '8'}), nullptr);
}

// Every decoder refuses an image one pixel over the limit, from its header.
TEST(ImageFormats, EveryDecoderHonoursThePixelLimit) {
  for (const char* file :
       {"jpeg/ycck.jpg", "png/i16.png", "gif/frame_grows_screen.gif", "bmp/rle4.bmp",
        "bmp/os2_p8.bmp", "tiff/rgb_tiles_lzw.tif", "tiff/rgb_planes_deflate.tif",
        "webp/animated.webp", "heif/odd.heic", "avif/odd.avif"}) {
    SCOPED_TRACE(file);
    const Image8 image = decode_image_native(dir() / file);
    const std::int64_t pixels = std::int64_t{image.width} * image.height;
    EXPECT_EQ(decode_image_native(dir() / file, DecodeOptions{pixels}).pixels, image.pixels);
    EXPECT_THROW(decode_image_native(dir() / file, DecodeOptions{pixels - 1}), ImageTooLarge);
  }
}

// Tiny files declaring huge images: refused before any pixel buffer exists.
TEST(ImageFormats, BombsInEveryFormatAreRefusedFromTheHeader) {
  const auto expect_bomb = [](const Bytes& bytes, const char* what) {
    SCOPED_TRACE(what);
    try {
      decode_image_native_bytes(bytes, "bomb");
      ADD_FAILURE() << "decoded";
    } catch (const ImageTooLarge& e) {
      EXPECT_NE(std::string(e.what()).find("over the limit of 89478485"), std::string::npos)
          << e.what();
    } catch (const Error& e) {
      ADD_FAILURE() << "another error: " << e.what();
    }
  };
  // GIF: a 65535 x 65535 logical screen around a 1 x 1 frame.
  Bytes gif = {'G', 'I', 'F', '8', '9', 'a', 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0,
               ',', 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 0x4C, 0x01, 0, ';'};
  expect_bomb(gif, "GIF screen");
  // GIF: a frame placed far out on a small screen grows the image.
  gif = {'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0, 0, 0,
         ',', 0xF0, 0xFF, 0xF0, 0xFF, 1, 0, 1, 0, 0, 2, 2, 0x4C, 0x01, 0, ';'};
  expect_bomb(gif, "GIF frame offset");
  // BMP: 100000 x 100000, 24-bit, no pixel data.
  Bytes bmp = {'B', 'M', 0, 0, 0, 0, 0, 0, 0, 0, 54, 0, 0, 0, 40, 0, 0, 0, 0xA0, 0x86, 0x01, 0,
               0xA0, 0x86, 0x01, 0, 1, 0, 24, 0};
  bmp.resize(54, 0);
  expect_bomb(bmp, "BMP");
  // TIFF: 200000 x 200000 declared, one strip.
  const Bytes tiff = {'I', 'I', 42, 0, 8, 0, 0, 0, 4, 0,
                      0x00, 0x01, 4, 0, 1, 0, 0, 0, 0x40, 0x0D, 0x03, 0,   // width
                      0x01, 0x01, 4, 0, 1, 0, 0, 0, 0x40, 0x0D, 0x03, 0,   // length
                      0x11, 0x01, 4, 0, 1, 0, 0, 0, 8, 0, 0, 0,            // strip offsets
                      0x17, 0x01, 4, 0, 1, 0, 0, 0, 1, 0, 0, 0,            // strip byte counts
                      0, 0, 0, 0};
  expect_bomb(tiff, "TIFF");
  // WebP: 38 bytes (a lossless bitstream of one colour) for a 9500 x 9500 canvas.
  for (const json& c : goldens()["bombs"]) {
    expect_bomb(read_bytes(dir() / c["file"].get<std::string>()), "WebP");
  }
}

TEST(ImageFormats, ModesConvertToRgbAsPillowDoes) {
  // Hand-computed: CMYK (C, M, Y, K) = (255, 0, 128, 64): nk = 191, R = 191 - 191 = 0,
  // G = 191, B = 191 - round(128 * 191 / 255) = 191 - 96 = 95. I clips, 1 is 0 or 255.
  Image8 cmyk{1, 1, PilMode::CMYK, {255, 0, 128, 64}, {}};
  EXPECT_EQ(convert_rgb(cmyk).rgb, (Bytes{0, 191, 95}));
  Image8 i{3, 1, PilMode::I, Bytes(12), {}};
  const std::int32_t values[3] = {-5, 200, 70000};
  std::memcpy(i.pixels.data(), values, 12);
  EXPECT_EQ(convert_rgb(i).rgb, (Bytes{0, 0, 0, 200, 200, 200, 255, 255, 255}));
  Image8 p{1, 1, PilMode::P, {200}, Bytes(768, 0)};
  p.palette[600] = 1, p.palette[601] = 2, p.palette[602] = 3;
  EXPECT_EQ(convert_rgb(p).rgb, (Bytes{1, 2, 3}));
  Image8 bad{2, 2, PilMode::RGB, Bytes(5), {}};
  testing::expect_error([&] { convert_rgb(bad); }, {"convert_rgb", "RGB", "2x2", "5"});
  testing::expect_error([&] { crop(p, 0, 0, 0, 1); }, {"crop", "positive"});
}

}  // namespace
}  // namespace vlbench
