// The SigLIP family behind the EmbeddingModel interface: Hugging Face SiglipModel checkpoints,
// SigLIP (google/siglip-*: SentencePiece spiece.model, SiglipTokenizer's rules) and SigLIP 2
// at fixed resolution (google/siglip2-*: the same model, a Gemma tokenizer.json, lower-cased
// text), both padded to max_position_embeddings (64) as they were trained.
#include <fmt/format.h>

#include <algorithm>
#include <mutex>
#include <optional>

#include "models/config_reader.hpp"
#include "models/family.hpp"
#include "models/model_io.hpp"
#include "models/siglip/random_siglip.hpp"
#include "models/siglip/siglip_model.hpp"
#include "vlbench/core/error.hpp"
#include "vlbench/text/gemma_tokenizer.hpp"
#include "vlbench/text/hf_tokenizer.hpp"
#include "vlbench/text/siglip_tokenizer.hpp"
#include "vlbench/text/text_utils.hpp"

namespace vlbench {
namespace {

namespace fs = std::filesystem;

// Which tokenizer a SigLIP checkpoint ships, from tokenizer_config.json's tokenizer_class, or
// from the files present when it names none. A Gemma tokenizer is read from tokenizer.json when
// present (what transformers' AutoTokenizer loads), else from tokenizer.model: the same ids.
enum class SiglipText { sentencepiece, gemma_json, gemma_sentencepiece };

struct TokenizerChoice {
  SiglipText kind = SiglipText::sentencepiece;
  std::string pad_token;  // SigLIP 2: tokenizer_config.json pad_token (default "<pad>")
};

TokenizerChoice choose_tokenizer(const fs::path& dir) {
  TokenizerChoice choice;
  std::string tokenizer_class;
  const fs::path config_path = dir / "tokenizer_config.json";
  ConfigReader::Json config = ConfigReader::Json::object();
  if (fs::exists(config_path)) {
    config = ConfigReader::read_object(config_path, "the tokenizer config");
    const ConfigReader reader{config_path.string()};
    tokenizer_class = reader.string(config, "tokenizer_class", "tokenizer_class", "");
  }
  if (tokenizer_class == "SiglipTokenizer") {
    choice.kind = SiglipText::sentencepiece;
  } else if (tokenizer_class == "GemmaTokenizer" || tokenizer_class == "GemmaTokenizerFast") {
    choice.kind = fs::exists(dir / "tokenizer.json") || !fs::exists(dir / "tokenizer.model")
                      ? SiglipText::gemma_json
                      : SiglipText::gemma_sentencepiece;
  } else if (!tokenizer_class.empty()) {
    fail(
        "{}: field 'tokenizer_class': '{}' is not a SigLIP tokenizer (expected SiglipTokenizer "
        "or GemmaTokenizer)",
        config_path.string(), tokenizer_class);
  } else if (fs::exists(dir / "spiece.model")) {
    choice.kind = SiglipText::sentencepiece;
  } else if (fs::exists(dir / "tokenizer.json")) {
    choice.kind = SiglipText::gemma_json;
  } else if (fs::exists(dir / "tokenizer.model")) {
    choice.kind = SiglipText::gemma_sentencepiece;
  } else {
    fail(
        "{}: no tokenizer (expected spiece.model for SigLIP, tokenizer.json or tokenizer.model "
        "for SigLIP 2)",
        dir.string());
  }
  if (choice.kind != SiglipText::sentencepiece) {
    choice.pad_token = "<pad>";
    const auto pad = config.find("pad_token");
    if (pad != config.end() && pad->is_string()) choice.pad_token = pad->get<std::string>();
    if (pad != config.end() && pad->is_object() && pad->contains("content") &&
        (*pad)["content"].is_string()) {
      choice.pad_token = (*pad)["content"].get<std::string>();
    }
  }
  return choice;
}

class SiglipEmbedding final : public EmbeddingModel {
 public:
  SiglipEmbedding(const CheckpointInfo& info, const SiglipConfig& config,
                  const ModelLoadOptions& options)
      : config_(config),
        dir_(info.dir),
        name_(checkpoint_name(info)),
        padding_(options.text_padding) {
    if (options.weights) {
      model_.emplace(SiglipModel::load(info.dir, config, options));
    }
  }

