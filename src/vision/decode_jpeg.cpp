// JPEG decoding with libjpeg-turbo, set up as Pillow's JpegDecode sets it up (JDCT_ISLOW,
// fancy upsampling, no scaling), so the pixels match Pillow byte for byte.
//
// Modes, as Pillow's JpegImagePlugin:
//  - 1 component: L (JCS_GRAYSCALE).
//  - 3 components: RGB (libjpeg converts to JCS_RGB).
//  - 4 components (CMYK or YCCK, libjpeg turns YCCK into CMYK): CMYK. Pillow always reads
//    these with rawmode "CMYK;I" (Adobe's inverted convention, whatever the markers say), so
//    the stored values s become 255 - s; convert_rgb then applies Pillow's cmyk2rgb.
// The EXIF orientation comes from the first APP1 segment that starts with "Exif\0\0", as
// Pillow's info["exif"].
//
// Errors use libjpeg's error_exit + longjmp: the longjmp only skips libjpeg's own C frames
// and lands in decode_into(), whose locals are trivially destructible. A premature end of
// data (libjpeg only warns and pads with gray) is an error here, as it is in Pillow
// ("image file is truncated"); other corrupt-data warnings are ignored as Pillow ignores them.
#include <vlbench/core/error.hpp>

#include "vision/decode_internal.hpp"

#include <csetjmp>
#include <cstdio>
#include <cstring>

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

// Returns false after a libjpeg error (message in err->message); `out` is then unspecified.
// An image over options.max_pixels throws ImageTooLarge (cinfo destroyed first), read from the
// header before jpeg_start_decompress allocates anything (a progressive JPEG's whole-image
// coefficient buffer included).
bool decode_into(jpeg_decompress_struct* cinfo, JpegErrorManager* err,
                 std::span<const std::uint8_t> bytes, const std::string& name,
                 const DecodeOptions& options, Decoded* out) {
  if (setjmp(err->jump)) {
    jpeg_destroy_decompress(cinfo);
    return false;
  }
  jpeg_create_decompress(cinfo);
  jpeg_mem_src(cinfo, bytes.data(), static_cast<unsigned long>(bytes.size()));
  if (options.exif_orientation) jpeg_save_markers(cinfo, JPEG_APP0 + 1, 0xFFFF);
  jpeg_read_header(cinfo, TRUE);
  try {
    check_declared_size(cinfo->image_width, cinfo->image_height, name, options);
  } catch (...) {
    jpeg_destroy_decompress(cinfo);
    throw;
  }
  for (jpeg_saved_marker_ptr m = cinfo->marker_list; m != nullptr; m = m->next) {
    if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 &&
        std::memcmp(m->data, "Exif\0\0", 6) == 0) {
      out->orientation = exif_orientation_of(std::span(m->data, m->data_length));
      break;
    }
  }
  const int components = cinfo->num_components;
  PilMode mode = PilMode::RGB;
  if (components == 1) {
    cinfo->out_color_space = JCS_GRAYSCALE;
    mode = PilMode::L;
  } else if (components == 3) {
    cinfo->out_color_space = JCS_RGB;
  } else if (components == 4) {
    cinfo->out_color_space = JCS_CMYK;
    mode = PilMode::CMYK;
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
  VLB_ASSERT(cinfo->output_components == pil_mode_bytes_per_pixel(mode));
  try {
    out->image = new_image(width, height, mode, name);
  } catch (...) {
    jpeg_destroy_decompress(cinfo);
    throw;
  }
  const std::size_t stride = static_cast<std::size_t>(width) * cinfo->output_components;
  while (cinfo->output_scanline < cinfo->output_height) {
    JSAMPROW row = out->image.pixels.data() + cinfo->output_scanline * stride;
    jpeg_read_scanlines(cinfo, &row, 1);
  }
  jpeg_finish_decompress(cinfo);
  jpeg_destroy_decompress(cinfo);
  if (mode == PilMode::CMYK) {
    for (std::uint8_t& v : out->image.pixels) v = static_cast<std::uint8_t>(255 - v);
  }
  return true;
}

}  // namespace

Decoded decode_jpeg(std::span<const std::uint8_t> bytes, const std::string& name,
                    const DecodeOptions& options) {
  jpeg_decompress_struct cinfo{};
  JpegErrorManager err{};
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = on_jpeg_error;
  err.pub.emit_message = on_jpeg_message;
  Decoded decoded;
  if (!decode_into(&cinfo, &err, bytes, name, options, &decoded)) {
    fail("{}: corrupt JPEG image: {}", name, err.message);
  }
  return decoded;
}

}  // namespace vlbench::vision_detail
