// JPEG decoding with libjpeg-turbo, set up as Pillow's JpegDecode sets it up (JDCT_ISLOW,
// fancy upsampling, no scaling), so gray and RGB output match Pillow byte for byte.
//
// Colour handling, as Pillow's JpegImagePlugin + Image.convert("RGB"):
//  - 1 component: decoded as JCS_GRAYSCALE, gray replicated into R, G, B.
//  - 3 components: libjpeg converts to JCS_RGB.
//  - 4 components (CMYK or YCCK, libjpeg turns YCCK into CMYK): Pillow always reads these
//    with rawmode "CMYK;I" (Adobe's inverted convention, whatever the markers say), so the
//    stored values s are inverted to C = 255 - s, then Pillow's cmyk2rgb gives
//    R = clip(nk - round255(C * nk)) with nk = 255 - K; round255 is Pillow's MULDIV255.
//    Same integer formula, so this is exact given the same libjpeg output.
//
// Errors use libjpeg's error_exit + longjmp: the longjmp only skips libjpeg's own C frames
// and lands in decode_into(), whose locals are trivially destructible. A premature end of
// data (libjpeg only warns and pads with gray) is an error here, as it is in Pillow
// ("image file is truncated"); other corrupt-data warnings are ignored as Pillow ignores them.
#include <vlbench/core/error.hpp>

#include "vision/decode_internal.hpp"

#include <csetjmp>
#include <cstdio>
#include <new>

#include <jerror.h>
#include <jpeglib.h>

namespace vlbench::vision_detail {

namespace {

struct JpegErrorManager {
  jpeg_error_mgr pub;  // first member: libjpeg sees a jpeg_error_mgr*
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void on_jpeg_error(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<JpegErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

void on_jpeg_message(j_common_ptr cinfo, int level) {
  // level -1 is a warning, >= 0 trace messages; both are silent except truncation.
  if (level == -1 && cinfo->err->msg_code == JWRN_JPEG_EOF) on_jpeg_error(cinfo);
}

inline std::uint8_t muldiv255(int a, int b) {
  const int t = a * b + 128;
  return static_cast<std::uint8_t>(((t >> 8) + t) >> 8);
}

// Returns false after a libjpeg error (message in err->message); `out` is then unspecified.
// An image over options.max_pixels throws ImageTooLarge (cinfo destroyed first), read from the
// header before jpeg_start_decompress allocates anything (a progressive JPEG's whole-image
// coefficient buffer included).
bool decode_into(jpeg_decompress_struct* cinfo, JpegErrorManager* err,
                 std::span<const std::uint8_t> bytes, const std::string& name,
                 const DecodeOptions& options, ImageRgb8* out) {
  if (setjmp(err->jump)) {
    jpeg_destroy_decompress(cinfo);
    return false;
  }
  jpeg_create_decompress(cinfo);
  jpeg_mem_src(cinfo, bytes.data(), static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(cinfo, TRUE);
  try {
    check_declared_size(cinfo->image_width, cinfo->image_height, name, options);
  } catch (...) {
    jpeg_destroy_decompress(cinfo);
    throw;
  }
  const int components = cinfo->num_components;
  if (components == 1) {
    cinfo->out_color_space = JCS_GRAYSCALE;
  } else if (components == 3) {
    cinfo->out_color_space = JCS_RGB;
  } else if (components == 4) {
    cinfo->out_color_space = JCS_CMYK;
  } else {
    std::snprintf(err->message, sizeof(err->message), "unsupported JPEG with %d components",
                  components);
    jpeg_destroy_decompress(cinfo);
    return false;
  }
  cinfo->dct_method = JDCT_ISLOW;
  cinfo->do_fancy_upsampling = TRUE;
  jpeg_start_decompress(cinfo);

  const int width = static_cast<int>(cinfo->output_width);
  const int height = static_cast<int>(cinfo->output_height);
  const int channels = cinfo->output_components;
  try {
    out->width = width;
    out->height = height;
    out->rgb.assign(static_cast<std::size_t>(width) * height * 3, 0);
  } catch (const std::bad_alloc&) {
    jpeg_destroy_decompress(cinfo);
    throw;
  }
  // Gray and CMYK rows go through a scratch row owned by libjpeg's pool (freed on destroy).
  JSAMPARRAY scratch = nullptr;
  if (channels != 3) {
    scratch = (*cinfo->mem->alloc_sarray)(reinterpret_cast<j_common_ptr>(cinfo), JPOOL_IMAGE,
                                          static_cast<JDIMENSION>(width * channels), 1);
  }
  while (cinfo->output_scanline < cinfo->output_height) {
    std::uint8_t* dst =
        out->rgb.data() + static_cast<std::size_t>(cinfo->output_scanline) * width * 3;
    if (channels == 3) {
      JSAMPROW row = dst;
      jpeg_read_scanlines(cinfo, &row, 1);
      continue;
    }
    jpeg_read_scanlines(cinfo, scratch, 1);
    const JSAMPLE* src = scratch[0];
    if (channels == 1) {
      for (int x = 0; x < width; ++x) dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = src[x];
    } else {
      for (int x = 0; x < width; ++x) {
        const int nk = src[4 * x + 3];  // 255 - K, with K = 255 - stored
        for (int c = 0; c < 3; ++c) {
          const int value = nk - muldiv255(255 - src[4 * x + c], nk);
          dst[3 * x + c] = static_cast<std::uint8_t>(value < 0 ? 0 : value);
        }
      }
    }
  }
  jpeg_finish_decompress(cinfo);
  jpeg_destroy_decompress(cinfo);
  return true;
}

}  // namespace

ImageRgb8 decode_jpeg(std::span<const std::uint8_t> bytes, const std::string& name,
                      const DecodeOptions& options) {
  jpeg_decompress_struct cinfo{};
  JpegErrorManager err{};
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = on_jpeg_error;
  err.pub.emit_message = on_jpeg_message;
  ImageRgb8 image;
  bool decoded = false;
  try {
    decoded = decode_into(&cinfo, &err, bytes, name, options, &image);
  } catch (const std::bad_alloc&) {
    fail_allocation(image.width, image.height, name);
  }
  if (!decoded) fail("{}: corrupt JPEG image: {}", name, err.message);
  return image;
}

}  // namespace vlbench::vision_detail
