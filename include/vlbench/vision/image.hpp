// Image decoding and Hugging Face image-processor preprocessing, replicating Pillow exactly.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "vlbench/core/error.hpp"

namespace vlbench {

// 8-bit RGB, row-major, interleaved: rgb[(y * width + x) * 3 + c].
struct ImageRgb8 {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> rgb;
};

// Pillow's Image.MAX_IMAGE_PIXELS: the default bound on an image's declared size.
inline constexpr std::int64_t kPillowMaxImagePixels = 89'478'485;

struct DecodeOptions {
  // An image whose header declares more pixels (width × height) than this is an
  // ImageTooLarge error, raised from the header alone, before any pixel buffer exists (a few
  // hundred bytes of PNG can declare 65500 × 65500). 0: no limit.
  std::int64_t max_pixels = kPillowMaxImagePixels;
};

// The image declares more pixels than DecodeOptions::max_pixels.
class ImageTooLarge : public Error {
 public:
  using Error::Error;
};

// Decodes a JPEG (libjpeg-turbo) or PNG (libpng: 1/2/4/8/16-bit, gray, gray+alpha, palette,
// tRNS, RGB, RGBA) chosen by the file's magic bytes, converted to RGB as Pillow's
// Image.convert("RGB") does (alpha dropped, gray replicated, 16-bit reduced as Pillow does).
// Errors name the file and what is wrong (missing, not JPEG/PNG, corrupt, over the pixel
// limit — ImageTooLarge —, or a pixel buffer that cannot be allocated).
ImageRgb8 decode_image(const std::filesystem::path& path, const DecodeOptions& options = {});
// The same from bytes in memory; `name` is used in messages.
ImageRgb8 decode_image_bytes(std::span<const std::uint8_t> bytes, const std::string& name,
                             const DecodeOptions& options = {});

// Pillow's resampling filters by their PIL.Image.Resampling codes, the numbers
// preprocessor_config.json stores in `resample`.
inline constexpr int kPilNearest = 0;
inline constexpr int kPilLanczos = 1;
inline constexpr int kPilBilinear = 2;
inline constexpr int kPilBicubic = 3;
inline constexpr int kPilBox = 4;
inline constexpr int kPilHamming = 5;
// For error messages: every code resize accepts.
inline constexpr const char* kSupportedPilResamples =
    "0 (NEAREST), 1 (LANCZOS), 2 (BILINEAR), 3 (BICUBIC), 4 (BOX) or 5 (HAMMING)";
// "BICUBIC" and so on for a supported code; nullptr for any other.
const char* pil_resample_name(int pil_resample);

// Pillow 9.4's Image.resize((width, height), pil_resample) of an RGB image, byte for byte.
//  - 1 LANCZOS (support 3), 2 BILINEAR (support 1), 3 BICUBIC (a = -0.5, support 2),
//    4 BOX (support 0.5), 5 HAMMING (support 1): libImaging/Resample.c's two separable
//    passes, horizontal then vertical, each in 22-bit fixed point and rounded back to uint8,
//    the support widened by the scale when downscaling (antialiasing).
//  - 0 NEAREST: no filtering; output pixel i takes source pixel floor(s / 2 + i * s),
//    s = in / out, the position accumulated in double as Pillow's affine scale does.
// The same size returns a copy. Errors: an unknown code (naming it and the supported ones),
// a non-positive output size, an empty or inconsistent image.
ImageRgb8 resize(const ImageRgb8& image, int width, int height, int pil_resample);

// resize(image, width, height, kPilBicubic): Pillow's default filter for RGB.
ImageRgb8 resize_bicubic(const ImageRgb8& image, int width, int height);

// preprocessor_config.json of a checkpoint (CLIPImageProcessor, SiglipImageProcessor,
// JinaCLIPImageProcessor).
struct PreprocessConfig {
  bool do_resize = true;
  std::optional<int> shortest_edge;  // size.shortest_edge: scale so the short side is this
  std::optional<int> resize_height;  // size.height / size.width: exact resize
  std::optional<int> resize_width;
  int resample = kPilBicubic;  // PIL resample code given to resize (any it supports)
  bool do_center_crop = false;
  int crop_height = 0;
  int crop_width = 0;
  bool do_rescale = true;
  double rescale_factor = 1.0 / 255.0;
  // How the reference rescales, which moves some values by 1 ulp: true, transformers'
  // rescale, float32(uint8 * rescale_factor in float64) — SiglipImageProcessor (the SigLIP,
  // SigLIP 2 and PaliGemma goldens); false, float32(uint8) * float32(rescale_factor) in
  // float32 — the CLIPImageProcessor goldens. read_preprocess_config sets it from the class.
  bool rescale_in_float64 = false;
  // torchvision's ToTensor (JinaCLIPImageProcessor): float32(uint8) / 255 in float32 (the
  // rescale factor is then not used), a division, which differs from either multiplication
  // by 1 ulp on some values.
  bool rescale_by_division = false;
  // The center crop's offset: false, transformers' floor((h - crop) / 2); true, torchvision's
  // int(round((h - crop) / 2.0)) with Python's round-half-to-even (82.5 -> 82, 63.5 -> 64).
  bool crop_round_half_even = false;
  bool do_normalize = true;
  double mean[3] = {0, 0, 0};
  double std[3] = {1, 1, 1};

  int output_height() const;  // the H of the result
  int output_width() const;   // the W of the result
};

// Reads DIR/preprocessor_config.json; missing fields take transformers' defaults. Errors
// name the file and field. JinaCLIPImageProcessor (jina-clip's transform.py, torchvision on
// PIL images): `size` n, `resize_mode` "shortest" (the short side to n, then an n × n center
// crop rounding half to even; "squash": an n × n resize), `interpolation` a PIL filter name,
// `mean` / `std` (null: OpenAI CLIP's), ToTensor's division by 255.
PreprocessConfig read_preprocess_config(const std::filesystem::path& dir);

// The settings of open_clip's image_transform(is_train=False) (torchvision on PIL images), which
// jina-clip's processor copies, from a JSON object (open_clip_config.json's preprocess_cfg,
// jina-clip's preprocessor_config.json), for `size` × `size` pixels: `resize_mode` "shortest"
// (default: the short side to size, then a center crop rounding half to even) or "squash" (a
// size × size resize), `interpolation` a PIL filter name (default bicubic), `mean` / `std`
// (default OpenAI CLIP's), ToTensor's division by 255. Errors name `file` and the field.
PreprocessConfig read_image_transform_config(const nlohmann::json& transform, int size,
                                             const std::string& file);

// Resize (Pillow, config.resample), center crop, rescale, normalize as CLIPImageProcessor /
// SiglipImageProcessor do. Writes 3 × output_height × output_width floats (channel-major)
// to out.
void preprocess(const ImageRgb8& image, const PreprocessConfig& config, float* out);

}  // namespace vlbench
