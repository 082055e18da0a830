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

void convert_encoder_to_bf16(EncoderWeights& encoder, int n_threads) {
  const std::int64_t d = encoder.d_model;
  const std::int64_t inter = encoder.intermediate;
  auto convert = [&](std::vector<float>& weight, std::int64_t out, std::int64_t in,
                     const std::vector<float>& bias) {
    LinearBf16 layer(weight.data(), out, in, bias.data());
    layer.set_threads(n_threads);
    weight = std::vector<float>();  // free the float32 copy
    return layer;
  };
  encoder.bf16_layers.clear();
  encoder.bf16_layers.reserve(encoder.layers.size());
  for (EncoderLayerWeights& w : encoder.layers) {
    encoder.bf16_layers.push_back(EncoderLayerBf16{
        convert(w.qkv_weight, 3 * d, d, w.qkv_bias), convert(w.out_weight, d, d, w.out_bias),
        convert(w.fc1_weight, inter, d, w.fc1_bias), convert(w.fc2_weight, d, inter, w.fc2_bias)});
  }
}

namespace {

// One Linear of a block: the bf16 layer when there is one, else the float32 weights.
void project(const Gemm& gemm, const LinearBf16* bf16, const float* x, std::int64_t rows,
             std::int64_t in, const std::vector<float>& weight, std::int64_t out,
             const std::vector<float>& bias, float* y, ThreadPool* pool) {
  if (bf16 != nullptr) {
    bf16->run(x, rows, y, pool);
  } else {
    linear(gemm, x, rows, in, weight.data(), out, bias.data(), y, pool);
  }
}

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

  const bool bf16 = !encoder.bf16_layers.empty();
  VLB_ASSERT(!bf16 || encoder.bf16_layers.size() == encoder.layers.size());
  for (std::size_t i = 0; i < encoder.layers.size(); ++i) {
    const EncoderLayerWeights& w = encoder.layers[i];
    const EncoderLayerBf16* b = bf16 ? &encoder.bf16_layers[i] : nullptr;
    // Attention half.
    layer_norm(x, rows, d, w.ln1_weight.data(), w.ln1_bias.data(), encoder.layer_norm_eps,
               ws.normed.data(), pool);  // -> normed [rows, d]
    project(gemm, b ? &b->qkv : nullptr, ws.normed.data(), rows, d, w.qkv_weight, 3 * d, w.qkv_bias,
            ws.qkv.data(), pool);  // -> qkv [rows, 3d]
    multi_head_attention(ws.qkv.data(), shape, ws.attention.data(),
                         pool);  // -> attention [rows, d]
    project(gemm, b ? &b->out : nullptr, ws.attention.data(), rows, d, w.out_weight, d, w.out_bias,
            ws.projected.data(), pool);                   // -> projected [rows, d]
    add_inplace(x, ws.projected.data(), rows * d, pool);  // residual -> x [rows, d]

    // MLP half.
    layer_norm(x, rows, d, w.ln2_weight.data(), w.ln2_bias.data(), encoder.layer_norm_eps,
               ws.normed.data(), pool);  // -> normed [rows, d]
    project(gemm, b ? &b->fc1 : nullptr, ws.normed.data(), rows, d, w.fc1_weight, inter, w.fc1_bias,
            ws.intermediate.data(), pool);  // -> intermediate [rows, inter]
    apply_activation(encoder.activation, ws.intermediate.data(), rows * inter, pool);
    project(gemm, b ? &b->fc2 : nullptr, ws.intermediate.data(), rows, inter, w.fc2_weight, d,
            w.fc2_bias, ws.projected.data(), pool);       // -> projected [rows, d]
    add_inplace(x, ws.projected.data(), rows * d, pool);  // residual -> x [rows, d]
  }
}

}  // namespace vlbench
