// config.json of a Hugging Face CLIPModel, with transformers' CLIPConfig defaults for the
// keys a file leaves out (CLIPTextConfig / CLIPVisionConfig __init__ defaults).
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "vlbench/core/error.hpp"
#include "vlbench/models/clip.hpp"

namespace vlbench {
namespace {

using Json = nlohmann::json;

struct ConfigReader {
  std::string file;  // the path, for messages

  // The object at `key` of `parent` (an empty one when absent).
  Json object(const Json& parent, const std::string& key) const {
    if (!parent.contains(key) || parent.at(key).is_null()) return Json::object();
    const Json& value = parent.at(key);
    if (!value.is_object()) {
      fail("{}: field '{}': expected an object, got {}", file, key, value.dump());
    }
    return value;
  }

  // A positive integer, or `fallback` when absent. `where` is the field's dotted name.
  int positive_int(const Json& parent, const std::string& key, const std::string& where,
                   int fallback) const {
    if (!parent.contains(key) || parent.at(key).is_null()) return fallback;
    const Json& value = parent.at(key);
    if (!value.is_number_integer() || value.get<std::int64_t>() <= 0 ||
        value.get<std::int64_t>() > std::numeric_limits<int>::max()) {
      fail("{}: field '{}': expected a positive integer, got {}", file, where, value.dump());
    }
    return value.get<int>();
  }

  // A non-negative integer (token ids), or `fallback` when absent.
  int token_id(const Json& parent, const std::string& key, const std::string& where,
               int fallback) const {
    if (!parent.contains(key) || parent.at(key).is_null()) return fallback;
    const Json& value = parent.at(key);
    if (!value.is_number_integer() || value.get<std::int64_t>() < 0 ||
        value.get<std::int64_t>() > std::numeric_limits<int>::max()) {
      fail("{}: field '{}': expected a token id (integer >= 0), got {}", file, where, value.dump());
    }
    return value.get<int>();
  }

  std::string string(const Json& parent, const std::string& key, const std::string& where,
                     const std::string& fallback) const {
    if (!parent.contains(key) || parent.at(key).is_null()) return fallback;
    const Json& value = parent.at(key);
    if (!value.is_string()) {
      fail("{}: field '{}': expected a string, got {}", file, where, value.dump());
    }
    return value.get<std::string>();
  }

  double positive_number(const Json& parent, const std::string& key, const std::string& where,
                         double fallback) const {
    if (!parent.contains(key) || parent.at(key).is_null()) return fallback;
    const Json& value = parent.at(key);
    if (!value.is_number() || !(value.get<double>() > 0.0)) {
      fail("{}: field '{}': expected a positive number, got {}", file, where, value.dump());
    }
    return value.get<double>();
  }

  ClipTowerConfig tower(const Json& parent, const std::string& name,
                        const ClipTowerConfig& defaults) const {
    ClipTowerConfig tower;
    const std::string prefix = name + ".";
    tower.hidden_size =
        positive_int(parent, "hidden_size", prefix + "hidden_size", defaults.hidden_size);
    tower.intermediate_size = positive_int(
        parent, "intermediate_size", prefix + "intermediate_size", defaults.intermediate_size);
    tower.num_attention_heads =
        positive_int(parent, "num_attention_heads", prefix + "num_attention_heads",
                     defaults.num_attention_heads);
    tower.num_hidden_layers = positive_int(
        parent, "num_hidden_layers", prefix + "num_hidden_layers", defaults.num_hidden_layers);
    tower.hidden_act = string(parent, "hidden_act", prefix + "hidden_act", defaults.hidden_act);
    if (tower.hidden_act != "quick_gelu" && tower.hidden_act != "gelu" &&
        tower.hidden_act != "gelu_pytorch_tanh") {
      fail(
          "{}: field '{}hidden_act': unsupported activation '{}' (supported: quick_gelu, gelu, "
          "gelu_pytorch_tanh)",
          file, prefix, tower.hidden_act);
    }
    tower.layer_norm_eps = positive_number(parent, "layer_norm_eps", prefix + "layer_norm_eps",
                                           defaults.layer_norm_eps);
    if (tower.hidden_size % tower.num_attention_heads != 0) {
      fail("{}: field '{}num_attention_heads': {} does not divide hidden_size {}", file, prefix,
           tower.num_attention_heads, tower.hidden_size);
    }
    return tower;
  }
};

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
  const ConfigReader reader{path.string()};
  std::ifstream stream(path, std::ios::binary);
  if (!stream) fail("{}: cannot open the model's config file", path.string());
  std::stringstream contents;
  contents << stream.rdbuf();
  Json root;
  try {
    root = Json::parse(contents.str());
  } catch (const Json::parse_error& e) {
    fail("{}: not valid JSON ({})", path.string(), e.what());
  }
  if (!root.is_object()) fail("{}: expected a JSON object at the top level", path.string());

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
  config.text = reader.tower(text, text_key, text_defaults);
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
  config.vision = reader.tower(vision, vision_key, vision_defaults);
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
