// The CLIPModel forward pass on any compute backend, float32 or bf16 Linear layers, from a
// Hugging Face or an open_clip checkpoint (open_clip.hpp maps its tensors).
// See clip.hpp and MODELS.md §1.1. Token and patch inputs are assembled on the host and
// uploaded; everything from the first Linear layer on runs on the backend.
#include <algorithm>
#include <map>
#include <optional>

#include "models/clip/open_clip.hpp"
#include "models/encoder.hpp"
#include "models/model_io.hpp"
#include "models/patches.hpp"
#include "vlbench/core/error.hpp"
#include "vlbench/kernels/backend.hpp"
#include "vlbench/models/clip.hpp"

namespace vlbench {
namespace {

// Rows (tokens) per encoder pass: bounds the workspace (the MLP buffer is rows × intermediate
// floats, 48 MiB for ViT-B) while keeping the GEMMs large.
constexpr std::int64_t kMaxRowsPerPass = 4096;

// Buffers of one encode call, grown on demand and reused across its chunks.
struct ClipWorkspace {
  EncoderWorkspace encoder;
  DeviceBuffer input;      // im2col rows [n·tokens, C·p·p]
  DeviceBuffer hidden;     // [n·tokens, d]
  DeviceBuffer pooled;     // [n, d]
  DeviceBuffer projected;  // [n, projection_dim]
  std::vector<float> host;
};

}  // namespace

struct ClipModel::Impl {
  ClipConfig config;
  std::unique_ptr<Backend> backend;
  std::int64_t parameter_count = 0;

  // Text tower. Embedding tables stay on the host, where captions are assembled.
  EncoderWeights text_encoder;
  std::vector<float> token_embedding;              // [vocab, d_text] (host)
  std::vector<float> text_positions;               // [max_positions, d_text] (host)
  DeviceBuffer final_ln_weight, final_ln_bias;     // [d_text]
  std::unique_ptr<BackendLinear> text_projection;  // [projection_dim, d_text], no bias

  // Vision tower.
  EncoderWeights vision_encoder;
  // patch_embedding as a Linear over im2col rows [d_vision, channels · patch · patch], no bias.
  std::unique_ptr<BackendLinear> patch_embedding;
  // [n_patches + 1, d_vision]: position embeddings with the class embedding added to row 0,
  // added to every image's [zero row | patch embeddings].
  DeviceBuffer token_table;
  DeviceBuffer pre_ln_weight, pre_ln_bias;           // [d_vision]
  DeviceBuffer post_ln_weight, post_ln_bias;         // [d_vision]
  std::unique_ptr<BackendLinear> visual_projection;  // [projection_dim, d_vision], no bias

  float logit_scale = 0.0f;

  std::int64_t patches_per_side() const { return config.image_size / config.patch_size; }
  std::int64_t n_patches() const { return patches_per_side() * patches_per_side(); }
  std::int64_t patch_values() const {
    return std::int64_t{config.num_channels} * config.patch_size * config.patch_size;
  }

