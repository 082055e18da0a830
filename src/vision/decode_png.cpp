// PNG decoding with libpng, converted to RGB exactly as Pillow 9.4's PngImagePlugin +
// Image.convert("RGB") do (checked by hand against Pillow for every PNG kind):
//  - palette: palette colours (tRNS ignored, missing entries gray); 1/2/4-bit gray: scaled to 8
//  bits (0x55, 0x11
//    and 0xFF steps, as Pillow's L;2 / L;4 / 1 modes); gray+alpha, RGBA: alpha dropped.
//  - 16-bit RGB, RGBA and gray+alpha: the high byte (Pillow's ;16B raw modes).
//  - 16-bit gray: Pillow opens it as mode "I" and convert("RGB") clips the value to 0..255,
//    so 256..65535 all become 255; not the high byte.
//  - tRNS, gamma, background and colour profiles are ignored, as Pillow ignores them in
//    convert("RGB").
//
// Errors use png_set_error_fn + longjmp: the longjmp only skips libpng's C frames and lands
// in decode_into(). Trailing chunks after the image data are not read (Pillow does not need
// them either), so a file cut after its last IDAT still decodes.
#include <vlbench/core/error.hpp>

#include "vision/decode_internal.hpp"

#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <new>
#include <vector>

#include <png.h>

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

// Decodes into `pixels` (8 or 16-bit samples, `*channels` a pixel, palette images as one
// index byte a pixel with their 256-entry palette in `palette`); false after a libpng error.
// An image over options.max_pixels throws ImageTooLarge (the reader destroyed first), read
// from IHDR before any pixel buffer is allocated.
bool decode_into(PngContext* ctx, const std::string& name, const DecodeOptions& options,
                 std::vector<std::uint8_t>* pixels, std::vector<png_bytep>* rows, ImageRgb8* out,
                 int* channels, int* bit_depth, bool* indexed, png_color* palette) {
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
  try {
    check_declared_size(png_get_image_width(png, info), png_get_image_height(png, info), name,
                        options);
  } catch (...) {
    png_destroy_read_struct(&png, &info, nullptr);
    throw;
  }
  const int color_type = png_get_color_type(png, info);
  const int depth = png_get_bit_depth(png, info);
  if (color_type == PNG_COLOR_TYPE_PALETTE) {
    // Indices are mapped here, not by libpng: Pillow's palette starts as the gray ramp
    // (i, i, i) and PLTE overwrites only its first entries, so indices past a short PLTE
    // read as gray (libpng would give black), and tRNS must not become alpha.
    png_set_packing(png);
    for (int i = 0; i < 256; ++i) {
      palette[i] = {static_cast<png_byte>(i), static_cast<png_byte>(i), static_cast<png_byte>(i)};
    }
    png_colorp entries = nullptr;
    int count = 0;
    if (png_get_PLTE(png, info, &entries, &count) != 0) {
      std::copy(entries, entries + std::min(count, 256), palette);
    }
  }
  if (color_type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  // 16-bit gray keeps both bytes: Pillow clips its value instead of taking the high byte.
  if (depth == 16 && color_type != PNG_COLOR_TYPE_GRAY) png_set_strip_16(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);

  const int width = static_cast<int>(png_get_image_width(png, info));
  const int height = static_cast<int>(png_get_image_height(png, info));
  const std::size_t row_bytes = png_get_rowbytes(png, info);
  *channels = png_get_channels(png, info);
  *bit_depth = png_get_bit_depth(png, info);
  *indexed = color_type == PNG_COLOR_TYPE_PALETTE;
  out->width = width;
  out->height = height;
  try {
    pixels->resize(row_bytes * static_cast<std::size_t>(height));
    rows->resize(static_cast<std::size_t>(height));
    out->rgb.resize(static_cast<std::size_t>(width) * height * 3);
  } catch (const std::bad_alloc&) {
    png_destroy_read_struct(&png, &info, nullptr);
    throw;
  }
  for (int y = 0; y < height; ++y) (*rows)[y] = pixels->data() + row_bytes * y;
  png_read_image(png, rows->data());
  png_destroy_read_struct(&png, &info, nullptr);
  return true;
}

}  // namespace

ImageRgb8 decode_png(std::span<const std::uint8_t> bytes, const std::string& name,
                     const DecodeOptions& options) {
  PngContext ctx{};
  ctx.data = bytes.data();
  ctx.size = bytes.size();
  std::vector<std::uint8_t> pixels;
  std::vector<png_bytep> rows;
  ImageRgb8 image;
  int channels = 0;
  int bit_depth = 0;
  bool indexed = false;
  png_color palette[256];
  bool decoded = false;
  try {
    decoded = decode_into(&ctx, name, options, &pixels, &rows, &image, &channels, &bit_depth,
                          &indexed, palette);
  } catch (const std::bad_alloc&) {
    fail_allocation(image.width, image.height, name);
  }
  if (!decoded) fail("{}: corrupt PNG image: {}", name, ctx.message);
  const std::size_t count = static_cast<std::size_t>(image.width) * image.height;
  std::uint8_t* dst = image.rgb.data();
  const std::uint8_t* src = pixels.data();
  if (bit_depth == 16) {  // only plain gray stays 16-bit: big-endian samples, clipped
    VLB_ASSERT(channels == 1);
    for (std::size_t i = 0; i < count; ++i) {
      const int value = (src[2 * i] << 8) | src[2 * i + 1];
      dst[3 * i] = dst[3 * i + 1] = dst[3 * i + 2] =
          static_cast<std::uint8_t>(std::min(value, 255));
    }
    return image;
  }
  VLB_ASSERT(bit_depth == 8);
  if (indexed) {
    VLB_ASSERT(channels == 1);
    for (std::size_t i = 0; i < count; ++i) {
      const png_color& p = palette[src[i]];
      dst[3 * i] = p.red;
      dst[3 * i + 1] = p.green;
      dst[3 * i + 2] = p.blue;
    }
    return image;
  }
  switch (channels) {
    case 1:
    case 2:
      for (std::size_t i = 0; i < count; ++i) {
        dst[3 * i] = dst[3 * i + 1] = dst[3 * i + 2] = src[channels * i];
      }
      break;
    case 3:
      std::memcpy(dst, src, count * 3);
      break;
    case 4:
      for (std::size_t i = 0; i < count; ++i) {
        dst[3 * i] = src[4 * i];
        dst[3 * i + 1] = src[4 * i + 1];
        dst[3 * i + 2] = src[4 * i + 2];
      }
      break;
    default:
      VLB_ASSERT(false);
  }
  return image;
}

}  // namespace vlbench::vision_detail
