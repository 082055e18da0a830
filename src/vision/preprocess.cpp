// Hugging Face image-processor preprocessing (CLIPImageProcessor / SiglipImageProcessor with
// Pillow), in transformers' order and arithmetic:
//   resize (Pillow, the config's filter, on uint8) -> center crop (zero padding when the image
//   is smaller) -> rescale -> normalize: (x - mean) / std in float32 with mean and std rounded
//   to float32 first (numpy arrays of the image's dtype).
// Rescaling is float32(x) * float32(rescale_factor) in float32 for CLIP and
// float32(x * rescale_factor in float64) for SigLIP (config.rescale_in_float64): each
// reproduces its fixture goldens bit for bit, and the other order differs by 1 ulp (up to
// 4.8e-7 after CLIP's normalisation) on some values. JinaCLIPImageProcessor (torchvision's
// ToTensor) divides float32(x) / 255 instead, and rounds its center crop's offset half to even.
#include <vlbench/core/error.hpp>
#include <vlbench/vision/image.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>
#include <utility>

namespace vlbench {

using nlohmann::json;

int PreprocessConfig::output_height() const {
  if (do_center_crop) return crop_height;
  if (do_resize && resize_height) return *resize_height;
  fail(
      "preprocess config: the output size depends on the image (no center crop and no "
      "fixed resize size)");
}

int PreprocessConfig::output_width() const {
  if (do_center_crop) return crop_width;
  if (do_resize && resize_width) return *resize_width;
  fail(
      "preprocess config: the output size depends on the image (no center crop and no "
      "fixed resize size)");
}

namespace {

// OpenAI CLIP's normalisation constants (transformers' OPENAI_CLIP_MEAN / OPENAI_CLIP_STD).
constexpr double kClipMean[3] = {0.48145466, 0.4578275, 0.40821073};
constexpr double kClipStd[3] = {0.26862954, 0.26130258, 0.27577711};

bool get_bool(const json& j, const char* key, bool fallback, const std::string& file) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_boolean())
    fail("{}: field {}: expected true or false, got {}", file, key, j[key].dump());
  return j[key].get<bool>();
}

int get_positive_int(const json& j, const char* key, const std::string& file,
                     const std::string& field) {
  if (!j.contains(key) || !j[key].is_number_integer() || j[key].get<long long>() <= 0 ||
      j[key].get<long long>() > 1 << 20) {
    fail("{}: field {}: expected a positive integer, got {}", file, field,
         j.contains(key) ? j[key].dump() : std::string("nothing"));
  }
  return j[key].get<int>();
}

void get_triple(const json& j, const char* key, double* out, const std::string& file) {
  if (!j.contains(key) || j[key].is_null()) return;
  const json& v = j[key];
  if (v.is_number()) {  // transformers broadcasts a single number to all channels
    out[0] = out[1] = out[2] = v.get<double>();
  } else if (v.is_array() && v.size() == 3 && v[0].is_number() && v[1].is_number() &&
             v[2].is_number()) {
    for (int c = 0; c < 3; ++c) out[c] = v[c].get<double>();
  } else {
    fail("{}: field {}: expected a number or 3 numbers, got {}", file, key, v.dump());
  }
}

}  // namespace

PreprocessConfig read_image_transform_config(const json& j, int n, const std::string& file) {
  PreprocessConfig config;
  const std::string mode =
      j.contains("resize_mode") && j["resize_mode"].is_string() ? j["resize_mode"].get<std::string>()
                                                                 : "shortest";
  if (mode == "shortest") {
    config.shortest_edge = n;
    config.do_center_crop = true;
    config.crop_height = config.crop_width = n;
    config.crop_round_half_even = true;
  } else if (mode == "squash") {
    config.resize_height = config.resize_width = n;
  } else {
    fail("{}: field resize_mode: expected \"shortest\" or \"squash\" (\"longest\", a resize and "
         "pad, is not supported), got {}",
         file, j["resize_mode"].dump());
  }
  static const std::pair<const char*, int> kFilters[] = {
      {"nearest", kPilNearest}, {"lanczos", kPilLanczos}, {"bilinear", kPilBilinear},
      {"bicubic", kPilBicubic}, {"box", kPilBox},         {"hamming", kPilHamming}};
  if (j.contains("interpolation") && !j["interpolation"].is_null()) {
    const json& f = j["interpolation"];
    const auto found = std::find_if(std::begin(kFilters), std::end(kFilters), [&](const auto& e) {
      return f.is_string() && f.get<std::string>() == e.first;
    });
    if (found == std::end(kFilters)) {
      fail("{}: field interpolation: expected nearest, lanczos, bilinear, bicubic, box or "
           "hamming, got {}",
           file, f.dump());
    }
    config.resample = found->second;
  }
  config.rescale_by_division = true;
  for (int c = 0; c < 3; ++c) {
    config.mean[c] = kClipMean[c];
    config.std[c] = kClipStd[c];
  }
  get_triple(j, "mean", config.mean, file);
  get_triple(j, "std", config.std, file);
  for (int c = 0; c < 3; ++c) {
    if (!(config.std[c] != 0.0)) fail("{}: field std: expected non-zero values", file);
  }
  return config;
}

