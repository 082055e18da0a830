// ColPali (colpali-engine 0.3.x on transformers 4.46): PaliGemma's SigLIP vision tower and
// projector, the Gemma decoder run bidirectionally over the whole prompt, and
// custom_text_proj to per-token 128-d embeddings, L2-normalized. MODELS.md and
// ../shared/fixtures/colpali-tiny/README.md. Internal to the models module.
#pragma once

#include <vlbench/kernels/backend.hpp>
#include <vlbench/models/model.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/siglip/siglip_model.hpp"
#include "models/siglip/siglip_vision.hpp"

namespace vlbench {

class LoraAdapter;

// text_config of a PaliGemma config.json, with PaliGemmaConfig's Gemma defaults.
struct GemmaConfig {
  int hidden_size = 2048;
  int intermediate_size = 16384;
  int num_attention_heads = 8;
  int num_key_value_heads = 1;
  int head_dim = 256;
  int num_hidden_layers = 18;
  int vocab_size = 257152;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  std::string activation = "gelu_pytorch_tanh";  // hidden_activation (null: this)
};

struct ColPaliConfig {
  GemmaConfig text;
  SiglipTowerConfig vision;  // vision_config, PaliGemmaConfig's SigLIP defaults
  SiglipVisionGeometry geometry;
  int hidden_size = 2048;  // top level: image features are divided by its square root
  int image_token_index = 256000;

  std::int64_t image_tokens() const { return geometry.n_patches(); }
};

// config: the parsed config.json at `path` (model_type "paligemma"). Errors name the file and
// the field.
ColPaliConfig parse_colpali_config(const nlohmann::json& config, const std::string& path);

class ColPaliModel {
 public:
  // Loads the base checkpoint in `dir` (the ColPali wrapper's tensor names) and merges
  // `adapter` (nullptr: the base alone) into its Linear layers in float32 before the compute
  // copy is made. Unknown, missing or misshapen tensors are Errors naming them.
  static ColPaliModel load(const std::filesystem::path& dir, const ColPaliConfig& config,
                           LoraAdapter* adapter, const ModelLoadOptions& options);

  ColPaliModel(ColPaliModel&&) noexcept;
  ColPaliModel& operator=(ColPaliModel&&) noexcept;
  ~ColPaliModel();

  const ColPaliConfig& config() const;
  std::int64_t embed_dim() const;  // custom_text_proj's output (128)
  std::int64_t parameter_count() const;
  std::string backend_name() const;
  std::string backend_description() const;

  // Runs sequences of token ids (each whole, every id attended; batch padding is internal
  // and masked) and writes each sequence's per-token embeddings, L2-normalized, one after
  // another: Σ ids[i].size() rows of embed_dim(). When `pixels` is given (n = ids.size() images
  // of 3 × S × S), each sequence's image_token_index ids (exactly image_tokens() of them) take
  // that image's projected features. Ids outside the vocabulary are Errors naming the sequence.
  void encode(const std::vector<std::vector<std::int32_t>>& ids, const float* pixels,
              float* out) const;

  // Forward FLOPs of one sequence of n_tokens, with or without an image.
  double flops(std::int64_t n_tokens, bool image) const;

 private:
  struct Impl;
  explicit ColPaliModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vlbench
