// The pre-LN transformer encoder. See encoder.hpp.
#include "models/encoder.hpp"

#include <cmath>

#include "vlbench/core/error.hpp"

namespace vlbench {

void load_encoder_layers(const LoadTensor& load, const std::string& prefix, std::int64_t n_layers,
                         EncoderWeights& encoder) {
  const std::int64_t d = encoder.d_model;
  const std::int64_t inter = encoder.intermediate;
  encoder.layers.clear();
  encoder.layers.reserve(static_cast<std::size_t>(n_layers));
  for (std::int64_t i = 0; i < n_layers; ++i) {
    const std::string layer = prefix + std::to_string(i) + ".";
    EncoderLayerWeights w;
    w.ln1_weight = load(layer + "layer_norm1.weight", {d});
    w.ln1_bias = load(layer + "layer_norm1.bias", {d});
    w.qkv_weight.reserve(static_cast<std::size_t>(3 * d * d));
    w.qkv_bias.reserve(static_cast<std::size_t>(3 * d));
    for (const char* part : {"q_proj", "k_proj", "v_proj"}) {
      const std::string name = layer + "self_attn." + part;
      const std::vector<float> weight = load(name + ".weight", {d, d});
      const std::vector<float> bias = load(name + ".bias", {d});
      w.qkv_weight.insert(w.qkv_weight.end(), weight.begin(), weight.end());
      w.qkv_bias.insert(w.qkv_bias.end(), bias.begin(), bias.end());
    }
    w.out_weight = load(layer + "self_attn.out_proj.weight", {d, d});
    w.out_bias = load(layer + "self_attn.out_proj.bias", {d});
    w.ln2_weight = load(layer + "layer_norm2.weight", {d});
    w.ln2_bias = load(layer + "layer_norm2.bias", {d});
    w.fc1_weight = load(layer + "mlp.fc1.weight", {inter, d});
    w.fc1_bias = load(layer + "mlp.fc1.bias", {inter});
    w.fc2_weight = load(layer + "mlp.fc2.weight", {d, inter});
    w.fc2_bias = load(layer + "mlp.fc2.bias", {d});
    encoder.layers.push_back(std::move(w));
  }
}

namespace {

void grow(std::vector<float>& buffer, std::int64_t size) {
  if (static_cast<std::int64_t>(buffer.size()) < size)
    buffer.resize(static_cast<std::size_t>(size));
}

}  // namespace

void run_encoder(const EncoderWeights& encoder, float* x, std::int64_t n_seq, std::int64_t seq_len,
                 bool causal, const Gemm& gemm, ThreadPool* pool, EncoderWorkspace& ws) {
  const std::int64_t d = encoder.d_model;
  const std::int64_t inter = encoder.intermediate;
  const std::int64_t rows = n_seq * seq_len;
  if (rows == 0) return;
  grow(ws.normed, rows * d);
  grow(ws.qkv, rows * 3 * d);
  grow(ws.attention, rows * d);
  grow(ws.projected, rows * d);
  grow(ws.intermediate, rows * inter);

  AttentionShape shape;
  shape.n_seq = n_seq;
  shape.seq_len = seq_len;
  shape.n_heads = encoder.n_heads;
  shape.head_dim = d / encoder.n_heads;
  shape.causal = causal;
  shape.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(shape.head_dim)));

  for (const EncoderLayerWeights& w : encoder.layers) {
    // Attention half.
    layer_norm(x, rows, d, w.ln1_weight.data(), w.ln1_bias.data(), encoder.layer_norm_eps,
               ws.normed.data(), pool);  // -> normed [rows, d]
    linear(gemm, ws.normed.data(), rows, d, w.qkv_weight.data(), 3 * d, w.qkv_bias.data(),
           ws.qkv.data(), pool);  // -> qkv [rows, 3d]
    multi_head_attention(ws.qkv.data(), shape, ws.attention.data(),
                         pool);  // -> attention [rows, d]
    linear(gemm, ws.attention.data(), rows, d, w.out_weight.data(), d, w.out_bias.data(),
           ws.projected.data(), pool);                    // -> projected [rows, d]
    add_inplace(x, ws.projected.data(), rows * d, pool);  // residual -> x [rows, d]

    // MLP half.
    layer_norm(x, rows, d, w.ln2_weight.data(), w.ln2_bias.data(), encoder.layer_norm_eps,
               ws.normed.data(), pool);  // -> normed [rows, d]
    linear(gemm, ws.normed.data(), rows, d, w.fc1_weight.data(), inter, w.fc1_bias.data(),
           ws.intermediate.data(), pool);  // -> intermediate [rows, inter]
    apply_activation(encoder.activation, ws.intermediate.data(), rows * inter, pool);
    linear(gemm, ws.intermediate.data(), rows, inter, w.fc2_weight.data(), d, w.fc2_bias.data(),
           ws.projected.data(), pool);                    // -> projected [rows, d]
    add_inplace(x, ws.projected.data(), rows * d, pool);  // residual -> x [rows, d]
  }
}

}  // namespace vlbench