  std::string family() const override { return "siglip"; }
  std::string name() const override { return name_; }
  std::string description() const override {
    const SiglipConfig& c = config_;
    return fmt::format(
        "SigLIP ViT {}/{} (vision width {}, {} layers, MAP head; text width {}, {} layers, "
        "{} positions), {}",
        c.image_size, c.patch_size, c.vision.hidden_size, c.vision.num_hidden_layers,
        c.text.hidden_size, c.text.num_hidden_layers, c.max_position_embeddings,
        c.vision.hidden_act);
  }

  const PreprocessConfig& preprocess_config() const override {
    std::call_once(preprocess_once_,
                   [&] { preprocess_ = read_square_preprocess_config(dir_, image_size()); });
    return *preprocess_;
  }
  int image_size() const override { return config_.image_size; }

  std::vector<std::vector<std::int32_t>> tokenize(
      const std::vector<std::string>& texts) const override {
    load_tokenizer();
    const int context = config_.max_position_embeddings;
    std::vector<std::vector<std::int32_t>> ids(texts.size());
    std::size_t longest = 0;
    for (std::size_t i = 0; i < texts.size(); ++i) {
      try {
        if (sentencepiece_) {
          ids[i] = sentencepiece_->encode(texts[i], context);
        } else if (gemma_) {
          // SigLIP 2 was trained on lower-cased text, and its tokenizer does not lower-case.
          ids[i] = gemma_->encode(python_lower(texts[i]), context);
        } else {
          ids[i] = gemma_sentencepiece_->encode(python_lower(texts[i]), context);
        }
      } catch (const Error& e) {
        fail("caption {}: {}", i, e.what());
      }
      longest = std::max(longest, ids[i].size());
    }
    // Padded to max_position_embeddings with the pad id and no attention mask: the pooled
    // token is the last position, a pad token for short captions, as in training.
    const std::size_t length =
        padding_ == TextPadding::model ? static_cast<std::size_t>(context) : longest;
    for (auto& caption : ids) caption.resize(length, pad_id_);
    return ids;
  }
  std::string text_rules() const override {
    load_tokenizer();
    const int context = config_.max_position_embeddings;
    const std::string padding =
        padding_ == TextPadding::model
            ? fmt::format("padded to {} with id {}, no mask", context, pad_id_)
            : fmt::format("padded to the longest of each batch with id {} (diagnostic)", pad_id_);
    return sentencepiece_ ? fmt::format(
                                "SigLIP SentencePiece (spiece.model: punctuation "
                                "stripped, lower-cased), {}",
                                padding)
           : gemma_ ? fmt::format("Gemma tokenizer.json (lower-cased by vlbench), {}", padding)
                    : fmt::format("Gemma tokenizer.model (lower-cased by vlbench), {}", padding);
  }

  void encode_images(const float* pixels, std::int64_t n, float* out) const override {
    engine().encode_images(pixels, n, out);
  }
  void encode_texts(const std::vector<std::vector<std::int32_t>>& ids, float* out) const override {
    engine().encode_texts(ids, out);
  }

  OutputKind output_kind() const override { return OutputKind::single_vector; }
  std::int64_t embed_dim() const override { return config_.projection_size; }
  Similarity similarity() const override { return Similarity::sigmoid; }
  float logit_scale() const override { return engine().logit_scale(); }
  float logit_bias() const override { return engine().logit_bias(); }
  std::int64_t parameter_count() const override { return engine().parameter_count(); }

