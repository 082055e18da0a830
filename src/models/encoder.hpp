// The pre-LayerNorm transformer encoder shared by the CLIP towers (and other ViT-style
// families): per layer
//   x = x + out_proj(MHA(LN1(x)));  x = x + fc2(act(fc1(LN2(x))))
// Internal to the models module.
#pragma once

#include <vlbench/core/thread_pool.hpp>
#include <vlbench/kernels/gemm.hpp>
#include <vlbench/kernels/ops.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace vlbench {

class Checkpoint;

// One block's weights, float32, PyTorch layouts (Linear weights out × in).
struct EncoderLayerWeights {
  std::vector<float> ln1_weight, ln1_bias;  // [d]
  std::vector<float> qkv_weight;            // [3d, d]: q_proj, k_proj, v_proj stacked
  std::vector<float> qkv_bias;              // [3d]
  std::vector<float> out_weight;            // [d, d]
  std::vector<float> out_bias;              // [d]
  std::vector<float> ln2_weight, ln2_bias;  // [d]
  std::vector<float> fc1_weight;            // [intermediate, d]
  std::vector<float> fc1_bias;              // [intermediate]
  std::vector<float> fc2_weight;            // [d, intermediate]
  std::vector<float> fc2_bias;              // [d]
};

// One block's Linear layers in bf16 (ComputeType::bf16), biases fused; same shapes as above.
struct EncoderLayerBf16 {
  LinearBf16 qkv, out, fc1, fc2;
};

struct EncoderWeights {
  std::int64_t d_model = 0;
  std::int64_t intermediate = 0;
  std::int64_t n_heads = 0;
  float layer_norm_eps = 1e-5f;
  Activation activation = Activation::quick_gelu;
  std::vector<EncoderLayerWeights> layers;
  // Empty: float32 compute. Else one entry per layer, used instead of the float32 Linear
  // weights (which convert_encoder_to_bf16 frees); layer norms and biases stay float32.
  std::vector<EncoderLayerBf16> bf16_layers;
};

// Loads tensor `name` as float32 with `shape` (and records it as used).
using LoadTensor =
    std::function<std::vector<float>(const std::string& name, const std::vector<std::int64_t>&)>;

// Loads layers 0..n_layers-1 named `prefix`{i}.self_attn.{q,k,v,out}_proj.{weight,bias},
// .layer_norm1/2.{weight,bias}, .mlp.fc1/fc2.{weight,bias} (Hugging Face's names).
void load_encoder_layers(const LoadTensor& load, const std::string& prefix, std::int64_t n_layers,
                         EncoderWeights& encoder);

// ComputeType::bf16: builds encoder.bf16_layers from the float32 Linear weights (rounded to
// bf16 once) and frees those weights. n_threads: oneDNN's threads (<= 0: all cores).
void convert_encoder_to_bf16(EncoderWeights& encoder, int n_threads);

// Scratch buffers of run_encoder, grown on demand and reused across calls.
struct EncoderWorkspace {
  std::vector<float> normed;        // [rows, d]
  std::vector<float> qkv;           // [rows, 3d]
  std::vector<float> attention;     // [rows, d]
  std::vector<float> projected;     // [rows, d]
  std::vector<float> intermediate;  // [rows, intermediate]
};

// Runs every layer in place on x: (n_seq · seq_len) × d, sequences stored one after another.
void run_encoder(const EncoderWeights& encoder, float* x, std::int64_t n_seq, std::int64_t seq_len,
                 bool causal, const Gemm& gemm, ThreadPool* pool, EncoderWorkspace& workspace);

}  // namespace vlbench
