// config.json of a Hugging Face CLIPModel, with transformers' CLIPConfig defaults for the
// keys a file leaves out (CLIPTextConfig / CLIPVisionConfig __init__ defaults); open_clip
// folders are read by open_clip.cpp.
#include "models/clip/open_clip.hpp"
#include "models/config_reader.hpp"
#include "vlbench/core/error.hpp"
#include "vlbench/models/clip.hpp"

namespace vlbench {
namespace {

using Json = ConfigReader::Json;

// Older checkpoints (openai/clip-vit-*) also carry "text_config_dict" / "vision_config_dict".
// transformers' CLIPConfig then rebuilds the tower config from that dict and its own
// defaults, overriding every field of "text_config" / "vision_config": so the *_dict wins.
std::string tower_key(const Json& root, const std::string& key) {
  const std::string dict_key = key + "_dict";
  return root.contains(dict_key) && !root.at(dict_key).is_null() ? dict_key : key;
}

}  // namespace

ClipConfig read_clip_config(const std::filesystem::path& dir) {
  const std::filesystem::path path = dir / "config.json";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec) && std::filesystem::exists(dir / kOpenClipConfigName, ec)) {
    return read_open_clip_config(dir);
  }
  const ConfigReader reader{path.string()};
  const Json root = ConfigReader::read_object(path, "the model's config file");

  ClipConfig config;
  config.model_type = reader.string(root, "model_type", "model_type", "clip");
  if (config.model_type != "clip") {
    fail("{}: field 'model_type': unsupported model type '{}' (supported: clip)", path.string(),
         config.model_type);
  }
  config.projection_dim =
      reader.positive_int(root, "projection_dim", "projection_dim", config.projection_dim);

  // CLIPTextConfig defaults.
  const std::string text_key = tower_key(root, "text_config");
  const Json text = reader.object(root, text_key);
  ClipTowerConfig text_defaults;
  text_defaults.hidden_size = 512;
  text_defaults.intermediate_size = 2048;
  text_defaults.num_attention_heads = 8;
  text_defaults.num_hidden_layers = 12;
  config.text = read_encoder_tower(reader, text, text_key, text_defaults);
  config.vocab_size =
      reader.positive_int(text, "vocab_size", text_key + ".vocab_size", config.vocab_size);
  config.max_position_embeddings =
      reader.positive_int(text, "max_position_embeddings", text_key + ".max_position_embeddings",
                          config.max_position_embeddings);
  config.eos_token_id =
      reader.token_id(text, "eos_token_id", text_key + ".eos_token_id", config.eos_token_id);

  // CLIPVisionConfig defaults.
  const std::string vision_key = tower_key(root, "vision_config");
  const Json vision = reader.object(root, vision_key);
  ClipTowerConfig vision_defaults;
  vision_defaults.hidden_size = 768;
  vision_defaults.intermediate_size = 3072;
  vision_defaults.num_attention_heads = 12;
  vision_defaults.num_hidden_layers = 12;
  config.vision = read_encoder_tower(reader, vision, vision_key, vision_defaults);
  config.image_size =
      reader.positive_int(vision, "image_size", vision_key + ".image_size", config.image_size);
  config.patch_size =
      reader.positive_int(vision, "patch_size", vision_key + ".patch_size", config.patch_size);
  config.num_channels = reader.positive_int(vision, "num_channels", vision_key + ".num_channels",
                                            config.num_channels);
  if (config.image_size % config.patch_size != 0) {
    fail("{}: field '{}.patch_size': {} does not divide image_size {}", path.string(), vision_key,
         config.patch_size, config.image_size);
  }
  return config;
}

}  // namespace vlbench
