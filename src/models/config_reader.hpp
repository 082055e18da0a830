// Reading a checkpoint's config.json: typed fields with transformers' defaults for the keys a
// file leaves out, and errors that name the file and the dotted field. Internal to models.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "vlbench/core/error.hpp"

namespace vlbench {

struct ConfigReader {
  using Json = nlohmann::json;
  std::string file;  // the path, for messages

  // The JSON object in `path` (an Error naming the file when missing, invalid or not an object).
  static Json read_object(const std::filesystem::path& path, const char* what);

  // The object at `key` of `parent` (an empty one when absent).
  Json object(const Json& parent, const std::string& key) const;
  // A positive integer up to `max`, or `fallback` when absent. `where` is the field's dotted
  // name. The bound keeps a crafted config from asking for absurd allocations.
  int positive_int(const Json& parent, const std::string& key, const std::string& where,
                   int fallback, int max = 1 << 24) const;
  // A non-negative integer (token ids), or `fallback` when absent.
  int token_id(const Json& parent, const std::string& key, const std::string& where,
               int fallback) const;
  std::string string(const Json& parent, const std::string& key, const std::string& where,
                     const std::string& fallback) const;
  double positive_number(const Json& parent, const std::string& key, const std::string& where,
                         double fallback) const;
  bool boolean(const Json& parent, const std::string& key, const std::string& where,
               bool fallback) const;
  // hidden_act: one of quick_gelu, gelu, gelu_pytorch_tanh (an Error otherwise).
  std::string activation(const Json& parent, const std::string& key, const std::string& where,
                         const std::string& fallback) const;
};

// The encoder hyperparameters of one tower (`name`, e.g. "text_config") that every ViT-style
// family's config has, each defaulting to `defaults`' value: hidden_size, intermediate_size,
// num_attention_heads (which must divide hidden_size), num_hidden_layers, hidden_act,
// layer_norm_eps. Tower is any struct with those fields.
template <typename Tower>
Tower read_encoder_tower(const ConfigReader& reader, const ConfigReader::Json& parent,
                         const std::string& name, const Tower& defaults) {
  Tower tower = defaults;
  const std::string prefix = name + ".";
  // Bounds far above any published model (ViT-22B: width 6144, 48 layers, 48 heads).
  tower.hidden_size = reader.positive_int(parent, "hidden_size", prefix + "hidden_size",
                                          defaults.hidden_size, 1 << 16);
  tower.intermediate_size =
      reader.positive_int(parent, "intermediate_size", prefix + "intermediate_size",
                          defaults.intermediate_size, 1 << 18);
  tower.num_attention_heads =
      reader.positive_int(parent, "num_attention_heads", prefix + "num_attention_heads",
                          defaults.num_attention_heads, 1024);
  tower.num_hidden_layers = reader.positive_int(
      parent, "num_hidden_layers", prefix + "num_hidden_layers", defaults.num_hidden_layers, 1024);
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

}  // namespace vlbench
