// The image decoding wrappers (vision/image.hpp): JPEG (libjpeg-turbo) and PNG (libpng) from
// bytes, under a pixel limit (bombs must be refused from the header), then Pillow-exact
// resizing and normalization of whatever decoded.
#include "fuzz_util.hpp"

#include <vlbench/vision/image.hpp>

#include <span>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vlbench;
  fuzz::expect_clean([&] {
    // 4 Mpx: big enough for real photos, small enough for -rss_limit_mb.
    const ImageRgb8 image =
        decode_image_bytes(std::span(data, size), "input", DecodeOptions{1 << 22});
    PreprocessConfig config;
    config.shortest_edge = 16;
    config.do_center_crop = true;
    config.crop_height = 16;
    config.crop_width = 16;
    config.resample = (size & 1) ? kPilBicubic : kPilBilinear;
    std::vector<float> pixels(3 * 16 * 16);
    preprocess(image, config, pixels.data());
  });
  return 0;
}
