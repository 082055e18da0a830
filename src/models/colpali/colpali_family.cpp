// The ColPali family behind the EmbeddingModel interface: a PaliGemma base in the ColPali
// wrapper's layout (vidore/colpaligemma-3b-pt-448-base), alone or with its PEFT LoRA adapter
// (vidore/colpali-v1.3), as colpali-engine 0.3.x's ColPaliProcessor feeds it:
//   page:  <image> × image tokens, <bos>, "Describe the image.", "\n"; every token an output;
//   query: "<bos>Query: " + text + "<pad>" × 10 + "\n", no <bos> added, no truncation; every
//          token (the 10 attended <pad>s included) an output.
#include <fmt/format.h>

#include <mutex>
#include <optional>

#include "models/colpali/colpali_model.hpp"
#include "models/colpali/random_colpali.hpp"
#include "models/config_reader.hpp"
#include "models/family.hpp"
#include "models/lora.hpp"
#include "models/model_io.hpp"
#include "vlbench/core/error.hpp"
#include "vlbench/text/gemma_tokenizer.hpp"
#include "vlbench/text/hf_tokenizer.hpp"

namespace vlbench {
namespace {

namespace fs = std::filesystem;

// colpali-engine 0.3.x ColPaliProcessor.
constexpr const char* kPagePrompt = "<bos>Describe the image.\n";
constexpr const char* kQueryPrefix = "<bos>Query: ";
constexpr const char* kQueryAugmentation = "<pad>";
constexpr int kQueryAugmentations = 10;

// The folder the tokenizer and processor files come from: the adapter's (the published adapter
// repositories carry their own), else the base's.
fs::path processor_dir(const CheckpointInfo& info) {
  if (!info.adapter_dir.empty() && (fs::exists(info.adapter_dir / "tokenizer.model") ||
                                    fs::exists(info.adapter_dir / "tokenizer.json"))) {
    return info.adapter_dir;
  }
  return info.dir;
}

class ColPaliEmbedding final : public EmbeddingModel {
 public:
  ColPaliEmbedding(const CheckpointInfo& info, const ColPaliConfig& config,
                   const ModelLoadOptions& options)
      : config_(config),
        dir_(info.dir),
        processor_dir_(processor_dir(info)),
        adapter_dir_(info.adapter_dir),
        name_(checkpoint_name(info)) {
    if (options.weights) {
      std::optional<LoraAdapter> adapter;
      if (!info.adapter_dir.empty()) {
        adapter.emplace(LoraAdapter::load(info.adapter_dir, info.adapter_config, options.threads));
        adapter_parameters_ = adapter->parameter_count();
      }
      model_.emplace(
          ColPaliModel::load(info.dir, config, adapter ? &*adapter : nullptr, options));
    }
  }

  std::string family() const override { return "colpali"; }
  std::string name() const override { return name_; }
  std::string description() const override {
    const ColPaliConfig& c = config_;
    return fmt::format(
        "ColPali (PaliGemma: SigLIP {}/{} width {}, {} layers; Gemma width {}, {} layers, {} "
        "heads / {} KV, head_dim {}){}, multi-vector",
        c.geometry.image_size, c.geometry.patch_size, c.vision.hidden_size,
        c.vision.num_hidden_layers, c.text.hidden_size, c.text.num_hidden_layers,
        c.text.num_attention_heads, c.text.num_key_value_heads, c.text.head_dim,
        adapter_dir_.empty() ? ", base without adapter" : ", LoRA merged");
  }

  const PreprocessConfig& preprocess_config() const override {
    std::call_once(preprocess_once_, [&] {
      preprocess_ = read_square_preprocess_config(processor_dir_, image_size());
    });
    return *preprocess_;
  }
  int image_size() const override { return config_.geometry.image_size; }

  std::vector<std::vector<std::int32_t>> tokenize(
      const std::vector<std::string>& texts) const override {
    std::vector<std::vector<std::int32_t>> ids(texts.size());
    std::string augmentation;
    for (int i = 0; i < kQueryAugmentations; ++i) augmentation += kQueryAugmentation;
    for (std::size_t i = 0; i < texts.size(); ++i) {
      try {
        ids[i] = encode(kQueryPrefix + texts[i] + augmentation + "\n");
      } catch (const Error& e) {
        fail("caption {}: {}", i, e.what());
      }
    }
    return ids;
  }
  std::string text_rules() const override {
    load_tokenizer();
    return fmt::format(
        "Gemma {} ({}), ColPali query \"{}<text>{}×{}\\n\", no <bos> added, no truncation, "
        "every token scored",
        sentencepiece_ ? "SentencePiece" : "tokenizer.json",
        (processor_dir_ / (sentencepiece_ ? "tokenizer.model" : "tokenizer.json")).string(),
        kQueryPrefix, kQueryAugmentation, kQueryAugmentations);
  }

  void encode_images(const float* pixels, std::int64_t n, float* out) const override {
    if (n <= 0) return;
    const std::vector<std::vector<std::int32_t>> ids(static_cast<std::size_t>(n), page_ids());
    engine().encode(ids, pixels, out);
  }
  void encode_texts(const std::vector<std::vector<std::int32_t>>& ids, float* out) const override {
    engine().encode(ids, nullptr, out);
  }
  std::int64_t image_vectors() const override {
    return static_cast<std::int64_t>(page_ids().size());
  }
  std::int64_t text_vectors(const std::vector<std::int32_t>& ids) const override {
    return static_cast<std::int64_t>(ids.size());
  }

