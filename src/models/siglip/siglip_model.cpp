// Hugging Face SiglipModel forward pass on any compute backend. See siglip_model.hpp.
// Token and patch inputs are assembled on the host and uploaded; everything from the first
// Linear layer on runs on the backend.
#include "models/siglip/siglip_model.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "models/encoder.hpp"
#include "models/model_io.hpp"
#include "models/siglip/siglip_vision.hpp"
#include "vlbench/core/error.hpp"

namespace vlbench {
namespace {

// Rows (tokens) per encoder pass, as in ClipModel.
constexpr std::int64_t kMaxRowsPerPass = 4096;

struct SiglipWorkspace {
  EncoderWorkspace encoder;
  SiglipVisionWorkspace vision;
  DeviceBuffer hidden;        // [n·tokens, d]
  DeviceBuffer kv;            // MAP head keys and values [n·patches, 2d]
  DeviceBuffer pooled;        // [n, d]
  DeviceBuffer normed;        // [n, d]
  DeviceBuffer intermediate;  // [n, intermediate]
  DeviceBuffer projected;     // [n, d]
  std::vector<float> host;
};

}  // namespace

struct SiglipModel::Impl {
  SiglipConfig config;
  std::unique_ptr<Backend> backend;
  std::int64_t parameter_count = 0;

  // Text tower. Embedding tables stay on the host, where captions are assembled.
  EncoderWeights text_encoder;
  std::vector<float> token_embedding;           // [vocab, d_text] (host)
  std::vector<float> text_positions;            // [max_positions, d_text] (host)
  DeviceBuffer final_ln_weight, final_ln_bias;  // [d_text]
  std::unique_ptr<BackendLinear> text_head;     // [projection_size, d_text], with bias

  // Vision tower.
  SiglipVisionTower vision;
  // MAP head: the probe's query is the same for every image, so q = probe · W_qᵀ + b_q is
  // computed once at load (in float64) and only keys and values are projected per image.
  DeviceBuffer head_query;                    // [d]
  std::unique_ptr<BackendLinear> head_kv;     // [2d, d]: in_proj rows k; v, with bias
  std::unique_ptr<BackendLinear> head_out;    // [d, d] out_proj
  DeviceBuffer head_ln_weight, head_ln_bias;  // [d]
  std::unique_ptr<BackendLinear> head_fc1;    // [intermediate, d]
  std::unique_ptr<BackendLinear> head_fc2;    // [d, intermediate]

  float logit_scale = 0.0f;
  float logit_bias = 0.0f;

  std::int64_t n_patches() const { return vision.geometry().n_patches(); }

