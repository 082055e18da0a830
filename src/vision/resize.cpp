// Pillow 9.4's Image.resize (libImaging/Resample.c, ImagingResample with box = the whole image,
// and Geometry.c's ImagingScaleAffine for NEAREST), reimplemented so the result is the same
// byte for byte:
//  - per output pixel, a window of input pixels around center = (i + 0.5) * scale, with
//    support filter_support * max(scale, 1) (wider when downscaling: antialiasing), weights
//    filter((j - center + 0.5) / max(scale, 1)) normalised to sum 1 in double,
//  - weights turned into fixed point with 22 fractional bits (32 - 8 - 2: room for the 8-bit
//    value and for sums above 1 or below 0), rounded half away from zero,
//  - horizontal pass first (only over the rows the vertical pass reads), then vertical, each
//    accumulated in int32 from 0.5 and clipped back to uint8.
// Speed: the horizontal pass runs as a vertical pass on the transposed image, so both passes
// are the same contiguous, vectorised multiply-add over whole rows (integer sums: the order
// does not change the result). 640x480 -> 298x224 (median ms, 2-core VM; Pillow 9.4 beside):
// bicubic 0.75 (2.9), lanczos 1.1 (3.9), bilinear 0.65 (1.7), hamming 0.7 (1.8), box 0.5
// (1.6), nearest 0.07 (0.04). The filters differ only in their tap counts.
#include <vlbench/core/error.hpp>
#include <vlbench/vision/image.hpp>

#include "vision/decode_internal.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <numbers>
#include <vector>

