#include "models/jina/random_jina.hpp"

#include <nlohmann/json.hpp>

#include <cmath>

#include "models/jina/jina_config.hpp"
#include "models/random_tensors.hpp"
#include "vlbench/core/atomic_file.hpp"
#include "vlbench/core/error.hpp"

namespace vlbench {
namespace {

using json = nlohmann::ordered_json;

struct Size {
  const char* name;
  int width, layers, head_width, image_size, patch_size;  // vision
  double mlp_ratio;
  int vocab, hidden, text_layers, heads, intermediate;  // text
};

// MODELS.md §0 (jina-clip-v1) and the fixture's shapes.
const Size kSizes[] = {
    {"tiny", 64, 2, 16, 48, 16, 2.6667, 335, 64, 2, 4, 128},
    {"v1", 768, 12, 64, 224, 16, 2.6667, 30528, 768, 12, 12, 3072},
};

const Size& find_size(const std::string& name) {
  for (const Size& s : kSizes) {
    if (name == s.name) return s;
  }
  std::string names;
  for (const Size& s : kSizes) names += (names.empty() ? "" : ", ") + std::string(s.name);
  fail("unknown jina-clip size '{}' (expected one of {})", name, names);
}

}  // namespace

std::vector<std::string> random_jina_sizes() {
  std::vector<std::string> names;
  for (const Size& s : kSizes) names.emplace_back(s.name);
  return names;
}

void write_random_jina(const std::filesystem::path& out, const std::string& arch,
                       const std::string& size_name, std::uint64_t seed,
                       const std::filesystem::path& tokenizer_dir) {
  VLB_ASSERT(arch == "jina-clip");
  const Size& s = find_size(size_name);
  const std::vector<std::string> tokenizer_files = {"tokenizer.json", "tokenizer_config.json",
                                                    "special_tokens_map.json", "vocab.txt"};
  for (const std::string& file : tokenizer_files) {
    if (!std::filesystem::is_regular_file(tokenizer_dir / file)) {
      fail("{}: missing {} (the jina-clip tokenizer files to ship with the model)",
           tokenizer_dir.string(), file);
    }
  }
  const int grid = s.image_size / s.patch_size;
  json vision = {{"embed_dim", s.width},
                 {"head_width", s.head_width},
                 {"image_size", s.image_size},
                 {"intp_freq", false},
                 {"layers", s.layers},
                 {"ls_init_value", nullptr},
                 {"mlp_ratio", s.mlp_ratio},
                 {"model_type", "jina_clip_vision"},
                 {"naive_swiglu", true},
                 {"patch_dropout", 0.1},
                 {"patch_size", s.patch_size},
                 {"post_norm", false},
                 {"proj_type", nullptr},
                 {"pt_hw_seq_len", grid},
                 {"qkv_bias", true},
                 {"rope_embeddings", true},
                 {"subln", true},
                 {"width", s.width},
                 {"x_attention", false}};
  json text = {{"embed_dim", s.hidden},
               {"hf_model_config_kwargs",
                {{"use_flash_attn", false},
                 {"vocab_size", s.vocab},
                 {"hidden_size", s.hidden},
                 {"num_hidden_layers", s.text_layers},
                 {"num_attention_heads", s.heads},
                 {"intermediate_size", s.intermediate},
                 {"type_vocab_size", 2},
                 {"layer_norm_eps", 1e-12},
                 {"pad_token_id", 0},
                 {"hidden_act", "gelu"},
                 {"mlp_type", "glu"},
                 {"max_position_embeddings", 8192}}},
               {"hf_model_name_or_path", "jinaai/jina-bert-flash-implementation"},
               {"model_type", "jina_clip_text"},
               {"pooler_type", "mean_pooler"},
               {"proj_bias", false},
               {"proj_type", nullptr}};
  const json config = {{"add_projections", false},         {"architectures", {"JinaCLIPModel"}},
                       {"logit_scale_init_value", 2.6592}, {"model_type", "jina_clip"},
                       {"projection_dim", s.width},        {"text_config", text},
                       {"torch_dtype", "float32"},         {"vision_config", vision}};
  const json preprocessor = {{"fill_color", 0},
                             {"image_processor_type", "JinaCLIPImageProcessor"},
                             {"interpolation", "bicubic"},
                             {"mean", nullptr},
                             {"processor_class", "JinaCLIPProcessor"},
                             {"resize_mode", "shortest"},
                             {"size", s.image_size},
                             {"std", nullptr}};
  // The shapes follow the parsed config, so the writer and the loader agree by construction.
  const JinaClipConfig c = parse_jina_clip_config(json::parse(config.dump()), "make-model");
  const int d = c.vision.width, mlp = c.vision.mlp_hidden, h = c.text.hidden_size,
            inter = c.text.intermediate_size;

  ThreadPool pool(0);
  TensorSet t(seed, pool);
  const auto name = [](const char* role, int i = -1) { return jina_tensor_name(role, i); };
  t.add(name("logit_scale"), {}, std::log(100.0), 0.0);
  t.add(name("v.cls"), {1, 1, d}, 0.0, 0.02);
  t.add(name("v.pos"), {1, c.vision.tokens(), d}, 0.0, 0.02);
  t.add(name("v.patch.w"), {d, 3, s.patch_size, s.patch_size}, 0.0,
        1.0 / std::sqrt(3.0 * s.patch_size * s.patch_size));
  t.add(name("v.patch.b"), {d}, 0.0, 0.02);
  for (int i = 0; i < c.vision.layers; ++i) {
    const auto norm = [&](const char* w, const char* b, int width) {
      t.add(name(w, i), {width}, 1.0, 0.05);
      t.add(name(b, i), {width}, 0.0, 0.05);
    };
    const auto linear = [&](const char* w, const char* b, int out, int in) {
      t.add(name(w, i), {out, in}, 0.0, 1.0 / std::sqrt(static_cast<double>(in)));
      if (b) t.add(name(b, i), {out}, 0.0, 0.02);
    };
    norm("v.norm1.w", "v.norm1.b", d);
    linear("v.q.w", nullptr, d, d);
    linear("v.k.w", nullptr, d, d);
    linear("v.v.w", nullptr, d, d);
    t.add(name("v.q.b", i), {d}, 0.0, 0.02);
    t.add(name("v.v.b", i), {d}, 0.0, 0.02);
    norm("v.attn_ln.w", "v.attn_ln.b", d);
    linear("v.proj.w", "v.proj.b", d, d);
    norm("v.norm2.w", "v.norm2.b", d);
    linear("v.w1.w", "v.w1.b", mlp, d);
    linear("v.w2.w", "v.w2.b", mlp, d);
    norm("v.ffn_ln.w", "v.ffn_ln.b", mlp);
    linear("v.w3.w", "v.w3.b", d, mlp);
  }
  t.add(name("v.norm.w"), {d}, 1.0, 0.05);
  t.add(name("v.norm.b"), {d}, 0.0, 0.05);
  t.add(name("t.word"), {c.text.vocab_size, h}, 0.0, 0.02);
  t.add(name("t.type"), {c.text.type_vocab_size, h}, 0.0, 0.02);
  t.add(name("t.emb_ln.w"), {h}, 1.0, 0.05);
  t.add(name("t.emb_ln.b"), {h}, 0.0, 0.05);
  for (int i = 0; i < c.text.num_hidden_layers; ++i) {
    t.add(name("t.qkv.w", i), {3 * h, h}, 0.0, 1.0 / std::sqrt(static_cast<double>(h)));
    t.add(name("t.qkv.b", i), {3 * h}, 0.0, 0.02);
    t.add(name("t.out.w", i), {h, h}, 0.0, 1.0 / std::sqrt(static_cast<double>(h)));
    t.add(name("t.out.b", i), {h}, 0.0, 0.02);
    t.add(name("t.norm1.w", i), {h}, 1.0, 0.05);
    t.add(name("t.norm1.b", i), {h}, 0.0, 0.05);
    t.add(name("t.gated.w", i), {2 * inter, h}, 0.0, 1.0 / std::sqrt(static_cast<double>(h)));
    t.add(name("t.wo.w", i), {h, inter}, 0.0, 1.0 / std::sqrt(static_cast<double>(inter)));
    t.add(name("t.wo.b", i), {h}, 0.0, 0.02);
    t.add(name("t.norm2.w", i), {h}, 1.0, 0.05);
    t.add(name("t.norm2.b", i), {h}, 0.0, 0.05);
  }

  std::filesystem::create_directories(out);
  write_safetensors(out / "model.safetensors", t.tensors(), {{"format", "pt"}});
  write_file_atomic(out / "config.json", config.dump(2) + "\n");
  write_file_atomic(out / "preprocessor_config.json", preprocessor.dump(2) + "\n");
  for (const std::string& file : tokenizer_files) {
    write_file_atomic(out / file, read_file(tokenizer_dir / file));
  }
}

}  // namespace vlbench
