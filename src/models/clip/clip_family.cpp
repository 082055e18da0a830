// The CLIP family behind the EmbeddingModel interface: Hugging Face CLIPModel checkpoints
// (OpenAI CLIP, LAION, MetaCLIP, DFN5B) with the CLIP BPE tokenizer and CLIPImageProcessor, and
// open_clip checkpoints with open_clip's tokenizer conventions and image transform.
#include <fmt/format.h>

#include <algorithm>
#include <mutex>
#include <optional>

#include "models/clip/open_clip.hpp"
#include "models/family.hpp"
#include "models/model_io.hpp"
#include "vlbench/core/error.hpp"
#include "vlbench/models/clip.hpp"
#include "vlbench/models/random_clip.hpp"
#include "vlbench/text/clip_tokenizer.hpp"

namespace vlbench {
namespace {

class ClipEmbedding final : public EmbeddingModel {
 public:
  ClipEmbedding(const CheckpointInfo& info, const ModelLoadOptions& options)
      : config_(read_clip_config(info.dir)),
        dir_(info.dir),
        name_(checkpoint_name(info)),
        padding_(options.text_padding) {
    if (options.weights) model_.emplace(ClipModel::load(info.dir, to_clip_options(options)));
  }

  bool open_clip() const { return config_.layout == ClipLayout::open_clip; }

  std::string family() const override { return "clip"; }
  std::string name() const override { return name_; }
  std::string description() const override {
    const ClipConfig& c = config_;
    return fmt::format(
        "{}CLIP ViT {}/{} (vision width {}, {} layers, {}; text width {}, {} layers, {}), "
        "projection {}",
        open_clip() ? "open_clip " : "", c.image_size, c.patch_size, c.vision.hidden_size, c.vision.num_hidden_layers,
        c.vision.hidden_act, c.text.hidden_size, c.text.num_hidden_layers, c.text.hidden_act,
        c.projection_dim);
  }

  const PreprocessConfig& preprocess_config() const override {
    std::call_once(preprocess_once_, [&] {
      preprocess_ = open_clip() ? read_open_clip_preprocess_config(dir_, image_size())
                                : read_square_preprocess_config(dir_, image_size());
    });
    return *preprocess_;
  }
  int image_size() const override { return config_.image_size; }

  std::vector<std::vector<std::int32_t>> tokenize(
      const std::vector<std::string>& texts) const override {
    std::call_once(tokenizer_once_, [&] {
      tokenizer_.emplace(open_clip() ? ClipTokenizer::from_directory(open_clip_tokenizer_dir(),
                                                                     ClipTokenizer::Specials::open_clip)
                                     : ClipTokenizer::from_directory(dir_));
    });
    const int context = config_.max_position_embeddings;
    std::vector<std::vector<std::int32_t>> ids(texts.size());
    std::size_t longest = 0;
    for (std::size_t i = 0; i < texts.size(); ++i) {
      try {
        ids[i] = tokenizer_->encode(texts[i], context);
      } catch (const Error& e) {
        fail("caption {}: {}", i, e.what());
      }
      longest = std::max(longest, ids[i].size());
    }
    if (padding_ == TextPadding::longest) {
      // Padding with the pad token (CLIPTokenizer's is the end token, open_clip's 0): the causal
      // mask and pooling at the first end token make it a no-op for the embeddings, which the
      // diagnostic shows.
      const std::int32_t pad = open_clip() ? kOpenClipPadId : tokenizer_->eos_id();
      for (auto& caption : ids) caption.resize(longest, pad);
    }
    return ids;
  }
  std::string text_rules() const override {
    return fmt::format("{}CLIP byte-level BPE, at most {} ids, {}",
                       open_clip() ? "open_clip's " : "", config_.max_position_embeddings,
                       padding_ == TextPadding::model ? "true length (causal mask)"
                                                      : "padded to the longest of each batch");
  }

