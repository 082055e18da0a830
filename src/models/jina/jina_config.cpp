// config.json of jina-clip-v1 (JinaCLIPConfig) and the tensor-name table. See jina_config.hpp.
#include "models/jina/jina_config.hpp"

#include <fmt/format.h>

#include <cmath>

#include "models/config_reader.hpp"
#include "vlbench/core/error.hpp"

namespace vlbench {
namespace {

using Json = ConfigReader::Json;

// A field that must hold `expected` (or be absent, when absent means it): the variant check.
void require_value(const ConfigReader& reader, const Json& parent, const std::string& key,
                   const std::string& where, const Json& expected, bool absent_ok,
                   const char* why) {
  if (!parent.contains(key)) {
    if (absent_ok) return;
    fail("{}: field '{}' is missing; expected {} ({})", reader.file, where, expected.dump(), why);
  }
  if (parent.at(key) != expected) {
    fail("{}: field '{}': {} is not supported; expected {} ({})", reader.file, where,
         parent.at(key).dump(), expected.dump(), why);
  }
}

JinaVisionConfig read_vision(const ConfigReader& reader, const Json& root) {
  const Json v = reader.object(root, "vision_config");
  JinaVisionConfig c;
  const auto field = [](const char* key) { return std::string("vision_config.") + key; };
  c.width = reader.positive_int(v, "width", field("width"), c.width, 1 << 16);
  c.layers = reader.positive_int(v, "layers", field("layers"), c.layers, 1024);
  c.head_width = reader.positive_int(v, "head_width", field("head_width"), c.head_width, 1 << 16);
  c.image_size = reader.positive_int(v, "image_size", field("image_size"), c.image_size, 1 << 14);
  c.patch_size = reader.positive_int(v, "patch_size", field("patch_size"), c.patch_size, 1 << 14);
  const double mlp_ratio = reader.positive_number(v, "mlp_ratio", field("mlp_ratio"), 4.0);
  const double hidden = std::floor(c.width * mlp_ratio);  // Python's int(width * mlp_ratio)
  if (hidden < 1 || hidden > (1 << 20)) {
    fail("{}: field '{}': {} gives an MLP width of {}", reader.file, field("mlp_ratio"), mlp_ratio,
         hidden);
  }
  c.mlp_hidden = static_cast<int>(hidden);
  c.rope = reader.boolean(v, "rope_embeddings", field("rope_embeddings"), false);
  c.pt_hw_seq_len =
      reader.positive_int(v, "pt_hw_seq_len", field("pt_hw_seq_len"), c.pt_hw_seq_len, 1 << 14);
  c.intp_freq = reader.boolean(v, "intp_freq", field("intp_freq"), false);
  if (c.width % c.head_width != 0) {
    fail("{}: field '{}': {} does not divide width {}", reader.file, field("head_width"),
         c.head_width, c.width);
  }
  if ((c.width / c.head_width) == 0 || c.head_width % 4 != 0) {
    fail("{}: field '{}': {} must be a multiple of 4 (2-D rotary pairs)", reader.file,
         field("head_width"), c.head_width);
  }
  if (c.patch_size > c.image_size) {
    fail("{}: field '{}': {} is larger than image_size {}", reader.file, field("patch_size"),
         c.patch_size, c.image_size);
  }
  if (c.rope && !c.intp_freq && c.pt_hw_seq_len != c.grid()) {
    fail(
        "{}: field '{}': {} must equal the patch grid {} (image_size / patch_size) when "
        "intp_freq is false: the rotary table has pt_hw_seq_len² positions",
        reader.file, field("pt_hw_seq_len"), c.pt_hw_seq_len, c.grid());
  }
  // The one EVA02 variant of jina-clip-v1.
  const char* why = "the EVA02 variant of jina-clip-v1";
  require_value(reader, v, "post_norm", field("post_norm"), false, true, why);
  require_value(reader, v, "subln", field("subln"), true, false, why);
  require_value(reader, v, "naive_swiglu", field("naive_swiglu"), true, false, why);
  require_value(reader, v, "qkv_bias", field("qkv_bias"), true, true, why);
  require_value(reader, v, "proj_type", field("proj_type"), nullptr, true,
                "jina-clip-v1 has no vision head");
  if (v.contains("ls_init_value") && !v["ls_init_value"].is_null() &&
      !(v["ls_init_value"].is_number() && v["ls_init_value"].get<double>() == 0.0)) {
    fail("{}: field '{}': {} (layer scale) is not supported; expected null ({})", reader.file,
         field("ls_init_value"), v["ls_init_value"].dump(), why);
  }
  const int embed_dim = reader.positive_int(v, "embed_dim", field("embed_dim"), c.width, 1 << 16);
  if (embed_dim != c.width) {
    fail(
        "{}: field '{}': {} differs from width {}: a vision head is not supported (jina-clip-v1 "
        "has none)",
        reader.file, field("embed_dim"), embed_dim, c.width);
  }
  return c;
}

JinaTextConfig read_text(const ConfigReader& reader, const Json& root) {
  const Json t = reader.object(root, "text_config");
  const Json k = reader.object(t, "hf_model_config_kwargs");
  JinaTextConfig c;
  const auto field = [](const char* key) {
    return std::string("text_config.hf_model_config_kwargs.") + key;
  };
  c.vocab_size = reader.positive_int(k, "vocab_size", field("vocab_size"), c.vocab_size, 1 << 24);
  c.hidden_size =
      reader.positive_int(k, "hidden_size", field("hidden_size"), c.hidden_size, 1 << 16);
  c.num_hidden_layers = reader.positive_int(k, "num_hidden_layers", field("num_hidden_layers"),
                                            c.num_hidden_layers, 1024);
  c.num_attention_heads = reader.positive_int(
      k, "num_attention_heads", field("num_attention_heads"), c.num_attention_heads, 1024);
  c.intermediate_size = reader.positive_int(k, "intermediate_size", field("intermediate_size"),
                                            c.intermediate_size, 1 << 20);
  c.type_vocab_size = reader.positive_int(k, "type_vocab_size", field("type_vocab_size"),
                                          c.type_vocab_size, 1 << 16);
  c.layer_norm_eps =
      reader.positive_number(k, "layer_norm_eps", field("layer_norm_eps"), c.layer_norm_eps);
  c.pad_token_id = reader.token_id(k, "pad_token_id", field("pad_token_id"), c.pad_token_id);
  c.max_position_embeddings =
      reader.positive_int(k, "max_position_embeddings", field("max_position_embeddings"),
                          c.max_position_embeddings, 1 << 20);
  if (c.hidden_size % c.num_attention_heads != 0) {
    fail("{}: field '{}': {} does not divide hidden_size {}", reader.file,
         field("num_attention_heads"), c.num_attention_heads, c.hidden_size);
  }
  if (c.pad_token_id >= c.vocab_size) {
    fail("{}: field '{}': {} is outside the vocabulary [0, {})", reader.file, field("pad_token_id"),
         c.pad_token_id, c.vocab_size);
  }
  const char* why = "JinaBERT as in jina-clip-v1";
  require_value(reader, k, "hidden_act", field("hidden_act"), "gelu", true, why);
  require_value(reader, k, "mlp_type", field("mlp_type"), "glu", true, why);
  require_value(reader, k, "position_embedding_type", field("position_embedding_type"), "alibi",
                true, why);
  require_value(reader, t, "proj_type", "text_config.proj_type", nullptr, true,
                "jina-clip-v1 has no text projection");
  const std::string pooler = reader.string(t, "pooler_type", "text_config.pooler_type", "");
  if (!pooler.empty() && pooler != "mean_pooler") {
    fail(
        "{}: field 'text_config.pooler_type': '{}' is not supported; expected \"mean_pooler\" "
        "(jina-clip-v1)",
        reader.file, pooler);
  }
  const int embed_dim =
      reader.positive_int(t, "embed_dim", "text_config.embed_dim", c.hidden_size, 1 << 16);
  if (embed_dim != c.hidden_size) {
    fail(
        "{}: field 'text_config.embed_dim': {} differs from the JinaBERT hidden_size {}: a text "
        "projection is not supported (jina-clip-v1 has none)",
        reader.file, embed_dim, c.hidden_size);
  }
  return c;
}

}  // namespace

JinaClipConfig parse_jina_clip_config(const nlohmann::json& root, const std::string& path) {
  const ConfigReader reader{path};
  JinaClipConfig config;
  config.vision = read_vision(reader, root);
  config.text = read_text(reader, root);
  require_value(reader, root, "add_projections", "add_projections", false, true,
                "jina-clip-v1: the towers' outputs are the embeddings");
  if (config.vision.width != config.text.hidden_size) {
    fail(
        "{}: field 'vision_config.width': {} differs from the text hidden_size {}: image and "
        "text embeddings must have the same dimension",
        path, config.vision.width, config.text.hidden_size);
  }
  return config;
}

std::string jina_tensor_name(std::string_view role, int index) {
  for (const JinaTensorName& entry : kJinaTensorNames) {
    if (entry.role != role) continue;
    std::string name(entry.name);
    const std::size_t at = name.find("{i}");
    VLB_ASSERT((at == std::string::npos) == (index < 0));
    if (at != std::string::npos) name.replace(at, 3, std::to_string(index));
    return name;
  }
  VLB_ASSERT(false && "unknown jina tensor role");
  return {};
}

std::vector<std::string> jina_tensor_names(const JinaClipConfig& config) {
  std::vector<std::string> names;
  for (const JinaTensorName& entry : kJinaTensorNames) {
    const std::string_view name = entry.name;
    if (name.find("{i}") == std::string_view::npos) {
      names.emplace_back(name);
      continue;
    }
    const int layers =
        entry.role.starts_with("v.") ? config.vision.layers : config.text.num_hidden_layers;
    for (int i = 0; i < layers; ++i) names.push_back(jina_tensor_name(entry.role, i));
  }
  return names;
}

std::vector<float> alibi_slopes(int n_heads) {
  VLB_ASSERT(n_heads > 0);
  int m = 1;
  while (m * 2 <= n_heads) m *= 2;  // the largest power of two <= n_heads
  std::vector<float> slopes;
  for (int i = 0; i < m; ++i) {
    slopes.push_back(static_cast<float>(std::exp2(-8.0 * (i + 1) / m)));
  }
  for (int j = 0; j < n_heads - m; ++j) {
    slopes.push_back(static_cast<float>(std::exp2(-8.0 * (2 * j + 1) / (2 * m))));
  }
  return slopes;
}

}  // namespace vlbench
