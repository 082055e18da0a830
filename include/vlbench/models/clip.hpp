// CLIP (OpenAI CLIP, LAION, MetaCLIP, DFN5B checkpoints) on any backend, from either published
// layout: a Hugging Face CLIPModel folder (config.json + model.safetensors / pytorch_model.bin)
// or an open_clip folder (open_clip_config.json + open_clip_model.safetensors /
// open_clip_pytorch_model.bin), whose tensors are mapped onto CLIPModel's.
#pragma once

#include <vlbench/kernels/backend.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace vlbench {

// config.json of a CLIPModel; missing keys take transformers' defaults (hidden_act
// "quick_gelu", layer_norm_eps 1e-5, eos_token_id 49407, ...).
struct ClipTowerConfig {
  int hidden_size = 0;
  int intermediate_size = 0;
  int num_attention_heads = 0;
  int num_hidden_layers = 0;
  std::string hidden_act = "quick_gelu";  // quick_gelu | gelu | gelu_pytorch_tanh
  double layer_norm_eps = 1e-5;
};

// Which files a CLIP checkpoint folder holds.
enum class ClipLayout {
  hugging_face,  // config.json (model_type "clip") and CLIPModel's tensor names
  open_clip,     // open_clip_config.json and open_clip's tensor names (no config.json)
};

struct ClipConfig {
  ClipLayout layout = ClipLayout::hugging_face;
  std::string model_type = "clip";
  int projection_dim = 512;
  ClipTowerConfig text;
  int vocab_size = 49408;
  int max_position_embeddings = 77;
  int eos_token_id = 49407;
  ClipTowerConfig vision;
  int image_size = 224;
  int patch_size = 32;
  int num_channels = 3;
};

// Reads DIR/config.json, or DIR/open_clip_config.json when the folder has no config.json.
// config.json: an unsupported model_type is an Error naming it and listing the supported ones;
// missing or mistyped fields name the file and the field; text_config_dict /
// vision_config_dict, when present, replace text_config / vision_config as in transformers'
// CLIPConfig.
// open_clip_config.json ({"model_cfg": {...}, "preprocess_cfg": {...}}): model_cfg as in
// open_clip's model_configs/*.json, with open_clip's defaults (CLIPVisionCfg / CLIPTextCfg):
// vision heads = width / head_width (64), intermediate = int(width · mlp_ratio) (4.0),
// hidden_act quick_gelu when model_cfg.quick_gelu is true, else exact GELU; text pad id 0 and
// pooling at the first end token. Variants the CLIP forward does not implement (timm or
// Hugging Face towers, custom_text, layer scale, attentional pooling, other pool types, no
// ln_pre, projection bias, a logit bias, ResNet towers, ...) are Errors naming the field.
ClipConfig read_clip_config(const std::filesystem::path& dir);

struct ClipLoadOptions {
  std::string backend = "cpu";  // a name from backend_names() (kernels/backend.hpp)
  ComputeType compute = ComputeType::fp32;
  int threads = 0;  // <= 0: all cores
};

class ClipModel {
 public:
  // Loads config.json and the weights (Checkpoint); every tensor's shape is checked against
  // the config before use; unknown, missing or misshapen tensors are Errors naming them
  // (`*.position_ids` buffers are ignored).
  // Every op runs on the backend named by options.backend (weights uploaded there once).
  // options.compute: fp32, or bf16 where the backend supports it (an Error otherwise): every
  // Linear layer (the encoder blocks' qkv, out_proj, fc1, fc2, the patch embedding and both
  // projections) runs with bf16 weights (rounded once at load) and bf16-rounded inputs,
  // accumulating in fp32; attention (q·kᵀ, softmax, ·v), layer norms and the residual stream
  // stay fp32. bf16 results may differ in the last bits between batch sizes.
  // options.threads: the CPU backend's threads. encode_* are const but share the backend:
  // call them from one thread at a time.
  static ClipModel load(const std::filesystem::path& dir, const ClipLoadOptions& options = {});

  ClipModel(ClipModel&&) noexcept;
  ClipModel& operator=(ClipModel&&) noexcept;
  ~ClipModel();

  const ClipConfig& config() const;
  std::int64_t embed_dim() const;  // projection_dim
  std::int64_t parameter_count() const;
  // The learned logit_scale (logits = exp(logit_scale) · cosine).
  float logit_scale() const;
  // The backend's name and its description of the device ("cpu", "AMD EPYC ... (2 threads)").
  std::string backend_name() const;
  std::string backend_description() const;

  // pixels: n × 3 × image_size × image_size float32 (preprocessed). out: n × embed_dim,
  // the projected, unnormalized image embeddings (image_embeds of transformers).
  void encode_images(const float* pixels, std::int64_t n, float* out) const;

  // ids: n captions of token ids, each at its true length (no padding). out: n × embed_dim,
  // the projected, unnormalized text embeddings. Pooling at the end token (argmax(ids) when
  // eos_token_id == 2, else the first eos_token_id).
  // Errors name the caption (its index): no ids or more than max_position_embeddings, an id
  // outside [0, vocab_size), no eos_token_id (when eos_token_id != 2). Captions of equal length
  // run through the encoder together.
  void encode_texts(const std::vector<std::vector<std::int32_t>>& ids, float* out) const;

 private:
  struct Impl;
  explicit ClipModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vlbench
