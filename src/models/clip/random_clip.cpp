#include <vlbench/core/atomic_file.hpp>
#include <vlbench/core/error.hpp>
#include <vlbench/core/random.hpp>
#include <vlbench/core/thread_pool.hpp>
#include <vlbench/models/checkpoint.hpp>
#include <vlbench/models/random_clip.hpp>

#include "models/random_tensors.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <map>

namespace vlbench {

namespace {

using json = nlohmann::ordered_json;

struct Tower {
  int hidden, intermediate, heads, layers;
  const char* act;
};

struct Size {
  const char* name;
  Tower text;
  Tower vision;
  int image_size, patch_size, projection_dim;
};

// The published architectures (MODELS.md): OpenAI ViT-B/32, B/16, L/14; LAION ViT-H/14.
// "tiny" is the shape of the reference fixture clip-tiny-quickgelu; "small" is 4 layers of
// twice its width, ~8x its FLOPs (the quickstart's second point on the speed axis).
const Size kSizes[] = {
    {"tiny", {64, 256, 2, 2, "quick_gelu"}, {128, 512, 2, 2, "quick_gelu"}, 64, 16, 32},
    {"small", {128, 512, 4, 4, "quick_gelu"}, {256, 1024, 4, 4, "quick_gelu"}, 64, 16, 64},
    {"vit-b-32", {512, 2048, 8, 12, "quick_gelu"}, {768, 3072, 12, 12, "quick_gelu"}, 224, 32, 512},
    {"vit-b-16", {512, 2048, 8, 12, "quick_gelu"}, {768, 3072, 12, 12, "quick_gelu"}, 224, 16, 512},
    {"vit-l-14",
     {768, 3072, 12, 12, "quick_gelu"},
     {1024, 4096, 16, 24, "quick_gelu"},
     224,
     14,
     768},
    {"vit-h-14", {1024, 4096, 16, 24, "gelu"}, {1280, 5120, 16, 32, "gelu"}, 224, 14, 1024},
};
constexpr int kVocab = 49408;
constexpr int kContext = 77;

const Size& find_size(const std::string& name) {
  for (const Size& s : kSizes) {
    if (name == s.name) return s;
  }
  std::string names;
  for (const Size& s : kSizes) names += (names.empty() ? "" : ", ") + std::string(s.name);
  fail("unknown model size '{}' (expected one of {})", name, names);
}

json tower_json(const Tower& t, const char* type, int projection_dim) {
  return {{"model_type", type},
          {"hidden_size", t.hidden},
          {"intermediate_size", t.intermediate},
          {"num_attention_heads", t.heads},
          {"num_hidden_layers", t.layers},
          {"hidden_act", t.act},
          {"layer_norm_eps", 1e-05},
          {"projection_dim", projection_dim}};
}

json config_json(const Size& s) {
  json text = tower_json(s.text, "clip_text_model", s.projection_dim);
  text["max_position_embeddings"] = kContext;
  text["vocab_size"] = kVocab;
  text["bos_token_id"] = 49406;
  text["eos_token_id"] = 49407;
  text["pad_token_id"] = 1;
  json vision = tower_json(s.vision, "clip_vision_model", s.projection_dim);
  vision["image_size"] = s.image_size;
  vision["patch_size"] = s.patch_size;
  vision["num_channels"] = 3;
  return {{"architectures", {"CLIPModel"}},
          {"model_type", "clip"},
          {"projection_dim", s.projection_dim},
          {"logit_scale_init_value", 2.6592},
          {"torch_dtype", "float32"},
          {"text_config", text},
          {"vision_config", vision}};
}

json preprocessor_json(const Size& s) {
  return {{"crop_size", {{"height", s.image_size}, {"width", s.image_size}}},
          {"do_center_crop", true},
          {"do_convert_rgb", true},
          {"do_normalize", true},
          {"do_rescale", true},
          {"do_resize", true},
          {"image_mean", {0.48145466, 0.4578275, 0.40821073}},
          {"image_processor_type", "CLIPImageProcessor"},
          {"image_std", {0.26862954, 0.26130258, 0.27577711}},
          {"resample", 3},
          {"rescale_factor", 1.0 / 255.0},
          {"size", {{"shortest_edge", s.image_size}}}};
}

}  // namespace

std::vector<std::string> random_clip_sizes() {
  std::vector<std::string> names;
  for (const Size& s : kSizes) names.emplace_back(s.name);
  return names;
}

void write_random_clip(const std::filesystem::path& out, const std::string& size_name,
                       std::uint64_t seed, const std::filesystem::path& tokenizer_dir) {
  const Size& s = find_size(size_name);
  for (const char* file : {"vocab.json", "merges.txt"}) {
    if (!std::filesystem::is_regular_file(tokenizer_dir / file)) {
      fail("{}: missing {} (the CLIP tokenizer files to ship with the model)",
           tokenizer_dir.string(), file);
    }
  }
  std::filesystem::create_directories(out);

  ThreadPool pool(0);
  TensorSet t(seed, pool);
  const int n_patches = (s.image_size / s.patch_size) * (s.image_size / s.patch_size);
  t.add("text_model.embeddings.token_embedding.weight", {kVocab, s.text.hidden}, 0.0, 0.02);
  t.add("text_model.embeddings.position_embedding.weight", {kContext, s.text.hidden}, 0.0, 0.01);
  t.add_positions("text_model.embeddings.position_ids", kContext);
  t.add_encoder("text_model", s.text.layers, s.text.hidden, s.text.intermediate);
  t.add_layer_norm("text_model.final_layer_norm", s.text.hidden);
  t.add("vision_model.embeddings.class_embedding", {s.vision.hidden}, 0.0, 0.02);
  t.add("vision_model.embeddings.patch_embedding.weight",
        {s.vision.hidden, 3, s.patch_size, s.patch_size}, 0.0,
        1.0 / std::sqrt(3.0 * s.patch_size * s.patch_size));
  t.add("vision_model.embeddings.position_embedding.weight", {n_patches + 1, s.vision.hidden}, 0.0,
        0.01);
  t.add_positions("vision_model.embeddings.position_ids", n_patches + 1);
  t.add_layer_norm("vision_model.pre_layrnorm", s.vision.hidden);
  t.add_encoder("vision_model", s.vision.layers, s.vision.hidden, s.vision.intermediate);
  t.add_layer_norm("vision_model.post_layernorm", s.vision.hidden);
  t.add_linear("visual_projection", s.projection_dim, s.vision.hidden, false);
  t.add_linear("text_projection", s.projection_dim, s.text.hidden, false);
  t.add("logit_scale", {}, std::log(100.0), 0.0);

  write_safetensors(out / "model.safetensors", t.tensors(), {{"format", "pt"}});
  write_file_atomic(out / "config.json", config_json(s).dump(2) + "\n");
  write_file_atomic(out / "preprocessor_config.json", preprocessor_json(s).dump(2) + "\n");
  const json tokenizer_config = {
      {"model_max_length", kContext},      {"bos_token", "<|startoftext|>"},
      {"eos_token", "<|endoftext|>"},      {"pad_token", "<|endoftext|>"},
      {"unk_token", "<|endoftext|>"},      {"do_lower_case", true},
      {"tokenizer_class", "CLIPTokenizer"}};
  write_file_atomic(out / "tokenizer_config.json", tokenizer_config.dump(2) + "\n");
  const json special = {{"bos_token", "<|startoftext|>"},
                        {"eos_token", "<|endoftext|>"},
                        {"pad_token", "<|endoftext|>"},
                        {"unk_token", "<|endoftext|>"}};
  write_file_atomic(out / "special_tokens_map.json", special.dump(2) + "\n");
  for (const char* file : {"vocab.json", "merges.txt"}) {
    write_file_atomic(out / file, read_file(tokenizer_dir / file));
  }
}

}  // namespace vlbench
