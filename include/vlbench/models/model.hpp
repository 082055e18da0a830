// One interface for every embedding model family (CLIP, SigLIP, ...), and the registry that
// picks the family from a checkpoint's own files.
//
// The pipeline, the CLI, the server and the reports see only EmbeddingModel: how the model
// preprocesses an image (its preprocessor_config.json), how it tokenizes, encode_images /
// encode_texts, what its output is and which similarity it was trained for. Each family is one
// folder under src/models/<family>/ and one entry of the registry (src/models/registry.cpp).
#pragma once

#include <vlbench/kernels/backend.hpp>
#include <vlbench/vision/image.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace vlbench {

// One vector per image / caption, or several (one per token: late interaction, MaxSim).
enum class OutputKind { single_vector, multi_vector };

// What the model was trained to score with. Both rank by the cosine of the embeddings;
//   cosine:  logits = exp(logit_scale) · cos (softmax over the batch: CLIP)
//   sigmoid: logits = exp(logit_scale) · cos + logit_bias, probability = sigmoid(logits)
//            (SigLIP: an absolute match probability per pair)
enum class Similarity { cosine, sigmoid };

// How captions are padded before the text tower.
//   model: what the model was trained with (CLIP: true length; SigLIP: 64 tokens)
//   longest: every tokenize() call pads to its longest caption, as `padding=True` does. A
//            diagnostic that reproduces a common mistake; for SigLIP it changes the embeddings.
enum class TextPadding { model, longest };

std::string similarity_name(Similarity similarity);       // "cosine" | "sigmoid"
std::string text_padding_name(TextPadding padding);       // "model" | "longest"
TextPadding parse_text_padding(const std::string& name);  // Error listing the names

struct ModelLoadOptions {
  std::string backend = "cpu";  // a name from backend_names() (kernels/backend.hpp)
  ComputeType compute = ComputeType::fp32;
  int threads = 0;  // the CPU backend's threads (<= 0: all cores)
  TextPadding text_padding = TextPadding::model;
  // The base checkpoint of a PEFT LoRA adapter folder (--base). Empty: the adapter config's
  // base_model_name_or_path, looked for as a path and as a folder next to the adapter.
  std::filesystem::path base;
  // Captions are truncated to this many tokens, special tokens included (0: the model's own
  // rule). Only a model whose text length is not fixed by its weights accepts another value
  // (see EmbeddingModel::max_text_tokens); load_model refuses it for the others.
  int max_text_tokens = 0;
  // false: config.json, tokenizer and preprocessor only, for tokenize and preprocess_config
  // without reading the weights; encode_*, parameter_count, logit_* and backend_* are then
  // Errors saying so.
  bool weights = true;
};

class EmbeddingModel {
 public:
  virtual ~EmbeddingModel() = default;

  // The registry name of the family ("clip", "siglip") and the model's own name (config.json
  // "_name_or_path" when set, else the checkpoint folder's name; "ORG/NAME" for a snapshot of
  // the Hugging Face cache).
  virtual std::string family() const = 0;
  virtual std::string name() const = 0;
  // A one-line account of the architecture for people ("SigLIP ViT 384/14, width 1152, ...").
  virtual std::string description() const = 0;

  // Image side: pixels for encode_images are
  // preprocess(decode_image_native(file), preprocess_config())
  // and must be 3 × image_size() × image_size(). The config comes from the checkpoint's
  // preprocessor_config.json, read on first use (an Error naming the file when missing).
  virtual const PreprocessConfig& preprocess_config() const = 0;
  virtual int image_size() const = 0;

  // Token ids of captions, ready for encode_texts, with the model's tokenizer and text rules
  // and the padding of load options' text_padding applied across `texts`. The tokenizer files
  // are read on first use. Invalid UTF-8 is an Error naming the caption's index.
  // Safe to call from several threads at once.
  virtual std::vector<std::vector<std::int32_t>> tokenize(
      const std::vector<std::string>& texts) const = 0;
  // The tokenizer's description, for results documents ("CLIP BPE, true length").
  virtual std::string text_rules() const = 0;
  // The caption length in tokens that tokenize() truncates to, when the load options can set
  // it (ModelLoadOptions::max_text_tokens); 0 when the model fixes it (CLIP's 77 positions).
  virtual std::int64_t max_text_tokens() const { return 0; }