namespace {

// JinaCLIPImageProcessor: jina-clip's image_transform(is_train=False) with torchvision.
PreprocessConfig read_jina_preprocess_config(const json& j, const std::string& file) {
  return read_image_transform_config(j, get_positive_int(j, "size", file, "size"), file);
}

}  // namespace

PreprocessConfig read_preprocess_config(const std::filesystem::path& dir) {
  const std::filesystem::path path = dir / "preprocessor_config.json";
  const std::string file = path.string();
  std::ifstream in(path);
  if (!in) fail("{}: cannot open the image preprocessor config", file);
  json j;
  try {
    j = json::parse(in);
  } catch (const json::exception& e) {
    fail("{}: invalid JSON: {}", file, e.what());
  }
  if (!j.is_object()) fail("{}: expected a JSON object, got {}", file, j.type_name());

  // Defaults are those of the processor class named in the file (CLIP when none is named).
  std::string type = "CLIPImageProcessor";
  for (const char* key : {"image_processor_type", "feature_extractor_type"}) {
    if (j.contains(key) && j[key].is_string()) {
      type = j[key].get<std::string>();
      break;
    }
  }
  if (type == "JinaCLIPImageProcessor") return read_jina_preprocess_config(j, file);
  const bool siglip = type == "SiglipImageProcessor";
  if (!siglip && type != "CLIPImageProcessor" && type != "CLIPFeatureExtractor") {
    fail(
        "{}: field image_processor_type: expected CLIPImageProcessor, SiglipImageProcessor or "
        "JinaCLIPImageProcessor, got {}",
        file, type);
  }
  PreprocessConfig config;
  config.do_resize = get_bool(j, "do_resize", true, file);
  config.do_center_crop = get_bool(j, "do_center_crop", !siglip, file);
  config.do_rescale = get_bool(j, "do_rescale", true, file);
  config.do_normalize = get_bool(j, "do_normalize", true, file);
  config.rescale_in_float64 = siglip;
  get_bool(j, "do_convert_rgb", true, file);  // always RGB: decode_image converts
  for (int c = 0; c < 3; ++c) {
    config.mean[c] = siglip ? 0.5 : kClipMean[c];
    config.std[c] = siglip ? 0.5 : kClipStd[c];
  }
  get_triple(j, "image_mean", config.mean, file);
  get_triple(j, "image_std", config.std, file);
  for (int c = 0; c < 3; ++c) {
    if (!(config.std[c] != 0.0)) fail("{}: field image_std: expected non-zero values", file);
  }
  if (j.contains("rescale_factor") && !j["rescale_factor"].is_null()) {
    if (!j["rescale_factor"].is_number()) {
      fail("{}: field rescale_factor: expected a number, got {}", file, j["rescale_factor"].dump());
    }
    config.rescale_factor = j["rescale_factor"].get<double>();
  }
  if (j.contains("resample") && !j["resample"].is_null()) {
    // Range-checked as long long first: a huge value must not wrap into a valid int code.
    const json& r = j["resample"];
    const long long code = r.is_number_integer() ? r.get<long long>() : -1;
    const bool known = code >= 0 && code <= std::numeric_limits<int>::max() &&
                       pil_resample_name(static_cast<int>(code)) != nullptr;
    if (!known) {
      fail("{}: field resample: expected a PIL resample code, {}, got {}", file,
           kSupportedPilResamples, r.dump());
    }
    config.resample = static_cast<int>(code);
  }

  // size: {"shortest_edge": n} | {"height": h, "width": w} | n (shortest edge for CLIP, a
  // square for SigLIP, as transformers' get_size_dict reads it).
  const json size =
      j.contains("size") && !j["size"].is_null()
          ? j["size"]
          : (siglip ? json{{"height", 224}, {"width", 224}} : json{{"shortest_edge", 224}});
  if (size.is_number_integer()) {
    const int n = get_positive_int(json{{"size", size}}, "size", file, "size");
    if (siglip) {
      config.resize_height = config.resize_width = n;
    } else {
      config.shortest_edge = n;
    }
  } else if (size.is_object() && size.contains("shortest_edge")) {
    config.shortest_edge = get_positive_int(size, "shortest_edge", file, "size.shortest_edge");
  } else if (size.is_object() && size.contains("height") && size.contains("width")) {
    config.resize_height = get_positive_int(size, "height", file, "size.height");
    config.resize_width = get_positive_int(size, "width", file, "size.width");
  } else {
    fail(
        "{}: field size: expected {{\"shortest_edge\": n}} or {{\"height\": h, \"width\": w}}, "
        "got {}",
        file, size.dump());
  }

  if (config.do_center_crop) {
    const json crop = j.contains("crop_size") && !j["crop_size"].is_null()
                          ? j["crop_size"]
                          : json{{"height", 224}, {"width", 224}};
    if (crop.is_number_integer()) {
      config.crop_height = config.crop_width =
          get_positive_int(json{{"crop_size", crop}}, "crop_size", file, "crop_size");
    } else if (crop.is_object()) {
      config.crop_height = get_positive_int(crop, "height", file, "crop_size.height");
      config.crop_width = get_positive_int(crop, "width", file, "crop_size.width");
    } else {
      fail("{}: field crop_size: expected {{\"height\": h, \"width\": w}} or an integer, got {}",
           file, crop.dump());
    }
  } else if (!(config.do_resize && config.resize_height)) {
    fail(
        "{}: field do_center_crop: false with size {} gives image-dependent output sizes; "
        "expected a center crop or size.height/size.width",
        file, size.dump());
  }
  return config;
}

