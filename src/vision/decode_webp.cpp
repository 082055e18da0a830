// WebP decoding with libwebp, as Pillow 9.4's WebPImagePlugin does it: the WebPAnimDecoder
// with its default options (RGBA output, not premultiplied, no threads) renders the first
// frame on the canvas, so a still image, lossy or lossless, and an animation's first frame
// come out as Pillow's. The mode is RGBA when WebPGetFeatures says the file has alpha, else
// RGB (Pillow's RGBX raw mode). The EXIF chunk gives the orientation.
#include <vlbench/core/error.hpp>

#include "vision/decode_internal.hpp"

#include <cstring>
#include <memory>

#include <webp/decode.h>
#include <webp/demux.h>

namespace vlbench::vision_detail {

Decoded decode_webp(std::span<const std::uint8_t> bytes, const std::string& name,
                    const DecodeOptions& options) {
  const WebPData data = {bytes.data(), bytes.size()};
  // The demuxer reads the container only: the canvas size is checked before the animation
  // decoder allocates the canvas.
  std::unique_ptr<WebPDemuxer, void (*)(WebPDemuxer*)> demux(WebPDemux(&data), WebPDemuxDelete);
  if (!demux) fail("{}: corrupt WebP image: cannot parse the RIFF container", name);
  const std::int64_t width = WebPDemuxGetI(demux.get(), WEBP_FF_CANVAS_WIDTH);
  const std::int64_t height = WebPDemuxGetI(demux.get(), WEBP_FF_CANVAS_HEIGHT);
  check_declared_size(width, height, name, options);
  Decoded decoded;
  if (options.exif_orientation) {
    WebPChunkIterator chunk;
    if (WebPDemuxGetChunk(demux.get(), "EXIF", 1, &chunk)) {
      decoded.orientation = exif_orientation_of(std::span(chunk.chunk.bytes, chunk.chunk.size));
      WebPDemuxReleaseChunkIterator(&chunk);
    }
  }
  WebPBitstreamFeatures features;
  const bool alpha =
      WebPGetFeatures(bytes.data(), bytes.size(), &features) != VP8_STATUS_OK || features.has_alpha;

  WebPAnimDecoderOptions decoder_options;
  if (!WebPAnimDecoderOptionsInit(&decoder_options)) fail("{}: cannot set up libwebp", name);
  decoder_options.color_mode = MODE_RGBA;
  decoder_options.use_threads = 0;
  std::unique_ptr<WebPAnimDecoder, void (*)(WebPAnimDecoder*)> decoder(
      WebPAnimDecoderNew(&data, &decoder_options), WebPAnimDecoderDelete);
  if (!decoder) fail("{}: corrupt WebP image: cannot create the decoder", name);
  WebPAnimInfo info;
  if (!WebPAnimDecoderGetInfo(decoder.get(), &info) || info.canvas_width != width ||
      info.canvas_height != height) {
    fail("{}: corrupt WebP image: inconsistent canvas", name);
  }
  std::uint8_t* rgba = nullptr;
  int timestamp = 0;
  if (!WebPAnimDecoderGetNext(decoder.get(), &rgba, &timestamp)) {
    fail("{}: corrupt WebP image: cannot decode the first frame", name);
  }
  decoded.image = new_image(static_cast<int>(width), static_cast<int>(height),
                            alpha ? PilMode::RGBA : PilMode::RGB, name);
  const std::size_t count = static_cast<std::size_t>(width) * height;
  std::uint8_t* out = decoded.image.pixels.data();
  if (alpha) {
    std::memcpy(out, rgba, count * 4);
  } else {
    for (std::size_t i = 0; i < count; ++i) std::memcpy(out + 3 * i, rgba + 4 * i, 3);
  }
  return decoded;
}

}  // namespace vlbench::vision_detail