namespace vlbench {

namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;

// Resample.c's filters, with its exact expressions: the coefficients are rounded to 22 bits
// afterwards, so a reordered formula can move a weight across a rounding boundary.
double box_filter(double x) {
  // (-0.5, 0.5]: a tap exactly half a pixel away counts on one side only.
  return x > -0.5 && x <= 0.5 ? 1.0 : 0.0;
}

double bilinear_filter(double x) {
  if (x < 0.0) x = -x;
  return x < 1.0 ? 1.0 - x : 0.0;
}

double hamming_filter(double x) {
  if (x < 0.0) x = -x;
  if (x == 0.0) return 1.0;
  if (x >= 1.0) return 0.0;
  x *= std::numbers::pi;
  // Pillow writes the window's constants as C floats (0.54f, 0.46f): they are float-rounded
  // and then promoted, which changes some coefficients' last bits.
  return std::sin(x) / x * (static_cast<double>(0.54f) + static_cast<double>(0.46f) * std::cos(x));
}

double bicubic_filter(double x) {
  constexpr double a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

double sinc(double x) {
  if (x == 0.0) return 1.0;
  x *= std::numbers::pi;
  return std::sin(x) / x;
}

double lanczos_filter(double x) {
  // Truncated to [-3, 3): asymmetric, as in Pillow.
  return -3.0 <= x && x < 3.0 ? sinc(x) * sinc(x / 3) : 0.0;
}

struct Filter {
  double (*weight)(double x);
  double support;  // half-width in input pixels at scale 1
};

// Indexed by the PIL code; NEAREST (0) is not a convolution and has no entry.
constexpr Filter kFilters[] = {
    {nullptr, 0.0},          // 0 NEAREST
    {lanczos_filter, 3.0},   // 1 LANCZOS
    {bilinear_filter, 1.0},  // 2 BILINEAR
    {bicubic_filter, 2.0},   // 3 BICUBIC
    {box_filter, 0.5},       // 4 BOX
    {hamming_filter, 1.0},   // 5 HAMMING
};

// Per output pixel i: taps start at first[i], count[i] of them, weights at
// weights[i * ksize ...] in fixed point.
struct Coefficients {
  int ksize = 0;
  std::vector<int> first;
  std::vector<int> count;
  std::vector<std::int32_t> weights;
  std::vector<double> weights_f64;  // the same before fixed point: mode I's 32-bit path
};

Coefficients precompute(int in_size, int out_size, const Filter& filter) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filter_scale = std::max(scale, 1.0);
  const double support = filter.support * filter_scale;
  Coefficients c;
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.first.resize(out_size);
  c.count.resize(out_size);
  c.weights.assign(static_cast<std::size_t>(out_size) * c.ksize, 0);
  c.weights_f64.assign(static_cast<std::size_t>(out_size) * c.ksize, 0.0);
  std::vector<double> w(c.ksize);
  const double inv = 1.0 / filter_scale;
  for (int i = 0; i < out_size; ++i) {
    const double center = (i + 0.5) * scale;
    // C's (int) truncates toward zero; negative starts are clamped to 0 either way.
    const int lo = std::max(static_cast<int>(center - support + 0.5), 0);
    const int hi = std::min(static_cast<int>(center + support + 0.5), in_size);
    const int n = hi - lo;
    VLB_ASSERT(n >= 1 && n <= c.ksize);
    double sum = 0.0;
    for (int x = 0; x < n; ++x) {
      w[x] = filter.weight((x + lo - center + 0.5) * inv);
      sum += w[x];
    }
    std::int32_t* k = &c.weights[static_cast<std::size_t>(i) * c.ksize];
    double* kf = &c.weights_f64[static_cast<std::size_t>(i) * c.ksize];
    for (int x = 0; x < n; ++x) {
      kf[x] = sum != 0.0 ? w[x] / sum : w[x];
      const double v = kf[x] * (1 << kPrecisionBits);
      k[x] = static_cast<std::int32_t>(v < 0 ? v - 0.5 : v + 0.5);
    }
    c.first[i] = lo;
    c.count[i] = n;
  }
  return c;
}

inline std::uint8_t clip8(std::int32_t v) {
  v >>= kPrecisionBits;  // arithmetic shift: floor, as Pillow's lookup index
  return static_cast<std::uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
}

// Transposes rows [row0, row0 + rows) of an image `width` wide with C-byte pixels:
// out[x][y] = in[row0 + y][x], in tiles so both sides stay in cache.
template <int C>
void transpose_pixels(const std::uint8_t* in, int width, int row0, int rows, std::uint8_t* out) {
  constexpr int kTile = 32;
  for (int y0 = 0; y0 < rows; y0 += kTile) {
    const int y1 = std::min(y0 + kTile, rows);
    for (int x0 = 0; x0 < width; x0 += kTile) {
      const int x1 = std::min(x0 + kTile, width);
      for (int y = y0; y < y1; ++y) {
        const std::uint8_t* src = in + (static_cast<std::size_t>(row0 + y) * width + x0) * C;
        std::uint8_t* dst = out + (static_cast<std::size_t>(x0) * rows + y) * C;
        for (int x = x0; x < x1; ++x, src += C, dst += static_cast<std::size_t>(rows) * C) {
          for (int c = 0; c < C; ++c) dst[c] = src[c];
        }
      }
    }
  }
}

void transpose(const std::uint8_t* in, int width, int channels, int row0, int rows,
               std::uint8_t* out) {
  switch (channels) {
    case 1:
      return transpose_pixels<1>(in, width, row0, rows, out);
    case 2:
      return transpose_pixels<2>(in, width, row0, rows, out);
    case 3:
      return transpose_pixels<3>(in, width, row0, rows, out);
    case 4:
      return transpose_pixels<4>(in, width, row0, rows, out);
    default:
      VLB_ASSERT(false);
  }
}

// One vertical pass. in: rows of `stride` bytes (any number of 8-bit channels: each byte is
// filtered on its own) whose row 0 is the source row `row_shift`; out: out_height rows.
// Compiled twice, chosen at run time: AVX2 has 8-lane int32 multiplies, SSE2 emulates them.
// Integer arithmetic, so both give the same bytes.
[[gnu::target_clones("avx2", "default")]] void vertical(const std::uint8_t* in,
                                                        std::size_t stride, int row_shift,
                                                        const Coefficients& c, int out_height,
                                                        std::uint8_t* out) {
  constexpr std::int32_t kHalf = 1 << (kPrecisionBits - 1);
  constexpr std::size_t kBlock = 32;  // bytes a block: the sums stay in vector registers
  for (int y = 0; y < out_height; ++y) {
    const std::int32_t* k = &c.weights[static_cast<std::size_t>(y) * c.ksize];
    const std::uint8_t* src = in + static_cast<std::size_t>(c.first[y] - row_shift) * stride;
    const int taps = c.count[y];
    std::uint8_t* dst = out + y * stride;
    // The same integer sums as Pillow's (integer addition is exact in any order), computed
    // across a block of contiguous bytes at once so the loop vectorises.
    std::size_t i = 0;
    for (; i + kBlock <= stride; i += kBlock) {
      std::int32_t acc[kBlock];
      for (std::size_t j = 0; j < kBlock; ++j) acc[j] = kHalf;
      for (int t = 0; t < taps; ++t) {
        const std::uint8_t* row = src + t * stride + i;
        const std::int32_t kt = k[t];
        for (std::size_t j = 0; j < kBlock; ++j) acc[j] += row[j] * kt;
      }
      for (std::size_t j = 0; j < kBlock; ++j) dst[i + j] = clip8(acc[j]);
    }
    for (; i < stride; ++i) {
      std::int32_t acc = kHalf;
      for (int t = 0; t < taps; ++t) acc += src[t * stride + i] * k[t];
      dst[i] = clip8(acc);
    }
  }
}

// Uninitialised scratch memory (every byte is written before it is read), reused across calls
// on a thread: fresh megabyte buffers cost a memset and page faults on every call, more than
// the arithmetic. Buffers above kKeepBytes are not kept.
class Scratch {
 public:
  explicit Scratch(std::size_t bytes) {
    constexpr std::size_t kKeepBytes = std::size_t{64} << 20;
    thread_local std::unique_ptr<std::uint8_t[]> kept;
    thread_local std::size_t kept_bytes = 0;
    if (bytes > kKeepBytes) {
      own_ = std::make_unique_for_overwrite<std::uint8_t[]>(bytes);
      data_ = own_.get();
      return;
    }
    if (bytes > kept_bytes) {
      kept = std::make_unique_for_overwrite<std::uint8_t[]>(bytes);
      kept_bytes = bytes;
    }
    data_ = kept.get();
  }
  std::uint8_t* data() const { return data_; }

