// A PEFT LoRA adapter (peft_type LORA, as saved by save_pretrained: adapter_config.json and
// adapter_model.safetensors), merged into the base weights at load as peft's merge_and_unload
// does: W += scale · B · A for every targeted Linear, scale = lora_alpha / r (lora_alpha / √r
// with use_rslora). Internal to the models module.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "vlbench/models/checkpoint.hpp"

namespace vlbench {

class Gemm;

class LoraAdapter {
 public:
  // dir: the adapter folder; config: its adapter_config.json, parsed. Errors name the file and
  // the field: another peft_type, DoRA, fan_in_fan_out, a bias or modules_to_save (weights this
  // merge would not apply), per-module rank or alpha patterns, r or lora_alpha not positive,
  // tensors other than base_model.model.<module>.lora_{A,B}.weight, a module with only one of
  // them, ranks that differ from r. `threads`: the merge's GEMM threads (<= 0: all cores).
  static LoraAdapter load(const std::filesystem::path& dir, const nlohmann::json& config,
                          int threads);

  LoraAdapter(LoraAdapter&&) noexcept;
  LoraAdapter& operator=(LoraAdapter&&) noexcept;
  ~LoraAdapter();

  // Whether target_modules selects `module` (a base module name such as
  // "model.language_model.model.layers.0.self_attn.q_proj"): peft's rule, a full regex match
  // for a string, a name or ".name" suffix for a list.
  bool targets(const std::string& module) const;

  // weight (out × in, PyTorch's layout, float32) += scale · B · A, the product in float32 on
  // the GEMM. Returns false, changing nothing, when `module` is not targeted. An Error when it
  // is targeted but the adapter has no LoRA for it, or A / B do not fit out × in.
  bool merge(const std::string& module, std::vector<float>& weight, std::int64_t out,
             std::int64_t in);

  // An Error naming the first module of the adapter that merge() never reached (a module the
  // base does not have).
  void expect_all_merged(const std::string& base_dir) const;

  double scale() const { return scale_; }
  std::int64_t rank() const { return rank_; }
  std::int64_t merged_modules() const { return static_cast<std::int64_t>(merged_.size()); }
  std::int64_t parameter_count() const;

 private:
  LoraAdapter() = default;
  std::filesystem::path dir_;
  std::filesystem::path weights_path_;
  std::unique_ptr<Checkpoint> weights_;
  std::unique_ptr<Gemm> gemm_;
  std::int64_t rank_ = 0;
  double scale_ = 0.0;
  bool target_regex_ = false;
  std::regex target_pattern_;
  std::vector<std::string> target_names_;
  std::map<std::string, std::int64_t> modules_;  // module -> 0 (A and B present)
  std::set<std::string> merged_;
};

}  // namespace vlbench
