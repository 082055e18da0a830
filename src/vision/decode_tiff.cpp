// TIFF decoding with libtiff (strips or tiles, contiguous or separate planes; libtiff does the
// decompression, the predictor, the fill order and the byte order), into the mode Pillow
// 9.4's TiffImagePlugin gives (its OPEN_INFO table, for the layouts below):
//  - WhiteIsZero / BlackIsZero, 1 sample: 1-bit -> 1; 2, 4, 8-bit -> L (scaled as Pillow's
//    L;2 / L;4, inverted for WhiteIsZero); 16-bit unsigned (BlackIsZero, or WhiteIsZero in a
//    little-endian file, which Pillow does not invert) or signed -> I (Pillow opens unsigned
//    ones as I;16, which converts to RGB the same way and which its resize refuses).
//  - BlackIsZero + unassociated alpha, 8-bit: LA.
//  - RGB, 8 or 16-bit (16: the high byte, as Pillow's RGB;16 raw modes): RGB; with a fourth
//    sample: RGBA when it is alpha or untagged, RGB when it is tagged unspecified (Pillow's
//    RGBX); associated alpha is un-premultiplied as Pillow's RGBa unpacker does
//    (c = 255 * c / a, zero where a = 0); 8-bit: up to two more unspecified samples dropped.
//  - Palette, 1/2/4/8-bit: P with the ColorMap's high bytes (Pillow: value // 256); 8-bit +
//    unassociated alpha: PA.
//  - Separated (CMYK), 8-bit: CMYK (up to two unspecified samples dropped).
// Compressions: none, LZW, deflate, PackBits, CCITT G3/G4 (bilevel), LZMA, ZSTD. Others
// (JPEG, ...) and other layouts are an Error saying what the file has. The first image of
// the file is read, as Image.open does, and its Orientation tag is always applied, as
// Pillow's TIFF loader does.
#include <vlbench/core/error.hpp>

#include "vision/decode_internal.hpp"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <new>
#include <vector>

#include <tiffio.h>

