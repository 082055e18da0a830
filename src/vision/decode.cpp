// Image decoding: chooses the decoder by magic bytes, never by the file extension.
#include <vlbench/core/error.hpp>
#include <vlbench/vision/image.hpp>

#include "vision/decode_internal.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <vector>

namespace vlbench {

namespace {

bool starts_with(std::span<const std::uint8_t> bytes, std::initializer_list<std::uint8_t> magic) {
  if (bytes.size() < magic.size()) return false;
  return std::equal(magic.begin(), magic.end(), bytes.begin());
}

}  // namespace

namespace vision_detail {

void check_declared_size(std::int64_t width, std::int64_t height, const std::string& name,
                         const DecodeOptions& options) {
  if (options.max_pixels > 0 && width * height > options.max_pixels) {
    throw ImageTooLarge(fmt::format(
        "{}: the image declares {}x{} = {} pixels, over the limit of {} (a decompression "
        "bomb? raise it with --max-image-pixels, 0 for no limit)",
        name, width, height, width * height, options.max_pixels));
  }
}

void fail_allocation(std::int64_t width, std::int64_t height, const std::string& name) {
  fail("{}: cannot allocate the {} MiB pixel buffer of a {}x{} image", name,
       width * height * 3 / (1 << 20), width, height);
}

}  // namespace vision_detail

ImageRgb8 decode_image_bytes(std::span<const std::uint8_t> bytes, const std::string& name,
                             const DecodeOptions& options) {
  if (options.max_pixels < 0)
    fail("max_pixels must be >= 0 (0: no limit), got {}", options.max_pixels);
  if (starts_with(bytes, {0xFF, 0xD8, 0xFF})) {
    return vision_detail::decode_jpeg(bytes, name, options);
  }
  if (starts_with(bytes, {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'})) {
    return vision_detail::decode_png(bytes, name, options);
  }
  fail("{}: not a JPEG or PNG image", name);
}

ImageRgb8 decode_image(const std::filesystem::path& path, const DecodeOptions& options) {
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
  return decode_image_bytes(bytes, path.string(), options);
}

}  // namespace vlbench
