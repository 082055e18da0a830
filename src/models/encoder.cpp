// The pre-LN transformer encoder. See encoder.hpp.
#include "models/encoder.hpp"

#include <cmath>

#include "vlbench/core/error.hpp"

namespace vlbench {

void load_encoder_layers(const LoadTensor& load, const std::string& prefix, std::int64_t n_layers,
                         Backend& backend, ComputeType compute, EncoderWeights& encoder) {
  const std::int64_t d = encoder.d_model;
  const std::int64_t inter = encoder.intermediate;
  encoder.layers.clear();
  encoder.layers.reserve(static_cast<std::size_t>(n_layers));
  for (std::int64_t i = 0; i < n_layers; ++i) {
    const std::string layer = prefix + std::to_string(i) + ".";
    auto norm = [&](const std::string& name) {
      return upload_f32(backend, load(layer + name, {d}));
    };
    auto make = [&](const std::string& name, std::int64_t out, std::int64_t in) {
      return backend.make_linear(load(layer + name + ".weight", {out, in}), out, in,
                                 load(layer + name + ".bias", {out}), compute);
    };
    EncoderLayer w;
    w.ln1_weight = norm("layer_norm1.weight");
    w.ln1_bias = norm("layer_norm1.bias");
    std::vector<float> qkv_weight, qkv_bias;
    qkv_weight.reserve(static_cast<std::size_t>(3 * d * d));
    qkv_bias.reserve(static_cast<std::size_t>(3 * d));
    for (const char* part : {"q_proj", "k_proj", "v_proj"}) {
      const std::string name = layer + "self_attn." + part;
      const std::vector<float> weight = load(name + ".weight", {d, d});
      const std::vector<float> bias = load(name + ".bias", {d});
      qkv_weight.insert(qkv_weight.end(), weight.begin(), weight.end());
      qkv_bias.insert(qkv_bias.end(), bias.begin(), bias.end());
    }
    w.qkv = backend.make_linear(std::move(qkv_weight), 3 * d, d, std::move(qkv_bias), compute);
    w.out = make("self_attn.out_proj", d, d);
    w.ln2_weight = norm("layer_norm2.weight");
    w.ln2_bias = norm("layer_norm2.bias");
    w.fc1 = make("mlp.fc1", inter, d);
    w.fc2 = make("mlp.fc2", d, inter);
    encoder.layers.push_back(std::move(w));
  }
}

void run_encoder(const EncoderWeights& encoder, Backend& backend, float* x, std::int64_t n_seq,
                 std::int64_t seq_len, bool causal, EncoderWorkspace& ws) {
  const std::int64_t d = encoder.d_model;
  const std::int64_t inter = encoder.intermediate;
  const std::int64_t rows = n_seq * seq_len;
  if (rows == 0) return;
  ws.normed.reserve_f32(backend, rows * d);
  ws.qkv.reserve_f32(backend, rows * 3 * d);
  ws.attention.reserve_f32(backend, rows * d);
  ws.projected.reserve_f32(backend, rows * d);
  ws.intermediate.reserve_f32(backend, rows * inter);

  AttentionShape shape;
  shape.n_seq = n_seq;
  shape.seq_len = seq_len;
  shape.n_heads = encoder.n_heads;
  shape.head_dim = d / encoder.n_heads;
  shape.causal = causal;
  shape.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(shape.head_dim)));

  const float eps = encoder.layer_norm_eps;
  for (const EncoderLayer& w : encoder.layers) {
    // Attention half.
    backend.layer_norm(x, rows, d, w.ln1_weight.f32(), w.ln1_bias.f32(), eps,
                       ws.normed.f32());                                   // -> normed [rows, d]
    backend.linear(*w.qkv, ws.normed.f32(), rows, ws.qkv.f32());           // -> qkv [rows, 3d]
    backend.attention(ws.qkv.f32(), shape, ws.attention.f32());            // -> attention [rows, d]
    backend.linear(*w.out, ws.attention.f32(), rows, ws.projected.f32());  // -> [rows, d]
    backend.add(x, ws.projected.f32(), rows * d);  // residual -> x [rows, d]

    // MLP half.
    backend.layer_norm(x, rows, d, w.ln2_weight.f32(), w.ln2_bias.f32(), eps,
                       ws.normed.f32());                                   // -> normed [rows, d]
    backend.linear(*w.fc1, ws.normed.f32(), rows, ws.intermediate.f32());  // -> [rows, inter]
    backend.activation(encoder.activation, ws.intermediate.f32(), rows * inter);
    backend.linear(*w.fc2, ws.intermediate.f32(), rows, ws.projected.f32());  // -> [rows, d]
    backend.add(x, ws.projected.f32(), rows * d);  // residual -> x [rows, d]
  }
}

}  // namespace vlbench
