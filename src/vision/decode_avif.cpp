// AVIF decoding with libavif (Pillow 9.4 cannot read it), set up as libavif's reference
// decoder avifdec writes an 8-bit PNG (--depth 8): the primary image, converted by
// avifImageYUVToRGB with its default settings to RGB, or RGBA when it has alpha. The rotation
// and mirror properties (irot, then imir) are applied when DecodeOptions::exif_orientation
// asks for the orientation (avifdec leaves them, as the other formats are left without it).
#include <vlbench/core/error.hpp>

#include "vision/decode_internal.hpp"

#include <cstring>
#include <memory>

#include <avif/avif.h>

namespace vlbench::vision_detail {

namespace {

void check(avifResult result, const avifDecoder* decoder, const std::string& name,
           const char* what) {
  if (result != AVIF_RESULT_OK) {
    fail("{}: corrupt AVIF image: {}: {}{}{}", name, what, avifResultToString(result),
         decoder->diag.error[0] != '\0' ? ": " : "", decoder->diag.error);
  }
}

}  // namespace

Decoded decode_avif(std::span<const std::uint8_t> bytes, const std::string& name,
                    const DecodeOptions& options) {
  std::unique_ptr<avifDecoder, void (*)(avifDecoder*)> decoder(avifDecoderCreate(),
                                                               avifDecoderDestroy);
  if (!decoder) fail("{}: cannot create a libavif reader", name);
  decoder->maxThreads = 1;
  check(avifDecoderSetIOMemory(decoder.get(), bytes.data(), bytes.size()), decoder.get(), name,
        "cannot read the bytes");
  check(avifDecoderParse(decoder.get()), decoder.get(), name, "cannot parse the container");
  const avifImage* header = decoder->image;
  check_declared_size(header->width, header->height, name, options);
  check(avifDecoderNextImage(decoder.get()), decoder.get(), name, "cannot decode the image");
  avifImage* image = decoder->image;
  check_declared_size(image->width, image->height, name, options);
  const bool alpha = image->alphaPlane != nullptr;

  Decoded decoded;
  decoded.image = new_image(static_cast<int>(image->width), static_cast<int>(image->height),
                            alpha ? PilMode::RGBA : PilMode::RGB, name);
  // The RGB pixels are written straight into the Image8's buffer.
  avifRGBImage rgb;
  avifRGBImageSetDefaults(&rgb, image);
  rgb.format = alpha ? AVIF_RGB_FORMAT_RGBA : AVIF_RGB_FORMAT_RGB;
  rgb.depth = 8;
  rgb.pixels = decoded.image.pixels.data();
  rgb.rowBytes = image->width * (alpha ? 4 : 3);
  check(avifImageYUVToRGB(image, &rgb), decoder.get(), name, "cannot convert to RGB");

  if (options.exif_orientation) {
    // HEIF orders them rotation, then mirror (the clean aperture is not applied, as avifdec
    // does not apply it either). irot is counter-clockwise
    // quarter turns: Pillow's ROTATE_90 (EXIF 8), ROTATE_180 (3), ROTATE_270 (6); imir mode 0
    // exchanges top and bottom (EXIF 4), 1 left and right (EXIF 2).
    if ((image->transformFlags & AVIF_TRANSFORM_IROT) && image->irot.angle % 4 != 0) {
      static constexpr int kRotation[] = {1, 8, 3, 6};
      decoded.transforms.push_back(kRotation[image->irot.angle % 4]);
    }
    if (image->transformFlags & AVIF_TRANSFORM_IMIR) {
      decoded.transforms.push_back(image->imir.mode == 0 ? 4 : 2);
    }
  }
  return decoded;
}

}  // namespace vlbench::vision_detail