  void encode_images(const float* pixels, std::int64_t n, float* out) const override {
    engine().encode_images(pixels, n, out);
  }
  void encode_texts(const std::vector<std::vector<std::int32_t>>& ids, float* out) const override {
    engine().encode_texts(ids, out);
  }

  OutputKind output_kind() const override { return OutputKind::single_vector; }
  std::int64_t embed_dim() const override { return config_.projection_dim; }
  Similarity similarity() const override { return Similarity::cosine; }
  float logit_scale() const override { return engine().logit_scale(); }
  float logit_bias() const override { return 0.0f; }
  std::int64_t parameter_count() const override { return engine().parameter_count(); }

  // Patch embedding + the encoder over n_patches + 1 tokens + the projection of the CLS token.
  double image_flops() const override {
    const ClipConfig& c = config_;
    const double grid = c.image_size / c.patch_size;
    const double d = c.vision.hidden_size;
    const double patch = 2 * grid * grid * c.num_channels * c.patch_size * c.patch_size * d;
    return patch +
           c.vision.num_hidden_layers *
               encoder_layer_flops(d, c.vision.intermediate_size, grid * grid + 1) +
           2 * d * c.projection_dim;
  }
  // The encoder over the caption's ids + the projection of the pooled token.
  double text_flops(std::int64_t n_tokens) const override {
    const ClipConfig& c = config_;
    return text_tower_flops(c.text.num_hidden_layers, c.text.hidden_size, c.text.intermediate_size,
                            n_tokens, c.projection_dim);
  }

  std::string backend_name() const override { return engine().backend_name(); }
  std::string backend_description() const override { return engine().backend_description(); }

 private:
  static ClipLoadOptions to_clip_options(const ModelLoadOptions& options) {
    ClipLoadOptions clip;
    clip.backend = options.backend;
    clip.compute = options.compute;
    clip.threads = options.threads;
    return clip;
  }

  // open_clip brings its own CLIP BPE files; folders made by push_to_hf_hub carry copies.
  std::filesystem::path open_clip_tokenizer_dir() const {
    std::error_code ec;
    const bool own = (std::filesystem::exists(dir_ / "vocab.json", ec) &&
                      std::filesystem::exists(dir_ / "merges.txt", ec)) ||
                     std::filesystem::exists(dir_ / "tokenizer.json", ec);
    return own ? dir_ : std::filesystem::path(VLBENCH_DATA_DIR) / "tokenizers" / "clip";
  }

  const ClipModel& engine() const {
    if (!model_) fail("{}: loaded without its weights (tokenize and preprocess only)", name_);
    return *model_;
  }

  ClipConfig config_;
  std::optional<ClipModel> model_;
  std::filesystem::path dir_;
  std::string name_;
  TextPadding padding_;
  mutable std::once_flag preprocess_once_, tokenizer_once_;
  mutable std::optional<PreprocessConfig> preprocess_;
  mutable std::optional<ClipTokenizer> tokenizer_;
};

bool matches(const CheckpointInfo& info) {
  return info.model_type == "clip" || info.config_path.filename() == kOpenClipConfigName;
}

std::unique_ptr<EmbeddingModel> load(const CheckpointInfo& info, const ModelLoadOptions& options) {
  return std::make_unique<ClipEmbedding>(info, options);
}

std::vector<RandomModelArch> random_archs() {
  return {{"clip", random_clip_sizes()}};
}

void write_random(const std::filesystem::path& out, const std::string& /*arch*/,
                  const std::string& size, std::uint64_t seed,
                  const std::filesystem::path& tokenizer_dir) {
  write_random_clip(out, size, seed, tokenizer_dir);
}

}  // namespace

const ModelFamily& clip_family() {
  static const ModelFamily family{"clip",
                                  "config.json model_type 'clip' (CLIPModel), or an "
                                  "open_clip_config.json (open_clip's CLIP)",
                                  matches,      load,
                                  random_archs, write_random};
  return family;
}

}  // namespace vlbench
