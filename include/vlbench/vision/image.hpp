// Image decoding and Hugging Face image-processor preprocessing, replicating Pillow exactly.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace vlbench {

// 8-bit RGB, row-major, interleaved: rgb[(y * width + x) * 3 + c].
struct ImageRgb8 {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> rgb;
};

// Decodes a JPEG (libjpeg-turbo) or PNG (libpng: 1/2/4/8/16-bit, gray, gray+alpha, palette,
// tRNS, RGB, RGBA) chosen by the file's magic bytes, converted to RGB as Pillow's
// Image.convert("RGB") does (alpha dropped, gray replicated, 16-bit reduced as Pillow does).
// Errors name the file and what is wrong (missing, not JPEG/PNG, corrupt).
ImageRgb8 decode_image(const std::filesystem::path& path);
// The same from bytes in memory; `name` is used in messages.
ImageRgb8 decode_image_bytes(std::span<const std::uint8_t> bytes, const std::string& name);

// Pillow's Image.resize(size, Image.BICUBIC) (two separable passes, horizontal then vertical,
// each rounded back to uint8, a = -0.5, support widened by the scale when downscaling).
ImageRgb8 resize_bicubic(const ImageRgb8& image, int width, int height);

// preprocessor_config.json of a checkpoint (CLIPImageProcessor, SiglipImageProcessor).
struct PreprocessConfig {
  bool do_resize = true;
  std::optional<int> shortest_edge;  // size.shortest_edge: scale so the short side is this
  std::optional<int> resize_height;  // size.height / size.width: exact resize
  std::optional<int> resize_width;
  int resample = 3;  // PIL resample code; 3 = BICUBIC (the only one supported now)
  bool do_center_crop = false;
  int crop_height = 0;
  int crop_width = 0;
  bool do_rescale = true;
  double rescale_factor = 1.0 / 255.0;
  bool do_normalize = true;
  double mean[3] = {0, 0, 0};
  double std[3] = {1, 1, 1};

  int output_height() const;  // the H of the result
  int output_width() const;   // the W of the result
};

// Reads DIR/preprocessor_config.json; missing fields take transformers' defaults. Errors
// name the file and field.
PreprocessConfig read_preprocess_config(const std::filesystem::path& dir);

// Resize, center crop, rescale, normalize as CLIPImageProcessor does with Pillow. Writes
// 3 × output_height × output_width floats (channel-major) to out.
void preprocess(const ImageRgb8& image, const PreprocessConfig& config, float* out);

}  // namespace vlbench
