// Format-specific decoders behind decode_image_native_bytes: each returns the image in the
// mode Pillow's Image.open gives it (see image.hpp), or throws Error naming `name`.
#pragma once

#include <vlbench/vision/image.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace vlbench::vision_detail {

struct Decoded {
  Image8 image;
  // The EXIF orientation (2..8) to apply, read only when options.exif_orientation asks for
  // it; 0 or 1: none. HEIF applies its own transformations inside libheif and leaves 0.
  int orientation = 0;
  // For AVIF: irot/imir as transpositions applied in this order after `orientation` (each an
  // apply_exif_orientation code), empty for other formats.
  std::vector<int> transforms;
};

Decoded decode_jpeg(std::span<const std::uint8_t> bytes, const std::string& name,
                    const DecodeOptions& options);
Decoded decode_png(std::span<const std::uint8_t> bytes, const std::string& name,
                   const DecodeOptions& options);
Decoded decode_gif(std::span<const std::uint8_t> bytes, const std::string& name,
                   const DecodeOptions& options);
Decoded decode_bmp(std::span<const std::uint8_t> bytes, const std::string& name,
                   const DecodeOptions& options);
Decoded decode_tiff(std::span<const std::uint8_t> bytes, const std::string& name,
                    const DecodeOptions& options);
Decoded decode_webp(std::span<const std::uint8_t> bytes, const std::string& name,
                    const DecodeOptions& options);
Decoded decode_heif(std::span<const std::uint8_t> bytes, const std::string& name,
                    const DecodeOptions& options);
Decoded decode_avif(std::span<const std::uint8_t> bytes, const std::string& name,
                    const DecodeOptions& options);

// Throws ImageTooLarge naming `name` when width × height exceeds options.max_pixels (> 0).
void check_declared_size(std::int64_t width, std::int64_t height, const std::string& name,
                         const DecodeOptions& options);

// The Error for a pixel buffer of a width × height image that could not be allocated.
[[noreturn]] void fail_allocation(std::int64_t width, std::int64_t height, const std::string& name);

// An Image8 of the given size and mode with zeroed pixels (and, for P / PA, the gray-ramp
// palette), or the fail_allocation Error when the buffer cannot be allocated.
Image8 new_image(int width, int height, PilMode mode, const std::string& name);

// Throws Error naming `what` unless the image's size, pixel and palette buffers agree.
void check_image8(const Image8& image, const char* what);

// Pillow's default palette: 256 entries (i, i, i).
std::vector<std::uint8_t> gray_ramp_palette();

}  // namespace vlbench::vision_detail