  OutputKind output_kind() const override { return OutputKind::multi_vector; }
  std::int64_t embed_dim() const override { return engine().embed_dim(); }
  Similarity similarity() const override { return Similarity::cosine; }
  float logit_scale() const override { return 0.0f; }
  float logit_bias() const override { return 0.0f; }
  std::int64_t parameter_count() const override {
    return engine().parameter_count() + adapter_parameters_;
  }
  double image_flops() const override {
    return engine().flops(static_cast<std::int64_t>(page_ids().size()), /*image=*/true);
  }
  double text_flops(std::int64_t n_tokens) const override {
    return engine().flops(n_tokens, /*image=*/false);
  }
  std::string backend_name() const override { return engine().backend_name(); }
  std::string backend_description() const override { return engine().backend_description(); }

 private:
  // The processor's ids of `text` (no special ids added: the processor sets add_bos_token off).
  std::vector<std::int32_t> encode(const std::string& text) const {
    load_tokenizer();
    std::vector<std::int32_t> ids =
        sentencepiece_ ? sentencepiece_->encode(text, 0, /*add_special_tokens=*/false)
                       : json_->encode(text, 0, /*add_special_tokens=*/false);
    for (const std::int32_t id : ids) {
      if (id < 0 || id >= config_.text.vocab_size) {
        fail("{}: token id {} is outside the model's vocabulary [0, {})", processor_dir_.string(),
             id, config_.text.vocab_size);
      }
    }
    return ids;
  }

  const std::vector<std::int32_t>& page_ids() const {
    std::call_once(page_once_, [&] {
      page_ids_.assign(static_cast<std::size_t>(config_.image_tokens()),
                       config_.image_token_index);
      const std::vector<std::int32_t> prompt = encode(kPagePrompt);
      page_ids_.insert(page_ids_.end(), prompt.begin(), prompt.end());
    });
    return page_ids_;
  }

  // tokenizer.model through libsentencepiece when present (the published files have both),
  // else tokenizer.json: the same ids.
  void load_tokenizer() const {
    std::call_once(tokenizer_once_, [&] {
      if (fs::exists(processor_dir_ / "tokenizer.model")) {
        sentencepiece_.emplace(GemmaTokenizer::from_directory(processor_dir_));
      } else if (fs::exists(processor_dir_ / "tokenizer.json")) {
        json_.emplace(HfTokenizer::from_file(processor_dir_ / "tokenizer.json"));
      } else {
        fail("{}: no tokenizer (expected Gemma's tokenizer.model or tokenizer.json)",
             processor_dir_.string());
      }
    });
  }

  const ColPaliModel& engine() const {
    if (!model_) fail("{}: loaded without its weights (tokenize and preprocess only)", name_);
    return *model_;
  }

  ColPaliConfig config_;
  std::optional<ColPaliModel> model_;
  fs::path dir_, processor_dir_, adapter_dir_;
  std::string name_;
  std::int64_t adapter_parameters_ = 0;
  mutable std::once_flag preprocess_once_, tokenizer_once_, page_once_;
  mutable std::optional<PreprocessConfig> preprocess_;
  mutable std::optional<GemmaTokenizer> sentencepiece_;
  mutable std::optional<HfTokenizer> json_;
  mutable std::vector<std::int32_t> page_ids_;
};

bool matches(const CheckpointInfo& info) {
  if (info.model_type != "paligemma") return false;
  const auto architectures = info.config.find("architectures");
  bool colpali = false;
  if (architectures != info.config.end() && architectures->is_array()) {
    for (const auto& a : *architectures) colpali = colpali || (a.is_string() && a == "ColPali");
  }
  if (!colpali) {
    fail(
        "{}: field 'architectures': a PaliGemma checkpoint that is not ColPali's base (expected "
        "\"ColPali\", as in vidore/colpaligemma-3b-pt-448-base); generative PaliGemma models "
        "are not embedding models",
        info.config_path.string());
  }
  return true;
}

std::unique_ptr<EmbeddingModel> load(const CheckpointInfo& info, const ModelLoadOptions& options) {
  const ColPaliConfig config = parse_colpali_config(info.config, info.config_path.string());
  return std::make_unique<ColPaliEmbedding>(info, config, options);
}

std::vector<RandomModelArch> random_archs() {
  return {{"colpali", random_colpali_sizes()}};
}

void write_random(const fs::path& out, const std::string& arch, const std::string& size,
                  std::uint64_t seed, const fs::path& tokenizer_dir) {
  VLB_ASSERT(arch == "colpali");
  write_random_colpali(out, size, seed, tokenizer_dir);
}

}  // namespace

const ModelFamily& colpali_family() {
  static const ModelFamily family{
      "colpali",
      "config.json model_type 'paligemma' with architectures [\"ColPali\"] (ColPali base), "
      "alone or under its PEFT LoRA adapter folder",
      matches,
      load,
      random_archs,
      write_random,
      /*loads_adapters=*/true};
  return family;
}

}  // namespace vlbench
