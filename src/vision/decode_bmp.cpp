// BMP decoding, by hand, reading what Pillow 9.4's BmpImagePlugin reads and as it reads it:
//  - headers of 12 (OS/2 v1, 3-byte palette entries), 40, 64, 108 and 124 bytes; a height
//    whose top byte is 0xFF is negative: rows top-down, else bottom-up;
//  - 1/4/8-bit palette images: P with the palette (entries past it keep the gray ramp), or 1
//    when the palette is exactly black and white (2 colours), or L when it is the gray ramp
//    (i, i, i) — as Pillow, the pixel bytes are then read as 1-bit / 8-bit data whatever the
//    file's bit depth says;
//  - 16-bit (5-5-5, or 5-6-5 with BITFIELDS), 24-bit, 32-bit: RGB, the fourth byte ignored;
//    32-bit BITFIELDS with an alpha mask: RGBA. Only the masks Pillow knows are read;
//  - RLE8 / RLE4: Pillow's BmpRleDecoder, quirks included (a delta reads two more bytes
//    than its own two; an odd absolute RLE4 run drops its last pixel).
// The pixel data starts at the header's offset (after the palette when the offset points
// just past the header). Anything else Pillow refuses, or missing data, is an Error.
#include <vlbench/core/error.hpp>

#include "vision/decode_internal.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

