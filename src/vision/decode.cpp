// Image decoding: chooses the decoder by magic bytes, never by the file extension, then applies
// the orientation when asked.
#include <vlbench/core/error.hpp>
#include <vlbench/vision/image.hpp>

#include "vision/decode_internal.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <new>
#include <string_view>
#include <vector>

namespace vlbench {

namespace {

bool starts_with(std::span<const std::uint8_t> bytes, std::string_view magic,
                 std::size_t at = 0) {
  if (bytes.size() < at + magic.size()) return false;
  return std::equal(magic.begin(), magic.end(), bytes.begin() + static_cast<std::ptrdiff_t>(at),
                    [](char m, std::uint8_t b) { return static_cast<std::uint8_t>(m) == b; });
}

// An ISO base media file (HEIF, AVIF): "ftyp" box first; its major brand, then (after the
// minor version) its compatible brands, say what the file holds.
const char* detect_isobmff(std::span<const std::uint8_t> bytes) {
  if (!starts_with(bytes, "ftyp", 4) || bytes.size() < 16) return nullptr;
  const std::size_t box = static_cast<std::size_t>(bytes[0]) << 24 | bytes[1] << 16 |
                          bytes[2] << 8 | bytes[3];
  const std::size_t end = std::min(bytes.size(), std::max<std::size_t>(box, 16));
  std::vector<std::string_view> brands;
  const auto brand_at = [&](std::size_t at) {
    return std::string_view(reinterpret_cast<const char*>(bytes.data() + at), 4);
  };
  brands.push_back(brand_at(8));
  for (std::size_t at = 16; at + 4 <= end; at += 4) brands.push_back(brand_at(at));
  const auto is_any = [](std::string_view brand, std::span<const std::string_view> names) {
    return std::find(names.begin(), names.end(), brand) != names.end();
  };
  const auto has = [&](std::span<const std::string_view> names) {
    return std::any_of(brands.begin(), brands.end(),
                       [&](std::string_view b) { return is_any(b, names); });
  };
  static constexpr std::string_view kAvif[] = {"avif", "avis"};
  static constexpr std::string_view kHeif[] = {"heic", "heix", "heim", "heis", "hevc", "hevx"};
  static constexpr std::string_view kGeneric[] = {"mif1", "msf1", "mif2"};
  const std::string_view major = brands.front();
  if (is_any(major, kAvif)) return "AVIF";
  if (is_any(major, kHeif)) return "HEIF";
  if (has(kAvif)) return "AVIF";
  if (has(kHeif) || has(kGeneric)) return "HEIF";
  return nullptr;
}

}  // namespace

const char* detect_image_format(std::span<const std::uint8_t> bytes) {
  if (starts_with(bytes, "\xFF\xD8\xFF")) return "JPEG";
  if (starts_with(bytes, "\x89PNG\r\n\x1A\n")) return "PNG";
  if (starts_with(bytes, "GIF87a") || starts_with(bytes, "GIF89a")) return "GIF";
  if (starts_with(bytes, "BM")) return "BMP";
  if (starts_with(bytes, std::string_view("II*\0", 4)) ||
      starts_with(bytes, std::string_view("MM\0*", 4)) ||
      starts_with(bytes, std::string_view("II+\0", 4)) ||
      starts_with(bytes, std::string_view("MM\0+", 4))) {
    return "TIFF";
  }
  if (starts_with(bytes, "RIFF") && starts_with(bytes, "WEBP", 8)) return "WebP";
  return detect_isobmff(bytes);
}

namespace vision_detail {

void check_declared_size(std::int64_t width, std::int64_t height, const std::string& name,
                         const DecodeOptions& options) {
  if (width <= 0 || height <= 0) {
    fail("{}: the image declares an empty size, {}x{}", name, width, height);
  }
  constexpr std::int64_t kMaxSide = std::numeric_limits<int>::max();
  if (width > kMaxSide || height > kMaxSide) {
    if (options.max_pixels == 0) {
      fail("{}: the image declares {}x{} pixels, more than {} a side", name, width, height,
           kMaxSide);
    }
    throw ImageTooLarge(fmt::format(
        "{}: the image declares {}x{} pixels, over the limit of {} (a decompression bomb? "
        "raise it with --max-image-pixels, 0 for no limit)",
        name, width, height, options.max_pixels));
  }
  if (options.max_pixels > 0 && width * height > options.max_pixels) {
    throw ImageTooLarge(fmt::format(
        "{}: the image declares {}x{} = {} pixels, over the limit of {} (a decompression "
        "bomb? raise it with --max-image-pixels, 0 for no limit)",
        name, width, height, width * height, options.max_pixels));
  }
}

void fail_allocation(std::int64_t width, std::int64_t height, const std::string& name) {
  fail("{}: cannot allocate the {} MiB pixel buffer of a {}x{} image", name,
       width * height * 4 / (1 << 20), width, height);
}

Image8 new_image(int width, int height, PilMode mode, const std::string& name) {
  Image8 image;
  image.width = width;
  image.height = height;
  image.mode = mode;
  // Sides up to INT_MAX keep width * height in int64; the byte count must fit as well.
  if (width <= 0 || height <= 0 ||
      std::int64_t{width} * height > std::numeric_limits<std::int64_t>::max() / 8) {
    fail_allocation(width, height, name);
  }
  try {
    image.pixels.assign(
        static_cast<std::size_t>(width) * height * pil_mode_bytes_per_pixel(mode), 0);
  } catch (const std::bad_alloc&) {
    fail_allocation(width, height, name);
  } catch (const std::length_error&) {
    fail_allocation(width, height, name);
  }
  if (mode == PilMode::P || mode == PilMode::PA) image.palette = gray_ramp_palette();
  return image;
}

}  // namespace vision_detail

Image8 decode_image_native_bytes(std::span<const std::uint8_t> bytes, const std::string& name,
                                 const DecodeOptions& options) {
  using namespace vision_detail;
  if (options.max_pixels < 0)
    fail("max_pixels must be >= 0 (0: no limit), got {}", options.max_pixels);
  const char* format = detect_image_format(bytes);
  if (format == nullptr) {
    fail("{}: not an image format vlbench reads (expected {}; the format is recognised by the "
         "file's first bytes, not its name)",
         name, kSupportedImageFormats);
  }
  const std::string_view f = format;
  Decoded decoded = f == "JPEG"   ? decode_jpeg(bytes, name, options)
                    : f == "PNG"  ? decode_png(bytes, name, options)
                    : f == "GIF"  ? decode_gif(bytes, name, options)
                    : f == "BMP"  ? decode_bmp(bytes, name, options)
                    : f == "TIFF" ? decode_tiff(bytes, name, options)
                    : f == "WebP" ? decode_webp(bytes, name, options)
                    : f == "HEIF" ? decode_heif(bytes, name, options)
                                  : decode_avif(bytes, name, options);
  if (!options.exif_orientation) return std::move(decoded.image);
  Image8 image = apply_exif_orientation(decoded.image, decoded.orientation);
  for (int transform : decoded.transforms) image = apply_exif_orientation(image, transform);
  return image;
}

Image8 decode_image_native(const std::filesystem::path& path, const DecodeOptions& options) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status)) fail("{}: cannot read image: no such file", path.string());
  if (!std::filesystem::is_regular_file(status)) {
    fail("{}: cannot read image: not a regular file", path.string());
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open image: {}", path.string(), std::strerror(errno));
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) fail("{}: cannot read image: {}", path.string(), ec.message());
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (in.gcount() != static_cast<std::streamsize>(bytes.size())) {
    fail("{}: cannot read image: read {} of {} bytes", path.string(), in.gcount(), bytes.size());
  }
  return decode_image_native_bytes(bytes, path.string(), options);
}

ImageRgb8 decode_image_bytes(std::span<const std::uint8_t> bytes, const std::string& name,
                             const DecodeOptions& options) {
  return convert_rgb(decode_image_native_bytes(bytes, name, options));
}

ImageRgb8 decode_image(const std::filesystem::path& path, const DecodeOptions& options) {
  return convert_rgb(decode_image_native(path, options));
}

}  // namespace vlbench
