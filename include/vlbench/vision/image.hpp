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

// The Pillow image modes an image is kept in after decoding (Image8), named as Pillow names
// them (pil_mode_name). Pillow opens a file in one of many modes; the ones below are kept as
// they are, because resizing in them differs (open_clip and torchvision resize an image in its
// file mode and convert it to RGB afterwards). The others are converted when decoding, as
// Pillow would convert them, to the nearest one here (see decode_image_native).
enum class PilMode : std::uint8_t {
  One,   // "1": bilevel, one byte a pixel, 0 or 255 (Pillow stores it so)
  L,     // 8-bit gray, one byte a pixel
  LA,    // gray + alpha, two bytes a pixel (L, A)
  P,     // palette: one index byte a pixel; colours in Image8::palette
  PA,    // palette index + alpha, two bytes a pixel (index, A)
  I,     // 32-bit signed gray: one int32 a pixel, host byte order (16-bit gray PNG and TIFF)
  RGB,   // three bytes a pixel
  RGBA,  // four bytes a pixel, alpha not premultiplied
  CMYK,  // four bytes a pixel, 0 = no ink (Pillow's convention; Adobe's inverted JPEG
         // values are un-inverted when decoding, as Pillow does)
};

// "1", "L", "LA", "P", "PA", "I", "RGB", "RGBA" or "CMYK".
const char* pil_mode_name(PilMode mode);
// Bytes one pixel takes in Image8::pixels (1, 2, 3 or 4).
int pil_mode_bytes_per_pixel(PilMode mode);

// An image in its file's own Pillow mode.
//  - pixels: row-major, interleaved, no row padding; pil_mode_bytes_per_pixel(mode) bytes a
//    pixel as described in PilMode (for I, copy the int32 out with memcpy).
//  - palette: for P and PA, 256 RGB entries (768 bytes, palette[3 * index + c]); the entries
//    the file does not define hold Pillow's default gray ramp (i, i, i), which is what
//    Pillow's convert("RGB") reads for an index past the file's palette. Empty for other modes.
struct Image8 {
  int width = 0;
  int height = 0;
  PilMode mode = PilMode::RGB;
  std::vector<std::uint8_t> pixels;
  std::vector<std::uint8_t> palette;
};

// Pillow's Image.MAX_IMAGE_PIXELS: the default bound on an image's declared size.
inline constexpr std::int64_t kPillowMaxImagePixels = 89'478'485;

struct DecodeOptions {
  // An image whose header declares more pixels (width × height) than this is an
  // ImageTooLarge error, raised from the header alone, before any pixel buffer exists (a few
  // hundred bytes of PNG can declare 65500 × 65500). 0: no limit.
  std::int64_t max_pixels = kPillowMaxImagePixels;
  // Apply the file's orientation to the decoded image, before anything else. The EXIF
  // Orientation tag (2..8), exactly as Pillow 9.4's ImageOps.exif_transpose does: JPEG APP1
  // "Exif", PNG eXIf (or a "Raw profile type exif" text chunk, or tiff:Orientation in an XMP
  // text chunk, as Pillow's getexif reads them), the WebP EXIF chunk, the TIFF Orientation
  // tag. HEIF and AVIF: their rotation and mirror boxes (irot, imir), which the HEIF standard
  // makes the orientation (an Exif item inside them repeats it and is not applied again).
  // Off by default, as the Hugging Face processors leave it: phone photos then stay as stored
  // (often sideways). A missing, damaged or out-of-range tag leaves the image as it is.
  bool exif_orientation = false;
};

// The image declares more pixels than DecodeOptions::max_pixels.
class ImageTooLarge : public Error {
 public:
  using Error::Error;
};

// The formats decode_image reads, for messages.
inline constexpr const char* kSupportedImageFormats =
    "JPEG, PNG, GIF, BMP, TIFF, WebP, HEIF/HEIC or AVIF";

// The format of an image from its first bytes (never from a file name): "JPEG", "PNG", "GIF",
// "BMP", "TIFF", "WebP", "HEIF" or "AVIF"; nullptr when none matches.
const char* detect_image_format(std::span<const std::uint8_t> bytes);

