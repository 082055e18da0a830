// PNG decoding with libpng, into the mode Pillow 9.4's PngImagePlugin opens (checked against
// Pillow for every PNG kind, tests/fixtures/images):
//  - 1-bit gray: 1 (0 / 255); 2/4/8-bit gray: L (scaled to 8 bits: the 0x55 and 0x11 steps of
//    Pillow's L;2 / L;4); 16-bit gray: I (the 16-bit value, which convert("RGB") clips to 255,
//    not the high byte); gray+alpha: LA; RGB; RGBA; 16-bit LA/RGB/RGBA: the high byte
//    (Pillow's ;16B raw modes).
//  - palette: P with the PLTE colours; indices past a short PLTE keep Pillow's gray ramp.
//  - tRNS, gamma, background and colour profiles are ignored, as Pillow's pixels ignore them.
// The EXIF orientation, when asked for, is read as Pillow's getexif reads it from a PNG:
// eXIf (or a tEXt "exif") first, else a "Raw profile type exif" text chunk (hex), and
// tiff:Orientation in an "XML:com.adobe.xmp" text chunk when those have no orientation;
// chunks before and after the image data, the last of a kind winning.
//
// Errors use png_set_error_fn + longjmp: the longjmp only skips libpng's C frames and lands
// in decode_into(). Trailing chunks after the image data are not read by libpng (Pillow does
// not need them either), so a file cut after its last IDAT still decodes.
#include <vlbench/core/error.hpp>

#include "vision/decode_internal.hpp"

#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include <png.h>
#include <zlib.h>

