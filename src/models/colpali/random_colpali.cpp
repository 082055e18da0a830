// make-model --arch colpali: a random ColPali base + PEFT LoRA adapter in the published layout.
#include "models/colpali/random_colpali.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "vlbench/core/atomic_file.hpp"
#include "vlbench/core/dtype.hpp"
#include "vlbench/core/error.hpp"
#include "vlbench/core/random.hpp"
#include "vlbench/core/thread_pool.hpp"
#include "vlbench/models/checkpoint.hpp"

namespace vlbench {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

struct Size {
  const char* name;
  // Vision (SigLIP without head).
  int image_size, patch_size, v_hidden, v_intermediate, v_heads, v_layers;
  // Gemma.
  int hidden, intermediate, heads, kv_heads, head_dim, layers, vocab, image_token;
  int lora_r, lora_alpha;
  DType dtype;              // of the stored weights
  std::int64_t shard_bytes;  // 0: one model.safetensors
};

// "tiny": the fixture colpali-tiny's shapes; "v1.3": vidore/colpaligemma-3b-pt-448-base with
// the vidore/colpali-v1.3 adapter (r 32, alpha 32), stored in bf16 and sharded as published.
const Size kSizes[] = {
    {"tiny", 28, 14, 48, 128, 3, 2, 64, 128, 4, 1, 16, 2, 640, 611, 8, 32, DType::f32, 0},
    {"v1.3", 448, 14, 1152, 4304, 16, 27, 2048, 16384, 8, 1, 256, 18, 257216, 257152, 32, 32,
     DType::bf16, std::int64_t{2} << 30},
};

const Size& find_size(const std::string& name) {
  for (const Size& s : kSizes) {
    if (name == s.name) return s;
  }
  fail("unknown ColPali size '{}' (expected one of tiny, v1.3)", name);
}

struct Spec {
  std::string name;
  std::vector<std::int64_t> shape;
  double mean = 0.0, std = 0.0;

