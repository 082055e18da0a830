#include "models/siglip/random_siglip.hpp"

#include <nlohmann/json.hpp>

#include "models/random_tensors.hpp"
#include "vlbench/core/atomic_file.hpp"
#include "vlbench/core/error.hpp"

namespace vlbench {
namespace {

using json = nlohmann::ordered_json;

struct Tower {
  int hidden, intermediate, heads, layers;
};

struct Size {
  const char* name;
  Tower text, vision;
  int image_size, patch_size;
  int vocab_siglip, vocab_siglip2;  // the tiny shapes follow the fixtures' tokenizers
};

// MODELS.md §2.5 and the published configs; "tiny" is siglip-tiny's shape (siglip2-tiny's is
// the same family at other small sizes; one tiny shape serves both archs here).
const Size kSizes[] = {
    {"tiny", {96, 352, 4, 2}, {96, 352, 4, 2}, 40, 8, 640, 900},
    {"base-224", {768, 3072, 12, 12}, {768, 3072, 12, 12}, 224, 16, 32000, 256000},
    {"so400m-384", {1152, 4304, 16, 27}, {1152, 4304, 16, 27}, 384, 14, 32000, 256000},
};
constexpr int kContext = 64;

const Size& find_size(const std::string& name) {
  for (const Size& s : kSizes) {
    if (name == s.name) return s;
  }
  std::string names;
  for (const Size& s : kSizes) names += (names.empty() ? "" : ", ") + std::string(s.name);
  fail("unknown SigLIP size '{}' (expected one of {})", name, names);
}

json tower_json(const Tower& t, const char* type) {
  return {{"hidden_size", t.hidden},
          {"intermediate_size", t.intermediate},
          {"model_type", type},
          {"num_attention_heads", t.heads},
          {"num_hidden_layers", t.layers}};
}

}  // namespace

std::vector<std::string> random_siglip_sizes() {
  std::vector<std::string> names;
  for (const Size& s : kSizes) names.emplace_back(s.name);
  return names;
}

void write_random_siglip(const std::filesystem::path& out, const std::string& arch,
                         const std::string& size_name, std::uint64_t seed,
                         const std::filesystem::path& tokenizer_dir) {
  const Size& s = find_size(size_name);
  const bool v2 = arch == "siglip2";
  VLB_ASSERT(v2 || arch == "siglip");
  const int vocab = v2 ? s.vocab_siglip2 : s.vocab_siglip;
  const std::vector<std::string> tokenizer_files = {
      v2 ? "tokenizer.json" : "spiece.model", "tokenizer_config.json", "special_tokens_map.json"};
  for (const std::string& file : tokenizer_files) {
    if (!std::filesystem::is_regular_file(tokenizer_dir / file)) {
      fail("{}: missing {} (the {} tokenizer files to ship with the model)", tokenizer_dir.string(),
           file, arch);
    }
  }
  std::filesystem::create_directories(out);

  ThreadPool pool(0);
  TensorSet t(seed, pool);
  const int grid = s.image_size / s.patch_size;
  const int dv = s.vision.hidden;
  t.add("logit_scale", {1}, std::log(10.0), 0.0);
  t.add("logit_bias", {1}, -10.0, 0.0);
  t.add("text_model.embeddings.token_embedding.weight", {vocab, s.text.hidden}, 0.0, 0.02);
  t.add("text_model.embeddings.position_embedding.weight", {kContext, s.text.hidden}, 0.0, 0.01);
  t.add_encoder("text_model", s.text.layers, s.text.hidden, s.text.intermediate);
  t.add_layer_norm("text_model.final_layer_norm", s.text.hidden);
  t.add_linear("text_model.head", s.text.hidden, s.text.hidden, true);
  t.add("vision_model.embeddings.patch_embedding.weight", {dv, 3, s.patch_size, s.patch_size}, 0.0,
        1.0 / std::sqrt(3.0 * s.patch_size * s.patch_size));
  t.add("vision_model.embeddings.patch_embedding.bias", {dv}, 0.0, 0.02);
  t.add("vision_model.embeddings.position_embedding.weight", {grid * grid, dv}, 0.0, 0.01);
  t.add_encoder("vision_model", s.vision.layers, dv, s.vision.intermediate);
  t.add_layer_norm("vision_model.post_layernorm", dv);
  t.add("vision_model.head.probe", {1, 1, dv}, 0.0, 1.0);
  t.add_linear("vision_model.head.attention.in_proj", 3 * dv, dv, true);
  t.add_linear("vision_model.head.attention.out_proj", dv, dv, true);
  t.add_layer_norm("vision_model.head.layernorm", dv);
  t.add_linear("vision_model.head.mlp.fc1", s.vision.intermediate, dv, true);
  t.add_linear("vision_model.head.mlp.fc2", dv, s.vision.intermediate, true);
  // nn.MultiheadAttention names its packed projection in_proj_weight / in_proj_bias.
  std::vector<TensorToWrite> tensors = t.tensors();
  for (TensorToWrite& tensor : tensors) {
    if (tensor.name == "vision_model.head.attention.in_proj.weight") {
      tensor.name = "vision_model.head.attention.in_proj_weight";
    } else if (tensor.name == "vision_model.head.attention.in_proj.bias") {
      tensor.name = "vision_model.head.attention.in_proj_bias";
    }
  }

  json text = tower_json(s.text, "siglip_text_model");
  text["vocab_size"] = vocab;
  json vision = tower_json(s.vision, "siglip_vision_model");
  vision["image_size"] = s.image_size;
  vision["patch_size"] = s.patch_size;
  json config = json::object();
  if (!v2) config["architectures"] = {"SiglipModel"};  // published SigLIP 2 configs lack it
  config["initializer_factor"] = 1.0;
  config["model_type"] = "siglip";
  config["text_config"] = text;
  config["vision_config"] = vision;
  const json preprocessor = {{"do_normalize", true},
                             {"do_rescale", true},
                             {"do_resize", true},
                             {"image_mean", {0.5, 0.5, 0.5}},
                             {"image_processor_type", "SiglipImageProcessor"},
                             {"image_std", {0.5, 0.5, 0.5}},
                             {"processor_class", "SiglipProcessor"},
                             {"resample", v2 ? 2 : 3},
                             {"rescale_factor", 1.0 / 255.0},
                             {"size", {{"height", s.image_size}, {"width", s.image_size}}}};

  write_safetensors(out / "model.safetensors", tensors, {{"format", "pt"}});
  write_file_atomic(out / "config.json", config.dump(2) + "\n");
  write_file_atomic(out / "preprocessor_config.json", preprocessor.dump(2) + "\n");
  for (const std::string& file : tokenizer_files) {
    write_file_atomic(out / file, read_file(tokenizer_dir / file));
  }
}

}  // namespace vlbench
