// What a model family gives the registry (src/models/registry.cpp): how to recognise its
// checkpoints, load them, and write random ones. Internal to the models module.
#pragma once

#include <vlbench/models/model.hpp>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace vlbench {

// What a checkpoint folder declares.
struct CheckpointInfo {
  // A PEFT LoRA adapter's folder when the model was named by one ("" otherwise): `dir` is then
  // its base, and the adapter's own tokenizer and processor files come first.
  std::filesystem::path adapter_dir;
  nlohmann::json adapter_config;  // its adapter_config.json (an object)
  std::filesystem::path dir;
  std::filesystem::path config_path;  // dir / "config.json", or dir / "open_clip_config.json"
  nlohmann::json config;              // its contents (an object)
  std::string model_type;             // config["model_type"], "" when absent
};

struct ModelFamily {
  std::string name;  // "clip", "siglip"
  // What the family reads, for the registry's error messages ("config.json model_type 'clip'").
  std::string declares;
  // Whether the checkpoint is this family's. May throw an Error for a variant the family
  // recognises but does not support (it says which and why).
  bool (*matches)(const CheckpointInfo& info);
  std::unique_ptr<EmbeddingModel> (*load)(const CheckpointInfo& info,
                                          const ModelLoadOptions& options);
  std::vector<RandomModelArch> (*random_archs)();
  // Writes a random checkpoint of `arch` (one of random_archs()) and `size`.
  void (*write_random)(const std::filesystem::path& out, const std::string& arch,
                       const std::string& size, std::uint64_t seed,
                       const std::filesystem::path& tokenizer_dir);
  // Whether load() takes a PEFT adapter (CheckpointInfo::adapter_dir) on this family's base.
  bool loads_adapters = false;
};

const ModelFamily& clip_family();
const ModelFamily& siglip_family();
const ModelFamily& colpali_family();
const ModelFamily& jina_family();

// The model's own name: an adapter's folder name; else config.json "_name_or_path" when it is
// a non-empty string, else the checkpoint folder's name. A snapshot folder of the Hugging Face
// cache (named by its commit) is named by its repository, "ORG/NAME", instead.
std::string checkpoint_name(const CheckpointInfo& info);

// Forward FLOPs of one pre-LN encoder layer over `tokens` tokens of width d: q, k, v, out
// (4·d²) and fc1, fc2 (2·d·intermediate) multiply-adds per token, plus attention (q·kᵀ and
// p·v: 2·tokens²·d). A multiply-add is 2 FLOPs.
double encoder_layer_flops(double d, double intermediate, double tokens);

// A text tower: `layers` encoder layers over n_tokens, then a d → projection Linear of the
// pooled token.
inline double text_tower_flops(std::int64_t layers, std::int64_t d, std::int64_t intermediate,
                               std::int64_t n_tokens, std::int64_t projection) {
  return static_cast<double>(layers) * encoder_layer_flops(static_cast<double>(d),
                                                           static_cast<double>(intermediate),
                                                           static_cast<double>(n_tokens)) +
         2.0 * static_cast<double>(d) * static_cast<double>(projection);
}

}  // namespace vlbench