  std::int64_t numel() const {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
};

void add_linear(std::vector<Spec>& specs, const std::string& prefix, std::int64_t out,
                std::int64_t in, bool bias) {
  specs.push_back({prefix + ".weight", {out, in}, 0.0, 1.0 / std::sqrt(static_cast<double>(in))});
  if (bias) specs.push_back({prefix + ".bias", {out}, 0.0, 0.02});
}

std::vector<Spec> base_specs(const Size& s) {
  std::vector<Spec> specs;
  const std::string v = "model.vision_tower.vision_model.";
  const int grid = s.image_size / s.patch_size;
  specs.push_back({v + "embeddings.patch_embedding.weight",
                   {s.v_hidden, 3, s.patch_size, s.patch_size},
                   0.0,
                   1.0 / std::sqrt(3.0 * s.patch_size * s.patch_size)});
  specs.push_back({v + "embeddings.patch_embedding.bias", {s.v_hidden}, 0.0, 0.02});
  specs.push_back({v + "embeddings.position_embedding.weight", {grid * grid, s.v_hidden}, 0.0, 0.01});
  for (int l = 0; l < s.v_layers; ++l) {
    const std::string p = v + "encoder.layers." + std::to_string(l) + ".";
    for (const char* proj : {"k_proj", "v_proj", "q_proj", "out_proj"}) {
      add_linear(specs, p + "self_attn." + proj, s.v_hidden, s.v_hidden, true);
    }
    for (const char* ln : {"layer_norm1", "layer_norm2"}) {
      specs.push_back({p + ln + ".weight", {s.v_hidden}, 1.0, 0.05});
      specs.push_back({p + ln + ".bias", {s.v_hidden}, 0.0, 0.05});
    }
    add_linear(specs, p + "mlp.fc1", s.v_intermediate, s.v_hidden, true);
    add_linear(specs, p + "mlp.fc2", s.v_hidden, s.v_intermediate, true);
  }
  specs.push_back({v + "post_layernorm.weight", {s.v_hidden}, 1.0, 0.05});
  specs.push_back({v + "post_layernorm.bias", {s.v_hidden}, 0.0, 0.05});
  add_linear(specs, "model.multi_modal_projector.linear", s.hidden, s.v_hidden, true);

  const std::string g = "model.language_model.model.";
  specs.push_back({g + "embed_tokens.weight", {s.vocab, s.hidden}, 0.0, 0.02});
  const std::int64_t q = std::int64_t{s.heads} * s.head_dim, kv = std::int64_t{s.kv_heads} * s.head_dim;
  for (int l = 0; l < s.layers; ++l) {
    const std::string p = g + "layers." + std::to_string(l) + ".";
    specs.push_back({p + "input_layernorm.weight", {s.hidden}, 0.0, 0.05});  // Gemma: 1 + w
    add_linear(specs, p + "self_attn.q_proj", q, s.hidden, false);
    add_linear(specs, p + "self_attn.k_proj", kv, s.hidden, false);
    add_linear(specs, p + "self_attn.v_proj", kv, s.hidden, false);
    add_linear(specs, p + "self_attn.o_proj", s.hidden, q, false);
    specs.push_back({p + "post_attention_layernorm.weight", {s.hidden}, 0.0, 0.05});
    add_linear(specs, p + "mlp.gate_proj", s.intermediate, s.hidden, false);
    add_linear(specs, p + "mlp.up_proj", s.intermediate, s.hidden, false);
    add_linear(specs, p + "mlp.down_proj", s.hidden, s.intermediate, false);
  }
  specs.push_back({g + "norm.weight", {s.hidden}, 0.0, 0.05});
  add_linear(specs, "custom_text_proj", 128, s.hidden, true);
  return specs;
}

// peft's names: base_model.model.<module>.lora_{A,B}.weight, A [r, in], B [out, r].
std::vector<Spec> adapter_specs(const Size& s) {
  std::vector<Spec> specs;
  auto lora = [&](const std::string& module, std::int64_t out, std::int64_t in) {
    const std::string p = "base_model.model." + module;
    specs.push_back({p + ".lora_A.weight", {s.lora_r, in}, 0.0, 1.0 / std::sqrt(double(in))});
    specs.push_back({p + ".lora_B.weight", {out, s.lora_r}, 0.0, 0.02 / std::sqrt(double(s.lora_r))});
  };
  const std::int64_t q = std::int64_t{s.heads} * s.head_dim, kv = std::int64_t{s.kv_heads} * s.head_dim;
  for (int l = 0; l < s.layers; ++l) {
    const std::string p = "model.language_model.model.layers." + std::to_string(l) + ".";
    lora(p + "self_attn.q_proj", q, s.hidden);
    lora(p + "self_attn.k_proj", kv, s.hidden);
    lora(p + "self_attn.v_proj", kv, s.hidden);
    lora(p + "self_attn.o_proj", s.hidden, q);
    lora(p + "mlp.gate_proj", s.intermediate, s.hidden);
    lora(p + "mlp.up_proj", s.intermediate, s.hidden);
    lora(p + "mlp.down_proj", s.hidden, s.intermediate);
  }
  lora("custom_text_proj", 128, s.hidden);
  return specs;
}

// Stored values of one tensor: Normal(mean, std), each tensor its own stream (seed, index),
// each block of 4096 values a sub-stream, so any thread count gives the same bytes.
std::vector<std::byte> generate(const Spec& spec, std::uint64_t seed, std::size_t index,
                                DType dtype, ThreadPool& pool) {
  const std::int64_t n = spec.numel();
  std::vector<std::byte> bytes(static_cast<std::size_t>(n) * dtype_size(dtype));
  const std::uint64_t tensor_seed = SplitMix64::for_item(seed, index).next();
  constexpr std::int64_t kBlock = 4096;
  pool.parallel_for((n + kBlock - 1) / kBlock, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t b = begin; b < end; ++b) {
      SplitMix64 rng = SplitMix64::for_item(tensor_seed, static_cast<std::uint64_t>(b));
      for (std::int64_t i = b * kBlock; i < std::min(n, (b + 1) * kBlock); ++i) {
        const auto v = static_cast<float>(spec.mean + spec.std * rng.normal());
        if (dtype == DType::bf16) {
          const std::uint16_t h = f32_to_bf16(v);
          std::memcpy(bytes.data() + i * 2, &h, 2);
        } else {
          std::memcpy(bytes.data() + i * 4, &v, 4);
        }
      }
    }
  });
  return bytes;
}