  // pixels: n × 3 × image_size × image_size float32. out: n × image_vectors() × embed_dim.
  // Single-vector models: unnormalized; multi-vector: L2-normalized per token.
  virtual void encode_images(const float* pixels, std::int64_t n, float* out) const = 0;
  // ids: captions from tokenize(). out: Σ text_vectors(ids[i]) rows of embed_dim, caption after
  // caption (ids.size() rows for single-vector models, unnormalized; multi-vector models:
  // L2-normalized per token). Ids of another form (out of the vocabulary, too long) are Errors
  // naming the caption.
  virtual void encode_texts(const std::vector<std::vector<std::int32_t>>& ids,
                            float* out) const = 0;
  // Vectors per image and per caption of `ids`: 1 for single-vector models; for late
  // interaction (ColPali) one per token the model scores.
  virtual std::int64_t image_vectors() const { return 1; }
  virtual std::int64_t text_vectors(const std::vector<std::int32_t>& ids) const {
    (void)ids;
    return 1;
  }

  virtual OutputKind output_kind() const = 0;
  virtual std::int64_t embed_dim() const = 0;
  virtual Similarity similarity() const = 0;
  virtual float logit_scale() const = 0;  // as stored: logits use exp(logit_scale)
  virtual float logit_bias() const = 0;   // 0 for cosine models
  virtual std::int64_t parameter_count() const = 0;
  // Forward FLOPs (multiply-adds count 2) of one image, and of one caption of n_tokens ids
  // as encode_texts runs it: for speed figures in GFLOP/s.
  virtual double image_flops() const = 0;
  virtual double text_flops(std::int64_t n_tokens) const = 0;

  // The backend's name and its description of the device ("cpu", "AMD EPYC ... (2 threads)").
  virtual std::string backend_name() const = 0;
  virtual std::string backend_description() const = 0;
  // encode_* share the backend: call them from one thread at a time.
};

// The registry. Families, in the order they are tried.
std::vector<std::string> model_family_names();

// The family of the checkpoint in `dir`, from what it declares (config.json "model_type", an
// open_clip_config.json, or the files present). No config, an unknown model_type or a variant
// not supported is an Error naming the file, what it says and the supported families.
std::string detect_model_family(const std::filesystem::path& dir,
                                const std::filesystem::path& base = {});

// Loads the checkpoint in `dir` with its family's engine. `dir` may also be a PEFT LoRA adapter
// folder (adapter_config.json, adapter_model.safetensors): its base is options.base, else its
// base_model_name_or_path as a path or as a folder of that name next to the adapter (an Error
// listing what was searched), and the family is the base's.
std::unique_ptr<EmbeddingModel> load_model(const std::filesystem::path& dir,
                                           const ModelLoadOptions& options = {});

// Random-weight checkpoints at real sizes in the exact published layout (make-model): for
// tests and for speed, which does not depend on weight values.
struct RandomModelArch {
  std::string arch;                // "clip", "siglip", "siglip2"
  std::vector<std::string> sizes;  // "tiny", ...
};
std::vector<RandomModelArch> random_model_archs();
// Writes the checkpoint to `out`. Tokenizer files are copied from `tokenizer_dir` (empty:
// <data_dir>/tokenizers/<arch>, data_dir being the repository's data/ folder built in).
// The same (arch, size, seed) gives the same bytes on every machine. An unknown arch or size
// is an Error listing the known ones.
void write_random_model(const std::filesystem::path& out, const std::string& arch,
                        const std::string& size, std::uint64_t seed,
                        const std::filesystem::path& tokenizer_dir = {});

}  // namespace vlbench
