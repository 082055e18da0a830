// jina-clip-v1's EVA02 vision tower. See jina_towers.hpp.
#include <cmath>

#include "models/family.hpp"
#include "models/jina/jina_towers.hpp"
#include "models/patches.hpp"
#include "vlbench/core/error.hpp"

namespace vlbench {
namespace {

constexpr float kEps = 1e-6f;  // every LayerNorm of eva_model.py

// VisionRotaryEmbeddingFast(dim = head_dim / 2, pt_seq_len = pt_hw_seq_len, ft_seq_len = grid
// when intp_freq): patch (r, c) turns the first half of each head by its row coordinate and the
// second half by its column coordinate, frequency j for the interleaved pair j of each half.
// Angles in float64. cos, sin: [tokens, head_dim], row 0 (CLS) the identity.
void rope_tables(const JinaVisionConfig& c, std::vector<float>& cos, std::vector<float>& sin) {
  const std::int64_t hd = c.head_width;
  const std::int64_t half = hd / 2;  // VisionRotaryEmbeddingFast's dim
  const std::int64_t n_freq = half / 2;
  const int grid = c.grid();
  const int ft = c.intp_freq ? grid : c.pt_hw_seq_len;  // == grid (checked with the config)
  cos.assign(static_cast<std::size_t>(c.tokens() * hd), 1.0f);
  sin.assign(cos.size(), 0.0f);
  for (int r = 0; r < grid; ++r) {
    for (int col = 0; col < grid; ++col) {
      const double coordinate[2] = {static_cast<double>(r) / ft * c.pt_hw_seq_len,
                                    static_cast<double>(col) / ft * c.pt_hw_seq_len};
      const std::int64_t token = 1 + std::int64_t{r} * grid + col;
      for (int part = 0; part < 2; ++part) {  // row half, then column half
        for (std::int64_t j = 0; j < n_freq; ++j) {
          const double freq = std::pow(10000.0, -static_cast<double>(2 * j) / half);
          const double angle = coordinate[part] * freq;
          for (std::int64_t k = 0; k < 2; ++k) {  // the interleaved pair
            const std::size_t at = static_cast<std::size_t>(token * hd + part * half + 2 * j + k);
            cos[at] = static_cast<float>(std::cos(angle));
            sin[at] = static_cast<float>(std::sin(angle));
          }
        }
      }
    }
  }
}

}  // namespace

JinaVisionTower JinaVisionTower::load(WeightLoader& weights, const JinaVisionConfig& config,
                                      Backend& backend, ComputeType compute) {
  JinaVisionTower t;
  t.config_ = config;
  const std::int64_t d = config.width, mlp = config.mlp_hidden, p = config.patch_size;
  const std::int64_t tokens = config.tokens();
  const auto load = [&](std::string_view role, std::vector<std::int64_t> shape, int i = -1) {
    return weights.load(jina_tensor_name(role, i), shape);
  };
  const auto norm = [&](std::string_view role, std::int64_t width, int i) {
    return upload_f32(backend, load(role, {width}, i));
  };

  t.patch_ = backend.make_linear(load("v.patch.w", {d, 3, p, p}), d, 3 * p * p, {}, compute);
  std::vector<float> table = load("v.pos", {1, tokens, d});
  const std::vector<float> cls = load("v.cls", {1, 1, d});
  const std::vector<float> patch_bias = load("v.patch.b", {d});
  for (std::int64_t i = 0; i < d; ++i) table[i] += cls[i];
  for (std::int64_t token = 1; token < tokens; ++token) {
    for (std::int64_t i = 0; i < d; ++i) table[token * d + i] += patch_bias[i];
  }
  t.token_table_ = upload_f32(backend, table);
  if (config.rope) {
    std::vector<float> cos, sin;
    rope_tables(config, cos, sin);
    t.rope_cos_ = upload_f32(backend, cos);
    t.rope_sin_ = upload_f32(backend, sin);
  }

  for (int i = 0; i < config.layers; ++i) {
    Block b;
    b.norm1_w = norm("v.norm1.w", d, i);
    b.norm1_b = norm("v.norm1.b", d, i);
    std::vector<float> qkv = load("v.q.w", {d, d}, i);
    for (const char* role : {"v.k.w", "v.v.w"}) {
      const std::vector<float> w = load(role, {d, d}, i);
      qkv.insert(qkv.end(), w.begin(), w.end());
    }
    std::vector<float> qkv_bias = load("v.q.b", {d}, i);
    qkv_bias.resize(static_cast<std::size_t>(2 * d), 0.0f);  // k has no bias
    const std::vector<float> v_bias = load("v.v.b", {d}, i);
    qkv_bias.insert(qkv_bias.end(), v_bias.begin(), v_bias.end());
    b.qkv = backend.make_linear(std::move(qkv), 3 * d, d, std::move(qkv_bias), compute);
    b.attn_ln_w = norm("v.attn_ln.w", d, i);
    b.attn_ln_b = norm("v.attn_ln.b", d, i);
    b.proj =
        backend.make_linear(load("v.proj.w", {d, d}, i), d, d, load("v.proj.b", {d}, i), compute);
    b.norm2_w = norm("v.norm2.w", d, i);
    b.norm2_b = norm("v.norm2.b", d, i);
    std::vector<float> w12 = load("v.w1.w", {mlp, d}, i);
    const std::vector<float> w2 = load("v.w2.w", {mlp, d}, i);
    w12.insert(w12.end(), w2.begin(), w2.end());
    std::vector<float> b12 = load("v.w1.b", {mlp}, i);
    const std::vector<float> b2 = load("v.w2.b", {mlp}, i);
    b12.insert(b12.end(), b2.begin(), b2.end());
    b.w12 = backend.make_linear(std::move(w12), 2 * mlp, d, std::move(b12), compute);
    b.ffn_ln_w = norm("v.ffn_ln.w", mlp, i);
    b.ffn_ln_b = norm("v.ffn_ln.b", mlp, i);
    b.w3 =
        backend.make_linear(load("v.w3.w", {d, mlp}, i), d, mlp, load("v.w3.b", {d}, i), compute);
    t.blocks_.push_back(std::move(b));
  }
  t.norm_w_ = norm("v.norm.w", d, -1);
  t.norm_b_ = norm("v.norm.b", d, -1);
  return t;
}

void JinaVisionTower::run(Backend& backend, const float* pixels, std::int64_t n, float* out,
                          JinaWorkspace& ws) const {
  const JinaVisionConfig& c = config_;
  const std::int64_t d = c.width, mlp = c.mlp_hidden, hd = c.head_width, heads = c.heads();
  const std::int64_t tokens = c.tokens();
  const std::int64_t k = 3 * std::int64_t{c.patch_size} * c.patch_size;
  const std::int64_t rows = n * tokens;
  VLB_ASSERT(n > 0);

  // Per image a zero row (the CLS slot) and the patches, in the conv weight's (channel, ky,
  // kx) order. -> host [rows, k]
  ws.host.assign(static_cast<std::size_t>(rows * k), 0.0f);
  im2col_patches(pixels, n, 3, c.image_size, c.patch_size, tokens, /*first_slot=*/1,
                 ws.host.data());
  ws.input.reserve_f32(backend, rows * k);
  backend.upload(ws.input.f32(), ws.host.data(), ws.host.size() * sizeof(float));
  ws.hidden.reserve_f32(backend, rows * d);
  float* x = ws.hidden.f32();
  backend.linear(*patch_, ws.input.f32(), rows, x);                   // -> x [rows, d]
  backend.add_repeated(x, token_table_.f32(), rows * d, tokens * d);  // + cls | bias, pos

  ws.normed.reserve_f32(backend, rows * d);
  ws.qkv.reserve_f32(backend, rows * 3 * d);
  ws.attention.reserve_f32(backend, rows * d);
  ws.projected.reserve_f32(backend, rows * d);
  ws.gate_up.reserve_f32(backend, rows * 2 * mlp);
  ws.mlp.reserve_f32(backend, rows * mlp);
  AttentionShape shape;
  shape.n_seq = n;
  shape.seq_len = tokens;
  shape.n_heads = heads;
  shape.head_dim = hd;
  shape.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd)));
  for (const Block& b : blocks_) {
    backend.layer_norm(x, rows, d, b.norm1_w.f32(), b.norm1_b.f32(), kEps, ws.normed.f32());
    backend.linear(*b.qkv, ws.normed.f32(), rows, ws.qkv.f32());  // -> qkv [rows, 3d]
    if (c.rope) {  // q and k heads: the first 2·heads heads of each row
      backend.rotary_table(ws.qkv.f32(), n, tokens, 3 * d, 2 * heads, hd, rope_cos_.f32(),
                           rope_sin_.f32());
    }
    backend.attention(ws.qkv.f32(), shape, ws.attention.f32());  // -> [rows, d]
    backend.layer_norm(ws.attention.f32(), rows, d, b.attn_ln_w.f32(), b.attn_ln_b.f32(), kEps,
                       ws.attention.f32());  // sub-LN
    backend.linear(*b.proj, ws.attention.f32(), rows, ws.projected.f32());
    backend.add(x, ws.projected.f32(), rows * d);

    backend.layer_norm(x, rows, d, b.norm2_w.f32(), b.norm2_b.f32(), kEps, ws.normed.f32());
    backend.linear(*b.w12, ws.normed.f32(), rows, ws.gate_up.f32());  // -> [rows, 2·mlp]
    backend.gated_activation(Activation::silu, ws.gate_up.f32(), rows, mlp,
                             ws.mlp.f32());  // -> [rows, mlp]
    backend.layer_norm(ws.mlp.f32(), rows, mlp, b.ffn_ln_w.f32(), b.ffn_ln_b.f32(), kEps,
                       ws.mlp.f32());  // sub-LN
    backend.linear(*b.w3, ws.mlp.f32(), rows, ws.projected.f32());
    backend.add(x, ws.projected.f32(), rows * d);
  }

  // The final norm is row-wise: on the CLS rows alone it is the same. -> pooled [n, d]
  std::vector<std::int64_t> cls_rows(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) cls_rows[static_cast<std::size_t>(i)] = i * tokens;
  ws.pooled.reserve_f32(backend, n * d);
  backend.gather_rows(x, d, cls_rows, ws.pooled.f32());
  backend.layer_norm(ws.pooled.f32(), n, d, norm_w_.f32(), norm_b_.f32(), kEps, ws.pooled.f32());
  backend.download(out, ws.pooled.f32(), static_cast<std::size_t>(n * d) * sizeof(float));
}

double JinaVisionTower::flops() const {
  const JinaVisionConfig& c = config_;
  const auto t = static_cast<double>(c.tokens()), d = static_cast<double>(c.width);
  const auto mlp = static_cast<double>(c.mlp_hidden);
  const double patches = t - 1;
  const double per_block = 2 * t * (3 * d * d + d * d + 2 * mlp * d + mlp * d) + 4 * t * t * d;
  return 2 * patches * 3.0 * c.patch_size * c.patch_size * d + c.layers * per_block;
}

}  // namespace vlbench