// Decodes an image, the format chosen by its magic bytes, into the mode Pillow 9.4's
// Image.open gives it (PilMode), with the pixels Pillow gives (see README, "Images"):
//  - JPEG (libjpeg-turbo, as Pillow sets it up): L, RGB, or CMYK (4-component files, YCCK
//    included, read as Adobe's inverted CMYK as Pillow does).
//  - PNG (libpng): 1 (1-bit gray), L (2/4/8-bit gray), LA, P (palette; tRNS ignored), I
//    (16-bit gray), RGB, RGBA; 16-bit RGB/RGBA/LA keep the high byte, as Pillow does.
//  - GIF (giflib): the first frame, P (or L when its palette is the gray ramp), on the
//    logical screen (grown to hold the frame) filled with the transparent index if there is
//    one, else index 0, as Pillow's GifImagePlugin does.
//  - BMP (read here; what Pillow's BmpImagePlugin reads): 1/4/8-bit palette (1 or L when
//    the palette is black/white or the gray ramp), 16/24/32-bit, BITFIELDS, RLE4/RLE8,
//    bottom-up and top-down.
//  - TIFF (libtiff): the first page; strips or tiles, uncompressed, LZW, deflate or PackBits;
//    1, L (2/4/8-bit gray), I (16-bit gray, Pillow's I;16 modes), LA, P, PA, RGB, RGBA
//    (associated alpha un-premultiplied, as Pillow does), CMYK; 16-bit RGB/RGBA keep the
//    high byte. Other layouts are an Error saying so.
//  - WebP (libwebp, as Pillow's WebPAnimDecoder): RGB, or RGBA when the file has alpha;
//    an animation gives its first frame.
//  - HEIF/HEIC (libheif) and AVIF (libavif), which Pillow 9.4 cannot read: RGB, or RGBA with
//    alpha, 8 bits, as the libraries' reference decoders (heif-convert, avifdec) write them.
// Errors name the file and what is wrong (missing, unknown format — listing the supported
// ones —, corrupt, an unsupported layout, over the pixel limit — ImageTooLarge —, or a pixel
// buffer that cannot be allocated).
Image8 decode_image_native(const std::filesystem::path& path, const DecodeOptions& options = {});
// The same from bytes in memory; `name` is used in messages.
Image8 decode_image_native_bytes(std::span<const std::uint8_t> bytes, const std::string& name,
                                 const DecodeOptions& options = {});

// Pillow 9.4's Image.convert("RGB") from the image's mode (libImaging/Convert.c): 1 and L
// replicated; LA and RGBA drop alpha (no blending onto a background); P and PA through the
// palette; I clipped to 0..255; CMYK by cmyk2rgb, with nk = 255 - K:
// R = max(0, nk - C * nk / 255) where the product is rounded as Pillow's MULDIV255.
ImageRgb8 convert_rgb(const Image8& image);

// decode_image_native then convert_rgb: what Image.open(f).convert("RGB") gives.
ImageRgb8 decode_image(const std::filesystem::path& path, const DecodeOptions& options = {});
// The same from bytes in memory; `name` is used in messages.
ImageRgb8 decode_image_bytes(std::span<const std::uint8_t> bytes, const std::string& name,
                             const DecodeOptions& options = {});

// Pillow 9.4's Image.transpose for an EXIF orientation, as ImageOps.exif_transpose maps it:
// 2 FLIP_LEFT_RIGHT, 3 ROTATE_180, 4 FLIP_TOP_BOTTOM, 5 TRANSPOSE, 6 ROTATE_270,
// 7 TRANSVERSE, 8 ROTATE_90; 1 or any other value returns the image unchanged.
Image8 apply_exif_orientation(const Image8& image, int orientation);

// The EXIF Orientation value of an EXIF block (a TIFF header and IFD0, with or without the
// "Exif\0\0" prefix) as Pillow's Exif.load reads it: the first value of tag 0x0112 in IFD0;
// 0 when there is none or the block cannot be read.
int exif_orientation_of(std::span<const std::uint8_t> exif);

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

// Pillow 9.4's Image.resize((width, height), pil_resample) in the image's own mode, byte for
// byte:
//  - 1 and P: NEAREST whatever filter is asked (Pillow forces it for these modes);
//  - LA and RGBA with any other filter: premultiplied first (Pillow's La / RGBa: c * a / 255
//    rounded as MULDIV255), resized, then un-premultiplied (c = min(255, 255 * c / a) in
//    integers; a = 0 or 255 leaves c as it is), so transparent pixels lend no colour;
//  - L, PA, RGB, CMYK: every byte channel as the RGB resize above (for PA that interpolates
//    palette indices and, as in Pillow, leaves the default gray-ramp palette);
//  - I: Pillow's 32-bit path: the same filter weights in double, no fixed point, each pass
//    rounded half away from zero.
// The same size returns a copy. Errors as the RGB resize.
Image8 resize(const Image8& image, int width, int height, int pil_resample);

// Pillow's Image.crop((left, top, left + width, top + height)): pixels outside the image are
// zero bytes (index 0 for P, transparent black for RGBA); the mode and palette are kept.
// Errors: a non-positive size, an empty or inconsistent image.
Image8 crop(const Image8& image, int left, int top, int width, int height);

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
  // Where the image is resized and cropped. false: converted to RGB first, as the Hugging
  // Face processors do (they call convert("RGB") before anything else). true: resized and
  // center-cropped in the file's own mode (resize(const Image8&, ...), crop), converted to
  // RGB only then, as open_clip, jina-clip and every torchvision pipeline on PIL images do:
  // a P image is then resized with NEAREST, an RGBA one premultiplied. Only the
  // preprocess(const Image8&, ...) overload reads it.
  bool resize_in_file_mode = false;
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

// The same from an image in its own mode. config.resize_in_file_mode false:
// preprocess(convert_rgb(image), config, out), bit for bit. true: resize (in the image's
// mode, config.resample) to the same size, center crop (zero padding in the image's mode,
// placed as torchvision's center_crop pads when the crop is larger), convert_rgb, then the
// same rescale and normalize.
void preprocess(const Image8& image, const PreprocessConfig& config, float* out);

}  // namespace vlbench
