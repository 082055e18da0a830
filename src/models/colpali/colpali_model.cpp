// ColPali's forward pass on any compute backend. See colpali_model.hpp and the pitfalls in
// ../shared/fixtures/colpali-tiny/README.md. Input embeddings are assembled on the host (token
// table lookups, the projected image features in place of the <image> ids, the ×√hidden
// scaling) and uploaded; every layer of the decoder runs on the backend.
#include "models/colpali/colpali_model.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "models/lora.hpp"
#include "models/model_io.hpp"
#include "vlbench/core/dtype.hpp"
#include "vlbench/core/error.hpp"

namespace vlbench {
namespace {

// Rows (tokens) per decoder pass: a pass holds ~4096 × (2·intermediate) floats of MLP
// activations (256 MiB for the real model).
constexpr std::int64_t kMaxRowsPerPass = 4096;

constexpr const char* kVision = "model.vision_tower.vision_model.";
constexpr const char* kProjector = "model.multi_modal_projector.linear";
constexpr const char* kDecoder = "model.language_model.model.";

struct GemmaLayer {
  DeviceBuffer input_norm;      // [D]: 1 + input_layernorm.weight
  DeviceBuffer post_attn_norm;  // [D]: 1 + post_attention_layernorm.weight
  std::unique_ptr<BackendLinear> qkv;      // [(nH + 2·nKV)·hd, D]: q; k; v, no bias
  std::unique_ptr<BackendLinear> o;        // [D, nH·hd]
  std::unique_ptr<BackendLinear> gate_up;  // [2·I, D]: gate; up
  std::unique_ptr<BackendLinear> down;     // [D, I]
};

struct ColPaliWorkspace {
  SiglipVisionWorkspace vision;
  DeviceBuffer vision_hidden;  // [n·P, dv]
  DeviceBuffer image_features;  // [n·P, D]
  DeviceBuffer hidden;         // residual stream [rows, D]
  DeviceBuffer normed;         // [rows, D]
  DeviceBuffer qkv;            // [rows, (nH + 2·nKV)·hd]
  DeviceBuffer attended;       // [rows, nH·hd]
  DeviceBuffer branch;         // [rows, D]
  DeviceBuffer gate_up;        // [rows, 2·I]
  DeviceBuffer activated;      // [rows, I]
  DeviceBuffer projected;      // [rows, E]
  std::vector<float> host;
  std::vector<float> features;
};

}  // namespace

struct ColPaliModel::Impl {
  ColPaliConfig config;
  std::unique_ptr<Backend> backend;
  std::int64_t parameter_count = 0;
  std::int64_t embed_dim = 0;

  SiglipVisionTower vision;
  std::unique_ptr<BackendLinear> projector;  // [D, dv], with bias

  // embed_tokens [V, D] on the host, where prompts are assembled: float32, or its bf16 bits
  // under bf16 compute (the published checkpoint's own precision; half the memory).
  std::vector<float> embed_f32;
  std::vector<std::uint16_t> embed_bf16;
  std::vector<GemmaLayer> layers;
  DeviceBuffer final_norm;                  // [D]: 1 + norm.weight
  std::unique_ptr<BackendLinear> text_proj;  // custom_text_proj [E, D], with bias

  std::int64_t qkv_width() const {
    const GemmaConfig& g = config.text;
    return std::int64_t{g.num_attention_heads + 2 * g.num_key_value_heads} * g.head_dim;
  }
  std::int64_t attention_width() const {
    return std::int64_t{config.text.num_attention_heads} * config.text.head_dim;
  }

  // Token embedding of `id` into `row` (D floats).
  void embed(std::int32_t id, float* row) const {
    const std::int64_t d = config.text.hidden_size;
    if (!embed_bf16.empty()) {
      const std::uint16_t* src = embed_bf16.data() + std::int64_t{id} * d;
      for (std::int64_t i = 0; i < d; ++i) row[i] = bf16_to_f32(src[i]);
    } else {
      std::copy_n(embed_f32.data() + std::int64_t{id} * d, d, row);
    }
  }

