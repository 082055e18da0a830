// open_clip checkpoints as CLIP models: open_clip_config.json (model_cfg with open_clip's
// CLIPVisionCfg / CLIPTextCfg defaults, preprocess_cfg) and the state dict of open_clip's CLIP
// class mapped onto CLIPModel's tensor names.
#include "models/clip/open_clip.hpp"

#include <fmt/format.h>

#include <array>
#include <utility>

#include "models/config_reader.hpp"
#include "vlbench/core/error.hpp"

namespace vlbench {
namespace {

namespace fs = std::filesystem;
using Json = ConfigReader::Json;

// open_clip's LayerNorm eps (nn.LayerNorm's default), unless norm_kwargs sets one.
constexpr double kOpenClipLayerNormEps = 1e-5;

// Reads an open_clip tower config: the fields both towers share, and an Error for each variant
// the CLIP forward does not implement.
struct TowerReader {
  const ConfigReader& reader;
  const Json& cfg;
  std::string where;  // "model_cfg.vision_cfg"

  std::string field(const std::string& key) const { return where + "." + key; }

  bool present(const std::string& key) const {
    return cfg.contains(key) && !cfg.at(key).is_null();
  }
  // An Error when `key` is present and not `allowed` (compared as JSON).
  void refuse_unless(const std::string& key, const Json& allowed, const std::string& what) const {
    if (!present(key) || cfg.at(key) == allowed) return;
    fail("{}: field '{}': {} (got {}); vlbench's CLIP runs open_clip's standard ViT CLIP only",
         reader.file, field(key), what, cfg.at(key).dump());
  }
  double mlp_ratio() const {
    return reader.positive_number(cfg, "mlp_ratio", field("mlp_ratio"), 4.0);
  }
  // norm_kwargs: only {"eps": x}.
  double layer_norm_eps() const {
    const Json norm = reader.object(cfg, "norm_kwargs");
    for (const auto& [key, value] : norm.items()) {
      if (key != "eps") {
        fail("{}: field '{}.{}': only the LayerNorm's eps can be changed (got {})", reader.file,
             field("norm_kwargs"), key, value.dump());
      }
    }
    return reader.positive_number(norm, "eps", field("norm_kwargs.eps"), kOpenClipLayerNormEps);
  }
  void refuse_common() const {
    refuse_unless("ls_init_value", Json(), "layer scale (ls_1 / ls_2) is not supported");
    refuse_unless("act_kwargs", Json::object(), "activation arguments are not supported");
    refuse_unless("output_tokens", false, "token outputs are not supported");
  }
};

int intermediate_size(int width, double mlp_ratio, const std::string& file,
                      const std::string& field) {
  const double size = static_cast<double>(width) * mlp_ratio;  // Python's int(width * mlp_ratio)
  if (!(size >= 1.0 && size <= double{1 << 18})) {
    fail("{}: field '{}': width × mlp_ratio = {} is not a usable MLP width", file, field, size);
  }
  return static_cast<int>(size);
}

}  // namespace

ClipConfig read_open_clip_config(const fs::path& dir) {
  const fs::path path = dir / kOpenClipConfigName;
  const ConfigReader reader{path.string()};
  const Json root = ConfigReader::read_object(path, "the open_clip config file");
  if (!root.contains("model_cfg")) {
    fail(
        "{}: field 'model_cfg' is missing (open_clip's push_to_hf_hub writes {{\"model_cfg\": "
        "{{...}}, \"preprocess_cfg\": {{...}}}})",
        path.string());
  }
  const Json model = reader.object(root, "model_cfg");
  const TowerReader top{reader, model, "model_cfg"};
  top.refuse_unless("custom_text", false, "CustomTextCLIP (a text tower of its own) is not supported");
  top.refuse_unless("init_logit_bias", Json(),
                    "a logit bias (open_clip's SigLIP) is not supported in this layout; use the "
                    "Hugging Face SigLIP checkpoint");
  top.refuse_unless("multimodal_cfg", Json(), "CoCa's multimodal decoder is not supported");

  ClipConfig config;
  config.layout = ClipLayout::open_clip;
  if (!top.present("embed_dim")) fail("{}: field 'model_cfg.embed_dim' is missing", path.string());
  config.projection_dim = reader.positive_int(model, "embed_dim", "model_cfg.embed_dim", 0, 1 << 16);
  const bool quick_gelu = reader.boolean(model, "quick_gelu", "model_cfg.quick_gelu", false);
  const std::string activation = quick_gelu ? "quick_gelu" : "gelu";

  // Vision: open_clip's CLIPVisionCfg defaults.
  const Json vision = reader.object(model, "vision_cfg");
  const TowerReader v{reader, vision, "model_cfg.vision_cfg"};
  v.refuse_common();
  v.refuse_unless("timm_model_name", Json(), "timm vision towers are not supported");
  v.refuse_unless("attentional_pool", false, "attentional pooling is not supported");
  v.refuse_unless("no_ln_pre", false, "a tower without ln_pre is not supported");
  v.refuse_unless("pos_embed_type", "learnable", "only learned position embeddings are supported");
  v.refuse_unless("pool_type", "tok", "only class-token pooling ('tok') is supported");
  v.refuse_unless("global_average_pool", false, "average pooling is not supported");
  v.refuse_unless("input_patchnorm", false, "patch normalisation is not supported");
  if (v.present("layers") && vision.at("layers").is_array()) {
    fail("{}: field 'model_cfg.vision_cfg.layers': {}: a ModifiedResNet vision tower (the RN50 "
         "family) is not supported; vlbench's CLIP runs ViT towers",
         path.string(), vision.at("layers").dump());
  }
  config.vision.hidden_size = reader.positive_int(vision, "width", v.field("width"), 768, 1 << 16);
  config.vision.num_hidden_layers =
      reader.positive_int(vision, "layers", v.field("layers"), 12, 1024);
  const int head_width = reader.positive_int(vision, "head_width", v.field("head_width"), 64, 1 << 16);
  if (config.vision.hidden_size % head_width != 0) {
    fail("{}: field '{}': {} does not divide the width {}", path.string(), v.field("head_width"),
         head_width, config.vision.hidden_size);
  }
  config.vision.num_attention_heads = config.vision.hidden_size / head_width;
  config.vision.intermediate_size = intermediate_size(config.vision.hidden_size, v.mlp_ratio(),
                                                      path.string(), v.field("mlp_ratio"));
  config.vision.hidden_act = activation;
  config.vision.layer_norm_eps = v.layer_norm_eps();
  config.patch_size = reader.positive_int(vision, "patch_size", v.field("patch_size"), 16, 1 << 12);
  if (v.present("image_size") && vision.at("image_size").is_array()) {
    const Json& size = vision.at("image_size");
    if (size.size() != 2 || size[0] != size[1]) {
      fail("{}: field '{}': {}: only square images are supported", path.string(),
           v.field("image_size"), size.dump());
    }
    config.image_size = reader.positive_int(Json{{"h", size[0]}}, "h", v.field("image_size[0]"),
                                            224, 1 << 14);
  } else {
    config.image_size = reader.positive_int(vision, "image_size", v.field("image_size"), 224, 1 << 14);
  }
  if (config.image_size % config.patch_size != 0) {
    fail("{}: field '{}': {} does not divide image_size {}", path.string(), v.field("patch_size"),
         config.patch_size, config.image_size);
  }

  // Text: open_clip's CLIPTextCfg defaults.
  const Json text = reader.object(model, "text_cfg");
  const TowerReader t{reader, text, "model_cfg.text_cfg"};
  t.refuse_common();
  t.refuse_unless("hf_model_name", Json(), "Hugging Face text towers are not supported");
  t.refuse_unless("hf_tokenizer_name", Json(),
                  "tokenizers other than open_clip's CLIP BPE are not supported");
  t.refuse_unless("embed_cls", false, "a CLS token embedding is not supported");
  t.refuse_unless("no_causal_mask", false, "a text tower without the causal mask is not supported");
  t.refuse_unless("pool_type", "argmax", "only pooling at the end token ('argmax') is supported");
  t.refuse_unless("proj_bias", false, "a text projection bias is not supported");
  t.refuse_unless("proj_type", "linear", "only the linear text projection is supported");
  config.text.hidden_size = reader.positive_int(text, "width", t.field("width"), 512, 1 << 16);
  config.text.num_attention_heads = reader.positive_int(text, "heads", t.field("heads"), 8, 1024);
  config.text.num_hidden_layers = reader.positive_int(text, "layers", t.field("layers"), 12, 1024);
  if (config.text.hidden_size % config.text.num_attention_heads != 0) {
    fail("{}: field '{}': {} does not divide the width {}", path.string(), t.field("heads"),
         config.text.num_attention_heads, config.text.hidden_size);
  }
  config.text.intermediate_size = intermediate_size(config.text.hidden_size, t.mlp_ratio(),
                                                    path.string(), t.field("mlp_ratio"));
  config.text.hidden_act = activation;
  config.text.layer_norm_eps = t.layer_norm_eps();
  config.vocab_size = reader.positive_int(text, "vocab_size", t.field("vocab_size"), 49408);
  config.max_position_embeddings =
      reader.positive_int(text, "context_length", t.field("context_length"), 77, 1 << 16);
  // open_clip's CLIP BPE: <end_of_text> is the last id, and pooling at argmax(ids) is pooling at
  // the first end token.
  config.eos_token_id = 49407;
  if (config.vocab_size != 49408) {
    fail("{}: field '{}': {}: the CLIP BPE tokenizer open_clip uses has 49408 ids", path.string(),
         t.field("vocab_size"), config.vocab_size);
  }
  return config;
}

PreprocessConfig read_open_clip_preprocess_config(const fs::path& dir, int image_size) {
  const fs::path path = dir / kOpenClipConfigName;
  const ConfigReader reader{path.string()};
  const Json root = ConfigReader::read_object(path, "the open_clip config file");
  PreprocessConfig config = read_image_transform_config(reader.object(root, "preprocess_cfg"),
                                                        image_size, path.string() + ": preprocess_cfg");
  // open_clip's transform is torchvision on the PIL image as opened: resize and crop in the
  // file's own mode, convert("RGB") after (unlike jina-clip's encode_image, RGB first).
  config.resize_in_file_mode = true;
  return config;
}

std::vector<std::string> open_clip_tensor_names(const ClipConfig& config) {
  std::vector<std::string> names = {"logit_scale",         "token_embedding.weight",
                                    "positional_embedding", "ln_final.weight",
                                    "ln_final.bias",       "text_projection",
                                    "visual.class_embedding", "visual.conv1.weight",
                                    "visual.positional_embedding", "visual.ln_pre.weight",
                                    "visual.ln_pre.bias",  "visual.ln_post.weight",
                                    "visual.ln_post.bias", "visual.proj"};
  const auto add_layers = [&](const std::string& prefix, int layers) {
    for (int i = 0; i < layers; ++i) {
      for (const char* name :
           {"attn.in_proj_weight", "attn.in_proj_bias", "attn.out_proj.weight",
            "attn.out_proj.bias", "ln_1.weight", "ln_1.bias", "ln_2.weight", "ln_2.bias",
            "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias"}) {
        names.push_back(fmt::format("{}{}.{}", prefix, i, name));
      }
    }
  };
  add_layers("transformer.resblocks.", config.text.num_hidden_layers);
  add_layers("visual.transformer.resblocks.", config.vision.num_hidden_layers);
  return names;
}

std::vector<float> OpenClipTensors::load(const std::string& hf_name,
                                         const std::vector<std::int64_t>& shape) {
  // Encoder layers: CLIPModel's "<tower>.encoder.layers.<i>.<part>" is open_clip's
  // "<prefix><i>.<part>" with the parts renamed, and q/k/v packed in in_proj.
  static const std::array<std::pair<std::string, std::string>, 2> kTowers = {{
      {"text_model.encoder.layers.", "transformer.resblocks."},
      {"vision_model.encoder.layers.", "visual.transformer.resblocks."},
  }};
  static const std::array<std::pair<std::string, std::string>, 5> kParts = {{
      {"layer_norm1.", "ln_1."},
      {"layer_norm2.", "ln_2."},
      {"mlp.fc1.", "mlp.c_fc."},
      {"mlp.fc2.", "mlp.c_proj."},
      {"self_attn.out_proj.", "attn.out_proj."},
  }};
  for (const auto& [hf_prefix, prefix] : kTowers) {
    if (!hf_name.starts_with(hf_prefix)) continue;
    const std::size_t dot = hf_name.find('.', hf_prefix.size());
    VLB_ASSERT(dot != std::string::npos);
    const std::string layer = prefix + hf_name.substr(hf_prefix.size(), dot - hf_prefix.size()) + ".";
    const std::string part = hf_name.substr(dot + 1);
    for (const auto& [hf_part, open_clip_part] : kParts) {
      if (part.starts_with(hf_part)) {
        return weights_.load(layer + open_clip_part + part.substr(hf_part.size()), shape);
      }
    }
    static const std::array<std::string, 3> kQkv = {"self_attn.q_proj.", "self_attn.k_proj.",
                                                     "self_attn.v_proj."};
    for (std::size_t block = 0; block < kQkv.size(); ++block) {
      if (!part.starts_with(kQkv[block])) continue;
      const std::string suffix = part.substr(kQkv[block].size());  // "weight" or "bias"
      const std::string packed_name = layer + "attn.in_proj_" + suffix;
      auto packed = packed_.find(packed_name);
      if (packed == packed_.end()) {
        std::vector<std::int64_t> packed_shape = shape;
        packed_shape.at(0) *= 3;
        packed = packed_.emplace(packed_name, weights_.load(packed_name, packed_shape)).first;
      }
      const std::size_t block_size = packed->second.size() / 3;
      const auto begin = packed->second.begin() + static_cast<std::ptrdiff_t>(block * block_size);
      std::vector<float> values(begin, begin + static_cast<std::ptrdiff_t>(block_size));
      if (++parts_served_[packed_name] == 3) packed_.erase(packed);
      return values;
    }
    fail("internal: no open_clip name for the CLIPModel tensor '{}'", hf_name);
  }

  // Projections: open_clip multiplies x @ P with P [in, out]; CLIPModel's Linear is [out, in].
  static const std::array<std::pair<std::string, std::string>, 2> kTransposed = {{
      {"text_projection.weight", "text_projection"},
      {"visual_projection.weight", "visual.proj"},
  }};
  for (const auto& [hf, open_clip_name] : kTransposed) {
    if (hf_name != hf) continue;
    VLB_ASSERT(shape.size() == 2);
    const std::int64_t out = shape[0], in = shape[1];
    const std::vector<float> stored = weights_.load(open_clip_name, {in, out});
    std::vector<float> values(stored.size());
    for (std::int64_t i = 0; i < in; ++i) {
      for (std::int64_t o = 0; o < out; ++o) values[o * in + i] = stored[i * out + o];
    }
    return values;
  }

  static const std::array<std::pair<std::string, std::string>, 11> kRenamed = {{
      {"text_model.embeddings.token_embedding.weight", "token_embedding.weight"},
      {"text_model.embeddings.position_embedding.weight", "positional_embedding"},
      {"text_model.final_layer_norm.weight", "ln_final.weight"},
      {"text_model.final_layer_norm.bias", "ln_final.bias"},
      {"vision_model.embeddings.class_embedding", "visual.class_embedding"},
      {"vision_model.embeddings.patch_embedding.weight", "visual.conv1.weight"},
      {"vision_model.embeddings.position_embedding.weight", "visual.positional_embedding"},
      {"vision_model.pre_layrnorm.weight", "visual.ln_pre.weight"},
      {"vision_model.pre_layrnorm.bias", "visual.ln_pre.bias"},
      {"vision_model.post_layernorm.weight", "visual.ln_post.weight"},
      {"vision_model.post_layernorm.bias", "visual.ln_post.bias"},
  }};
  for (const auto& [hf, open_clip_name] : kRenamed) {
    if (hf_name == hf) return weights_.load(open_clip_name, shape);
  }
  if (hf_name == "logit_scale") return weights_.load(hf_name, shape);
  fail("internal: no open_clip name for the CLIPModel tensor '{}'", hf_name);
}

}  // namespace vlbench