 private:
  std::unique_ptr<std::uint8_t[]> own_;
  std::uint8_t* data_ = nullptr;
};

// Image.resize(..., NEAREST) does not resample: _imaging.c's resize turns it into an affine
// scale (ImagingScaleAffine), source coordinate = a running double sum started at scale / 2
// and stepped by scale = in / out, truncated to an int. The running sum, not (i + 0.5) *
// scale, is what picks the pixel: the two can round to different sides of an integer.
// Positions outside the source (none for a whole-image box, but Pillow checks) stay zero.
std::vector<int> nearest_positions(int in_size, int out_size) {
  const double scale = static_cast<double>(in_size) / out_size;
  std::vector<int> positions(out_size);
  double position = scale * 0.5;
  for (int i = 0; i < out_size; ++i, position += scale) {
    positions[i] = position < 0.0 ? -1 : static_cast<int>(position);
    if (positions[i] >= in_size) positions[i] = -1;
  }
  return positions;
}

// NEAREST on pixels of `bpp` bytes (any mode: bytes are copied, never mixed).
void resize_nearest(const std::uint8_t* in, int in_width, int in_height, int bpp, int width,
                    int height, std::uint8_t* out) {
  const std::vector<int> xs = nearest_positions(in_width, width);
  const std::vector<int> ys = nearest_positions(in_height, height);
  const std::size_t stride = static_cast<std::size_t>(width) * bpp;
  std::memset(out, 0, stride * height);
  for (int y = 0; y < height; ++y) {
    if (ys[y] < 0) continue;
    std::uint8_t* dst = out + y * stride;
    if (y > 0 && ys[y] == ys[y - 1]) {  // upscaling repeats rows: copy the one just made
      std::memcpy(dst, dst - stride, stride);
      continue;
    }
    const std::uint8_t* src = in + static_cast<std::size_t>(ys[y]) * in_width * bpp;
    for (int x = 0; x < width; ++x) {
      if (xs[x] >= 0) std::memcpy(dst + x * bpp, src + static_cast<std::size_t>(xs[x]) * bpp, bpp);
    }
  }
}

// Resample.c's 8-bit path on `channels` interleaved byte channels, each filtered on its own
// (Pillow does the same per band): in is in_width x in_height, out width x height.
void resample_u8(const std::uint8_t* in, int in_width, int in_height, int channels,
                 const Filter& filter, int width, int height, std::uint8_t* out) {
  const bool need_horizontal = width != in_width;
  const bool need_vertical = height != in_height;
  const Coefficients ch = precompute(in_width, width, filter);
  const Coefficients cv = precompute(in_height, height, filter);
  const std::size_t in_stride = static_cast<std::size_t>(in_width) * channels;
  const std::size_t out_stride = static_cast<std::size_t>(width) * channels;
  if (!need_horizontal) {
    vertical(in, in_stride, 0, cv, height, out);
    return;
  }
  // Only the source rows some output row reads go through the horizontal pass. That pass
  // runs as a vertical one on the transposed image, where the taps of an output column are
  // whole contiguous rows (vectorises; about 3x faster than gathering 3-byte pixels).
  const int row_first = need_vertical ? cv.first.front() : 0;
  const int rows = need_vertical ? cv.first.back() + cv.count.back() - row_first : in_height;
  const std::size_t column_bytes = in_stride * rows;
  const std::size_t resized_bytes = out_stride * rows;
  // `columns` holds the transposed input, later the horizontal result back in rows.
  Scratch scratch(std::max(column_bytes, resized_bytes) + resized_bytes);
  std::uint8_t* columns = scratch.data();
  std::uint8_t* resized_columns = columns + std::max(column_bytes, resized_bytes);
  transpose(in, in_width, channels, row_first, rows, columns);
  vertical(columns, static_cast<std::size_t>(rows) * channels, 0, ch, width, resized_columns);
  if (!need_vertical) {
    transpose(resized_columns, rows, channels, 0, width, out);
    return;
  }
  transpose(resized_columns, rows, channels, 0, width, columns);
  vertical(columns, out_stride, row_first, cv, height, out);
}

// Pillow's ROUND_UP: half away from zero.
inline std::int32_t round_up(double v) {
  return static_cast<std::int32_t>(v >= 0.0 ? std::floor(v + 0.5) : -std::floor(std::fabs(v) + 0.5));
}

// Resample.c's 32-bit path for mode I: double weights, each pass summed in tap order and
// rounded to int32 (no clipping), horizontal (over the rows the vertical pass reads) first.
std::vector<std::int32_t> resample_i32(const std::vector<std::int32_t>& in, int in_width,
                                       int in_height, const Filter& filter, int width,
                                       int height) {
  const bool need_horizontal = width != in_width;
  const bool need_vertical = height != in_height;
  const Coefficients ch = precompute(in_width, width, filter);
  const Coefficients cv = precompute(in_height, height, filter);
  const int row_first = need_vertical ? cv.first.front() : 0;
  const int rows = need_vertical ? cv.first.back() + cv.count.back() - row_first : in_height;
  std::vector<std::int32_t> horizontal;
  const std::int32_t* src = in.data();
  int src_row0 = 0;
  if (need_horizontal) {
    horizontal.resize(static_cast<std::size_t>(width) * rows);
    for (int y = 0; y < rows; ++y) {
      const std::int32_t* row = &in[static_cast<std::size_t>(row_first + y) * in_width];
      for (int x = 0; x < width; ++x) {
        const double* k = &ch.weights_f64[static_cast<std::size_t>(x) * ch.ksize];
        double sum = 0.0;
        for (int t = 0; t < ch.count[x]; ++t) sum += row[ch.first[x] + t] * k[t];
        horizontal[static_cast<std::size_t>(y) * width + x] = round_up(sum);
      }
    }
    if (!need_vertical) return horizontal;
    src = horizontal.data();
    src_row0 = row_first;
  }
  std::vector<std::int32_t> out(static_cast<std::size_t>(width) * height);
  for (int y = 0; y < height; ++y) {
    const double* k = &cv.weights_f64[static_cast<std::size_t>(y) * cv.ksize];
    for (int x = 0; x < width; ++x) {
      double sum = 0.0;
      for (int t = 0; t < cv.count[y]; ++t) {
        sum += src[static_cast<std::size_t>(cv.first[y] + t - src_row0) * width + x] * k[t];
      }
      out[static_cast<std::size_t>(y) * width + x] = round_up(sum);
    }
  }
  return out;
}

void check_resize_arguments(int width, int height, int pil_resample) {
  if (pil_resample_name(pil_resample) == nullptr) {
    fail("resize: PIL resample code {} is not supported; expected {}", pil_resample,
         kSupportedPilResamples);
  }
  if (width <= 0 || height <= 0) {
    fail("resize: expected a positive output size, got {}x{}", width, height);
  }
}

// Pillow's La / RGBa conversions: colour channels premultiplied by the last (alpha) byte,
// rounded as MULDIV255, and back: min(255, 255 * c / a) in integers, a = 0 or 255 kept.
void premultiply(std::vector<std::uint8_t>& pixels, int channels) {
  for (std::size_t i = 0; i < pixels.size(); i += channels) {
    const int a = pixels[i + channels - 1];
    for (int c = 0; c < channels - 1; ++c) {
      const int t = pixels[i + c] * a + 128;
      pixels[i + c] = static_cast<std::uint8_t>(((t >> 8) + t) >> 8);
    }
  }
}

void unpremultiply(std::vector<std::uint8_t>& pixels, int channels) {
  for (std::size_t i = 0; i < pixels.size(); i += channels) {
    const int a = pixels[i + channels - 1];
    if (a == 0 || a == 255) continue;
    for (int c = 0; c < channels - 1; ++c) {
      pixels[i + c] = static_cast<std::uint8_t>(std::min(255, 255 * pixels[i + c] / a));
    }
  }
}

}  // namespace