namespace {

// The largest intermediate a shortest-edge resize may produce (64 Mi pixels, 192 MiB RGB).
constexpr std::int64_t kMaxResizedPixels = std::int64_t{1} << 26;

void check_preprocess_config(const PreprocessConfig& config) {
  if (config.do_resize && pil_resample_name(config.resample) == nullptr) {
    fail("preprocess config: resample {} is not supported; expected {}", config.resample,
         kSupportedPilResamples);
  }
  const int out_h = config.output_height();
  const int out_w = config.output_width();
  if (out_h <= 0 || out_w <= 0) {
    fail("preprocess config: expected a positive output size, got {}x{}", out_h, out_w);
  }
}

// The size config's resize gives a width x height image: {new_width, new_height}.
std::pair<int, int> resized_size(int width, int height, const PreprocessConfig& config) {
  if (config.shortest_edge) {
    // transformers' get_resize_output_image_size(default_to_square=False) and torchvision's
    // _compute_resized_output_size agree: short side = n, long side = int(n * long / short)
    // (true division, then truncation).
    const int n = *config.shortest_edge;
    const bool portrait = width <= height;
    const long long shorter = portrait ? width : height;
    const long long longer = portrait ? height : width;
    const double new_long = std::floor(static_cast<double>(n) * static_cast<double>(longer) /
                                       static_cast<double>(shorter));
    // An extreme aspect ratio (1 x 80,000,000 is a valid PNG) would make the resized image
    // larger than any photo, before the crop takes n x n of it: refuse it by its size.
    if (new_long * n > static_cast<double>(kMaxResizedPixels)) {
      fail("{}x{} image: resizing its short side to {} gives {} x {} pixels, more than {} "
           "(an extreme aspect ratio)",
           width, height, n, portrait ? n : new_long, portrait ? new_long : n,
           kMaxResizedPixels);
    }
    return portrait ? std::pair{n, static_cast<int>(new_long)}
                    : std::pair{static_cast<int>(new_long), n};
  }
  if (config.resize_height && config.resize_width) {
    return {*config.resize_width, *config.resize_height};
  }
  fail("preprocess config: do_resize without size.shortest_edge or size.height/width");
}

// The center crop's offset along one side of `size` for a crop of `crop`: transformers'
// floor((size - crop) / 2), or torchvision's center_crop: int(round((size - crop) / 2.0))
// with Python's round-half-to-even, and when the crop is larger, the padding torchvision
// adds first, (crop - size) // 2 before the image.
int crop_offset(int size, int crop, const PreprocessConfig& config) {
  const int d = size - crop;
  const int floor_half = d >= 0 ? d / 2 : -((-d + 1) / 2);
  if (!config.crop_round_half_even) return floor_half;
  if (d < 0) return -((-d) / 2);
  return d % 2 != 0 && floor_half % 2 != 0 ? floor_half + 1 : floor_half;  // .5 to even
}

// Rescale and normalize `image` (already resized and cropped to the output size) into out.
void normalize_into(const ImageRgb8& image, const PreprocessConfig& config, float* out) {
  float sub[3];
  float div[3];
  for (int c = 0; c < 3; ++c) {
    sub[c] = config.do_normalize ? static_cast<float>(config.mean[c]) : 0.0f;
    div[c] = config.do_normalize ? static_cast<float>(config.std[c]) : 1.0f;
  }
  const double rescale = config.do_rescale ? config.rescale_factor : 1.0;
  // The rescaled value of each of the 256 bytes, computed once.
  const float rescale32 = static_cast<float>(rescale);
  float table[256];
  for (int v = 0; v < 256; ++v) {
    table[v] = config.rescale_by_division ? static_cast<float>(v) / 255.0f
               : config.rescale_in_float64  ? static_cast<float>(v * rescale)
                                            : static_cast<float>(v) * rescale32;
  }
  const std::size_t plane = static_cast<std::size_t>(image.height) * image.width;
  for (std::size_t i = 0; i < plane; ++i) {
    for (int c = 0; c < 3; ++c) {
      const float v = table[image.rgb[3 * i + c]];
      out[c * plane + i] = config.do_normalize ? (v - sub[c]) / div[c] : v;
    }
  }
}

}  // namespace