  // Patch embedding + encoder over the patches + the MAP head (keys and values of every
  // patch, the probe's attention, out_proj, MLP).
  double image_flops() const override {
    const SiglipConfig& c = config_;
    const double grid = c.image_size / c.patch_size;
    const double tokens = grid * grid;
    const double d = c.vision.hidden_size;
    const double inter = c.vision.intermediate_size;
    const double patch = 2 * tokens * c.num_channels * c.patch_size * c.patch_size * d;
    const double head = 2 * tokens * 2 * d * d + 4 * tokens * d + 2 * d * d + 4 * d * inter;
    return patch + c.vision.num_hidden_layers * encoder_layer_flops(d, inter, tokens) + head;
  }
  double text_flops(std::int64_t n_tokens) const override {
    const SiglipConfig& c = config_;
    return text_tower_flops(c.text.num_hidden_layers, c.text.hidden_size, c.text.intermediate_size,
                            n_tokens, c.projection_size);
  }

  std::string backend_name() const override { return engine().backend_name(); }
  std::string backend_description() const override { return engine().backend_description(); }

 private:
  void load_tokenizer() const {
    std::call_once(tokenizer_once_, [&] {
      const TokenizerChoice choice = choose_tokenizer(dir_);
      if (choice.kind == SiglipText::sentencepiece) {
        sentencepiece_.emplace(SiglipTokenizer::from_directory(dir_));
        pad_id_ = sentencepiece_->pad_id();
      } else {
        // A Gemma tokenizer: the pad token by name, from whichever file it was read.
        std::optional<std::int32_t> pad;
        fs::path file;
        if (choice.kind == SiglipText::gemma_json) {
          file = dir_ / "tokenizer.json";
          gemma_.emplace(HfTokenizer::from_file(file));
          pad = gemma_->token_to_id(choice.pad_token);
        } else {
          file = dir_ / "tokenizer.model";
          gemma_sentencepiece_.emplace(GemmaTokenizer::from_directory(dir_));
          pad = gemma_sentencepiece_->piece_to_id(choice.pad_token);
        }
        if (!pad) {
          fail("{}: pad token '{}' is not in the vocabulary", file.string(), choice.pad_token);
        }
        pad_id_ = *pad;
      }
      if (pad_id_ < 0 || pad_id_ >= config_.vocab_size) {
        fail("{}: the tokenizer's pad id {} is outside the model's vocabulary [0, {})",
             dir_.string(), pad_id_, config_.vocab_size);
      }
    });
  }

  const SiglipModel& engine() const {
    if (!model_) fail("{}: loaded without its weights (tokenize and preprocess only)", name_);
    return *model_;
  }

  SiglipConfig config_;
  std::optional<SiglipModel> model_;
  fs::path dir_;
  std::string name_;
  TextPadding padding_;
  mutable std::once_flag preprocess_once_, tokenizer_once_;
  mutable std::optional<PreprocessConfig> preprocess_;
  mutable std::optional<SiglipTokenizer> sentencepiece_;
  mutable std::optional<HfTokenizer> gemma_;
  mutable std::optional<GemmaTokenizer> gemma_sentencepiece_;
  mutable std::int32_t pad_id_ = 0;
};

bool matches(const CheckpointInfo& info) {
  if (info.model_type == "siglip2") {
    fail(
        "{}: field 'model_type': 'siglip2' is a SigLIP 2 NaFlex checkpoint (Siglip2Model, "
        "variable resolution), which vlbench does not run yet; the fixed-resolution SigLIP 2 "
        "checkpoints (model_type 'siglip', e.g. google/siglip2-so400m-patch14-384) are supported",
        info.config_path.string());
  }
  return info.model_type == "siglip";
}

std::unique_ptr<EmbeddingModel> load(const CheckpointInfo& info, const ModelLoadOptions& options) {
  const SiglipConfig config = parse_siglip_config(info.config, info.config_path.string());
  return std::make_unique<SiglipEmbedding>(info, config, options);
}

std::vector<RandomModelArch> random_archs() {
  return {{"siglip", random_siglip_sizes()}, {"siglip2", random_siglip_sizes()}};
}

}  // namespace

const ModelFamily& siglip_family() {
  static const ModelFamily family{
      "siglip",
      "config.json model_type 'siglip' (SiglipModel: SigLIP, SigLIP 2 fixed resolution)",
      matches,
      load,
      random_archs,
      write_random_siglip};
  return family;
}

}  // namespace vlbench