  void run_group(const std::vector<std::vector<std::int32_t>>& ids,
                 const std::vector<std::size_t>& members, const float* pixels,
                 const std::vector<std::int64_t>& offsets, float* out,
                 ColPaliWorkspace& ws) const;
};

ColPaliModel::ColPaliModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ColPaliModel::ColPaliModel(ColPaliModel&&) noexcept = default;
ColPaliModel& ColPaliModel::operator=(ColPaliModel&&) noexcept = default;
ColPaliModel::~ColPaliModel() = default;

const ColPaliConfig& ColPaliModel::config() const {
  return impl_->config;
}
std::int64_t ColPaliModel::embed_dim() const {
  return impl_->embed_dim;
}
std::int64_t ColPaliModel::parameter_count() const {
  return impl_->parameter_count;
}
std::string ColPaliModel::backend_name() const {
  return impl_->backend->name();
}
std::string ColPaliModel::backend_description() const {
  return impl_->backend->description();
}

ColPaliModel ColPaliModel::load(const std::filesystem::path& dir, const ColPaliConfig& config,
                                LoraAdapter* adapter, const ModelLoadOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->backend = make_model_backend(dir, options.backend, options.compute, options.threads);
  Backend& backend = *impl->backend;
  WeightLoader weights(dir);
  const LoadTensor load = weights.function();
  const ComputeType compute = options.compute;
  const GemmaConfig& g = config.text;
  const std::int64_t d = g.hidden_size;
  const std::int64_t hd = g.head_dim;
  const std::int64_t inter = g.intermediate_size;

  // A Linear's weight with the adapter's LoRA merged in float32 when it targets `module`.
  auto merged = [&](const std::string& module, std::int64_t out, std::int64_t in) {
    std::vector<float> w = load(module + ".weight", {out, in});
    if (adapter != nullptr) adapter->merge(module, w, out, in);
    return w;
  };
  // Gemma's RMSNorm scales by (1 + weight).
  auto gemma_norm = [&](const std::string& name) {
    std::vector<float> w = load(name, {d});
    for (float& v : w) v += 1.0f;
    return upload_f32(backend, w);
  };

  // The largest tensor first, while nothing else is held.
  {
    std::vector<float> table = load(std::string(kDecoder) + "embed_tokens.weight",
                                    {g.vocab_size, d});
    if (compute == ComputeType::bf16) {
      impl->embed_bf16.resize(table.size());
      for (std::size_t i = 0; i < table.size(); ++i) impl->embed_bf16[i] = f32_to_bf16(table[i]);
    } else {
      impl->embed_f32 = std::move(table);
    }
  }

  impl->vision =
      SiglipVisionTower::load(load, kVision, config.vision, config.geometry, backend, compute);
  const std::int64_t dv = config.vision.hidden_size;
  // The projector stays float32 under bf16 compute: one dv → D GEMM per page (0.05% of its
  // FLOPs) whose bf16 rounding, fed to every decoder layer, cost the most of any layer on the
  // fixture (worst page-token cosine 0.99866 in bf16, 0.99930 with it in float32).
  impl->projector =
      backend.make_linear(merged(kProjector, d, dv), d, dv,
                          load(std::string(kProjector) + ".bias", {d}), ComputeType::fp32);

  impl->layers.resize(static_cast<std::size_t>(g.num_hidden_layers));
  for (int l = 0; l < g.num_hidden_layers; ++l) {
    const std::string p = std::string(kDecoder) + "layers." + std::to_string(l) + ".";
    GemmaLayer& layer = impl->layers[static_cast<std::size_t>(l)];
    layer.input_norm = gemma_norm(p + "input_layernorm.weight");
    layer.post_attn_norm = gemma_norm(p + "post_attention_layernorm.weight");
    std::vector<float> qkv = merged(p + "self_attn.q_proj", g.num_attention_heads * hd, d);
    for (const char* kv : {"self_attn.k_proj", "self_attn.v_proj"}) {
      const std::vector<float> w = merged(p + kv, g.num_key_value_heads * hd, d);
      qkv.insert(qkv.end(), w.begin(), w.end());
    }
    layer.qkv = backend.make_linear(std::move(qkv), impl->qkv_width(), d, {}, compute);
    layer.o = backend.make_linear(merged(p + "self_attn.o_proj", d, impl->attention_width()), d,
                                  impl->attention_width(), {}, compute);
    std::vector<float> gate_up = merged(p + "mlp.gate_proj", inter, d);
    {
      const std::vector<float> up = merged(p + "mlp.up_proj", inter, d);
      gate_up.insert(gate_up.end(), up.begin(), up.end());
    }
    layer.gate_up = backend.make_linear(std::move(gate_up), 2 * inter, d, {}, compute);
    layer.down =
        backend.make_linear(merged(p + "mlp.down_proj", d, inter), d, inter, {}, compute);
  }
  impl->final_norm = gemma_norm(std::string(kDecoder) + "norm.weight");

  // custom_text_proj's width is hard-coded in ColPali.__init__ (128): read it from the tensor.
  const TensorRef* proj = weights.find("custom_text_proj.weight");
  if (proj == nullptr || proj->shape.size() != 2 || proj->shape[0] < 1) {
    fail("{}: no tensor 'custom_text_proj.weight' of shape [E, {}] (ColPali's output projection)",
         dir.string(), d);
  }
  impl->embed_dim = proj->shape[0];
  impl->text_proj = backend.make_linear(merged("custom_text_proj", impl->embed_dim, d),
                                        impl->embed_dim, d,
                                        load("custom_text_proj.bias", {impl->embed_dim}), compute);

  weights.expect_all_used("ColPali");
  if (adapter != nullptr) adapter->expect_all_merged(dir.string());
  impl->parameter_count = weights.parameter_count();
  return ColPaliModel(std::move(impl));
}

void ColPaliModel::Impl::run_group(const std::vector<std::vector<std::int32_t>>& ids,
                                   const std::vector<std::size_t>& members, const float* pixels,
                                   const std::vector<std::int64_t>& offsets, float* out,
                                   ColPaliWorkspace& ws) const {
  Backend& be = *backend;
  const GemmaConfig& g = config.text;
  const std::int64_t d = g.hidden_size;
  const auto n = static_cast<std::int64_t>(members.size());
  std::int64_t seq_len = 0;
  std::vector<std::int64_t> lengths(members.size());
  for (std::size_t s = 0; s < members.size(); ++s) {
    lengths[s] = static_cast<std::int64_t>(ids[members[s]].size());
    seq_len = std::max(seq_len, lengths[s]);
  }
  const std::int64_t rows = n * seq_len;

  // Image features of the group's images: projector(SigLIP) / √hidden_size (the top-level one,
  // as transformers 4.46 does).
  const std::int64_t patches = config.image_tokens();
  if (pixels != nullptr) {
    const std::int64_t values = config.geometry.image_values();
    std::vector<float> group_pixels(static_cast<std::size_t>(n * values));
    for (std::size_t s = 0; s < members.size(); ++s) {
      std::copy_n(pixels + static_cast<std::int64_t>(members[s]) * values, values,
                  group_pixels.data() + static_cast<std::int64_t>(s) * values);
    }
    vision.run(be, group_pixels.data(), n, ws.vision_hidden, ws.vision);
    ws.image_features.reserve_f32(be, n * patches * d);
    be.linear(*projector, ws.vision_hidden.f32(), n * patches, ws.image_features.f32());
    ws.features.resize(static_cast<std::size_t>(n * patches * d));
    be.download(ws.features.data(), ws.image_features.f32(), ws.features.size() * sizeof(float));
    const auto divisor = static_cast<float>(std::sqrt(static_cast<double>(config.hidden_size)));
    for (float& v : ws.features) v /= divisor;
  }

  // Input embeddings, right-padded (padding rows repeat id 0 and are masked as keys), all
  // multiplied by √D rounded to float32 (Gemma's normalizer in the model's dtype).
  ws.host.assign(static_cast<std::size_t>(rows * d), 0.0f);
  const auto normalizer = static_cast<float>(std::sqrt(static_cast<double>(d)));
  for (std::size_t s = 0; s < members.size(); ++s) {
    const std::vector<std::int32_t>& seq = ids[members[s]];
    std::int64_t image_row = 0;
    for (std::int64_t t = 0; t < seq_len; ++t) {
      float* row = ws.host.data() + (static_cast<std::int64_t>(s) * seq_len + t) * d;
      const std::int32_t id = t < lengths[s] ? seq[static_cast<std::size_t>(t)] : 0;
      if (pixels != nullptr && id == config.image_token_index) {
        std::copy_n(ws.features.data() + (static_cast<std::int64_t>(s) * patches + image_row) * d,
                    d, row);
        ++image_row;
      } else {
        embed(id, row);
      }
      for (std::int64_t i = 0; i < d; ++i) row[i] *= normalizer;
    }
  }

  ws.hidden.reserve_f32(be, rows * d);
  ws.normed.reserve_f32(be, rows * d);
  ws.qkv.reserve_f32(be, rows * qkv_width());
  ws.attended.reserve_f32(be, rows * attention_width());
  ws.branch.reserve_f32(be, rows * d);
  ws.gate_up.reserve_f32(be, rows * 2 * g.intermediate_size);
  ws.activated.reserve_f32(be, rows * g.intermediate_size);
  float* hidden = ws.hidden.f32();
  be.upload(hidden, ws.host.data(), ws.host.size() * sizeof(float));

  AttentionShape shape;
  shape.n_seq = n;
  shape.seq_len = seq_len;
  shape.n_heads = g.num_attention_heads;
  shape.n_kv_heads = g.num_key_value_heads;
  shape.head_dim = g.head_dim;
  shape.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(g.head_dim)));
  shape.key_lengths = lengths.data();  // bidirectional over the real tokens
  const auto eps = static_cast<float>(g.rms_norm_eps);
  const Activation activation = parse_activation(g.activation);
  for (const GemmaLayer& layer : layers) {
    be.rms_norm(hidden, rows, d, layer.input_norm.f32(), eps, ws.normed.f32());
    be.linear(*layer.qkv, ws.normed.f32(), rows, ws.qkv.f32());
    // PaliGemma's positions are 1-based; q and k heads rotate, v does not.
    be.rotary_embedding(ws.qkv.f32(), n, seq_len, qkv_width(),
                        g.num_attention_heads + g.num_key_value_heads, g.head_dim,
                        /*first_position=*/1, g.rope_theta);
    be.attention(ws.qkv.f32(), shape, ws.attended.f32());
    be.linear(*layer.o, ws.attended.f32(), rows, ws.branch.f32());
    be.add(hidden, ws.branch.f32(), rows * d);
    be.rms_norm(hidden, rows, d, layer.post_attn_norm.f32(), eps, ws.normed.f32());
    be.linear(*layer.gate_up, ws.normed.f32(), rows, ws.gate_up.f32());
    be.gated_activation(activation, ws.gate_up.f32(), rows, g.intermediate_size,
                        ws.activated.f32());
    be.linear(*layer.down, ws.activated.f32(), rows, ws.branch.f32());
    be.add(hidden, ws.branch.f32(), rows * d);
  }
  be.rms_norm(hidden, rows, d, final_norm.f32(), eps, ws.normed.f32());
  ws.projected.reserve_f32(be, rows * embed_dim);
  be.linear(*text_proj, ws.normed.f32(), rows, ws.projected.f32());
  ws.host.resize(static_cast<std::size_t>(rows * embed_dim));
  be.download(ws.host.data(), ws.projected.f32(), ws.host.size() * sizeof(float));

  // The real tokens of each sequence, L2-normalized (x / ‖x‖ in float32, as ColPali.forward).
  for (std::size_t s = 0; s < members.size(); ++s) {
    for (std::int64_t t = 0; t < lengths[s]; ++t) {
      const float* src = ws.host.data() + (static_cast<std::int64_t>(s) * seq_len + t) * embed_dim;
      float* dst = out + (offsets[members[s]] + t) * embed_dim;
      double sum = 0.0;
      for (std::int64_t i = 0; i < embed_dim; ++i) sum += double{src[i]} * src[i];
      const auto norm = static_cast<float>(std::sqrt(sum));
      for (std::int64_t i = 0; i < embed_dim; ++i) dst[i] = src[i] / norm;
    }
  }
}