  void encode_image_chunk(const float* pixels, std::int64_t n, float* out,
                          SiglipWorkspace& ws) const;
  void encode_text_group(const std::vector<std::vector<std::int32_t>>& ids,
                         const std::vector<std::size_t>& members, std::int64_t seq_len, float* out,
                         SiglipWorkspace& ws) const;
};

SiglipModel::SiglipModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SiglipModel::SiglipModel(SiglipModel&&) noexcept = default;
SiglipModel& SiglipModel::operator=(SiglipModel&&) noexcept = default;
SiglipModel::~SiglipModel() = default;

const SiglipConfig& SiglipModel::config() const {
  return impl_->config;
}
std::int64_t SiglipModel::parameter_count() const {
  return impl_->parameter_count;
}
float SiglipModel::logit_scale() const {
  return impl_->logit_scale;
}
float SiglipModel::logit_bias() const {
  return impl_->logit_bias;
}
std::string SiglipModel::backend_name() const {
  return impl_->backend->name();
}
std::string SiglipModel::backend_description() const {
  return impl_->backend->description();
}

SiglipModel SiglipModel::load(const std::filesystem::path& dir, const SiglipConfig& config,
                              const ModelLoadOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->backend = make_model_backend(dir, options.backend, options.compute, options.threads);
  Backend& backend = *impl->backend;
  WeightLoader weights(dir);
  const LoadTensor load = weights.function();
  const ComputeType compute = options.compute;
  auto upload = [&](const std::string& name, std::int64_t d) {
    return upload_f32(backend, load(name, {d}));
  };
  auto linear = [&](const std::string& prefix, std::int64_t out, std::int64_t in) {
    return backend.make_linear(load(prefix + ".weight", {out, in}), out, in,
                               load(prefix + ".bias", {out}), compute);
  };
  auto init_encoder = [](const SiglipTowerConfig& tower, EncoderWeights& encoder) {
    encoder.d_model = tower.hidden_size;
    encoder.intermediate = tower.intermediate_size;
    encoder.n_heads = tower.num_attention_heads;
    encoder.layer_norm_eps = static_cast<float>(tower.layer_norm_eps);
    encoder.activation = parse_activation(tower.hidden_act);
  };

  // Text tower.
  const std::int64_t dt = config.text.hidden_size;
  init_encoder(config.text, impl->text_encoder);
  impl->token_embedding =
      load("text_model.embeddings.token_embedding.weight", {config.vocab_size, dt});
  impl->text_positions =
      load("text_model.embeddings.position_embedding.weight", {config.max_position_embeddings, dt});
  load_encoder_layers(load, "text_model.encoder.layers.", config.text.num_hidden_layers, backend,
                      compute, impl->text_encoder);
  impl->final_ln_weight = upload("text_model.final_layer_norm.weight", dt);
  impl->final_ln_bias = upload("text_model.final_layer_norm.bias", dt);
  impl->text_head = linear("text_model.head", config.projection_size, dt);

  // Vision tower.
  const std::int64_t dv = config.vision.hidden_size;
  impl->vision = SiglipVisionTower::load(
      load, "vision_model.", config.vision,
      SiglipVisionGeometry{config.image_size, config.patch_size, config.num_channels}, backend,
      compute);

  // MAP head (torch.nn.MultiheadAttention with a packed in_proj: rows q; k; v).
  const std::vector<float> probe = load("vision_model.head.probe", {1, 1, dv});
  std::vector<float> in_weight = load("vision_model.head.attention.in_proj_weight", {3 * dv, dv});
  std::vector<float> in_bias = load("vision_model.head.attention.in_proj_bias", {3 * dv});
  std::vector<float> query(static_cast<std::size_t>(dv));
  for (std::int64_t o = 0; o < dv; ++o) {
    double sum = in_bias[o];
    for (std::int64_t i = 0; i < dv; ++i) sum += double{probe[i]} * in_weight[o * dv + i];
    query[o] = static_cast<float>(sum);
  }
  impl->head_query = upload_f32(backend, query);
  in_weight.erase(in_weight.begin(), in_weight.begin() + dv * dv);  // -> [2d, d]: k; v
  in_bias.erase(in_bias.begin(), in_bias.begin() + dv);
  impl->head_kv =
      backend.make_linear(std::move(in_weight), 2 * dv, dv, std::move(in_bias), compute);
  impl->head_out = linear("vision_model.head.attention.out_proj", dv, dv);
  impl->head_ln_weight = upload("vision_model.head.layernorm.weight", dv);
  impl->head_ln_bias = upload("vision_model.head.layernorm.bias", dv);
  impl->head_fc1 = linear("vision_model.head.mlp.fc1", config.vision.intermediate_size, dv);
  impl->head_fc2 = linear("vision_model.head.mlp.fc2", dv, config.vision.intermediate_size);

  impl->logit_scale = load("logit_scale", {1}).at(0);
  impl->logit_bias = load("logit_bias", {1}).at(0);

  weights.expect_all_used("SiglipModel");
  impl->parameter_count = weights.parameter_count();
  return SiglipModel(std::move(impl));
}

void SiglipModel::Impl::encode_image_chunk(const float* pixels, std::int64_t n, float* out,
                                           SiglipWorkspace& ws) const {
  const EncoderWeights& vision_encoder = vision.encoder();
  const std::int64_t d = vision_encoder.d_model;
  const std::int64_t tokens = n_patches();
  const std::int64_t rows = n * tokens;
  const std::int64_t inter = vision_encoder.intermediate;

  vision.run(*backend, pixels, n, ws.hidden, ws.vision);  // -> hidden [n·tokens, d]
  const float* hidden = ws.hidden.f32();

  // MAP head: the probe attends over each image's tokens -> pooled [n, d]
  ws.kv.reserve_f32(*backend, rows * 2 * d);
  backend->linear(*head_kv, hidden, rows, ws.kv.f32());  // -> kv [n·tokens, 2d]
  AttentionShape shape;
  shape.n_seq = n;
  shape.seq_len = tokens;
  shape.n_heads = vision_encoder.n_heads;
  shape.head_dim = d / vision_encoder.n_heads;
  shape.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(shape.head_dim)));
  ws.pooled.reserve_f32(*backend, n * d);
  backend->pooling_attention(head_query.f32(), /*q_stride=*/0, ws.kv.f32(), shape,
                             ws.pooled.f32());  // -> [n, d]
  ws.projected.reserve_f32(*backend, n * d);
  float* h = ws.projected.f32();
  backend->linear(*head_out, ws.pooled.f32(), n, h);  // out_proj -> h [n, d]
  // h + MLP(LayerNorm(h)); no residual around the attention.
  ws.normed.reserve_f32(*backend, n * d);
  backend->layer_norm(h, n, d, head_ln_weight.f32(), head_ln_bias.f32(),
                      vision_encoder.layer_norm_eps, ws.normed.f32());
  ws.intermediate.reserve_f32(*backend, n * inter);
  backend->linear(*head_fc1, ws.normed.f32(), n, ws.intermediate.f32());  // -> [n, inter]
  backend->activation(vision_encoder.activation, ws.intermediate.f32(), n * inter);
  backend->linear(*head_fc2, ws.intermediate.f32(), n, ws.pooled.f32());  // -> [n, d]
  backend->add(h, ws.pooled.f32(), n * d);
  backend->download(out, h, static_cast<std::size_t>(n * d) * sizeof(float));
}