void preprocess(const ImageRgb8& image, const PreprocessConfig& config, float* out) {
  check_preprocess_config(config);
  const int out_h = config.output_height();
  const int out_w = config.output_width();

  ImageRgb8 resized_storage;
  const ImageRgb8* src = &image;
  if (config.do_resize) {
    const auto [new_w, new_h] = resized_size(image.width, image.height, config);
    resized_storage = resize(image, new_w, new_h, config.resample);
    src = &resized_storage;
  }
  VLB_ASSERT(config.do_center_crop || (src->height == out_h && src->width == out_w));
  if (!config.do_center_crop) {
    normalize_into(*src, config, out);
    return;
  }
  // Center crop: output row i reads source row i + top; rows outside the source are zero
  // padding; the same for columns.
  const int top = crop_offset(src->height, out_h, config);
  const int left = crop_offset(src->width, out_w, config);
  ImageRgb8 cropped;
  cropped.width = out_w;
  cropped.height = out_h;
  cropped.rgb.assign(static_cast<std::size_t>(out_w) * out_h * 3, 0);
  for (int y = 0; y < out_h; ++y) {
    const int sy = y + top;
    if (sy < 0 || sy >= src->height) continue;
    for (int x = 0; x < out_w; ++x) {
      const int sx = x + left;
      if (sx < 0 || sx >= src->width) continue;
      std::memcpy(&cropped.rgb[(static_cast<std::size_t>(y) * out_w + x) * 3],
                  &src->rgb[(static_cast<std::size_t>(sy) * src->width + sx) * 3], 3);
    }
  }
  normalize_into(cropped, config, out);
}

void preprocess(const Image8& image, const PreprocessConfig& config, float* out) {
  if (!config.resize_in_file_mode) {
    preprocess(convert_rgb(image), config, out);
    return;
  }
  // open_clip / torchvision on a PIL image: Resize and CenterCrop in the file's mode, then
  // convert("RGB"), ToTensor, Normalize.
  check_preprocess_config(config);
  const int out_h = config.output_height();
  const int out_w = config.output_width();
  Image8 current;
  const Image8* src = &image;
  if (config.do_resize) {
    const auto [new_w, new_h] = resized_size(image.width, image.height, config);
    current = resize(image, new_w, new_h, config.resample);
    src = &current;
  }
  VLB_ASSERT(config.do_center_crop || (src->height == out_h && src->width == out_w));
  if (config.do_center_crop && (src->width != out_w || src->height != out_h)) {
    current = crop(*src, crop_offset(src->width, out_w, config),
                   crop_offset(src->height, out_h, config), out_w, out_h);
    src = &current;
  }
  normalize_into(convert_rgb(*src), config, out);
}

}  // namespace vlbench
