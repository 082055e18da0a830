// open_clip's checkpoint layout for the CLIP family (internal to the models module):
// open_clip_config.json and the state dict of open_clip's standard CLIP class, served to the
// CLIPModel forward under CLIPModel's tensor names. See the layout and its pitfalls in
// ../shared/fixtures/open-clip-tiny/README.md.
#pragma once

#include <vlbench/models/clip.hpp>
#include <vlbench/vision/image.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "models/model_io.hpp"

namespace vlbench {

inline constexpr const char* kOpenClipConfigName = "open_clip_config.json";
// open_clip pads captions with id 0 (transformers' CLIPTokenizer with the end token).
inline constexpr std::int32_t kOpenClipPadId = 0;

// DIR/open_clip_config.json's model_cfg as a ClipConfig (layout open_clip); see
// read_clip_config in clip.hpp.
ClipConfig read_open_clip_config(const std::filesystem::path& dir);

// DIR/open_clip_config.json's preprocess_cfg for image_size × image_size pixels (open_clip sets
// the size from the vision tower): image_transform's settings, resizing and cropping in the
// file's own mode before the RGB conversion.
PreprocessConfig read_open_clip_preprocess_config(const std::filesystem::path& dir,
                                                  int image_size);

// The open_clip state dict's tensor names for `config` (open_clip's CLIP class: `visual.*`,
// `transformer.resblocks.*`, packed `attn.in_proj_*`, `ln_final`, `text_projection`,
// `logit_scale`).
std::vector<std::string> open_clip_tensor_names(const ClipConfig& config);

// Serves CLIPModel's tensor names from an open_clip checkpoint: q/k/v as row blocks of the
// packed in_proj (each packed tensor read once), `text_projection` / `visual.proj` transposed
// ([in, out] -> [out, in]), the other names renamed. Valid while `weights` lives.
class OpenClipTensors {
 public:
  explicit OpenClipTensors(WeightLoader& weights) : weights_(weights) {}

  std::vector<float> load(const std::string& hf_name, const std::vector<std::int64_t>& shape);
  LoadTensor function() {
    return [this](const std::string& name, const std::vector<std::int64_t>& shape) {
      return load(name, shape);
    };
  }

 private:
  WeightLoader& weights_;
  std::map<std::string, std::vector<float>> packed_;  // in_proj tensors until all 3 parts are read
  std::map<std::string, int> parts_served_;
};

}  // namespace vlbench
