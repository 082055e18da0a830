// The two towers of jina-clip-v1 on any compute backend: EVA02 (vision) and JinaBERT (text).
// The fixture README (../shared/fixtures/jina-clip-tiny/README.md) has the exact forward pass
// both follow. Internal to the models module.
#pragma once

#include <vlbench/kernels/backend.hpp>

#include <cstdint>
#include <memory>
#include <vector>

#include "models/jina/jina_config.hpp"
#include "models/model_io.hpp"

namespace vlbench {

// Scratch buffers of both towers in backend memory, grown on demand and reused.
struct JinaWorkspace {
  DeviceBuffer input;      // vision im2col rows [n·tokens, 3·p·p]
  DeviceBuffer hidden;     // the residual stream [rows, d]
  DeviceBuffer normed;     // [rows, d]
  DeviceBuffer qkv;        // [rows, 3d]
  DeviceBuffer attention;  // [rows, d]
  DeviceBuffer projected;  // [rows, d]
  DeviceBuffer gate_up;    // [rows, 2 · mlp width]
  DeviceBuffer mlp;        // [rows, mlp width]
  DeviceBuffer pooled;     // [n, d]
  std::vector<float> host;
  std::vector<std::uint8_t> key_mask;  // text: ids != pad, [n · seq_len] (host)
};

// EVA02 as jina-clip-v1 configures it (JinaVisionConfig): patch embedding, CLS token and
// absolute positions; per block
//   h = LN1(x); q, k, v = h·Wqᵀ + bq, h·Wkᵀ, h·Wvᵀ + bv; 2-D RoPE on the patch tokens' q, k;
//   x += proj(subLN(softmax(q·kᵀ/√hd)·v));  h = LN2(x);  x += w3(ffnLN(silu(h·W1ᵀ + b1) ⊙ (h·W2ᵀ +
//   b2)))
// then the final LayerNorm of the CLS token. Every LayerNorm has eps 1e-6.
class JinaVisionTower {
 public:
  static JinaVisionTower load(WeightLoader& weights, const JinaVisionConfig& config,
                              Backend& backend, ComputeType compute);

  // pixels (host): n × 3 × S × S. out (host): n × width, the CLS token after the final norm
  // (get_image_features, unnormalized).
  void run(Backend& backend, const float* pixels, std::int64_t n, float* out,
           JinaWorkspace& ws) const;

  double flops() const;  // of one image

 private:
  struct Block {
    DeviceBuffer norm1_w, norm1_b;        // [d]
    std::unique_ptr<BackendLinear> qkv;   // [3d, d]: q, k, v stacked; bias [q_bias | 0 | v_bias]
    DeviceBuffer attn_ln_w, attn_ln_b;    // [d]
    std::unique_ptr<BackendLinear> proj;  // [d, d]
    DeviceBuffer norm2_w, norm2_b;        // [d]
    std::unique_ptr<BackendLinear> w12;   // [2·mlp, d]: w1 (gate) and w2 (up) stacked
    DeviceBuffer ffn_ln_w, ffn_ln_b;      // [mlp]
    std::unique_ptr<BackendLinear> w3;    // [d, mlp]
  };

  JinaVisionConfig config_;
  std::unique_ptr<BackendLinear> patch_;  // [d, 3·p·p] over im2col rows, no bias
  // [tokens, d]: pos_embed, plus cls_token in row 0 and the patch bias in the other rows,
  // added to every image's [zero row | patch products].
  DeviceBuffer token_table_;
  DeviceBuffer rope_cos_, rope_sin_;  // [tokens, head_dim]; row 0 (CLS) is cos 1, sin 0
  std::vector<Block> blocks_;
  DeviceBuffer norm_w_, norm_b_;  // [d]
};

// JinaBERT as in jina-clip-v1 (JinaTextConfig): word + token-type-0 embeddings, emb_ln, post-LN
// layers
//   x = norm1(x + out_proj(softmax(q·kᵀ/√hd − ALiBi, masked)·v));
//   x = norm2(x + wo(gelu(g[:, :I]) ⊙ g[:, I:])), g = x·W_gatedᵀ (no bias)
// and the mean over the tokens whose id is not the pad id.
class JinaTextTower {
 public:
  static JinaTextTower load(WeightLoader& weights, const JinaTextConfig& config, Backend& backend,
                            ComputeType compute);

  // The captions ids[members[s]], each of length seq_len (ids in the vocabulary, at least one
  // not the pad id). out (host): members.size() × hidden, in members' order (unnormalized).
  void run(Backend& backend, const std::vector<std::vector<std::int32_t>>& ids,
           const std::vector<std::size_t>& members, std::int64_t seq_len, float* out,
           JinaWorkspace& ws) const;

  double flops(std::int64_t n_tokens) const;  // of one caption

 private:
  struct Layer {
    std::unique_ptr<BackendLinear> qkv;    // [3d, d] Wqkv (rows q | k | v), with bias
    std::unique_ptr<BackendLinear> out;    // [d, d]
    DeviceBuffer norm1_w, norm1_b;         // [d]
    std::unique_ptr<BackendLinear> gated;  // [2I, d], no bias: [gate | up]
    std::unique_ptr<BackendLinear> wo;     // [d, I]
    DeviceBuffer norm2_w, norm2_b;         // [d]
  };

  JinaTextConfig config_;
  std::vector<float> word_type_;  // [vocab, d] (host): word embeddings + token type 0
  DeviceBuffer emb_ln_w_, emb_ln_b_;
  std::vector<float> slopes_;  // ALiBi, [heads] (host)
  std::vector<Layer> layers_;
};

}  // namespace vlbench