namespace vlbench::vision_detail {

namespace {

std::uint32_t le16(std::span<const std::uint8_t> b, std::size_t at) {
  return b[at] | b[at + 1] << 8;
}
std::uint32_t le32(std::span<const std::uint8_t> b, std::size_t at) {
  return le16(b, at) | le16(b, at + 2) << 16;
}

// How one row of pixel data becomes pixels (Pillow's raw modes).
enum class RawMode { Bits1, P1, P4, P8, L8, BGR15, BGR16, BGR, BGRX, XBGR, ABGR, RGBA, BGRA };

void unpack_row(RawMode raw, const std::uint8_t* in, int width, std::uint8_t* out) {
  for (int x = 0; x < width; ++x) {
    switch (raw) {
      case RawMode::Bits1:
        out[x] = (in[x >> 3] >> (7 - (x & 7)) & 1) ? 255 : 0;
        break;
      case RawMode::P1:
        out[x] = in[x >> 3] >> (7 - (x & 7)) & 1;
        break;
      case RawMode::P4:
        out[x] = (x & 1) ? in[x >> 1] & 15 : in[x >> 1] >> 4;
        break;
      case RawMode::P8:
      case RawMode::L8:
        out[x] = in[x];
        break;
      case RawMode::BGR15:
      case RawMode::BGR16: {
        const int v = in[2 * x] | in[2 * x + 1] << 8;
        std::uint8_t* p = out + 3 * x;
        if (raw == RawMode::BGR15) {
          p[0] = static_cast<std::uint8_t>(((v >> 10) & 31) * 255 / 31);
          p[1] = static_cast<std::uint8_t>(((v >> 5) & 31) * 255 / 31);
        } else {
          p[0] = static_cast<std::uint8_t>(((v >> 11) & 31) * 255 / 31);
          p[1] = static_cast<std::uint8_t>(((v >> 5) & 63) * 255 / 63);
        }
        p[2] = static_cast<std::uint8_t>((v & 31) * 255 / 31);
        break;
      }
      case RawMode::BGR:
        out[3 * x] = in[3 * x + 2];
        out[3 * x + 1] = in[3 * x + 1];
        out[3 * x + 2] = in[3 * x];
        break;
      case RawMode::BGRX:
        out[3 * x] = in[4 * x + 2];
        out[3 * x + 1] = in[4 * x + 1];
        out[3 * x + 2] = in[4 * x];
        break;
      case RawMode::XBGR:
        out[3 * x] = in[4 * x + 3];
        out[3 * x + 1] = in[4 * x + 2];
        out[3 * x + 2] = in[4 * x + 1];
        break;
      case RawMode::ABGR:
        out[4 * x] = in[4 * x + 3];
        out[4 * x + 1] = in[4 * x + 2];
        out[4 * x + 2] = in[4 * x + 1];
        out[4 * x + 3] = in[4 * x];
        break;
      case RawMode::RGBA:
        std::memcpy(out + 4 * x, in + 4 * x, 4);
        break;
      case RawMode::BGRA:
        out[4 * x] = in[4 * x + 2];
        out[4 * x + 1] = in[4 * x + 1];
        out[4 * x + 2] = in[4 * x];
        out[4 * x + 3] = in[4 * x + 3];
        break;
    }
  }
}

// Pillow 9.4's BmpRleDecoder.decode: the indices, as a flat stream of rows (a row break is
// every `width` bytes, whatever the commands say), stopped once it holds width * height.
std::vector<std::uint8_t> decode_rle(std::span<const std::uint8_t> file, std::size_t offset,
                                     bool rle4, std::int64_t width, std::int64_t height,
                                     const std::string& name) {
  const std::size_t total = static_cast<std::size_t>(width * height);
  std::vector<std::uint8_t> data;
  data.reserve(total);
  std::size_t at = offset;
  const auto remaining = [&] { return at < file.size() ? file.size() - at : 0; };
  std::int64_t x = 0;
  while (data.size() < total) {
    if (remaining() < 2) break;
    const int count = file[at];
    const int byte = file[at + 1];
    at += 2;
    if (count != 0) {  // a run of one byte (RLE8) or two alternating nibbles (RLE4)
      const std::int64_t n = x + count > width ? std::max<std::int64_t>(0, width - x) : count;
      for (std::int64_t i = 0; i < n; ++i) {
        data.push_back(static_cast<std::uint8_t>(!rle4 ? byte : i % 2 == 0 ? byte >> 4 : byte & 15));
      }
      x += n;
    } else if (byte == 0) {  // end of line
      while (data.size() % static_cast<std::size_t>(width) != 0) data.push_back(0);
      x = 0;
    } else if (byte == 1) {  // end of bitmap
      break;
    } else if (byte == 2) {  // delta: Pillow 9.4 reads two bytes, then uses the next two
      if (remaining() < 2) break;
      at += 2;
      if (remaining() < 2) fail("{}: corrupt BMP image: RLE delta past the end of the file", name);
      const std::size_t right = file[at];
      const std::size_t up = file[at + 1];
      at += 2;
      data.resize(data.size() + right + up * static_cast<std::size_t>(width), 0);
      x = static_cast<std::int64_t>(data.size() % static_cast<std::size_t>(width));
    } else {  // absolute run of `byte` pixels
      const std::size_t byte_count = rle4 ? byte / 2 : byte;
      const std::size_t got = std::min(byte_count, remaining());
      for (std::size_t i = 0; i < got; ++i) {
        const std::uint8_t b = file[at + i];
        if (rle4) {
          data.push_back(static_cast<std::uint8_t>(b >> 4));
          data.push_back(static_cast<std::uint8_t>(b & 15));
        } else {
          data.push_back(b);
        }
      }
      at += got;
      if (got < byte_count) break;
      x += byte;
      if (at % 2 != 0) ++at;  // word alignment, counted from the start of the file
    }
  }
  if (data.size() < total) {
    fail("{}: corrupt BMP image: the RLE data holds {} of the {} pixels", name, data.size(),
         total);
  }
  data.resize(total);
  return data;
}

}  // namespace

Decoded decode_bmp(std::span<const std::uint8_t> bytes, const std::string& name,
                   const DecodeOptions& options) {
  const auto need = [&](std::size_t end, const char* what) {
    if (bytes.size() < end) fail("{}: corrupt BMP image: truncated {}", name, what);
  };
  need(18, "file header");
  std::size_t offset = le32(bytes, 10);
  const std::size_t header_size = le32(bytes, 14);
  if (header_size != 12 && header_size != 40 && header_size != 64 && header_size != 108 &&
      header_size != 124) {
    fail("{}: unsupported BMP header size {} (expected 12, 40, 64, 108 or 124, as Pillow reads)",
         name, header_size);
  }
  need(14 + header_size, "info header");
  const auto header = bytes.subspan(18);  // Pillow's header_data: the header after its size
  std::int64_t width = 0;
  std::int64_t height = 0;
  int bits = 0;
  std::uint32_t compression = 0;
  std::uint32_t colors = 0;
  int palette_padding = 4;
  bool top_down = false;
  std::array<std::uint32_t, 4> masks{};
  std::size_t at = 14 + header_size;  // where the masks (40-byte header) and palette follow
  if (header_size == 12) {
    width = le16(header, 0);
    height = le16(header, 2);
    bits = static_cast<int>(le16(header, 6));
    palette_padding = 3;
  } else {
    top_down = header[7] == 0xFF;
    width = le32(header, 0);
    height = top_down ? (std::int64_t{1} << 32) - le32(header, 4) : le32(header, 4);
    bits = static_cast<int>(le16(header, 10));
    compression = le32(header, 12);
    colors = le32(header, 28);
    if (compression == 3) {  // BITFIELDS
      if (header_size - 4 >= 52) {
        for (int i = 0; i < 4; ++i) masks[i] = le32(header, 36 + 4 * i);
      } else {
        need(at + 12, "BITFIELDS masks");
        for (int i = 0; i < 3; ++i) masks[i] = le32(bytes, at + 4 * i);
        at += 12;
      }
    }
  }
  const std::int64_t n_colors = colors != 0 ? colors : std::int64_t{1} << std::min(bits, 62);
  if (offset == 14 + header_size && bits <= 8) offset += 4 * static_cast<std::size_t>(n_colors);

  PilMode mode = PilMode::RGB;
  RawMode raw = RawMode::BGR;
  switch (bits) {
    case 1:
      mode = PilMode::P, raw = RawMode::P1;
      break;
    case 4:
      mode = PilMode::P, raw = RawMode::P4;
      break;
    case 8:
      mode = PilMode::P, raw = RawMode::P8;
      break;
    case 16:
      raw = RawMode::BGR15;
      break;
    case 24:
      raw = RawMode::BGR;
      break;
    case 32:
      raw = RawMode::BGRX;
      break;
    default:
      fail("{}: unsupported BMP pixel depth {} (expected 1, 4, 8, 16, 24 or 32)", name, bits);
  }
  const bool rle = compression == 1 || compression == 2;
  if (compression == 3) {
    struct Layout {
      int bits;
      std::array<std::uint32_t, 4> masks;
      RawMode raw;
      PilMode mode;
    };
    static constexpr Layout kLayouts[] = {
        {32, {0xFF0000, 0xFF00, 0xFF, 0x0}, RawMode::BGRX, PilMode::RGB},
        {32, {0xFF000000, 0xFF0000, 0xFF00, 0x0}, RawMode::XBGR, PilMode::RGB},
        {32, {0xFF000000, 0xFF0000, 0xFF00, 0xFF}, RawMode::ABGR, PilMode::RGBA},
        {32, {0xFF, 0xFF00, 0xFF0000, 0xFF000000}, RawMode::RGBA, PilMode::RGBA},
        {32, {0xFF0000, 0xFF00, 0xFF, 0xFF000000}, RawMode::BGRA, PilMode::RGBA},
        {32, {0x0, 0x0, 0x0, 0x0}, RawMode::BGRA, PilMode::RGBA},
        {24, {0xFF0000, 0xFF00, 0xFF, 0}, RawMode::BGR, PilMode::RGB},
        {16, {0xF800, 0x7E0, 0x1F, 0}, RawMode::BGR16, PilMode::RGB},
        {16, {0x7C00, 0x3E0, 0x1F, 0}, RawMode::BGR15, PilMode::RGB},
    };
    const Layout* found = nullptr;
    for (const Layout& l : kLayouts) {
      // 24 and 16 bits compare the three colour masks only.
      const bool same = l.bits == 32 ? l.masks == masks
                                     : std::equal(l.masks.begin(), l.masks.begin() + 3,
                                                  masks.begin());
      if (l.bits == bits && same) {
        found = &l;
        break;
      }
    }
    if (found == nullptr) fail("{}: unsupported BMP bitfields layout", name);
    raw = found->raw;
    mode = found->mode;
  } else if (compression != 0 && !rle) {
    fail("{}: unsupported BMP compression {} (expected none, RLE8, RLE4 or BITFIELDS)", name,
         compression);
  }

  std::vector<std::uint8_t> palette;
  if (mode == PilMode::P) {
    if (!(n_colors > 0 && n_colors <= 65536)) {
      fail("{}: unsupported BMP palette size {}", name, n_colors);
    }
    // A palette cut by the end of the file is read as far as it goes, as Pillow does.
    const std::size_t want = static_cast<std::size_t>(palette_padding * n_colors);
    const std::size_t got = at < bytes.size() ? std::min(want, bytes.size() - at) : 0;
    const auto entries = bytes.subspan(std::min(at, bytes.size()), got);
    bool gray = true;
    for (std::int64_t i = 0; i < n_colors && gray; ++i) {
      const std::uint8_t v = n_colors == 2 ? (i == 0 ? 0 : 255) : static_cast<std::uint8_t>(i);
      const std::size_t e = static_cast<std::size_t>(i) * palette_padding;
      gray = e + 3 <= entries.size() && entries[e] == v && entries[e + 1] == v &&
             entries[e + 2] == v;
    }
    if (gray) {
      mode = n_colors == 2 ? PilMode::One : PilMode::L;
      raw = n_colors == 2 ? RawMode::Bits1 : RawMode::L8;
      if (!rle && mode == PilMode::L && bits != 8) {
        fail("{}: unsupported BMP: a {}-bit gray-ramp palette (Pillow reads it as 8-bit "
             "gray and fails)",
             name, bits);
      }
    } else {
      const std::size_t count = entries.size() / palette_padding;
      if (count > 256) fail("{}: unsupported BMP palette of {} colours", name, count);
      palette = gray_ramp_palette();
      for (std::size_t i = 0; i < count; ++i) {
        palette[3 * i] = entries[i * palette_padding + 2];
        palette[3 * i + 1] = entries[i * palette_padding + 1];
        palette[3 * i + 2] = entries[i * palette_padding];
      }
    }
  }
  if (rle && mode != PilMode::P && mode != PilMode::L) {
    fail("{}: unsupported BMP: RLE compression of a {}-bit {} image", name, bits,
         pil_mode_name(mode));
  }

  check_declared_size(width, height, name, options);
  Decoded decoded;
  decoded.image = new_image(static_cast<int>(width), static_cast<int>(height), mode, name);
  Image8& image = decoded.image;
  if (!palette.empty()) image.palette = std::move(palette);
  const std::size_t out_stride =
      static_cast<std::size_t>(width) * pil_mode_bytes_per_pixel(image.mode);
  const auto row_out = [&](std::int64_t file_row) {
    const std::int64_t y = top_down ? file_row : height - 1 - file_row;
    return image.pixels.data() + static_cast<std::size_t>(y) * out_stride;
  };
  if (rle) {
    const std::vector<std::uint8_t> indices =
        decode_rle(bytes, offset, compression == 2, width, height, name);
    for (std::int64_t r = 0; r < height; ++r) {
      std::memcpy(row_out(r), &indices[static_cast<std::size_t>(r * width)],
                  static_cast<std::size_t>(width));
    }
    return decoded;
  }
  const std::size_t stride = ((static_cast<std::size_t>(width) * bits + 31) >> 3) & ~std::size_t{3};
  const std::size_t row_bytes = raw == RawMode::Bits1 || raw == RawMode::P1
                                    ? (static_cast<std::size_t>(width) + 7) / 8
                                : raw == RawMode::P4 ? (static_cast<std::size_t>(width) + 1) / 2
                                : raw == RawMode::P8 || raw == RawMode::L8
                                    ? static_cast<std::size_t>(width)
                                : raw == RawMode::BGR15 || raw == RawMode::BGR16
                                    ? static_cast<std::size_t>(width) * 2
                                : raw == RawMode::BGR ? static_cast<std::size_t>(width) * 3
                                                      : static_cast<std::size_t>(width) * 4;
  if (row_bytes > stride) {
    fail("{}: unsupported BMP: {}-bit rows hold {} bytes, the pixels need {}", name, bits, stride,
         row_bytes);
  }
  // The last row needs no padding after it (Pillow's raw decoder stops once it is read).
  const std::size_t needed = stride * static_cast<std::size_t>(height - 1) + row_bytes;
  if (offset > bytes.size() || bytes.size() - offset < needed) {
    fail("{}: corrupt BMP image: truncated pixel data ({} bytes from offset {}, {} needed)",
         name, offset > bytes.size() ? 0 : bytes.size() - offset, offset, needed);
  }
  for (std::int64_t r = 0; r < height; ++r) {
    unpack_row(raw, bytes.data() + offset + static_cast<std::size_t>(r) * stride,
               static_cast<int>(width), row_out(r));
  }
  return decoded;
}

}  // namespace vlbench::vision_detail
