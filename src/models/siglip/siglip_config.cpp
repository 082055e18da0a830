// config.json of a Hugging Face SiglipModel with transformers' SiglipTextConfig /
// SiglipVisionConfig defaults for the keys a file leaves out (published SigLIP configs carry
// only the keys that differ from them).
#include "models/config_reader.hpp"
#include "models/siglip/siglip_model.hpp"
#include "vlbench/core/error.hpp"

namespace vlbench {
namespace {

using Json = ConfigReader::Json;

SiglipTowerConfig read_tower(const ConfigReader& reader, const Json& parent,
                             const std::string& name) {
  const SiglipTowerConfig defaults;
  SiglipTowerConfig tower;
  const std::string prefix = name + ".";
  tower.hidden_size =
      reader.positive_int(parent, "hidden_size", prefix + "hidden_size", defaults.hidden_size);
  tower.intermediate_size = reader.positive_int(
      parent, "intermediate_size", prefix + "intermediate_size", defaults.intermediate_size);
  tower.num_attention_heads = reader.positive_int(
      parent, "num_attention_heads", prefix + "num_attention_heads", defaults.num_attention_heads);
  tower.num_hidden_layers = reader.positive_int(
      parent, "num_hidden_layers", prefix + "num_hidden_layers", defaults.num_hidden_layers);
  tower.hidden_act =
      reader.activation(parent, "hidden_act", prefix + "hidden_act", defaults.hidden_act);
  tower.layer_norm_eps = reader.positive_number(parent, "layer_norm_eps", prefix + "layer_norm_eps",
                                                defaults.layer_norm_eps);
  if (tower.hidden_size % tower.num_attention_heads != 0) {
    fail("{}: field '{}num_attention_heads': {} does not divide hidden_size {}", reader.file,
         prefix, tower.num_attention_heads, tower.hidden_size);
  }
  return tower;
}

}  // namespace

SiglipConfig parse_siglip_config(const nlohmann::json& root, const std::string& path) {
  const ConfigReader reader{path};
  SiglipConfig config;
  const Json text = reader.object(root, "text_config");
  config.text = read_tower(reader, text, "text_config");
  config.vocab_size =
      reader.positive_int(text, "vocab_size", "text_config.vocab_size", config.vocab_size);
  config.max_position_embeddings =
      reader.positive_int(text, "max_position_embeddings", "text_config.max_position_embeddings",
                          config.max_position_embeddings);
  config.projection_size = reader.positive_int(
      text, "projection_size", "text_config.projection_size", config.text.hidden_size);

  const Json vision = reader.object(root, "vision_config");
  config.vision = read_tower(reader, vision, "vision_config");
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
