// Hugging Face SiglipModel (SigLIP, and SigLIP 2 at fixed resolution) on any compute backend,
// float32 or bf16 Linear layers. MODELS.md §1.2 and ../shared/fixtures/siglip-tiny/README.md.
// Internal to the models module: the rest of vlbench sees it through EmbeddingModel.
#pragma once

#include <vlbench/kernels/backend.hpp>
#include <vlbench/models/model.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace vlbench {

// One tower of config.json, SiglipTextConfig / SiglipVisionConfig defaults for absent keys.
struct SiglipTowerConfig {
  int hidden_size = 768;
  int intermediate_size = 3072;
  int num_attention_heads = 12;
  int num_hidden_layers = 12;
  std::string hidden_act = "gelu_pytorch_tanh";
  double layer_norm_eps = 1e-6;
};

struct SiglipConfig {
  SiglipTowerConfig text;
  int vocab_size = 32000;
  int max_position_embeddings = 64;
  int projection_size = 768;  // text head's output (= text hidden_size when absent)
  SiglipTowerConfig vision;
  int image_size = 224;
  int patch_size = 16;
  int num_channels = 3;
};

// config: the parsed config.json at `path` (model_type "siglip"). Errors name the file and
// the field.
SiglipConfig parse_siglip_config(const nlohmann::json& config, const std::string& path);

class SiglipModel {
 public:
  // Loads the weights of `dir` (Checkpoint) for `config`; every tensor's shape is checked;
  // unknown, missing or misshapen tensors are Errors naming them. As ClipModel: every op on
  // the backend; bf16 applies to every Linear layer (the MAP head's too), the rest fp32.
  // Reads options.backend, compute and threads.
  static SiglipModel load(const std::filesystem::path& dir, const SiglipConfig& config,
                          const ModelLoadOptions& options);

  SiglipModel(SiglipModel&&) noexcept;
  SiglipModel& operator=(SiglipModel&&) noexcept;
  ~SiglipModel();

  const SiglipConfig& config() const;
  std::int64_t parameter_count() const;
  float logit_scale() const;  // as stored (a log)
  float logit_bias() const;
  std::string backend_name() const;
  std::string backend_description() const;

  // pixels: n × 3 × image_size × image_size. out: n × vision hidden_size: the MAP head's
  // pooled output (get_image_features), unnormalized.
  void encode_images(const float* pixels, std::int64_t n, float* out) const;

  // ids: n captions, each of 1 to max_position_embeddings ids, run as given: no mask,
  // bidirectional, pooled at the last position, then `head`. out: n × projection_size
  // (get_text_features), unnormalized. Captions of equal length run together.
  void encode_texts(const std::vector<std::vector<std::int32_t>>& ids, float* out) const;

 private:
  struct Impl;
  explicit SiglipModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vlbench
