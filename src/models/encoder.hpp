// The pre-LayerNorm transformer encoder shared by the CLIP towers (and other ViT-style
// families): per layer
//   x = x + out_proj(MHA(LN1(x)));  x = x + fc2(act(fc1(LN2(x))))
// Weights live in a Backend's memory and every op runs through that Backend (backend.hpp).
// Internal to the models module.
#pragma once

#include <vlbench/kernels/backend.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace vlbench {

// One block: layer norms float32 in backend memory, Linear layers in the backend's form for
// the model's ComputeType (PyTorch shapes out × in).
struct EncoderLayer {
  DeviceBuffer ln1_weight, ln1_bias;   // [d]
  std::unique_ptr<BackendLinear> qkv;  // [3d, d]: q_proj, k_proj, v_proj stacked, with bias
  std::unique_ptr<BackendLinear> out;  // [d, d]
  DeviceBuffer ln2_weight, ln2_bias;   // [d]
  std::unique_ptr<BackendLinear> fc1;  // [intermediate, d]
  std::unique_ptr<BackendLinear> fc2;  // [d, intermediate]
};

struct EncoderWeights {
  std::int64_t d_model = 0;
  std::int64_t intermediate = 0;
  std::int64_t n_heads = 1;
  float layer_norm_eps = 1e-5f;
  Activation activation = Activation::quick_gelu;
  std::vector<EncoderLayer> layers;
};

// Loads tensor `name` as float32 with `shape` (and records it as used).
using LoadTensor =
    std::function<std::vector<float>(const std::string& name, const std::vector<std::int64_t>&)>;

// Loads layers 0..n_layers-1 named `prefix`{i}.self_attn.{q,k,v,out}_proj.{weight,bias},
// .layer_norm1/2.{weight,bias}, .mlp.fc1/fc2.{weight,bias} (Hugging Face's names) into
// `backend`, the Linear layers with `compute`. d_model, intermediate, n_heads must be set.
void load_encoder_layers(const LoadTensor& load, const std::string& prefix, std::int64_t n_layers,
                         Backend& backend, ComputeType compute, EncoderWeights& encoder);

// Scratch buffers of run_encoder in backend memory, grown on demand and reused across calls.
struct EncoderWorkspace {
  DeviceBuffer normed;        // [rows, d]
  DeviceBuffer qkv;           // [rows, 3d]
  DeviceBuffer attention;     // [rows, d]
  DeviceBuffer projected;     // [rows, d]
  DeviceBuffer intermediate;  // [rows, intermediate]
};

// Runs every layer in place on x (backend memory): (n_seq · seq_len) × d, sequences stored one
// after another.
void run_encoder(const EncoderWeights& encoder, Backend& backend, float* x, std::int64_t n_seq,
                 std::int64_t seq_len, bool causal, EncoderWorkspace& workspace);

}  // namespace vlbench
