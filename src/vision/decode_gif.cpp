// GIF decoding with giflib: the first frame, as Pillow 9.4's GifImagePlugin gives it.
//  - The image is the logical screen, grown to hold the frame when the frame reaches past it.
//  - Mode P with the frame's palette (its local one, else the global one), or L when that
//    palette is missing or exactly the gray ramp (i, i, i): Pillow drops such palettes. A
//    palette of 2^n entries leaves the gray ramp in the entries above it.
//  - Pixels outside the frame hold the transparent index when a graphic control extension
//    before the frame sets one (the last one that does), else 0; the screen's background
//    colour is not used (Pillow keeps it in info only). Transparent pixels inside the frame
//    keep their index: convert("RGB") shows the palette colour there.
//  - Interlaced frames are put back in row order.
// Damaged files are an Error: truncated data, a frame whose data ends (an end code) before its
// last pixel — Pillow says "image file is truncated" for both —, no frame, a stray byte
// between blocks (which Pillow skips).
#include <vlbench/core/error.hpp>

#include "vision/decode_internal.hpp"

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include <gif_lib.h>

namespace vlbench::vision_detail {

namespace {

struct Reader {
  std::span<const std::uint8_t> bytes;
  std::size_t offset = 0;
};

int read_bytes(GifFileType* gif, GifByteType* dst, int count) {
  auto* reader = static_cast<Reader*>(gif->UserData);
  const std::size_t n =
      std::min(static_cast<std::size_t>(std::max(count, 0)), reader->bytes.size() - reader->offset);
  std::memcpy(dst, reader->bytes.data() + reader->offset, n);
  reader->offset += n;
  return static_cast<int>(n);
}

struct GifCloser {
  void operator()(GifFileType* gif) const {
    int ignored = 0;
    DGifCloseFile(gif, &ignored);
  }
};

[[noreturn]] void fail_gif(const std::string& name, int error) {
  const char* message = GifErrorString(error);
  fail("{}: corrupt GIF image: {}", name, message != nullptr ? message : "unknown giflib error");
}

// Pillow's _is_palette_needed: false when entry i is (i, i, i) for every entry.
bool palette_needed(const ColorMapObject* map) {
  for (int i = 0; i < map->ColorCount; ++i) {
    const GifColorType& c = map->Colors[i];
    if (!(c.Red == i && c.Green == i && c.Blue == i)) return true;
  }
  return false;
}

}  // namespace

Decoded decode_gif(std::span<const std::uint8_t> bytes, const std::string& name,
                   const DecodeOptions& options) {
  Reader reader{bytes};
  int error = 0;
  std::unique_ptr<GifFileType, GifCloser> gif(DGifOpen(&reader, read_bytes, &error));
  if (!gif) fail_gif(name, error);

  int transparency = -1;
  for (;;) {
    GifRecordType record = UNDEFINED_RECORD_TYPE;
    if (DGifGetRecordType(gif.get(), &record) == GIF_ERROR) fail_gif(name, gif->Error);
    if (record == TERMINATE_RECORD_TYPE) fail("{}: GIF image without any frame", name);
    if (record == EXTENSION_RECORD_TYPE) {
      int code = 0;
      GifByteType* block = nullptr;
      if (DGifGetExtension(gif.get(), &code, &block) == GIF_ERROR) fail_gif(name, gif->Error);
      if (code == GRAPHICS_EXT_FUNC_CODE && block != nullptr) {
        if (block[0] < 4) fail("{}: corrupt GIF image: short graphic control extension", name);
        if (block[1] & 1) transparency = block[4];
      }
      while (block != nullptr) {
        if (DGifGetExtensionNext(gif.get(), &block) == GIF_ERROR) fail_gif(name, gif->Error);
      }
      continue;
    }
    if (record != IMAGE_DESC_RECORD_TYPE) continue;
    if (DGifGetImageDesc(gif.get()) == GIF_ERROR) fail_gif(name, gif->Error);
    break;
  }

  const GifImageDesc& frame = gif->Image;
  const std::int64_t x0 = frame.Left;
  const std::int64_t y0 = frame.Top;
  const std::int64_t x1 = x0 + frame.Width;
  const std::int64_t y1 = y0 + frame.Height;
  const std::int64_t width = std::max<std::int64_t>(gif->SWidth, x1);
  const std::int64_t height = std::max<std::int64_t>(gif->SHeight, y1);
  check_declared_size(width, height, name, options);
  if (width <= 0 || height <= 0) fail("{}: GIF image of size {}x{}", name, width, height);

  const ColorMapObject* map = frame.ColorMap != nullptr ? frame.ColorMap : gif->SColorMap;
  const bool paletted = map != nullptr && palette_needed(map);
  Decoded decoded;
  decoded.image = new_image(static_cast<int>(width), static_cast<int>(height),
                            paletted ? PilMode::P : PilMode::L, name);
  Image8& image = decoded.image;
  if (paletted) {
    for (int i = 0; i < std::min(map->ColorCount, 256); ++i) {
      image.palette[3 * i] = map->Colors[i].Red;
      image.palette[3 * i + 1] = map->Colors[i].Green;
      image.palette[3 * i + 2] = map->Colors[i].Blue;
    }
  }
  if (transparency >= 0) {
    std::fill(image.pixels.begin(), image.pixels.end(), static_cast<std::uint8_t>(transparency));
  }

  // Rows in file order; interlaced frames store rows 0, 8, ..., then 4, 12, ..., 2, 6, ...,
  // then the odd ones.
  std::vector<int> order;
  order.reserve(static_cast<std::size_t>(frame.Height));
  if (frame.Interlace) {
    for (const auto& [start, step] : {std::pair{0, 8}, {4, 8}, {2, 4}, {1, 2}}) {
      for (int y = start; y < frame.Height; y += step) order.push_back(y);
    }
  } else {
    for (int y = 0; y < frame.Height; ++y) order.push_back(y);
  }
  if (frame.Width == 0 || frame.Height == 0) return decoded;
  std::vector<GifPixelType> line(static_cast<std::size_t>(frame.Width));
  for (int row : order) {
    if (DGifGetLine(gif.get(), line.data(), frame.Width) == GIF_ERROR) fail_gif(name, gif->Error);
    std::memcpy(&image.pixels[static_cast<std::size_t>(y0 + row) * width + x0], line.data(),
                line.size());
  }
  return decoded;
}

}  // namespace vlbench::vision_detail