const char* pil_resample_name(int pil_resample) {
  switch (pil_resample) {
    case kPilNearest:
      return "NEAREST";
    case kPilLanczos:
      return "LANCZOS";
    case kPilBilinear:
      return "BILINEAR";
    case kPilBicubic:
      return "BICUBIC";
    case kPilBox:
      return "BOX";
    case kPilHamming:
      return "HAMMING";
    default:
      return nullptr;
  }
}

ImageRgb8 resize(const ImageRgb8& image, int width, int height, int pil_resample) {
  check_resize_arguments(width, height, pil_resample);
  if (image.width <= 0 || image.height <= 0 ||
      image.rgb.size() != static_cast<std::size_t>(image.width) * image.height * 3) {
    fail("resize: expected a non-empty RGB image, got {}x{} with {} bytes", image.width,
         image.height, image.rgb.size());
  }
  if (width == image.width && height == image.height) return image;  // Pillow copies
  ImageRgb8 out;
  out.width = width;
  out.height = height;
  out.rgb.resize(static_cast<std::size_t>(width) * height * 3);
  if (pil_resample == kPilNearest) {
    resize_nearest(image.rgb.data(), image.width, image.height, 3, width, height, out.rgb.data());
  } else {
    resample_u8(image.rgb.data(), image.width, image.height, 3, kFilters[pil_resample], width,
                height, out.rgb.data());
  }
  return out;
}