namespace vlbench::vision_detail {

namespace {

struct PngContext {
  std::jmp_buf jump;
  char message[256];
  const std::uint8_t* data;
  std::size_t size;
  std::size_t offset;
};

[[noreturn]] void on_png_error(png_structp png, png_const_charp message) {
  auto* ctx = static_cast<PngContext*>(png_get_error_ptr(png));
  std::snprintf(ctx->message, sizeof(ctx->message), "%s", message);
  std::longjmp(ctx->jump, 1);
}

void on_png_warning(png_structp, png_const_charp) {}

void read_bytes(png_structp png, png_bytep dst, png_size_t count) {
  auto* ctx = static_cast<PngContext*>(png_get_io_ptr(png));
  if (count > ctx->size - ctx->offset) png_error(png, "file is truncated");
  std::memcpy(dst, ctx->data + ctx->offset, count);
  ctx->offset += count;
}

// Decodes into out->image in its Pillow mode; false after a libpng error. An image over
// options.max_pixels throws ImageTooLarge (the reader destroyed first), read from IHDR before
// any pixel buffer is allocated.
bool decode_into(PngContext* ctx, const std::string& name, const DecodeOptions& options,
                 std::vector<png_bytep>* rows, std::vector<std::uint8_t>* wide, Image8* out) {
  png_structp png =
      png_create_read_struct(PNG_LIBPNG_VER_STRING, ctx, on_png_error, on_png_warning);
  if (png == nullptr) {
    std::snprintf(ctx->message, sizeof(ctx->message), "cannot create a libpng reader");
    return false;
  }
  png_infop info = png_create_info_struct(png);
  if (info == nullptr) {
    png_destroy_read_struct(&png, nullptr, nullptr);
    std::snprintf(ctx->message, sizeof(ctx->message), "cannot create a libpng reader");
    return false;
  }
  if (setjmp(ctx->jump)) {
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  png_set_read_fn(png, ctx, read_bytes);
  png_read_info(png, info);
  const int width = static_cast<int>(png_get_image_width(png, info));
  const int height = static_cast<int>(png_get_image_height(png, info));
  const int color_type = png_get_color_type(png, info);
  const int depth = png_get_bit_depth(png, info);
  PilMode mode = PilMode::RGB;
  switch (color_type) {
    case PNG_COLOR_TYPE_GRAY:
      mode = depth == 1 ? PilMode::One : depth == 16 ? PilMode::I : PilMode::L;
      break;
    case PNG_COLOR_TYPE_GRAY_ALPHA:
      mode = PilMode::LA;
      break;
    case PNG_COLOR_TYPE_PALETTE:
      mode = PilMode::P;
      break;
    case PNG_COLOR_TYPE_RGB_ALPHA:
      mode = PilMode::RGBA;
      break;
    default:
      break;
  }
  try {
    check_declared_size(width, height, name, options);
    *out = new_image(width, height, mode, name);
    rows->resize(static_cast<std::size_t>(height));
    // 16-bit gray is read as big-endian pairs and widened to int32 afterwards.
    if (mode == PilMode::I) wide->resize(static_cast<std::size_t>(width) * height * 2);
  } catch (...) {
    png_destroy_read_struct(&png, &info, nullptr);
    throw;
  }
  if (mode == PilMode::P) {
    // Indices are mapped by convert_rgb, not by libpng: Pillow's palette starts as the gray
    // ramp and PLTE overwrites only its first entries, and tRNS must not become alpha.
    png_set_packing(png);
    png_colorp entries = nullptr;
    int count = 0;
    if (png_get_PLTE(png, info, &entries, &count) != 0) {
      for (int i = 0; i < std::min(count, 256); ++i) {
        out->palette[3 * i] = entries[i].red;
        out->palette[3 * i + 1] = entries[i].green;
        out->palette[3 * i + 2] = entries[i].blue;
      }
    }
  }
  if (color_type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (depth == 16 && mode != PilMode::I) png_set_strip_16(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  const std::size_t row_bytes = png_get_rowbytes(png, info);
  std::uint8_t* base = mode == PilMode::I ? wide->data() : out->pixels.data();
  VLB_ASSERT(row_bytes == static_cast<std::size_t>(width) *
                              (mode == PilMode::I ? 2 : pil_mode_bytes_per_pixel(mode)));
  for (int y = 0; y < height; ++y) (*rows)[y] = base + row_bytes * y;
  png_read_image(png, rows->data());
  png_destroy_read_struct(&png, &info, nullptr);
  return true;
}

std::uint32_t be32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

// zlib-inflates a text chunk's payload; nullopt when it is damaged or over Pillow's 1 MiB
// text limit (ImageFile.SAFEBLOCK-sized MAX_TEXT_CHUNK).
std::optional<std::string> inflate_text(std::span<const std::uint8_t> in) {
  constexpr std::size_t kMaxText = 1 << 20;
  z_stream z{};
  if (inflateInit(&z) != Z_OK) return std::nullopt;
  std::string out;
  char buffer[16384];
  z.next_in = const_cast<Bytef*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());
  int status = Z_OK;
  while (status == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buffer);
    z.avail_out = sizeof(buffer);
    status = inflate(&z, Z_NO_FLUSH);
    out.append(buffer, sizeof(buffer) - z.avail_out);
    if (out.size() > kMaxText || (status == Z_BUF_ERROR && z.avail_in == 0)) break;
  }
  inflateEnd(&z);
  if (status != Z_STREAM_END || out.size() > kMaxText) return std::nullopt;
  return out;
}

// The orientation Pillow's getexif finds in a PNG (see the top of the file), from a walk over
// its chunks; 0 when none.
int png_orientation(std::span<const std::uint8_t> bytes) {
  std::optional<std::vector<std::uint8_t>> exif;  // eXIf, or tEXt "exif"
  std::optional<std::string> raw_profile;         // "Raw profile type exif"
  std::optional<std::string> xmp;                 // "XML:com.adobe.xmp"
  std::size_t at = 8;
  while (bytes.size() - at >= 12) {
    const std::uint32_t length = be32(&bytes[at]);
    const std::string_view type(reinterpret_cast<const char*>(&bytes[at + 4]), 4);
    if (length > bytes.size() - at - 12) break;
    const std::span<const std::uint8_t> data = bytes.subspan(at + 8, length);
    at += 12 + static_cast<std::size_t>(length);
    if (type == "IEND") break;
    if (type == "eXIf") {
      exif.emplace(data.begin(), data.end());
      continue;
    }
    if (type != "tEXt" && type != "zTXt" && type != "iTXt") continue;
    const auto nul = std::find(data.begin(), data.end(), 0);
    if (nul == data.end()) continue;
    const std::string key(data.begin(), nul);
    if (key != "exif" && key != "Raw profile type exif" && key != "XML:com.adobe.xmp") continue;
    std::span<const std::uint8_t> rest = data.subspan(key.size() + 1);
    std::optional<std::string> text;
    if (type == "tEXt") {
      if (key == "exif") {
        exif.emplace(rest.begin(), rest.end());
        continue;
      }
      text.emplace(rest.begin(), rest.end());
    } else if (type == "zTXt") {
      if (rest.empty() || rest[0] != 0) continue;
      text = inflate_text(rest.subspan(1));
    } else {  // iTXt: flag, method, language\0, translated keyword\0, text
      if (rest.size() < 2) continue;
      const bool compressed = rest[0] != 0;
      if (compressed && rest[1] != 0) continue;
      auto p = std::find(rest.begin() + 2, rest.end(), 0);
      if (p == rest.end()) continue;
      p = std::find(p + 1, rest.end(), 0);
      if (p == rest.end()) continue;
      const std::span<const std::uint8_t> value(p + 1, rest.end());
      text = compressed ? inflate_text(value) : std::string(value.begin(), value.end());
    }
    if (!text || key == "exif") continue;
    (key == "XML:com.adobe.xmp" ? xmp : raw_profile) = std::move(text);
  }
  if (!exif && raw_profile) {
    // Pillow: bytes.fromhex("".join(text.split("\n")[3:])); whitespace between pairs is
    // allowed, anything else makes it fail (no orientation here).
    std::size_t lines = 0;
    std::size_t start = 0;
    while (lines < 3 && start < raw_profile->size()) {
      const std::size_t newline = raw_profile->find('\n', start);
      if (newline == std::string::npos) {
        start = raw_profile->size();
        break;
      }
      start = newline + 1;
      ++lines;
    }
    std::vector<std::uint8_t> decoded;
    int high = -1;
    bool valid = true;
    for (std::size_t i = start; i < raw_profile->size() && valid; ++i) {
      const char c = (*raw_profile)[i];
      if (c == '\n') continue;  // the join removes the newlines
      if (high < 0 && (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v')) continue;
      const int digit = c >= '0' && c <= '9'   ? c - '0'
                        : c >= 'a' && c <= 'f' ? c - 'a' + 10
                        : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                               : -1;
      if (digit < 0) {
        valid = false;
      } else if (high < 0) {
        high = digit;
      } else {
        decoded.push_back(static_cast<std::uint8_t>(high << 4 | digit));
        high = -1;
      }
    }
    if (valid && high < 0) exif = std::move(decoded);
  }
  const int orientation = exif ? exif_orientation_of(*exif) : 0;
  if (orientation != 0 || !xmp) return orientation;
  static const std::regex kXmpOrientation("tiff:Orientation(=\"|>)([0-9])");
  std::smatch match;
  if (std::regex_search(*xmp, match, kXmpOrientation)) return match[2].str()[0] - '0';
  return 0;
}

}  // namespace

Decoded decode_png(std::span<const std::uint8_t> bytes, const std::string& name,
                   const DecodeOptions& options) {
  PngContext ctx{};
  ctx.data = bytes.data();
  ctx.size = bytes.size();
  std::vector<png_bytep> rows;
  std::vector<std::uint8_t> wide;
  Decoded decoded;
  if (!decode_into(&ctx, name, options, &rows, &wide, &decoded.image)) {
    fail("{}: corrupt PNG image: {}", name, ctx.message);
  }
  if (decoded.image.mode == PilMode::I) {
    const std::size_t count = wide.size() / 2;
    for (std::size_t i = 0; i < count; ++i) {
      const std::int32_t v = wide[2 * i] << 8 | wide[2 * i + 1];
      std::memcpy(&decoded.image.pixels[4 * i], &v, 4);
    }
  }
  if (options.exif_orientation) decoded.orientation = png_orientation(bytes);
  return decoded;
}

}  // namespace vlbench::vision_detail