  void encode_image_chunk(const float* pixels, std::int64_t n, float* out,
                          ClipWorkspace& workspace) const;
  void encode_text_group(const std::vector<std::vector<std::int32_t>>& ids,
                         const std::vector<std::size_t>& members, std::int64_t seq_len,
                         const std::vector<std::int64_t>& pool_positions, float* out,
                         ClipWorkspace& workspace) const;
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
std::string ClipModel::backend_name() const {
  return impl_->backend->name();
}
std::string ClipModel::backend_description() const {
  return impl_->backend->description();
}

ClipModel ClipModel::load(const std::filesystem::path& dir, const ClipLoadOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->config = read_clip_config(dir);
  const ClipConfig& config = impl->config;
  impl->backend = make_model_backend(dir, options.backend, options.compute, options.threads);
  Backend& backend = *impl->backend;
  WeightLoader weights(dir);
  // open_clip's state dict is served under CLIPModel's names.
  const bool open_clip = config.layout == ClipLayout::open_clip;
  const char* architecture = open_clip ? "open_clip CLIP" : "CLIPModel";
  std::optional<OpenClipTensors> open_clip_tensors;
  if (open_clip) {
    weights.expect_names(open_clip_tensor_names(config), architecture);
    open_clip_tensors.emplace(weights);
  }
  const LoadTensor load = open_clip ? open_clip_tensors->function() : weights.function();

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

  const ComputeType compute = options.compute;
  auto upload = [&](const std::string& name, std::int64_t d) {
    return upload_f32(backend, load(name, {d}));
  };
  auto projection = [&](const std::string& name, std::int64_t out, std::int64_t in) {
    return backend.make_linear(load(name, {out, in}), out, in, {}, compute);
  };

  init_encoder(config.text, impl->text_encoder);
  impl->token_embedding =
      load("text_model.embeddings.token_embedding.weight", {config.vocab_size, dt});
  impl->text_positions =
      load("text_model.embeddings.position_embedding.weight", {config.max_position_embeddings, dt});
  load_encoder_layers(load, "text_model.encoder.layers.", config.text.num_hidden_layers, backend,
                      compute, impl->text_encoder);
  impl->final_ln_weight = upload("text_model.final_layer_norm.weight", dt);
  impl->final_ln_bias = upload("text_model.final_layer_norm.bias", dt);
  impl->text_projection = projection("text_projection.weight", proj, dt);

  init_encoder(config.vision, impl->vision_encoder);
  const std::vector<float> class_embedding = load("vision_model.embeddings.class_embedding", {dv});
  impl->patch_embedding =
      backend.make_linear(load("vision_model.embeddings.patch_embedding.weight",
                               {dv, config.num_channels, config.patch_size, config.patch_size}),
                          dv, impl->patch_values(), {}, compute);
  std::vector<float> token_table =
      load("vision_model.embeddings.position_embedding.weight", {impl->n_patches() + 1, dv});
  for (std::int64_t i = 0; i < dv; ++i) token_table[i] += class_embedding[i];
  impl->token_table = upload_f32(backend, token_table);
  impl->pre_ln_weight = upload("vision_model.pre_layrnorm.weight", dv);
  impl->pre_ln_bias = upload("vision_model.pre_layrnorm.bias", dv);
  load_encoder_layers(load, "vision_model.encoder.layers.", config.vision.num_hidden_layers,
                      backend, compute, impl->vision_encoder);
  impl->post_ln_weight = upload("vision_model.post_layernorm.weight", dv);
  impl->post_ln_bias = upload("vision_model.post_layernorm.bias", dv);
  impl->visual_projection = projection("visual_projection.weight", proj, dv);

  impl->logit_scale = load("logit_scale", {}).at(0);

  weights.expect_all_used(architecture);
  impl->parameter_count = weights.parameter_count();

  return ClipModel(std::move(impl));
}

void ClipModel::Impl::encode_image_chunk(const float* pixels, std::int64_t n, float* out,
                                         ClipWorkspace& ws) const {
  const std::int64_t d = vision_encoder.d_model;
  const std::int64_t p = config.patch_size;
  const std::int64_t side = config.image_size;
  const std::int64_t tokens = n_patches() + 1;
  const std::int64_t k = patch_values();
  const std::int64_t proj = config.projection_dim;

  // im2col on the host: per image a zero row (the class token's slot) and then the patches,
  // each in (channel, ky, kx) order, the conv weight's flattening. -> host [n·tokens, k]
  ws.host.assign(static_cast<std::size_t>(n * tokens * k), 0.0f);
  im2col_patches(pixels, n, config.num_channels, side, p, tokens, /*first_slot=*/1, ws.host.data());
  ws.input.reserve_f32(*backend, n * tokens * k);
  backend->upload(ws.input.f32(), ws.host.data(), ws.host.size() * sizeof(float));
  ws.hidden.reserve_f32(*backend, n * tokens * d);
  float* hidden = ws.hidden.f32();
  backend->linear(*patch_embedding, ws.input.f32(), n * tokens, hidden);  // -> [n·tokens, d]
  backend->add_repeated(hidden, token_table.f32(), n * tokens * d, tokens * d);  // + class, pos
  backend->layer_norm(hidden, n * tokens, d, pre_ln_weight.f32(), pre_ln_bias.f32(),
                      vision_encoder.layer_norm_eps, hidden);  // pre_layrnorm

  run_encoder(vision_encoder, *backend, hidden, n, tokens, /*causal=*/false,
              ws.encoder);  // -> hidden [n·tokens, d]

  std::vector<std::int64_t> class_rows(static_cast<std::size_t>(n));
  for (std::int64_t img = 0; img < n; ++img) class_rows[img] = img * tokens;
  ws.pooled.reserve_f32(*backend, n * d);
  backend->gather_rows(hidden, d, class_rows, ws.pooled.f32());  // CLS rows -> [n, d]
  backend->layer_norm(ws.pooled.f32(), n, d, post_ln_weight.f32(), post_ln_bias.f32(),
                      vision_encoder.layer_norm_eps, ws.pooled.f32());
  ws.projected.reserve_f32(*backend, n * proj);
  backend->linear(*visual_projection, ws.pooled.f32(), n, ws.projected.f32());  // -> [n, proj]
  backend->download(out, ws.projected.f32(), static_cast<std::size_t>(n * proj) * sizeof(float));
}

void ClipModel::encode_images(const float* pixels, std::int64_t n, float* out) const {
  VLB_ASSERT(n >= 0);
  if (n == 0) return;
  VLB_ASSERT(pixels != nullptr && out != nullptr);
  const std::int64_t tokens = impl_->n_patches() + 1;
  const std::int64_t chunk = std::max<std::int64_t>(1, kMaxRowsPerPass / tokens);
  const std::int64_t image_values = std::int64_t{impl_->config.num_channels} *
                                    impl_->config.image_size * impl_->config.image_size;
  ClipWorkspace workspace;
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
                                        ClipWorkspace& ws) const {
  const std::int64_t d = text_encoder.d_model;
  const std::int64_t n = static_cast<std::int64_t>(members.size());
  const std::int64_t proj = config.projection_dim;

  // token + position embeddings on the host -> host [n·seq_len, d]
  // Past its end a caption is padded with its last id: under the causal mask no position at
  // or before the pooled one sees the padding, so the pooled row is unchanged.
  embed_tokens(ids, members, seq_len, token_embedding, text_positions, d, ws.host);
  ws.hidden.reserve_f32(*backend, n * seq_len * d);
  float* hidden = ws.hidden.f32();
  backend->upload(hidden, ws.host.data(), ws.host.size() * sizeof(float));
  run_encoder(text_encoder, *backend, hidden, n, seq_len, /*causal=*/true,
              ws.encoder);  // -> hidden [n·seq_len, d]

  // final_layer_norm is row-wise, so applying it to the pooled rows only is the same.
  std::vector<std::int64_t> pooled_rows(static_cast<std::size_t>(n));
  for (std::int64_t s = 0; s < n; ++s) {
    pooled_rows[s] = s * seq_len + pool_positions[members[static_cast<std::size_t>(s)]];
  }
  ws.pooled.reserve_f32(*backend, n * d);
  backend->gather_rows(hidden, d, pooled_rows, ws.pooled.f32());  // -> [n, d]
  backend->layer_norm(ws.pooled.f32(), n, d, final_ln_weight.f32(), final_ln_bias.f32(),
                      text_encoder.layer_norm_eps, ws.pooled.f32());
  ws.projected.reserve_f32(*backend, n * proj);
  backend->linear(*text_projection, ws.pooled.f32(), n, ws.projected.f32());  // -> [n, proj]
  ws.host.resize(static_cast<std::size_t>(n * proj));
  backend->download(ws.host.data(), ws.projected.f32(),
                    static_cast<std::size_t>(n * proj) * sizeof(float));
  scatter_rows(ws.host.data(), members, proj, out);
}

void ClipModel::encode_texts(const std::vector<std::vector<std::int32_t>>& ids, float* out) const {
  const ClipConfig& config = impl_->config;
  // Validate everything first and find each caption's pooling position.
  std::vector<std::int64_t> pool_positions(ids.size());
  std::map<std::int64_t, std::vector<std::size_t>> by_length;  // length buckets of 8
  check_caption_ids(ids, config.max_position_embeddings, config.vocab_size);
  for (std::size_t c = 0; c < ids.size(); ++c) {
    const std::vector<std::int32_t>& caption = ids[c];
    const auto length = static_cast<std::int64_t>(caption.size());
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

  ClipWorkspace workspace;
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