Image8 resize(const Image8& image, int width, int height, int pil_resample) {
  check_resize_arguments(width, height, pil_resample);
  vision_detail::check_image8(image, "resize");
  if (width == image.width && height == image.height) return image;  // Pillow copies
  // Image.resize: modes 1 and P are always resized with NEAREST.
  if (image.mode == PilMode::One || image.mode == PilMode::P) pil_resample = kPilNearest;
  const int bpp = pil_mode_bytes_per_pixel(image.mode);
  Image8 out = vision_detail::new_image(width, height, image.mode, "resize");
  out.palette = image.palette;
  if (pil_resample == kPilNearest) {
    resize_nearest(image.pixels.data(), image.width, image.height, bpp, width, height,
                   out.pixels.data());
    return out;
  }
  const Filter& filter = kFilters[pil_resample];
  if (image.mode == PilMode::I) {
    std::vector<std::int32_t> values(static_cast<std::size_t>(image.width) * image.height);
    std::memcpy(values.data(), image.pixels.data(), image.pixels.size());
    const std::vector<std::int32_t> resized =
        resample_i32(values, image.width, image.height, filter, width, height);
    std::memcpy(out.pixels.data(), resized.data(), out.pixels.size());
    return out;
  }
  // Image.resize: LA and RGBA go through La / RGBa (premultiplied) and back.
  const bool premultiplied = image.mode == PilMode::LA || image.mode == PilMode::RGBA;
  if (premultiplied) {
    std::vector<std::uint8_t> pixels = image.pixels;
    premultiply(pixels, bpp);
    resample_u8(pixels.data(), image.width, image.height, bpp, filter, width, height,
                out.pixels.data());
    unpremultiply(out.pixels, bpp);
    return out;
  }
  resample_u8(image.pixels.data(), image.width, image.height, bpp, filter, width, height,
              out.pixels.data());
  // Pillow's resampled PA image is a new image whose palette is the default gray ramp (only
  // the Python object keeps the old one), so convert("RGB") shows the interpolated indices.
  if (image.mode == PilMode::PA) out.palette = vision_detail::gray_ramp_palette();
  return out;
}

ImageRgb8 resize_bicubic(const ImageRgb8& image, int width, int height) {
  return resize(image, width, height, kPilBicubic);
}

}  // namespace vlbench