namespace vlbench::vision_detail {

namespace {

struct Source {
  std::span<const std::uint8_t> bytes;
  std::uint64_t position = 0;
  char message[256] = {};
};

tsize_t read_proc(thandle_t handle, tdata_t dst, tsize_t size) {
  auto* s = static_cast<Source*>(handle);
  if (size <= 0 || s->position >= s->bytes.size()) return 0;
  const std::uint64_t n = std::min<std::uint64_t>(static_cast<std::uint64_t>(size),
                                                  s->bytes.size() - s->position);
  std::memcpy(dst, s->bytes.data() + s->position, static_cast<std::size_t>(n));
  s->position += n;
  return static_cast<tsize_t>(n);
}

tsize_t write_proc(thandle_t, tdata_t, tsize_t) { return -1; }

toff_t seek_proc(thandle_t handle, toff_t offset, int whence) {
  auto* s = static_cast<Source*>(handle);
  std::uint64_t base = 0;
  if (whence == SEEK_CUR) base = s->position;
  if (whence == SEEK_END) base = s->bytes.size();
  if (offset > UINT64_MAX - base) return static_cast<toff_t>(-1);
  s->position = base + offset;  // past the end is allowed; reads there return nothing
  return s->position;
}

int close_proc(thandle_t) { return 0; }
toff_t size_proc(thandle_t handle) { return static_cast<Source*>(handle)->bytes.size(); }
int map_proc(thandle_t, tdata_t*, toff_t*) { return 0; }
void unmap_proc(thandle_t, tdata_t, toff_t) {}

int on_error(TIFF*, void* user, const char* module, const char* format, va_list args) {
  auto* s = static_cast<Source*>(user);
  if (s->message[0] == '\0') {
    char text[200];
    std::vsnprintf(text, sizeof(text), format, args);
    std::snprintf(s->message, sizeof(s->message), "%s%s%s", module != nullptr ? module : "",
                  module != nullptr ? ": " : "", text);
  }
  return 1;  // handled: nothing printed
}

int on_warning(TIFF*, void*, const char*, const char*, va_list) { return 1; }

struct TiffCloser {
  void operator()(TIFF* tif) const { TIFFClose(tif); }
};

struct Layout {
  PilMode mode = PilMode::L;
  int channels = 1;        // samples kept per pixel (the rest are dropped)
  bool invert = false;     // WhiteIsZero gray
  bool associated = false; // RGBa: alpha premultiplied in the file
  bool is_signed = false;  // 16-bit signed gray
};

// One sample of a row buffer: pixel x, sample k of `per_pixel`, `bits` wide.
inline std::uint32_t sample_at(const std::uint8_t* row, std::size_t x, int k, int per_pixel,
                               int bits) {
  if (bits < 8) {
    const std::size_t bit = x * static_cast<std::size_t>(bits);
    return (row[bit >> 3] >> (8 - bits - (bit & 7))) & ((1u << bits) - 1);
  }
  const std::size_t index = x * per_pixel + k;
  if (bits == 8) return row[index];
  std::uint16_t v;  // libtiff gives 16-bit samples in host byte order
  std::memcpy(&v, row + 2 * index, 2);
  return v;
}

// Writes `n` pixels of `row` (samples `first_sample`.. of `per_pixel`, as channels
// `first_channel`..) into the image at (x0, y).
void store_segment(const std::uint8_t* row, int n, int per_pixel, int first_sample,
                   int first_channel, int bits, const Layout& layout, Image8& image, int x0,
                   int y) {
  const int bpp = pil_mode_bytes_per_pixel(image.mode);
  std::uint8_t* out = &image.pixels[(static_cast<std::size_t>(y) * image.width + x0) * bpp];
  const int samples = std::min(per_pixel - first_sample, layout.channels - first_channel);
  for (int x = 0; x < n; ++x) {
    for (int k = 0; k < samples; ++k) {
      const std::uint32_t v = sample_at(row, static_cast<std::size_t>(x), first_sample + k,
                                        per_pixel, bits);
      std::uint8_t* dst = out + static_cast<std::size_t>(x) * bpp + first_channel + k;
      if (image.mode == PilMode::I) {
        const std::int32_t value = layout.is_signed ? static_cast<std::int16_t>(v)
                                                    : static_cast<std::int32_t>(v);
        std::memcpy(out + static_cast<std::size_t>(x) * 4, &value, 4);
        continue;
      }
      std::uint32_t b = v;
      if (bits == 16) {
        b = v >> 8;
      } else if (image.mode == PilMode::One) {
        b = v != 0 ? 255 : 0;
      } else if (image.mode == PilMode::L && bits < 8) {
        b = v * (bits == 2 ? 0x55 : 0x11);
      }
      if (layout.invert) b = 255 - b;
      *dst = static_cast<std::uint8_t>(b);
    }
  }
}

}  // namespace

Decoded decode_tiff(std::span<const std::uint8_t> bytes, const std::string& name,
                    const DecodeOptions& options) {
  Source source{bytes};
  std::unique_ptr<TIFFOpenOptions, void (*)(TIFFOpenOptions*)> open_options(TIFFOpenOptionsAlloc(),
                                                                            TIFFOpenOptionsFree);
  if (!open_options) fail("{}: cannot create a libtiff reader", name);
  TIFFOpenOptionsSetErrorHandlerExtR(open_options.get(), on_error, &source);
  TIFFOpenOptionsSetWarningHandlerExtR(open_options.get(), on_warning, &source);
  // libtiff's own allocations (strip tables, codec state) stay bounded on hostile headers.
  TIFFOpenOptionsSetMaxSingleMemAlloc(open_options.get(), tmsize_t{256} << 20);
  const auto corrupt = [&](const char* what) {
    fail("{}: corrupt TIFF image: {}{}{}", name, what, source.message[0] != '\0' ? ": " : "",
         source.message);
  };
  // "O": strip and tile offsets read on demand, so a huge declared table is not loaded.
  std::unique_ptr<TIFF, TiffCloser> tif(TIFFClientOpenExt(
      name.c_str(), "rO", &source, read_proc, write_proc, seek_proc, close_proc, size_proc,
      map_proc, unmap_proc, open_options.get()));
  if (!tif) corrupt("cannot read the header");

  std::uint32_t width = 0;
  std::uint32_t height = 0;
  if (!TIFFGetField(tif.get(), TIFFTAG_IMAGEWIDTH, &width) ||
      !TIFFGetField(tif.get(), TIFFTAG_IMAGELENGTH, &height)) {
    corrupt("no ImageWidth / ImageLength");
  }
  std::uint16_t bits = 1, spp = 1, format = SAMPLEFORMAT_UINT, planar = PLANARCONFIG_CONTIG;
  std::uint16_t photometric = PHOTOMETRIC_MINISWHITE, compression = COMPRESSION_NONE;
  TIFFGetFieldDefaulted(tif.get(), TIFFTAG_BITSPERSAMPLE, &bits);
  TIFFGetFieldDefaulted(tif.get(), TIFFTAG_SAMPLESPERPIXEL, &spp);
  TIFFGetFieldDefaulted(tif.get(), TIFFTAG_SAMPLEFORMAT, &format);
  TIFFGetFieldDefaulted(tif.get(), TIFFTAG_PLANARCONFIG, &planar);
  TIFFGetFieldDefaulted(tif.get(), TIFFTAG_COMPRESSION, &compression);
  TIFFGetField(tif.get(), TIFFTAG_PHOTOMETRIC, &photometric);
  std::uint16_t n_extra = 0;
  std::uint16_t* extra_ptr = nullptr;
  TIFFGetField(tif.get(), TIFFTAG_EXTRASAMPLES, &n_extra, &extra_ptr);
  const std::vector<std::uint16_t> extra(extra_ptr, extra_ptr + (extra_ptr ? n_extra : 0));

  switch (compression) {
    case COMPRESSION_NONE:
    case COMPRESSION_CCITTRLE:
    case COMPRESSION_CCITTFAX3:
    case COMPRESSION_CCITTFAX4:
    case COMPRESSION_LZW:
    case COMPRESSION_ADOBE_DEFLATE:
    case COMPRESSION_DEFLATE:
    case COMPRESSION_PACKBITS:
    case COMPRESSION_LZMA:
    case COMPRESSION_ZSTD:
      break;
    default:
      fail("{}: unsupported TIFF compression {} (expected none, LZW, deflate, PackBits, CCITT, "
           "LZMA or ZSTD)",
           name, compression);
  }
  if (!TIFFIsCODECConfigured(compression)) {
    fail("{}: TIFF compression {} is not built into this libtiff", name, compression);
  }

  // Pillow's OPEN_INFO key, for the layouts read here.
  const auto unsupported = [&]() {
    fail("{}: unsupported TIFF layout: photometric {}, {} samples of {} bits, sample format {}, "
         "{} extra samples (Pillow 9.4's layouts of 1, L, I;16, LA, P, PA, RGB, RGBA and "
         "8-bit CMYK are read)",
         name, photometric, spp, bits, format, extra.size());
  };
  const auto extras_are = [&](std::initializer_list<std::uint16_t> first, std::size_t at_most) {
    if (extra.empty() || extra.size() > at_most) return false;
    if (std::find(first.begin(), first.end(), extra[0]) == first.end()) return false;
    return std::all_of(extra.begin() + 1, extra.end(), [](std::uint16_t e) { return e == 0; });
  };
  Layout layout;
  const std::size_t base_samples =
      photometric == PHOTOMETRIC_RGB ? 3 : photometric == PHOTOMETRIC_SEPARATED ? 4 : 1;
  // RGB with a fourth sample and no ExtraSamples tag is RGBA to Pillow.
  const bool rgba_without_extra = photometric == PHOTOMETRIC_RGB && spp == 4 && extra.empty();
  if (spp != base_samples + extra.size() && !rgba_without_extra) unsupported();
  if (format != SAMPLEFORMAT_UINT && !(format == SAMPLEFORMAT_INT && bits == 16)) unsupported();
  switch (photometric) {
    case PHOTOMETRIC_MINISWHITE:
    case PHOTOMETRIC_MINISBLACK:
      if (spp == 1) {
        layout.invert = photometric == PHOTOMETRIC_MINISWHITE;
        if (bits == 1) {
          layout.mode = PilMode::One;
        } else if (bits == 2 || bits == 4 || bits == 8) {
          layout.mode = PilMode::L;
        } else if (bits == 16) {
          layout.mode = PilMode::I;
          layout.is_signed = format == SAMPLEFORMAT_INT;
          layout.invert = false;
          const bool big_endian = bytes[0] == 'M';
          if (photometric == PHOTOMETRIC_MINISWHITE && (big_endian || layout.is_signed)) {
            unsupported();
          }
        } else {
          unsupported();
        }
        if (format != SAMPLEFORMAT_UINT && layout.mode != PilMode::I) unsupported();
      } else if (photometric == PHOTOMETRIC_MINISBLACK && spp == 2 && bits == 8 &&
                 extras_are({EXTRASAMPLE_UNASSALPHA}, 1)) {
        layout.mode = PilMode::LA;
        layout.channels = 2;
      } else {
        unsupported();
      }
      break;
    case PHOTOMETRIC_RGB:
      if (bits != 8 && bits != 16) unsupported();
      layout.channels = 3;
      layout.mode = PilMode::RGB;
      if (spp == 4 && extra.empty()) {
        layout.mode = PilMode::RGBA;
        layout.channels = 4;
      } else if (!extra.empty()) {
        const std::size_t at_most = bits == 8 ? 3 : 1;
        if (extras_are({EXTRASAMPLE_UNSPECIFIED}, at_most)) {
          // RGBX: kept as RGB
        } else if (extras_are({EXTRASAMPLE_ASSOCALPHA, EXTRASAMPLE_UNASSALPHA}, at_most) ||
                   (bits == 8 && extra.size() == 1 && extra[0] == 999)) {
          layout.mode = PilMode::RGBA;
          layout.channels = 4;
          layout.associated = extra[0] == EXTRASAMPLE_ASSOCALPHA;
        } else {
          unsupported();
        }
      }
      break;
    case PHOTOMETRIC_PALETTE:
      if (spp == 1 && (bits == 1 || bits == 2 || bits == 4 || bits == 8)) {
        layout.mode = PilMode::P;
      } else if (spp == 2 && bits == 8 && extras_are({EXTRASAMPLE_UNASSALPHA}, 1)) {
        layout.mode = PilMode::PA;
        layout.channels = 2;
      } else {
        unsupported();
      }
      break;
    case PHOTOMETRIC_SEPARATED:
      if (bits != 8 || !(extra.empty() || extras_are({EXTRASAMPLE_UNSPECIFIED}, 2))) {
        unsupported();
      }
      layout.mode = PilMode::CMYK;
      layout.channels = 4;
      break;
    default:
      fail("{}: unsupported TIFF photometric interpretation {} (expected gray, RGB, palette or "
           "CMYK; YCbCr and JPEG-compressed TIFFs are not read)",
           name, photometric);
  }
  if (planar == PLANARCONFIG_SEPARATE && bits < 8) unsupported();
  std::uint16_t fill_order = FILLORDER_MSB2LSB;
  TIFFGetFieldDefaulted(tif.get(), TIFFTAG_FILLORDER, &fill_order);
  if (fill_order != FILLORDER_MSB2LSB) {
    // Pillow has FillOrder 2 raw modes for 1, L, RGB (8-bit), P and little-endian I;16 only.
    const bool known = (layout.mode == PilMode::One || layout.mode == PilMode::L ||
                        layout.mode == PilMode::P) ||
                       (layout.mode == PilMode::RGB && bits == 8 && spp == 3) ||
                       (layout.mode == PilMode::I && !layout.is_signed && bytes[0] == 'I' &&
                        photometric == PHOTOMETRIC_MINISBLACK);
    if (!known) unsupported();
  }

  check_declared_size(width, height, name, options);
  Decoded decoded;
  decoded.image = new_image(static_cast<int>(width), static_cast<int>(height), layout.mode, name);
  Image8& image = decoded.image;
  if (layout.mode == PilMode::P || layout.mode == PilMode::PA) {
    std::uint16_t *red = nullptr, *green = nullptr, *blue = nullptr;
    if (!TIFFGetField(tif.get(), TIFFTAG_COLORMAP, &red, &green, &blue)) {
      fail("{}: corrupt TIFF image: a palette image without a ColorMap", name);
    }
    for (int i = 0; i < (1 << bits); ++i) {
      image.palette[3 * i] = static_cast<std::uint8_t>(red[i] / 256);
      image.palette[3 * i + 1] = static_cast<std::uint8_t>(green[i] / 256);
      image.palette[3 * i + 2] = static_cast<std::uint8_t>(blue[i] / 256);
    }
  }

  const int planes = planar == PLANARCONFIG_SEPARATE ? spp : 1;
  const int per_pixel = planar == PLANARCONFIG_SEPARATE ? 1 : spp;
  const bool tiled = TIFFIsTiled(tif.get()) != 0;
  std::uint32_t block_width = width;
  std::uint32_t block_height = 0;
  if (tiled) {
    TIFFGetField(tif.get(), TIFFTAG_TILEWIDTH, &block_width);
    TIFFGetField(tif.get(), TIFFTAG_TILELENGTH, &block_height);
  } else {
    TIFFGetFieldDefaulted(tif.get(), TIFFTAG_ROWSPERSTRIP, &block_height);
    block_height = std::min(block_height, height);
  }
  if (block_width == 0 || block_height == 0) corrupt("zero tile or strip size");
  // A tile far larger than the image would make a huge buffer for a few pixels.
  const std::uint64_t block_pixels = std::uint64_t{block_width} * block_height;
  if (block_pixels > std::max<std::uint64_t>(std::uint64_t{4} * width * height, 1 << 22)) {
    fail("{}: corrupt TIFF image: {}x{} tiles for a {}x{} image", name, block_width,
         block_height, width, height);
  }
  const tmsize_t block_bytes = tiled ? TIFFTileSize(tif.get()) : TIFFStripSize(tif.get());
  const tmsize_t row_bytes = tiled ? TIFFTileRowSize(tif.get()) : TIFFScanlineSize(tif.get());
  if (block_bytes <= 0 || row_bytes <= 0) corrupt("cannot size the strips");
  std::vector<std::uint8_t> block;
  try {
    block.resize(static_cast<std::size_t>(block_bytes));
  } catch (const std::bad_alloc&) {
    fail_allocation(block_width, block_height, name);
  }
  for (int plane = 0; plane < planes; ++plane) {
    for (std::uint32_t y0 = 0; y0 < height; y0 += block_height) {
      for (std::uint32_t x0 = 0; x0 < width; x0 += block_width) {
        const tmsize_t got =
            tiled ? TIFFReadEncodedTile(tif.get(), TIFFComputeTile(tif.get(), x0, y0, 0,
                                                                   static_cast<std::uint16_t>(plane)),
                                        block.data(), block_bytes)
                  : TIFFReadEncodedStrip(tif.get(),
                                         TIFFComputeStrip(tif.get(), y0,
                                                          static_cast<std::uint16_t>(plane)),
                                         block.data(), block_bytes);
        if (got < 0) corrupt(tiled ? "cannot read a tile" : "cannot read a strip");
        const std::uint32_t rows = std::min(block_height, height - y0);
        const std::uint32_t columns = std::min(block_width, width - x0);
        // The last row of the block may come without its padding.
        const std::uint64_t needed = std::uint64_t{rows - 1} * static_cast<std::uint64_t>(row_bytes) +
                                     (std::uint64_t{columns} * per_pixel * bits + 7) / 8;
        if (static_cast<std::uint64_t>(got) < needed) {
          corrupt(tiled ? "short tile" : "short strip");
        }
        for (std::uint32_t r = 0; r < rows; ++r) {
          store_segment(block.data() + static_cast<std::size_t>(r) * row_bytes,
                        static_cast<int>(columns), per_pixel, 0, plane, bits, layout, image,
                        static_cast<int>(x0), static_cast<int>(y0 + r));
        }
      }
    }
  }
  // Pillow's TiffImageFile applies the Orientation tag when it loads the pixels, whatever the
  // caller asks (its load_end): Image.open(f).convert("RGB") is oriented. exif_orientation
  // adds nothing then (Pillow 9.4's exif_transpose would rotate such a file a second time).
  std::uint16_t orientation = 0;
  if (TIFFGetField(tif.get(), TIFFTAG_ORIENTATION, &orientation) && orientation > 1) {
    decoded.image = apply_exif_orientation(decoded.image, orientation);
  }
  if (layout.associated) {  // Pillow's RGBa unpacker
    for (std::size_t i = 0; i < image.pixels.size(); i += 4) {
      std::uint8_t* p = &image.pixels[i];
      const int a = p[3];
      if (a == 0) {
        p[0] = p[1] = p[2] = 0;
      } else if (a != 255) {
        for (int c = 0; c < 3; ++c) p[c] = static_cast<std::uint8_t>(std::min(255, p[c] * 255 / a));
      }
    }
  }
  return decoded;
}

}  // namespace vlbench::vision_detail
