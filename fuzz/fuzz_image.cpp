// The image decoding wrappers (vision/image.hpp): every format decode_image_native_bytes reads
// (JPEG, PNG, GIF, BMP, TIFF, WebP, HEIF, AVIF; chosen by the magic bytes) under a pixel limit
// (bombs must be refused from the header), with and without the EXIF orientation, then
// Pillow-exact resizing, cropping and normalization in the file's own mode and in RGB.
#include "fuzz_util.hpp"

#include <vlbench/vision/image.hpp>

#include <span>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vlbench;
  fuzz::expect_clean([&] {
    DecodeOptions options;
    options.max_pixels = 1 << 22;  // 4 Mpx: real photos fit, and so does -rss_limit_mb
    options.exif_orientation = (size & 2) != 0;
    const Image8 image = decode_image_native_bytes(std::span(data, size), "input", options);
    PreprocessConfig config;
    config.shortest_edge = 16;
    config.do_center_crop = true;
    config.crop_height = 16;
    config.crop_width = 16;
    config.resample = (size & 1) ? kPilBicubic : kPilBilinear;
    std::vector<float> pixels(3 * 16 * 16);
    config.resize_in_file_mode = true;
    preprocess(image, config, pixels.data());
    config.resize_in_file_mode = false;
    preprocess(image, config, pixels.data());
    convert_rgb(crop(resize(image, 7, 5, kPilLanczos), -2, 1, 6, 6));
  });
  return 0;
}
