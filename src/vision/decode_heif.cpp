// HEIF/HEIC decoding with libheif (Pillow 9.4 cannot read it), set up as libheif's reference
// decoder heif-convert writes an 8-bit PNG: the primary image, converted by libheif to
// interleaved RGB, or RGBA when it has an alpha channel; images of more than 8 bits are
// reduced to 8 by libheif. The rotation and mirror boxes (irot, imir) are applied by libheif
// when DecodeOptions::exif_orientation asks for the orientation, and ignored otherwise (the
// stored pixels, as the other formats give them without the flag).
#include <vlbench/core/error.hpp>

#include "vision/decode_internal.hpp"

#include <cstring>
#include <memory>

#include <libheif/heif.h>

namespace vlbench::vision_detail {

namespace {

void check(const heif_error& error, const std::string& name, const char* what) {
  if (error.code != heif_error_Ok) {
    fail("{}: corrupt HEIF image: {}: {}", name, what,
         error.message != nullptr ? error.message : "unknown libheif error");
  }
}

}  // namespace

Decoded decode_heif(std::span<const std::uint8_t> bytes, const std::string& name,
                    const DecodeOptions& options) {
  std::unique_ptr<heif_context, void (*)(heif_context*)> context(heif_context_alloc(),
                                                                 heif_context_free);
  if (!context) fail("{}: cannot create a libheif reader", name);
  check(heif_context_read_from_memory_without_copy(context.get(), bytes.data(), bytes.size(),
                                                   nullptr),
        name, "cannot read the container");
  heif_image_handle* raw_handle = nullptr;
  check(heif_context_get_primary_image_handle(context.get(), &raw_handle), name,
        "no primary image");
  std::unique_ptr<heif_image_handle, void (*)(const heif_image_handle*)> handle(
      raw_handle, heif_image_handle_release);
  // The size after the transformations; the same pixel count either way.
  check_declared_size(heif_image_handle_get_width(handle.get()),
                      heif_image_handle_get_height(handle.get()), name, options);
  const bool alpha = heif_image_handle_has_alpha_channel(handle.get()) != 0;

  std::unique_ptr<heif_decoding_options, void (*)(heif_decoding_options*)> decoding(
      heif_decoding_options_alloc(), heif_decoding_options_free);
  if (!decoding) fail("{}: cannot set up libheif", name);
  decoding->ignore_transformations = options.exif_orientation ? 0 : 1;
  decoding->convert_hdr_to_8bit = 1;
  heif_image* raw_image = nullptr;
  check(heif_decode_image(handle.get(), &raw_image, heif_colorspace_RGB,
                          alpha ? heif_chroma_interleaved_RGBA : heif_chroma_interleaved_RGB,
                          decoding.get()),
        name, "cannot decode the image");
  std::unique_ptr<heif_image, void (*)(const heif_image*)> image(raw_image, heif_image_release);
  const int width = heif_image_get_width(image.get(), heif_channel_interleaved);
  const int height = heif_image_get_height(image.get(), heif_channel_interleaved);
  check_declared_size(width, height, name, options);
  int stride = 0;
  const std::uint8_t* plane =
      heif_image_get_plane_readonly(image.get(), heif_channel_interleaved, &stride);
  if (plane == nullptr || heif_image_get_bits_per_pixel_range(image.get(),
                                                              heif_channel_interleaved) != 8) {
    fail("{}: corrupt HEIF image: libheif gave no 8-bit interleaved plane", name);
  }
  Decoded decoded;
  decoded.image = new_image(width, height, alpha ? PilMode::RGBA : PilMode::RGB, name);
  const std::size_t row = static_cast<std::size_t>(width) * (alpha ? 4 : 3);
  for (int y = 0; y < height; ++y) {
    std::memcpy(&decoded.image.pixels[y * row], plane + static_cast<std::size_t>(y) * stride, row);
  }
  return decoded;
}

}  // namespace vlbench::vision_detail