void ColPaliModel::encode(const std::vector<std::vector<std::int32_t>>& ids, const float* pixels,
                          float* out) const {
  const ColPaliConfig& config = impl_->config;
  const std::int64_t patches = config.image_tokens();
  std::vector<std::int64_t> offsets(ids.size());
  std::int64_t total = 0;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const std::vector<std::int32_t>& seq = ids[i];
    if (seq.empty()) fail("sequence {}: no token ids", i);
    std::int64_t images = 0;
    for (const std::int32_t id : seq) {
      if (id < 0 || id >= config.text.vocab_size) {
        fail("sequence {}: token id {} is outside the vocabulary [0, {})", i, id,
             config.text.vocab_size);
      }
      images += id == config.image_token_index ? 1 : 0;
    }
    if (pixels != nullptr && images != patches) {
      fail("sequence {}: {} image tokens (id {}), expected {} (one per patch)", i, images,
           config.image_token_index, patches);
    }
    offsets[i] = total;
    total += static_cast<std::int64_t>(seq.size());
  }
  if (ids.empty()) return;
  VLB_ASSERT(out != nullptr);

  // Sequences in order of length, so that a pass pads little; each pass is whole sequences of
  // at most kMaxRowsPerPass padded rows (one sequence when it is longer).
  std::vector<std::size_t> order(ids.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return ids[a].size() < ids[b].size(); });
  ColPaliWorkspace workspace;
  std::vector<std::size_t> members;
  for (std::size_t k = 0; k < order.size(); ++k) {
    members.push_back(order[k]);
    const bool last = k + 1 == order.size();
    const auto next_rows = last ? 0
                                : static_cast<std::int64_t>(members.size() + 1) *
                                      static_cast<std::int64_t>(ids[order[k + 1]].size());
    if (last || next_rows > kMaxRowsPerPass) {
      impl_->run_group(ids, members, pixels, offsets, out, workspace);
      members.clear();
    }
  }
}

double ColPaliModel::flops(std::int64_t n_tokens, bool image) const {
  const ColPaliConfig& c = impl_->config;
  const GemmaConfig& g = c.text;
  const auto t = static_cast<double>(n_tokens);
  const auto d = static_cast<double>(g.hidden_size);
  const auto heads = static_cast<double>(g.num_attention_heads);
  const auto hd = static_cast<double>(g.head_dim);
  const double per_token = 2.0 * d * static_cast<double>(impl_->qkv_width()) +
                           2.0 * heads * hd * d +
                           2.0 * d * 3.0 * static_cast<double>(g.intermediate_size);
  const double attention = 4.0 * t * t * heads * hd;
  double total = static_cast<double>(g.num_hidden_layers) * (t * per_token + attention) +
                 2.0 * t * d * static_cast<double>(impl_->embed_dim);
  if (image) {
    const auto patches = static_cast<double>(c.image_tokens());
    total += impl_->vision.flops() + 2.0 * patches * static_cast<double>(c.vision.hidden_size) * d;
  }
  return total;
}

}  // namespace vlbench
