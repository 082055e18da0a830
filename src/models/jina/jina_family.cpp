// The Jina-CLIP family behind the EmbeddingModel interface: jina-clip-v1 checkpoints
// (model_type "jina_clip"), run natively from the files its Python code reads through
// trust_remote_code: model.safetensors, config.json, tokenizer.json (BERT WordPiece) and
// preprocessor_config.json (JinaCLIPImageProcessor).
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>

#include "models/family.hpp"
#include "models/jina/jina_towers.hpp"
#include "models/jina/random_jina.hpp"
#include "vlbench/core/error.hpp"
#include "vlbench/text/hf_tokenizer.hpp"

namespace vlbench {
namespace {

namespace fs = std::filesystem;

// Rows (tokens) per tower pass, as the other families.
constexpr std::int64_t kMaxRowsPerPass = 4096;

// encode_text's truncation (max_length=512), which --max-text-tokens replaces.
constexpr int kDefaultMaxTokens = 512;

// The weights and both towers.
struct JinaEngine {
  std::unique_ptr<Backend> backend;
  JinaVisionTower vision;
  JinaTextTower text;
  float logit_scale = 0.0f;
  std::int64_t parameter_count = 0;

  static JinaEngine load(const fs::path& dir, const JinaClipConfig& config,
                         const ModelLoadOptions& options) {
    JinaEngine e;
    e.backend = make_model_backend(dir, options.backend, options.compute, options.threads);
    WeightLoader weights(dir);
    weights.expect_names(jina_tensor_names(config), "JinaCLIPModel (jina-clip-v1)");
    e.vision = JinaVisionTower::load(weights, config.vision, *e.backend, options.compute);
    e.text = JinaTextTower::load(weights, config.text, *e.backend, options.compute);
    e.logit_scale = weights.load(jina_tensor_name("logit_scale"), {}).at(0);
    weights.expect_all_used("JinaCLIPModel (jina-clip-v1)");
    e.parameter_count = weights.parameter_count();
    return e;
  }
};

class JinaEmbedding final : public EmbeddingModel {
 public:
  JinaEmbedding(const CheckpointInfo& info, const JinaClipConfig& config,
                const ModelLoadOptions& options)
      : config_(config),
        dir_(info.dir),
        name_(checkpoint_name(info)),
        padding_(options.text_padding),
        max_tokens_(options.max_text_tokens > 0 ? options.max_text_tokens : kDefaultMaxTokens) {
    if (max_tokens_ < 3 || max_tokens_ > config_.text.max_position_embeddings) {
      fail(
          "{}: --max-text-tokens {} is outside [3, {}] ([CLS] + a token + [SEP] up to the "
          "model's max_position_embeddings)",
          dir_.string(), max_tokens_, config_.text.max_position_embeddings);
    }
    if (options.weights) engine_.emplace(JinaEngine::load(info.dir, config, options));
  }

  std::string family() const override { return "jina-clip"; }
  std::string name() const override { return name_; }
  std::string description() const override {
    const JinaVisionConfig& v = config_.vision;
    const JinaTextConfig& t = config_.text;
    return fmt::format(
        "Jina-CLIP v1: EVA02 ViT {}/{} (width {}, {} layers, 2-D RoPE, SwiGLU {}, CLS) + "
        "JinaBERT (width {}, {} layers, ALiBi, GEGLU {}, mean pooling)",
        v.image_size, v.patch_size, v.width, v.layers, v.mlp_hidden, t.hidden_size,
        t.num_hidden_layers, t.intermediate_size);
  }

  const PreprocessConfig& preprocess_config() const override {
    std::call_once(preprocess_once_,
                   [&] { preprocess_ = read_square_preprocess_config(dir_, image_size()); });
    return *preprocess_;
  }
  int image_size() const override { return config_.vision.image_size; }

  std::vector<std::vector<std::int32_t>> tokenize(
      const std::vector<std::string>& texts) const override {
    const HfTokenizer& tokenizer = this->tokenizer();
    std::vector<std::vector<std::int32_t>> ids(texts.size());
    std::size_t longest = 0;
    for (std::size_t i = 0; i < texts.size(); ++i) {
      try {
        ids[i] = tokenizer.encode(texts[i], max_tokens_);
      } catch (const Error& e) {
        fail("caption {}: {}", i, e.what());
      }
      longest = std::max(longest, ids[i].size());
    }
    // The model masks pad ids itself, so padding changes nothing; `longest` pads as
    // encode_text's padding=True does.
    if (padding_ == TextPadding::longest) {
      for (auto& caption : ids) caption.resize(longest, config_.text.pad_token_id);
    }
    return ids;
  }
  std::string text_rules() const override {
    return fmt::format(
        "BERT WordPiece (tokenizer.json), [CLS] ... [SEP], truncated at {} tokens, {}", max_tokens_,
        padding_ == TextPadding::model ? "true length (pad ids are masked by the model)"
                                       : fmt::format("padded to the longest of each batch with id "
                                                     "{} (masked by the model)",
                                                     config_.text.pad_token_id));
  }
  std::int64_t max_text_tokens() const override { return max_tokens_; }

