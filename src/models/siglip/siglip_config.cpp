// config.json of a Hugging Face SiglipModel with transformers' SiglipTextConfig /
// SiglipVisionConfig defaults for the keys a file leaves out (published SigLIP configs carry
// only the keys that differ from them).
#include "models/config_reader.hpp"
#include "models/siglip/siglip_model.hpp"
#include "vlbench/core/error.hpp"

namespace vlbench {
namespace {

using Json = ConfigReader::Json;

}  // namespace

SiglipConfig parse_siglip_config(const nlohmann::json& root, const std::string& path) {
  const ConfigReader reader{path};
  SiglipConfig config;
  const Json text = reader.object(root, "text_config");
  config.text = read_encoder_tower(reader, text, "text_config", SiglipTowerConfig{});
  config.vocab_size =
      reader.positive_int(text, "vocab_size", "text_config.vocab_size", config.vocab_size);
  config.max_position_embeddings =
      reader.positive_int(text, "max_position_embeddings", "text_config.max_position_embeddings",
                          config.max_position_embeddings);
  config.projection_size = reader.positive_int(
      text, "projection_size", "text_config.projection_size", config.text.hidden_size);

  const Json vision = reader.object(root, "vision_config");
  config.vision = read_encoder_tower(reader, vision, "vision_config", SiglipTowerConfig{});
  config.image_size =
      reader.positive_int(vision, "image_size", "vision_config.image_size", config.image_size);
  config.patch_size =
      reader.positive_int(vision, "patch_size", "vision_config.patch_size", config.patch_size);
  config.num_channels = reader.positive_int(vision, "num_channels", "vision_config.num_channels",
                                            config.num_channels);
  if (config.patch_size > config.image_size) {
    fail("{}: field 'vision_config.patch_size': {} is larger than image_size {}", path,
         config.patch_size, config.image_size);
  }
  if (!reader.boolean(vision, "vision_use_head", "vision_config.vision_use_head", true)) {
    fail(
        "{}: field 'vision_config.vision_use_head': false (a vision tower without its MAP head "
        "has no pooled image embedding; expected true)",
        path);
  }
  if (config.projection_size != config.vision.hidden_size) {
    fail(
        "{}: field 'text_config.projection_size': {} differs from vision_config.hidden_size {}: "
        "image and text embeddings must have the same dimension",
        path, config.projection_size, config.vision.hidden_size);
  }
  return config;
}

}  // namespace vlbench