// Writes `specs` into `dir`: one model.safetensors, or shards of about shard_bytes with
// model.safetensors.index.json. One shard's tensors are in memory at a time.
void write_tensors(const fs::path& dir, const std::string& stem, const std::vector<Spec>& specs,
                   DType dtype, std::int64_t shard_bytes, std::uint64_t seed, ThreadPool& pool) {
  std::vector<std::vector<std::size_t>> shards(1);
  std::int64_t in_shard = 0, total = 0;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const std::int64_t bytes = specs[i].numel() * static_cast<std::int64_t>(dtype_size(dtype));
    if (shard_bytes > 0 && in_shard > 0 && in_shard + bytes > shard_bytes) {
      shards.emplace_back();
      in_shard = 0;
    }
    shards.back().push_back(i);
    in_shard += bytes;
    total += bytes;
  }
  json weight_map = json::object();
  for (std::size_t k = 0; k < shards.size(); ++k) {
    const std::string file =
        shards.size() == 1 && shard_bytes == 0
            ? stem + ".safetensors"
            : fmt::format("{}-{:05d}-of-{:05d}.safetensors", stem, k + 1, shards.size());
    std::vector<std::vector<std::byte>> data;
    std::vector<TensorToWrite> tensors;
    data.reserve(shards[k].size());
    for (const std::size_t i : shards[k]) {
      data.push_back(generate(specs[i], seed, i, dtype, pool));
      tensors.push_back({specs[i].name, dtype, specs[i].shape, data.back().data()});
      weight_map[specs[i].name] = file;
    }
    write_safetensors(dir / file, tensors, {{"format", "pt"}});
  }
  if (shard_bytes > 0) {
    const json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
    write_file_atomic(dir / (stem + ".safetensors.index.json"), index.dump(2) + "\n");
  }
}

json base_config(const Size& s) {
  const int patches = (s.image_size / s.patch_size) * (s.image_size / s.patch_size);
  const char* dtype = s.dtype == DType::bf16 ? "bfloat16" : "float32";
  return {{"_name_or_path", "google/paligemma-3b-pt-448"},
          {"architectures", {"ColPali"}},
          {"bos_token_id", 2},
          {"eos_token_id", 1},
          {"hidden_size", s.hidden},
          {"ignore_index", -100},
          {"image_token_index", s.image_token},
          {"model_type", "paligemma"},
          {"pad_token_id", 0},
          {"projection_dim", s.hidden},
          {"text_config",
           {{"hidden_size", s.hidden},
            {"intermediate_size", s.intermediate},
            {"model_type", "gemma"},
            {"num_attention_heads", s.heads},
            {"num_hidden_layers", s.layers},
            {"num_image_tokens", patches},
            {"num_key_value_heads", s.kv_heads},
            {"torch_dtype", dtype},
            {"vocab_size", s.vocab},
            {"head_dim", s.head_dim}}},
          {"torch_dtype", dtype},
          {"transformers_version", "4.44.0"},
          {"vision_config",
           {{"hidden_size", s.v_hidden},
            {"image_size", s.image_size},
            {"intermediate_size", s.v_intermediate},
            {"model_type", "siglip_vision_model"},
            {"num_attention_heads", s.v_heads},
            {"num_hidden_layers", s.v_layers},
            {"num_image_tokens", patches},
            {"patch_size", s.patch_size},
            {"projection_dim", s.hidden},
            {"projector_hidden_act", "gelu_fast"},
            {"vision_use_head", false}}},
          {"vocab_size", s.vocab}};
}