void SiglipModel::encode_images(const float* pixels, std::int64_t n, float* out) const {
  VLB_ASSERT(n >= 0);
  if (n == 0) return;
  VLB_ASSERT(pixels != nullptr && out != nullptr);
  const std::int64_t tokens = impl_->n_patches();
  const std::int64_t chunk = std::max<std::int64_t>(1, kMaxRowsPerPass / tokens);
  const std::int64_t image_values = std::int64_t{impl_->config.num_channels} *
                                    impl_->config.image_size * impl_->config.image_size;
  const std::int64_t d = impl_->config.vision.hidden_size;
  SiglipWorkspace workspace;
  for (std::int64_t begin = 0; begin < n; begin += chunk) {
    const std::int64_t count = std::min(chunk, n - begin);
    impl_->encode_image_chunk(pixels + begin * image_values, count, out + begin * d, workspace);
  }
}

void SiglipModel::Impl::encode_text_group(const std::vector<std::vector<std::int32_t>>& ids,
                                          const std::vector<std::size_t>& members,
                                          std::int64_t seq_len, float* out,
                                          SiglipWorkspace& ws) const {
  const std::int64_t d = text_encoder.d_model;
  const std::int64_t n = static_cast<std::int64_t>(members.size());
  const std::int64_t proj = config.projection_size;

  // token + position embeddings on the host -> host [n·seq_len, d]
  embed_tokens(ids, members, seq_len, token_embedding, text_positions, d, ws.host);
  ws.hidden.reserve_f32(*backend, n * seq_len * d);
  float* hidden = ws.hidden.f32();
  backend->upload(hidden, ws.host.data(), ws.host.size() * sizeof(float));
  // Bidirectional and unmasked: every position, padding included, sees every other.
  run_encoder(text_encoder, *backend, hidden, n, seq_len, /*causal=*/false, ws.encoder);

  // final_layer_norm is row-wise: applying it to the pooled (last) rows only is the same.
  std::vector<std::int64_t> last_rows(static_cast<std::size_t>(n));
  for (std::int64_t s = 0; s < n; ++s) last_rows[s] = s * seq_len + seq_len - 1;
  ws.pooled.reserve_f32(*backend, n * d);
  backend->gather_rows(hidden, d, last_rows, ws.pooled.f32());  // -> [n, d]
  backend->layer_norm(ws.pooled.f32(), n, d, final_ln_weight.f32(), final_ln_bias.f32(),
                      text_encoder.layer_norm_eps, ws.pooled.f32());
  ws.projected.reserve_f32(*backend, n * proj);
  backend->linear(*text_head, ws.pooled.f32(), n, ws.projected.f32());  // head -> [n, proj]
  ws.host.resize(static_cast<std::size_t>(n * proj));
  backend->download(ws.host.data(), ws.projected.f32(),
                    static_cast<std::size_t>(n * proj) * sizeof(float));
  scatter_rows(ws.host.data(), members, proj, out);
}

void SiglipModel::encode_texts(const std::vector<std::vector<std::int32_t>>& ids,
                               float* out) const {
  const SiglipConfig& config = impl_->config;
  check_caption_ids(ids, config.max_position_embeddings, config.vocab_size);
  std::map<std::size_t, std::vector<std::size_t>> by_length;  // exact lengths: no masking
  for (std::size_t c = 0; c < ids.size(); ++c) by_length[ids[c].size()].push_back(c);
  if (ids.empty()) return;
  VLB_ASSERT(out != nullptr);
  SiglipWorkspace workspace;
  for (const auto& [length, captions] : by_length) {
    const auto seq_len = static_cast<std::int64_t>(length);
    const auto chunk =
        static_cast<std::size_t>(std::max<std::int64_t>(1, kMaxRowsPerPass / seq_len));
    for (std::size_t begin = 0; begin < captions.size(); begin += chunk) {
      const std::size_t end = std::min(captions.size(), begin + chunk);
      const std::vector<std::size_t> members(captions.begin() + static_cast<std::ptrdiff_t>(begin),
                                             captions.begin() + static_cast<std::ptrdiff_t>(end));
      impl_->encode_text_group(ids, members, seq_len, out, workspace);
    }
  }
}

}  // namespace vlbench
