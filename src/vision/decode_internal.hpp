// Format-specific decoders behind decode_image_bytes: each returns RGB as Pillow's
// Image.open(...).convert("RGB") gives it, or throws Error naming `name`.
#pragma once

#include <vlbench/vision/image.hpp>

#include <cstdint>
#include <span>
#include <string>

namespace vlbench::vision_detail {

ImageRgb8 decode_jpeg(std::span<const std::uint8_t> bytes, const std::string& name);
ImageRgb8 decode_png(std::span<const std::uint8_t> bytes, const std::string& name);

}  // namespace vlbench::vision_detail