json preprocessor(const Size& s, const char* processor_class) {
  const int patches = (s.image_size / s.patch_size) * (s.image_size / s.patch_size);
  return {{"do_convert_rgb", nullptr},
          {"do_normalize", true},
          {"do_rescale", true},
          {"do_resize", true},
          {"image_mean", {0.5, 0.5, 0.5}},
          {"image_processor_type", "SiglipImageProcessor"},
          {"image_seq_length", patches},
          {"image_std", {0.5, 0.5, 0.5}},
          {"processor_class", processor_class},
          {"resample", 3},
          {"rescale_factor", 1.0 / 255.0},
          {"size", {{"height", s.image_size}, {"width", s.image_size}}}};
}

json adapter_config(const Size& s) {
  return {{"alpha_pattern", json::object()},
          {"auto_mapping", nullptr},
          {"base_model_name_or_path", std::string("vidore/") + kColPaliBaseFolder},
          {"bias", "none"},
          {"fan_in_fan_out", false},
          {"inference_mode", true},
          {"init_lora_weights", "gaussian"},
          {"layer_replication", nullptr},
          {"layers_pattern", nullptr},
          {"layers_to_transform", nullptr},
          {"loftq_config", json::object()},
          {"lora_alpha", s.lora_alpha},
          {"lora_dropout", 0.1},
          {"megatron_config", nullptr},
          {"megatron_core", "megatron.core"},
          {"modules_to_save", nullptr},
          {"peft_type", "LORA"},
          {"r", s.lora_r},
          {"rank_pattern", json::object()},
          {"revision", nullptr},
          {"target_modules",
           "(.*(language_model).*(down_proj|gate_proj|up_proj|k_proj|q_proj|v_proj|o_proj).*$|.*("
           "custom_text_proj).*$)"},
          {"task_type", "FEATURE_EXTRACTION"},
          {"use_dora", false},
          {"use_rslora", false}};
}

}  // namespace

std::vector<std::string> random_colpali_sizes() {
  std::vector<std::string> names;
  for (const Size& s : kSizes) names.emplace_back(s.name);
  return names;
}

std::string random_colpali_adapter_folder(const std::string& size) {
  return size == "tiny" ? "colpali-tiny" : "colpali-" + size;
}

void write_random_colpali(const fs::path& out, const std::string& size_name, std::uint64_t seed,
                          const fs::path& tokenizer_dir) {
  const Size& s = find_size(size_name);
  const std::vector<std::string> tokenizer_files = {"tokenizer.model", "tokenizer.json",
                                                    "tokenizer_config.json",
                                                    "special_tokens_map.json"};
  for (const std::string& file : tokenizer_files) {
    if (!fs::is_regular_file(tokenizer_dir / file)) {
      fail("{}: missing {} (the Gemma tokenizer files to ship with the model)",
           tokenizer_dir.string(), file);
    }
  }
  const fs::path base = out / kColPaliBaseFolder;
  const fs::path adapter = out / random_colpali_adapter_folder(size_name);
  fs::create_directories(base);
  fs::create_directories(adapter);
  ThreadPool pool(0);
  write_tensors(base, "model", base_specs(s), s.dtype, s.shard_bytes, seed, pool);
  write_tensors(adapter, "adapter_model", adapter_specs(s), s.dtype, 0, seed ^ 0xada9ull, pool);
  write_file_atomic(base / "config.json", base_config(s).dump(2) + "\n");
  write_file_atomic(adapter / "adapter_config.json", adapter_config(s).dump(2) + "\n");
  write_file_atomic(base / "preprocessor_config.json",
                    preprocessor(s, "PaliGemmaProcessor").dump(2) + "\n");
  write_file_atomic(adapter / "preprocessor_config.json",
                    preprocessor(s, "ColPaliProcessor").dump(2) + "\n");
  for (const fs::path& dir : {base, adapter}) {
    for (const std::string& file : tokenizer_files) {
      write_file_atomic(dir / file, read_file(tokenizer_dir / file));
    }
  }
}

}  // namespace vlbench
