// Hugging Face CLIPModel forward pass on the CPU, float32 or bf16 (the encoder Linear layers).
// See clip.hpp and MODELS.md §1.1.
#include <algorithm>
#include <map>
#include <set>

#include "models/encoder.hpp"
#include "vlbench/core/error.hpp"
#include "vlbench/core/thread_pool.hpp"
#include "vlbench/kernels/gemm.hpp"
#include "vlbench/kernels/ops.hpp"
#include "vlbench/models/checkpoint.hpp"
#include "vlbench/models/clip.hpp"

namespace vlbench {
namespace {

// Rows (tokens) per encoder pass: bounds the workspace (the MLP buffer is rows × intermediate
// floats, 48 MiB for ViT-B) while keeping the GEMMs large.
constexpr std::int64_t kMaxRowsPerPass = 4096;

bool is_position_ids(const std::string& name) {
  const std::string suffix = ".position_ids";
  return name.size() >= suffix.size() &&
         name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

struct ClipModel::Impl {
  ClipConfig config;
  std::unique_ptr<Gemm> gemm;
  std::unique_ptr<ThreadPool> pool;
  std::int64_t parameter_count = 0;

  // Text tower.
  EncoderWeights text_encoder;
  std::vector<float> token_embedding;                 // [vocab, d_text]
  std::vector<float> text_positions;                  // [max_positions, d_text]
  std::vector<float> final_ln_weight, final_ln_bias;  // [d_text]
  std::vector<float> text_projection;                 // [projection_dim, d_text]

  // Vision tower.
  EncoderWeights vision_encoder;
  std::vector<float> class_embedding;               // [d_vision]
  std::vector<float> patch_weight;                  // [d_vision, channels · patch · patch]
  std::vector<float> vision_positions;              // [n_patches + 1, d_vision]
  std::vector<float> pre_ln_weight, pre_ln_bias;    // [d_vision]
  std::vector<float> post_ln_weight, post_ln_bias;  // [d_vision]
  std::vector<float> visual_projection;             // [projection_dim, d_vision]

  float logit_scale = 0.0f;

  std::int64_t patches_per_side() const { return config.image_size / config.patch_size; }
  std::int64_t n_patches() const { return patches_per_side() * patches_per_side(); }
  std::int64_t patch_values() const {
    return std::int64_t{config.num_channels} * config.patch_size * config.patch_size;
  }

  void encode_image_chunk(const float* pixels, std::int64_t n, float* out,
                          EncoderWorkspace& workspace) const;
  void encode_text_group(const std::vector<std::vector<std::int32_t>>& ids,
                         const std::vector<std::size_t>& members, std::int64_t seq_len,
                         const std::vector<std::int64_t>& pool_positions, float* out,
                         EncoderWorkspace& workspace) const;
};

ClipModel::ClipModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ClipModel::ClipModel(ClipModel&&) noexcept = default;
ClipModel& ClipModel::operator=(ClipModel&&) noexcept = default;
ClipModel::~ClipModel() = default;

const ClipConfig& ClipModel::config() const {
  return impl_->config;
}
std::int64_t ClipModel::embed_dim() const {
  return impl_->config.projection_dim;
}
std::int64_t ClipModel::parameter_count() const {
  return impl_->parameter_count;
}
float ClipModel::logit_scale() const {
  return impl_->logit_scale;
}

ClipModel ClipModel::load(const std::filesystem::path& dir, const ClipLoadOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->config = read_clip_config(dir);
  const ClipConfig& config = impl->config;
  if (options.compute == ComputeType::bf16 && !bf16_linear_available()) {
    fail("{}: compute type bf16 needs oneDNN, and this build has none (supported: fp32)",
         dir.string());
  }
  const Checkpoint checkpoint = Checkpoint::open(dir);

  std::set<std::string> used;
  const LoadTensor load = [&](const std::string& name, const std::vector<std::int64_t>& shape) {
    std::vector<float> values = checkpoint.load_f32(name, shape);
    used.insert(name);
    impl->parameter_count += static_cast<std::int64_t>(values.size());
    return values;
  };

  const std::int64_t dt = config.text.hidden_size;
  const std::int64_t dv = config.vision.hidden_size;
  const std::int64_t proj = config.projection_dim;

  auto init_encoder = [](const ClipTowerConfig& tower, EncoderWeights& encoder) {
    encoder.d_model = tower.hidden_size;
    encoder.intermediate = tower.intermediate_size;
    encoder.n_heads = tower.num_attention_heads;
    encoder.layer_norm_eps = static_cast<float>(tower.layer_norm_eps);
    encoder.activation = parse_activation(tower.hidden_act);
  };

  init_encoder(config.text, impl->text_encoder);
  impl->token_embedding =
      load("text_model.embeddings.token_embedding.weight", {config.vocab_size, dt});
  impl->text_positions =
      load("text_model.embeddings.position_embedding.weight", {config.max_position_embeddings, dt});
  load_encoder_layers(load, "text_model.encoder.layers.", config.text.num_hidden_layers,
                      impl->text_encoder);
  impl->final_ln_weight = load("text_model.final_layer_norm.weight", {dt});
  impl->final_ln_bias = load("text_model.final_layer_norm.bias", {dt});
  impl->text_projection = load("text_projection.weight", {proj, dt});

  init_encoder(config.vision, impl->vision_encoder);
  impl->class_embedding = load("vision_model.embeddings.class_embedding", {dv});
  impl->patch_weight = load("vision_model.embeddings.patch_embedding.weight",
                            {dv, config.num_channels, config.patch_size, config.patch_size});
  impl->vision_positions =
      load("vision_model.embeddings.position_embedding.weight", {impl->n_patches() + 1, dv});
  impl->pre_ln_weight = load("vision_model.pre_layrnorm.weight", {dv});
  impl->pre_ln_bias = load("vision_model.pre_layrnorm.bias", {dv});
  load_encoder_layers(load, "vision_model.encoder.layers.", config.vision.num_hidden_layers,
                      impl->vision_encoder);
  impl->post_ln_weight = load("vision_model.post_layernorm.weight", {dv});
  impl->post_ln_bias = load("vision_model.post_layernorm.bias", {dv});
  impl->visual_projection = load("visual_projection.weight", {proj, dv});

  impl->logit_scale = load("logit_scale", {}).at(0);

  for (const TensorRef& tensor : checkpoint.tensors()) {
    if (used.count(tensor.name) == 0 && !is_position_ids(tensor.name)) {
      fail(
          "{}: unknown tensor '{}' in the checkpoint (not part of a CLIPModel with this "
          "config.json)",
          dir.string(), tensor.name);
    }
  }

  if (options.compute == ComputeType::bf16) {
    // bf16: the encoder blocks' Linear layers (nearly all the FLOPs). The patch embedding,
    // the projections and attention (q·kᵀ, softmax, ·v) stay float32.
    convert_encoder_to_bf16(impl->text_encoder, options.threads);
    convert_encoder_to_bf16(impl->vision_encoder, options.threads);
  }
  impl->gemm = make_gemm(default_gemm_backend());
  impl->gemm->set_threads(options.threads);
  impl->pool = std::make_unique<ThreadPool>(options.threads);
  return ClipModel(std::move(impl));
}

void ClipModel::Impl::encode_image_chunk(const float* pixels, std::int64_t n, float* out,
                                         EncoderWorkspace& workspace) const {
  const std::int64_t d = vision_encoder.d_model;
  const std::int64_t p = config.patch_size;
  const std::int64_t side = config.image_size;
  const std::int64_t grid = patches_per_side();
  const std::int64_t n_patch = n_patches();
  const std::int64_t tokens = n_patch + 1;
  const std::int64_t k = patch_values();
  ThreadPool* threads = pool.get();

  // im2col: patch rows in (channel, ky, kx) order, the conv weight's flattening.
  std::vector<float> patches(static_cast<std::size_t>(n * n_patch * k));  // [n·P, C·p·p]
  for (std::int64_t img = 0; img < n; ++img) {
    const float* image = pixels + img * config.num_channels * side * side;  // [C, H, W]
    for (std::int64_t gy = 0; gy < grid; ++gy) {
      for (std::int64_t gx = 0; gx < grid; ++gx) {
        float* row = patches.data() + ((img * n_patch) + gy * grid + gx) * k;
        for (std::int64_t c = 0; c < config.num_channels; ++c) {
          for (std::int64_t ky = 0; ky < p; ++ky) {
            const float* src = image + (c * side + gy * p + ky) * side + gx * p;
            std::copy_n(src, p, row + (c * p + ky) * p);
          }
        }
      }
    }
  }
  std::vector<float> patch_embeds(static_cast<std::size_t>(n * n_patch * d));  // [n·P, d]
  linear(*gemm, patches.data(), n * n_patch, k, patch_weight.data(), d, nullptr,
         patch_embeds.data(), threads);

  // [class | patches] + positions -> hidden [n·tokens, d]
  std::vector<float> hidden(static_cast<std::size_t>(n * tokens * d));
  for (std::int64_t img = 0; img < n; ++img) {
    float* seq = hidden.data() + img * tokens * d;
    for (std::int64_t i = 0; i < d; ++i) seq[i] = class_embedding[i] + vision_positions[i];
    for (std::int64_t t = 1; t < tokens; ++t) {
      const float* patch = patch_embeds.data() + (img * n_patch + t - 1) * d;
      const float* position = vision_positions.data() + t * d;
      float* dst = seq + t * d;
      for (std::int64_t i = 0; i < d; ++i) dst[i] = patch[i] + position[i];
    }
  }
  layer_norm(hidden.data(), n * tokens, d, pre_ln_weight.data(), pre_ln_bias.data(),
             vision_encoder.layer_norm_eps, hidden.data(), threads);  // pre_layrnorm

  run_encoder(vision_encoder, hidden.data(), n, tokens, /*causal=*/false, *gemm, threads,
              workspace);  // -> hidden [n·tokens, d]

  std::vector<float> pooled(static_cast<std::size_t>(n * d));  // CLS rows -> [n, d]
  for (std::int64_t img = 0; img < n; ++img) {
    std::copy_n(hidden.data() + img * tokens * d, d, pooled.data() + img * d);
  }
  layer_norm(pooled.data(), n, d, post_ln_weight.data(), post_ln_bias.data(),
             vision_encoder.layer_norm_eps, pooled.data(), threads);
  linear(*gemm, pooled.data(), n, d, visual_projection.data(), config.projection_dim, nullptr, out,
         threads);  // -> out [n, projection_dim]
}

void ClipModel::encode_images(const float* pixels, std::int64_t n, float* out) const {
  VLB_ASSERT(n >= 0);
  if (n == 0) return;
  VLB_ASSERT(pixels != nullptr && out != nullptr);
  const std::int64_t tokens = impl_->n_patches() + 1;
  const std::int64_t chunk = std::max<std::int64_t>(1, kMaxRowsPerPass / tokens);
  const std::int64_t image_values = std::int64_t{impl_->config.num_channels} *
                                    impl_->config.image_size * impl_->config.image_size;
  EncoderWorkspace workspace;
  for (std::int64_t begin = 0; begin < n; begin += chunk) {
    const std::int64_t count = std::min(chunk, n - begin);
    impl_->encode_image_chunk(pixels + begin * image_values, count,
                              out + begin * impl_->config.projection_dim, workspace);
  }
}

void ClipModel::Impl::encode_text_group(const std::vector<std::vector<std::int32_t>>& ids,
                                        const std::vector<std::size_t>& members,
                                        std::int64_t seq_len,
                                        const std::vector<std::int64_t>& pool_positions, float* out,
                                        EncoderWorkspace& workspace) const {
  const std::int64_t d = text_encoder.d_model;
  const std::int64_t n = static_cast<std::int64_t>(members.size());
  ThreadPool* threads = pool.get();

  // token + position embeddings -> hidden [n·seq_len, d]
  std::vector<float> hidden(static_cast<std::size_t>(n * seq_len * d));
  for (std::int64_t s = 0; s < n; ++s) {
    const std::vector<std::int32_t>& caption = ids[members[static_cast<std::size_t>(s)]];
    const auto length = static_cast<std::int64_t>(caption.size());
    for (std::int64_t t = 0; t < seq_len; ++t) {
      // Past its end a caption is padded with its last id: under the causal mask no position
      // at or before the pooled one sees the padding, so the pooled row is unchanged.
      const std::int32_t id = caption[static_cast<std::size_t>(std::min(t, length - 1))];
      const float* token = token_embedding.data() + std::int64_t{id} * d;
      const float* position = text_positions.data() + t * d;
      float* dst = hidden.data() + (s * seq_len + t) * d;
      for (std::int64_t i = 0; i < d; ++i) dst[i] = token[i] + position[i];
    }
  }
  run_encoder(text_encoder, hidden.data(), n, seq_len, /*causal=*/true, *gemm, threads,
              workspace);  // -> hidden [n·seq_len, d]

  // final_layer_norm is row-wise, so applying it to the pooled rows only is the same.
  std::vector<float> pooled(static_cast<std::size_t>(n * d));  // [n, d]
  for (std::int64_t s = 0; s < n; ++s) {
    const std::size_t caption = members[static_cast<std::size_t>(s)];
    std::copy_n(hidden.data() + (s * seq_len + pool_positions[caption]) * d, d,
                pooled.data() + s * d);
  }
  layer_norm(pooled.data(), n, d, final_ln_weight.data(), final_ln_bias.data(),
             text_encoder.layer_norm_eps, pooled.data(), threads);
  std::vector<float> projected(static_cast<std::size_t>(n * config.projection_dim));
  linear(*gemm, pooled.data(), n, d, text_projection.data(), config.projection_dim, nullptr,
         projected.data(), threads);  // -> projected [n, projection_dim]
  for (std::int64_t s = 0; s < n; ++s) {
    std::copy_n(projected.data() + s * config.projection_dim, config.projection_dim,
                out + static_cast<std::int64_t>(members[static_cast<std::size_t>(s)]) *
                          config.projection_dim);
  }
}

void ClipModel::encode_texts(const std::vector<std::vector<std::int32_t>>& ids, float* out) const {
  const ClipConfig& config = impl_->config;
  // Validate everything first and find each caption's pooling position.
  std::vector<std::int64_t> pool_positions(ids.size());
  std::map<std::int64_t, std::vector<std::size_t>> by_length;  // length buckets of 8
  for (std::size_t c = 0; c < ids.size(); ++c) {
    const std::vector<std::int32_t>& caption = ids[c];
    const auto length = static_cast<std::int64_t>(caption.size());
    if (length == 0 || length > config.max_position_embeddings) {
      fail("caption {}: expected 1 to {} token ids (max_position_embeddings), got {}", c,
           config.max_position_embeddings, length);
    }
    for (std::int64_t t = 0; t < length; ++t) {
      if (caption[t] < 0 || caption[t] >= config.vocab_size) {
        fail("caption {}: token id {} at position {} is outside the vocabulary [0, {})", c,
             caption[t], t, config.vocab_size);
      }
    }
    if (config.eos_token_id == 2) {  // the openai/laion configs: pool at argmax(ids)
      pool_positions[c] = std::max_element(caption.begin(), caption.end()) - caption.begin();
    } else {
      const auto eos = std::find(caption.begin(), caption.end(), config.eos_token_id);
      if (eos == caption.end()) {
        fail("caption {}: no end token (eos_token_id {}) among its {} ids", c, config.eos_token_id,
             length);
      }
      pool_positions[c] = eos - caption.begin();
    }
    // Captions whose lengths round up to the same multiple of 8 run together, padded to the
    // longest of their chunk: fuller GEMMs for at most 7 padded positions each.
    by_length[(length + 7) / 8].push_back(c);
  }
  if (ids.empty()) return;
  VLB_ASSERT(out != nullptr);

  EncoderWorkspace workspace;
  for (const auto& [bucket, captions] : by_length) {
    const std::int64_t bucket_length =
        std::min<std::int64_t>(8 * bucket, config.max_position_embeddings);
    const auto chunk =
        static_cast<std::size_t>(std::max<std::int64_t>(1, kMaxRowsPerPass / bucket_length));
    for (std::size_t begin = 0; begin < captions.size(); begin += chunk) {
      const std::size_t end = std::min(captions.size(), begin + chunk);
      const std::vector<std::size_t> members(captions.begin() + static_cast<std::ptrdiff_t>(begin),
                                             captions.begin() + static_cast<std::ptrdiff_t>(end));
      std::int64_t seq_len = 0;
      for (std::size_t c : members) seq_len = std::max<std::int64_t>(seq_len, ids[c].size());
      impl_->encode_text_group(ids, members, seq_len, pool_positions, out, workspace);
    }
  }
}

}  // namespace vlbench
