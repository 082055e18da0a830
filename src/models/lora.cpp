// PEFT LoRA adapters. See lora.hpp.
#include "models/lora.hpp"

#include <fmt/ranges.h>

#include <cmath>

#include "models/config_reader.hpp"
#include "vlbench/core/error.hpp"
#include "vlbench/kernels/gemm.hpp"

namespace vlbench {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kPrefix = "base_model.model.";
constexpr std::string_view kA = ".lora_A.weight";
constexpr std::string_view kB = ".lora_B.weight";

// An Error unless `key` of `config` is absent, null, false, "none" or an empty object / list.
void expect_unset(const nlohmann::json& config, const std::string& key, const std::string& file,
                  const char* why) {
  const auto it = config.find(key);
  if (it == config.end() || it->is_null()) return;
  if (it->is_boolean() && !it->get<bool>()) return;
  if (it->is_string() && it->get<std::string>() == "none") return;
  if ((it->is_object() || it->is_array()) && it->empty()) return;
  fail("{}: field '{}': {} is not supported ({})", file, key, it->dump(), why);
}

}  // namespace

LoraAdapter::LoraAdapter(LoraAdapter&&) noexcept = default;
LoraAdapter& LoraAdapter::operator=(LoraAdapter&&) noexcept = default;
LoraAdapter::~LoraAdapter() = default;

LoraAdapter LoraAdapter::load(const fs::path& dir, const nlohmann::json& config, int threads) {
  const std::string file = (dir / "adapter_config.json").string();
  const ConfigReader reader{file};
  const std::string type = reader.string(config, "peft_type", "peft_type", "");
  if (type != "LORA") {
    fail("{}: field 'peft_type': '{}' is not supported (expected LORA)", file, type);
  }
  expect_unset(config, "use_dora", file, "DoRA adds a magnitude vector this merge lacks");
  expect_unset(config, "fan_in_fan_out", file, "the adapter would be stored transposed");
  expect_unset(config, "bias", file, "LoRA biases are not merged");
  expect_unset(config, "modules_to_save", file, "fully trained modules are not loaded");
  expect_unset(config, "rank_pattern", file, "every module must share r");
  expect_unset(config, "alpha_pattern", file, "every module must share lora_alpha");
  expect_unset(config, "layer_replication", file, "layers would be duplicated");

  LoraAdapter adapter;
  adapter.dir_ = dir;
  adapter.rank_ = reader.positive_int(config, "r", "r", 8, 1 << 16);
  const double alpha = reader.positive_number(config, "lora_alpha", "lora_alpha", 8.0);
  const bool rslora = reader.boolean(config, "use_rslora", "use_rslora", false);
  adapter.scale_ = rslora ? alpha / std::sqrt(static_cast<double>(adapter.rank_))
                          : alpha / static_cast<double>(adapter.rank_);

  const auto targets = config.find("target_modules");
  if (targets != config.end() && targets->is_string()) {
    adapter.target_regex_ = true;
    try {
      adapter.target_pattern_ = std::regex(targets->get<std::string>());
    } catch (const std::regex_error& e) {
      fail("{}: field 'target_modules': not a regular expression ({})", file, e.what());
    }
  } else if (targets != config.end() && targets->is_array()) {
    for (const auto& name : *targets) {
      if (!name.is_string()) fail("{}: field 'target_modules': expected strings", file);
      adapter.target_names_.push_back(name.get<std::string>());
    }
  } else {
    fail("{}: field 'target_modules': expected a regular expression or a list of names", file);
  }

  adapter.weights_path_ = dir / "adapter_model.safetensors";
  adapter.weights_ =
      std::make_unique<Checkpoint>(Checkpoint::open_safetensors(adapter.weights_path_));
  const std::string weights = adapter.weights_path_.string();
  std::map<std::string, int> parts;  // module -> bit 1: A, bit 2: B
  for (const TensorRef& tensor : adapter.weights_->tensors()) {
    const std::string& name = tensor.name;
    const bool is_a = name.ends_with(kA), is_b = name.ends_with(kB);
    if (!name.starts_with(kPrefix) || (!is_a && !is_b)) {
      fail("{}: tensor '{}' is not a LoRA weight (expected {}<module>{} or {})", weights, name,
           kPrefix, kA, kB);
    }
    const std::string module =
        name.substr(kPrefix.size(), name.size() - kPrefix.size() - kA.size());
    const std::size_t rank_axis = is_a ? 0 : 1;
    if (tensor.shape.size() != 2 || tensor.shape[rank_axis] != adapter.rank_) {
      fail("{}: tensor '{}' has shape [{}], expected rank r = {} on axis {}", weights, name,
           fmt::join(tensor.shape, ", "), adapter.rank_, rank_axis);
    }
    parts[module] |= is_a ? 1 : 2;
  }
  for (const auto& [module, bits] : parts) {
    if (bits != 3) {
      fail("{}: module '{}' has lora_{} but no lora_{}", weights, module, bits == 1 ? "A" : "B",
           bits == 1 ? "B" : "A");
    }
    adapter.modules_[module] = 0;
  }
  adapter.gemm_ = make_gemm(default_gemm_backend());
  adapter.gemm_->set_threads(threads);
  return adapter;
}

bool LoraAdapter::targets(const std::string& module) const {
  if (target_regex_) return std::regex_match(module, target_pattern_);
  for (const std::string& name : target_names_) {
    if (module == name || module.ends_with("." + name)) return true;
  }
  return false;
}

bool LoraAdapter::merge(const std::string& module, std::vector<float>& weight, std::int64_t out,
                        std::int64_t in) {
  if (!targets(module)) return false;
  if (modules_.count(module) == 0) {
    fail("{}: no LoRA for '{}', which target_modules selects (expected tensors {}{}{} and {})",
         weights_path_.string(), module, kPrefix, module, kA, kB);
  }
  const std::string prefix = std::string(kPrefix) + module;
  const std::vector<float> a = weights_->load_f32(prefix + std::string(kA), {rank_, in});
  const std::vector<float> b = weights_->load_f32(prefix + std::string(kB), {out, rank_});
  weights_->release(prefix + std::string(kA));
  weights_->release(prefix + std::string(kB));
  // delta[o, i] = Σ_k B[o, k] · A[k, i]: gemm_nt wants the second operand as [in, r].
  std::vector<float> a_t(static_cast<std::size_t>(in * rank_));
  for (std::int64_t k = 0; k < rank_; ++k) {
    for (std::int64_t i = 0; i < in; ++i) a_t[i * rank_ + k] = a[k * in + i];
  }
  std::vector<float> delta(static_cast<std::size_t>(out * in));
  gemm_->gemm_nt(out, in, rank_, b.data(), rank_, a_t.data(), rank_, delta.data(), in);
  const auto scale = static_cast<float>(scale_);
  for (std::size_t i = 0; i < delta.size(); ++i) weight[i] += scale * delta[i];
  merged_.insert(module);
  return true;
}

void LoraAdapter::expect_all_merged(const std::string& base_dir) const {
  for (const auto& [module, unused] : modules_) {
    if (merged_.count(module) == 0) {
      fail("{}: LoRA for '{}', a module the base model ({}) does not have{}",
           weights_path_.string(), module, base_dir,
           targets(module) ? "" : " (nor does target_modules select it)");
    }
  }
}

std::int64_t LoraAdapter::parameter_count() const {
  std::int64_t n = 0;
  for (const TensorRef& tensor : weights_->tensors()) n += tensor.numel();
  return n;
}

}  // namespace vlbench
