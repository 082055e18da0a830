// Format-specific decoders behind decode_image_bytes: each returns RGB as Pillow's
// Image.open(...).convert("RGB") gives it, or throws Error naming `name`.
#pragma once

#include <vlbench/vision/image.hpp>

#include <cstdint>
#include <span>
#include <string>

namespace vlbench::vision_detail {

ImageRgb8 decode_jpeg(std::span<const std::uint8_t> bytes, const std::string& name,
                      const DecodeOptions& options);
ImageRgb8 decode_png(std::span<const std::uint8_t> bytes, const std::string& name,
                     const DecodeOptions& options);

// Throws ImageTooLarge naming `name` when width × height exceeds options.max_pixels (> 0).
void check_declared_size(std::int64_t width, std::int64_t height, const std::string& name,
                         const DecodeOptions& options);

// The Error for a pixel buffer of a width × height image that could not be allocated.
[[noreturn]] void fail_allocation(std::int64_t width, std::int64_t height, const std::string& name);

}  // namespace vlbench::vision_detail
