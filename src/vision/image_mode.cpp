// Images in their file's own Pillow mode (Image8): Pillow 9.4's convert("RGB") from each mode
// (libImaging/Convert.c), crop (Crop.c), the transpositions of ImageOps.exif_transpose
// (Geometry.c) and the EXIF Orientation tag as Pillow's Exif.load reads it.
#include <vlbench/core/error.hpp>
#include <vlbench/vision/image.hpp>

#include "vision/decode_internal.hpp"

#include <algorithm>
#include <cstring>

namespace vlbench {

const char* pil_mode_name(PilMode mode) {
  switch (mode) {
    case PilMode::One:
      return "1";
    case PilMode::L:
      return "L";
    case PilMode::LA:
      return "LA";
    case PilMode::P:
      return "P";
    case PilMode::PA:
      return "PA";
    case PilMode::I:
      return "I";
    case PilMode::RGB:
      return "RGB";
    case PilMode::RGBA:
      return "RGBA";
    case PilMode::CMYK:
      return "CMYK";
  }
  return "?";
}

int pil_mode_bytes_per_pixel(PilMode mode) {
  switch (mode) {
    case PilMode::One:
    case PilMode::L:
    case PilMode::P:
      return 1;
    case PilMode::LA:
    case PilMode::PA:
      return 2;
    case PilMode::RGB:
      return 3;
    case PilMode::I:
    case PilMode::RGBA:
    case PilMode::CMYK:
      return 4;
  }
  VLB_ASSERT(false);
  return 0;
}

namespace vision_detail {

void check_image8(const Image8& image, const char* what) {
  const bool palette_ok = (image.mode == PilMode::P || image.mode == PilMode::PA)
                              ? image.palette.size() == 768
                              : image.palette.empty();
  if (image.width <= 0 || image.height <= 0 ||
      image.pixels.size() != static_cast<std::size_t>(image.width) * image.height *
                                 pil_mode_bytes_per_pixel(image.mode) ||
      !palette_ok) {
    fail("{}: expected a non-empty mode {} image, got {}x{} with {} pixel bytes and a {}-byte "
         "palette",
         what, pil_mode_name(image.mode), image.width, image.height, image.pixels.size(),
         image.palette.size());
  }
}

std::vector<std::uint8_t> gray_ramp_palette() {
  std::vector<std::uint8_t> palette(768);
  for (int i = 0; i < 256; ++i) {
    palette[3 * i] = palette[3 * i + 1] = palette[3 * i + 2] = static_cast<std::uint8_t>(i);
  }
  return palette;
}

}  // namespace vision_detail

namespace {

// Pillow's MULDIV255: a * b / 255 rounded, in integers.
inline int muldiv255(int a, int b) {
  const int t = a * b + 128;
  return ((t >> 8) + t) >> 8;
}

}  // namespace

ImageRgb8 convert_rgb(const Image8& image) {
  vision_detail::check_image8(image, "convert_rgb");
  ImageRgb8 out;
  out.width = image.width;
  out.height = image.height;
  const std::size_t count = static_cast<std::size_t>(image.width) * image.height;
  out.rgb.resize(count * 3);
  std::uint8_t* dst = out.rgb.data();
  const std::uint8_t* src = image.pixels.data();
  switch (image.mode) {
    case PilMode::One:
      for (std::size_t i = 0; i < count; ++i) {
        dst[3 * i] = dst[3 * i + 1] = dst[3 * i + 2] = src[i] != 0 ? 255 : 0;
      }
      break;
    case PilMode::L:
    case PilMode::LA: {
      const int step = pil_mode_bytes_per_pixel(image.mode);
      for (std::size_t i = 0; i < count; ++i) {
        dst[3 * i] = dst[3 * i + 1] = dst[3 * i + 2] = src[step * i];
      }
      break;
    }
    case PilMode::P:
    case PilMode::PA: {
      const int step = pil_mode_bytes_per_pixel(image.mode);
      const std::uint8_t* palette = image.palette.data();
      for (std::size_t i = 0; i < count; ++i) {
        std::memcpy(dst + 3 * i, palette + 3 * src[step * i], 3);
      }
      break;
    }
    case PilMode::I:
      for (std::size_t i = 0; i < count; ++i) {
        std::int32_t v;
        std::memcpy(&v, src + 4 * i, 4);
        dst[3 * i] = dst[3 * i + 1] = dst[3 * i + 2] =
            static_cast<std::uint8_t>(std::clamp(v, 0, 255));
      }
      break;
    case PilMode::RGB:
      std::memcpy(dst, src, count * 3);
      break;
    case PilMode::RGBA:
      for (std::size_t i = 0; i < count; ++i) std::memcpy(dst + 3 * i, src + 4 * i, 3);
      break;
    case PilMode::CMYK:
      for (std::size_t i = 0; i < count; ++i) {
        const int nk = 255 - src[4 * i + 3];
        for (int c = 0; c < 3; ++c) {
          dst[3 * i + c] = static_cast<std::uint8_t>(std::max(0, nk - muldiv255(src[4 * i + c], nk)));
        }
      }
      break;
  }
  return out;
}

Image8 crop(const Image8& image, int left, int top, int width, int height) {
  vision_detail::check_image8(image, "crop");
  if (width <= 0 || height <= 0) {
    fail("crop: expected a positive size, got {}x{}", width, height);
  }
  const int bpp = pil_mode_bytes_per_pixel(image.mode);
  Image8 out = vision_detail::new_image(width, height, image.mode, "crop");
  out.palette = image.palette;
  // The columns of the source inside the box, as 64-bit sums: left + width may overflow int.
  const std::int64_t x0 = std::max<std::int64_t>(left, 0);
  const std::int64_t x1 = std::min<std::int64_t>(std::int64_t{left} + width, image.width);
  if (x1 <= x0) return out;
  const std::size_t run = static_cast<std::size_t>(x1 - x0) * bpp;
  for (int y = 0; y < height; ++y) {
    const std::int64_t sy = std::int64_t{top} + y;
    if (sy < 0 || sy >= image.height) continue;
    std::memcpy(&out.pixels[(static_cast<std::size_t>(y) * width + (x0 - left)) * bpp],
                &image.pixels[(static_cast<std::size_t>(sy) * image.width + x0) * bpp], run);
  }
  return out;
}

Image8 apply_exif_orientation(const Image8& image, int orientation) {
  if (orientation < 2 || orientation > 8) return image;
  vision_detail::check_image8(image, "apply_exif_orientation");
  const int w = image.width;
  const int h = image.height;
  const bool swaps = orientation >= 5;  // TRANSPOSE, ROTATE_270, TRANSVERSE, ROTATE_90
  Image8 out;
  out.mode = image.mode;
  out.palette = image.palette;
  out.width = swaps ? h : w;
  out.height = swaps ? w : h;
  const int bpp = pil_mode_bytes_per_pixel(image.mode);
  out.pixels.resize(image.pixels.size());
  // Output pixel (x, y) takes source pixel (sx, sy), as Geometry.c moves them:
  //  2 FLIP_LEFT_RIGHT (w-1-x, y); 3 ROTATE_180 (w-1-x, h-1-y); 4 FLIP_TOP_BOTTOM (x, h-1-y);
  //  5 TRANSPOSE (y, x); 6 ROTATE_270 (y, h-1-x); 7 TRANSVERSE (w-1-y, h-1-x);
  //  8 ROTATE_90 (w-1-y, x).
  for (int y = 0; y < out.height; ++y) {
    for (int x = 0; x < out.width; ++x) {
      int sx = 0;
      int sy = 0;
      switch (orientation) {
        case 2:
          sx = w - 1 - x, sy = y;
          break;
        case 3:
          sx = w - 1 - x, sy = h - 1 - y;
          break;
        case 4:
          sx = x, sy = h - 1 - y;
          break;
        case 5:
          sx = y, sy = x;
          break;
        case 6:
          sx = y, sy = h - 1 - x;
          break;
        case 7:
          sx = w - 1 - y, sy = h - 1 - x;
          break;
        default:  // 8
          sx = w - 1 - y, sy = x;
          break;
      }
      std::memcpy(&out.pixels[(static_cast<std::size_t>(y) * out.width + x) * bpp],
                  &image.pixels[(static_cast<std::size_t>(sy) * w + sx) * bpp], bpp);
    }
  }
  return out;
}

int exif_orientation_of(std::span<const std::uint8_t> exif) {
  static constexpr std::uint8_t kPrefix[] = {'E', 'x', 'i', 'f', 0, 0};
  if (exif.size() >= 6 && std::equal(kPrefix, kPrefix + 6, exif.begin())) exif = exif.subspan(6);
  if (exif.size() < 8) return 0;
  // Pillow accepts "II" or "MM" followed by 42 in either byte order (TiffImagePlugin.PREFIXES).
  const bool little = exif[0] == 'I' && exif[1] == 'I';
  if (!little && !(exif[0] == 'M' && exif[1] == 'M')) return 0;
  if (!((exif[2] == 42 && exif[3] == 0) || (exif[2] == 0 && exif[3] == 42))) return 0;
  const auto u16 = [&](std::size_t at) -> std::uint32_t {
    return little ? exif[at] | exif[at + 1] << 8 : exif[at] << 8 | exif[at + 1];
  };
  const auto u32 = [&](std::size_t at) -> std::uint32_t {
    return little ? u16(at) | u16(at + 2) << 16 : u16(at) << 16 | u16(at + 2);
  };
  const std::size_t ifd = u32(4);
  if (ifd > exif.size() || exif.size() - ifd < 2) return 0;
  const std::size_t entries = u16(ifd);
  // Pillow reads every entry; a truncated directory makes its getexif raise. Here it reads
  // as "no orientation".
  if ((exif.size() - ifd - 2) / 12 < entries) return 0;
  int orientation = 0;
  for (std::size_t i = 0; i < entries; ++i) {
    const std::size_t at = ifd + 2 + 12 * i;
    if (u16(at) != 0x0112) continue;
    const std::uint32_t type = u16(at + 2);
    const std::uint32_t count = u32(at + 4);
    // Integer types only: BYTE, SHORT, LONG, SBYTE, SSHORT, SLONG. Pillow keeps the first
    // value of a longer array; an empty one is skipped.
    int size = 0;
    switch (type) {
      case 1:
      case 6:
        size = 1;
        break;
      case 3:
      case 8:
        size = 2;
        break;
      case 4:
      case 9:
        size = 4;
        break;
      default:
        continue;
    }
    if (count == 0) continue;
    std::size_t value_at = at + 8;
    if (static_cast<std::uint64_t>(count) * size > 4) {
      value_at = u32(at + 8);
      if (value_at > exif.size() ||
          exif.size() - value_at < static_cast<std::uint64_t>(count) * size) {
        continue;  // Pillow skips a value past the end of the block
      }
    }
    std::int64_t value = size == 1 ? exif[value_at] : size == 2 ? u16(value_at) : u32(value_at);
    if (type == 6) value = static_cast<std::int8_t>(value);
    if (type == 8) value = static_cast<std::int16_t>(value);
    if (type == 9) value = static_cast<std::int32_t>(value);
    orientation = value >= 1 && value <= 8 ? static_cast<int>(value) : 0;  // the last one wins
  }
  return orientation;
}

}  // namespace vlbench
