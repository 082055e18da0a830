// config.json of a PaliGemma (ColPali base) checkpoint with PaliGemmaConfig's defaults for the
// keys a file leaves out (transformers 4.46).
#include "models/colpali/colpali_model.hpp"
#include "models/config_reader.hpp"
#include "vlbench/core/error.hpp"

namespace vlbench {

ColPaliConfig parse_colpali_config(const nlohmann::json& root, const std::string& path) {
  using Json = ConfigReader::Json;
  const ConfigReader reader{path};
  ColPaliConfig config;
  config.hidden_size = reader.positive_int(root, "hidden_size", "hidden_size", config.hidden_size,
                                           1 << 16);
  config.image_token_index = reader.token_id(root, "image_token_index", "image_token_index",
                                             config.image_token_index);
  const int top_vocab = reader.positive_int(root, "vocab_size", "vocab_size", 257152);
  const int projection_dim =
      reader.positive_int(root, "projection_dim", "projection_dim", 2048, 1 << 16);

  const Json text = reader.object(root, "text_config");
  GemmaConfig& g = config.text;
  g.hidden_size =
      reader.positive_int(text, "hidden_size", "text_config.hidden_size", g.hidden_size, 1 << 16);
  g.intermediate_size = reader.positive_int(text, "intermediate_size",
                                            "text_config.intermediate_size", g.intermediate_size,
                                            1 << 18);
  g.num_attention_heads = reader.positive_int(text, "num_attention_heads",
                                              "text_config.num_attention_heads",
                                              g.num_attention_heads, 1024);
  g.num_key_value_heads = reader.positive_int(text, "num_key_value_heads",
                                              "text_config.num_key_value_heads",
                                              g.num_key_value_heads, 1024);
  g.head_dim = reader.positive_int(text, "head_dim", "text_config.head_dim", g.head_dim, 1 << 12);
  g.num_hidden_layers = reader.positive_int(text, "num_hidden_layers",
                                            "text_config.num_hidden_layers", g.num_hidden_layers,
                                            1024);
  g.vocab_size = reader.positive_int(text, "vocab_size", "text_config.vocab_size", top_vocab);
  g.rms_norm_eps =
      reader.positive_number(text, "rms_norm_eps", "text_config.rms_norm_eps", g.rms_norm_eps);
  g.rope_theta =
      reader.positive_number(text, "rope_theta", "text_config.rope_theta", g.rope_theta);
  // GemmaMLP reads hidden_activation (null or absent: gelu_pytorch_tanh); hidden_act is unused.
  const auto activation = text.find("hidden_activation");
  if (activation != text.end() && !activation->is_null()) {
    g.activation = reader.activation(text, "hidden_activation", "text_config.hidden_activation",
                                     g.activation);
  }
  if (g.num_attention_heads % g.num_key_value_heads != 0) {
    fail("{}: field 'text_config.num_key_value_heads': {} does not divide num_attention_heads {}",
         path, g.num_key_value_heads, g.num_attention_heads);
  }
  if (g.head_dim % 2 != 0) {
    fail("{}: field 'text_config.head_dim': {} is odd (rotary embeddings rotate pairs)", path,
         g.head_dim);
  }
  if (projection_dim != g.hidden_size) {
    fail(
        "{}: field 'projection_dim': {} differs from text_config.hidden_size {} (the projector "
        "feeds image features to the decoder)",
        path, projection_dim, g.hidden_size);
  }

  const Json vision = reader.object(root, "vision_config");
  SiglipTowerConfig defaults;  // PaliGemmaConfig's SiglipVisionConfig
  defaults.hidden_size = 1152;
  defaults.intermediate_size = 4096;
  defaults.num_attention_heads = 16;
  defaults.num_hidden_layers = 27;
  config.vision = read_encoder_tower(reader, vision, "vision_config", defaults);
  config.geometry.image_size =
      reader.positive_int(vision, "image_size", "vision_config.image_size", 224, 1 << 14);
  config.geometry.patch_size =
      reader.positive_int(vision, "patch_size", "vision_config.patch_size", 14, 1 << 10);
  config.geometry.num_channels =
      reader.positive_int(vision, "num_channels", "vision_config.num_channels", 3, 16);
  if (config.geometry.patch_size > config.geometry.image_size) {
    fail("{}: field 'vision_config.patch_size': {} is larger than image_size {}", path,
         config.geometry.patch_size, config.geometry.image_size);
  }
  if (reader.boolean(vision, "vision_use_head", "vision_config.vision_use_head", false)) {
    fail("{}: field 'vision_config.vision_use_head': true (PaliGemma's tower has no head)", path);
  }
  return config;
}

}  // namespace vlbench
