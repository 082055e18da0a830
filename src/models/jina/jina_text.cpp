// jina-clip-v1's JinaBERT text tower. See jina_towers.hpp.
#include <algorithm>
#include <cmath>

#include "models/jina/jina_towers.hpp"
#include "vlbench/core/error.hpp"

namespace vlbench {

JinaTextTower JinaTextTower::load(WeightLoader& weights, const JinaTextConfig& config,
                                  Backend& backend, ComputeType compute) {
  JinaTextTower t;
  t.config_ = config;
  const std::int64_t d = config.hidden_size, inter = config.intermediate_size;
  const auto load = [&](std::string_view role, std::vector<std::int64_t> shape, int i = -1) {
    return weights.load(jina_tensor_name(role, i), shape);
  };
  const auto norm = [&](std::string_view role, int i = -1) {
    return upload_f32(backend, load(role, {d}, i));
  };

  // word_embeddings[id] + token_type_embeddings[0] (every caption is one segment), summed once.
  t.word_type_ = load("t.word", {config.vocab_size, d});
  const std::vector<float> types = load("t.type", {config.type_vocab_size, d});
  for (std::int64_t id = 0; id < config.vocab_size; ++id) {
    for (std::int64_t i = 0; i < d; ++i) t.word_type_[id * d + i] += types[i];
  }
  t.emb_ln_w_ = norm("t.emb_ln.w");
  t.emb_ln_b_ = norm("t.emb_ln.b");
  t.slopes_ = alibi_slopes(config.num_attention_heads);
  for (int i = 0; i < config.num_hidden_layers; ++i) {
    Layer l;
    l.qkv = backend.make_linear(load("t.qkv.w", {3 * d, d}, i), 3 * d, d,
                                load("t.qkv.b", {3 * d}, i), compute);
    l.out = backend.make_linear(load("t.out.w", {d, d}, i), d, d, load("t.out.b", {d}, i), compute);
    l.norm1_w = norm("t.norm1.w", i);
    l.norm1_b = norm("t.norm1.b", i);
    l.gated = backend.make_linear(load("t.gated.w", {2 * inter, d}, i), 2 * inter, d, {}, compute);
    l.wo = backend.make_linear(load("t.wo.w", {d, inter}, i), d, inter, load("t.wo.b", {d}, i),
                               compute);
    l.norm2_w = norm("t.norm2.w", i);
    l.norm2_b = norm("t.norm2.b", i);
    t.layers_.push_back(std::move(l));
  }
  return t;
}

void JinaTextTower::run(Backend& backend, const std::vector<std::vector<std::int32_t>>& ids,
                        const std::vector<std::size_t>& members, std::int64_t seq_len, float* out,
                        JinaWorkspace& ws) const {
  const JinaTextConfig& c = config_;
  const std::int64_t d = c.hidden_size, inter = c.intermediate_size;
  const auto n = static_cast<std::int64_t>(members.size());
  const std::int64_t rows = n * seq_len;
  VLB_ASSERT(n > 0 && seq_len > 0);

  // Embeddings on the host, and the mask the model computes from the ids (ids != pad: a pad id
  // is masked wherever it stands). -> host [rows, d]
  ws.host.resize(static_cast<std::size_t>(rows * d));
  ws.key_mask.resize(static_cast<std::size_t>(rows));
  bool any_masked = false;
  for (std::int64_t s = 0; s < n; ++s) {
    const std::vector<std::int32_t>& caption = ids[members[static_cast<std::size_t>(s)]];
    VLB_ASSERT(static_cast<std::int64_t>(caption.size()) == seq_len);
    for (std::int64_t t = 0; t < seq_len; ++t) {
      const std::int32_t id = caption[static_cast<std::size_t>(t)];
      std::copy_n(word_type_.data() + std::int64_t{id} * d, d,
                  ws.host.data() + (s * seq_len + t) * d);
      const bool real = id != c.pad_token_id;
      ws.key_mask[static_cast<std::size_t>(s * seq_len + t)] = real ? 1 : 0;
      any_masked = any_masked || !real;
    }
  }
  ws.hidden.reserve_f32(backend, rows * d);
  float* x = ws.hidden.f32();
  backend.upload(x, ws.host.data(), ws.host.size() * sizeof(float));
  const auto eps = static_cast<float>(c.layer_norm_eps);
  backend.layer_norm(x, rows, d, emb_ln_w_.f32(), emb_ln_b_.f32(), eps, x);  // emb_ln

  ws.qkv.reserve_f32(backend, rows * 3 * d);
  ws.attention.reserve_f32(backend, rows * d);
  ws.projected.reserve_f32(backend, rows * d);
  ws.gate_up.reserve_f32(backend, rows * 2 * inter);
  ws.mlp.reserve_f32(backend, rows * inter);
  AttentionShape shape;
  shape.n_seq = n;
  shape.seq_len = seq_len;
  shape.n_heads = c.num_attention_heads;
  shape.head_dim = d / c.num_attention_heads;
  shape.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(shape.head_dim)));
  shape.alibi_slopes = slopes_.data();
  shape.key_mask = any_masked ? ws.key_mask.data() : nullptr;
  for (const Layer& l : layers_) {
    backend.linear(*l.qkv, x, rows, ws.qkv.f32());                         // -> [rows, 3d]
    backend.attention(ws.qkv.f32(), shape, ws.attention.f32());            // -> [rows, d]
    backend.linear(*l.out, ws.attention.f32(), rows, ws.projected.f32());  // -> [rows, d]
    backend.add(x, ws.projected.f32(), rows * d);
    backend.layer_norm(x, rows, d, l.norm1_w.f32(), l.norm1_b.f32(), eps, x);  // post-LN
    backend.linear(*l.gated, x, rows, ws.gate_up.f32());  // -> [rows, 2I]: [gate | up]
    backend.gated_activation(Activation::gelu, ws.gate_up.f32(), rows, inter,
                             ws.mlp.f32());                         // -> [rows, I]
    backend.linear(*l.wo, ws.mlp.f32(), rows, ws.projected.f32());  // -> [rows, d]
    backend.add(x, ws.projected.f32(), rows * d);
    backend.layer_norm(x, rows, d, l.norm2_w.f32(), l.norm2_b.f32(), eps, x);
  }
  ws.pooled.reserve_f32(backend, n * d);
  backend.masked_mean_rows(x, n, seq_len, d, shape.key_mask, ws.pooled.f32());  // -> [n, d]
  backend.download(out, ws.pooled.f32(), static_cast<std::size_t>(n * d) * sizeof(float));
}

double JinaTextTower::flops(std::int64_t n_tokens) const {
  const JinaTextConfig& c = config_;
  const auto t = static_cast<double>(n_tokens), d = static_cast<double>(c.hidden_size);
  const auto inter = static_cast<double>(c.intermediate_size);
  return c.num_hidden_layers * (2 * t * (4 * d * d + 3 * inter * d) + 4 * t * t * d);
}

}  // namespace vlbench