  void encode_images(const float* pixels, std::int64_t n, float* out) const override {
    VLB_ASSERT(n >= 0);
    if (n == 0) return;
    VLB_ASSERT(pixels != nullptr && out != nullptr);
    const JinaEngine& e = engine();
    const JinaVisionConfig& v = config_.vision;
    const std::int64_t chunk = std::max<std::int64_t>(1, kMaxRowsPerPass / v.tokens());
    const std::int64_t image_values = 3 * std::int64_t{v.image_size} * v.image_size;
    JinaWorkspace ws;
    for (std::int64_t begin = 0; begin < n; begin += chunk) {
      const std::int64_t count = std::min(chunk, n - begin);
      e.vision.run(*e.backend, pixels + begin * image_values, count, out + begin * v.width, ws);
    }
  }

  void encode_texts(const std::vector<std::vector<std::int32_t>>& ids, float* out) const override {
    const JinaTextConfig& t = config_.text;
    check_caption_ids(ids, t.max_position_embeddings, t.vocab_size);
    for (std::size_t c = 0; c < ids.size(); ++c) {
      if (std::all_of(ids[c].begin(), ids[c].end(),
                      [&](std::int32_t id) { return id == t.pad_token_id; })) {
        fail("caption {}: every id is the pad id {} (the model masks them all)", c, t.pad_token_id);
      }
    }
    if (ids.empty()) return;
    VLB_ASSERT(out != nullptr);
    const JinaEngine& e = engine();
    std::map<std::size_t, std::vector<std::size_t>> by_length;  // equal lengths run together
    for (std::size_t c = 0; c < ids.size(); ++c) by_length[ids[c].size()].push_back(c);
    JinaWorkspace ws;
    std::vector<float> rows;
    for (const auto& [length, captions] : by_length) {
      const auto seq_len = static_cast<std::int64_t>(length);
      const auto chunk =
          static_cast<std::size_t>(std::max<std::int64_t>(1, kMaxRowsPerPass / seq_len));
      for (std::size_t begin = 0; begin < captions.size(); begin += chunk) {
        const std::vector<std::size_t> members(
            captions.begin() + static_cast<std::ptrdiff_t>(begin),
            captions.begin() +
                static_cast<std::ptrdiff_t>(std::min(captions.size(), begin + chunk)));
        rows.resize(members.size() * static_cast<std::size_t>(t.hidden_size));
        e.text.run(*e.backend, ids, members, seq_len, rows.data(), ws);
        scatter_rows(rows.data(), members, t.hidden_size, out);
      }
    }
  }

  OutputKind output_kind() const override { return OutputKind::single_vector; }
  std::int64_t embed_dim() const override { return config_.vision.width; }
  Similarity similarity() const override { return Similarity::cosine; }
  float logit_scale() const override { return engine().logit_scale; }
  float logit_bias() const override { return 0.0f; }
  std::int64_t parameter_count() const override { return engine().parameter_count; }
  double image_flops() const override { return engine().vision.flops(); }
  double text_flops(std::int64_t n_tokens) const override { return engine().text.flops(n_tokens); }
  std::string backend_name() const override { return engine().backend->name(); }
  std::string backend_description() const override { return engine().backend->description(); }

 private:
  const HfTokenizer& tokenizer() const {
    std::call_once(tokenizer_once_, [&] {
      const fs::path file = dir_ / "tokenizer.json";
      if (!fs::exists(file)) {
        fail("{}: missing (jina-clip reads its BERT WordPiece tokenizer from tokenizer.json)",
             file.string());
      }
      tokenizer_.emplace(HfTokenizer::from_file(file));
      if (tokenizer_->vocab_size() > config_.text.vocab_size) {
        fail("{}: the tokenizer has {} ids, more than the model's vocab_size {}", file.string(),
             tokenizer_->vocab_size(), config_.text.vocab_size);
      }
    });
    return *tokenizer_;
  }

  const JinaEngine& engine() const {
    if (!engine_) fail("{}: loaded without its weights (tokenize and preprocess only)", name_);
    return *engine_;
  }

  JinaClipConfig config_;
  std::optional<JinaEngine> engine_;
  fs::path dir_;
  std::string name_;
  TextPadding padding_;
  int max_tokens_;
  mutable std::once_flag preprocess_once_, tokenizer_once_;
  mutable std::optional<PreprocessConfig> preprocess_;
  mutable std::optional<HfTokenizer> tokenizer_;
};

bool matches(const CheckpointInfo& info) {
  return info.model_type == "jina_clip";
}

std::unique_ptr<EmbeddingModel> load(const CheckpointInfo& info, const ModelLoadOptions& options) {
  const JinaClipConfig config = parse_jina_clip_config(info.config, info.config_path.string());
  return std::make_unique<JinaEmbedding>(info, config, options);
}

std::vector<RandomModelArch> random_archs() {
  return {{"jina-clip", random_jina_sizes()}};
}

}  // namespace

const ModelFamily& jina_family() {
  static const ModelFamily family{
      "jina-clip",  "config.json model_type 'jina_clip' (JinaCLIPModel: jina-clip-v1)",
      matches,      load,
      random_archs, write_random_jina};
  return family;
}

}  // namespace vlbench
