// The CPU tensor ops of the model engines (transformer blocks), float32, row-major.
//
// Each op is one file under src/kernels/cpu/ and is the numerical reference for any other
// backend. Elementwise and row-wise ops take an optional ThreadPool and split their rows over
// it (nullptr: the calling thread only); the results never depend on the thread count,
// because every row is computed by one thread in a fixed order. Matrix products go through a
// Gemm (gemm.hpp), which has its own threads.
#pragma once

#include <vlbench/core/thread_pool.hpp>
#include <vlbench/kernels/gemm.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace vlbench {

// Row-wise LayerNorm, as torch.nn.functional.layer_norm over the last dimension:
//   y[r, :] = (x[r, :] - mean_r) / sqrt(var_r + eps) * gamma + beta  (biased variance).
// x, y: rows × d (y may equal x). gamma, beta: d. Two passes in float32 (mean, then the
// variance of the centered values), which keeps the error near float32 rounding.
void layer_norm(const float* x, std::int64_t rows, std::int64_t d, const float* gamma,
                const float* beta, float eps, float* y, ThreadPool* pool = nullptr);

// The MLP activations of the transformers configs ("hidden_act").
//   quick_gelu:         x · sigmoid(1.702 x)
//   gelu:               x · Φ(x), exact (erf)
//   gelu_pytorch_tanh:  0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))
//   silu:               x · sigmoid(x) (SwiGLU's gate)
enum class Activation { quick_gelu, gelu, gelu_pytorch_tanh, silu };

// Throws Error naming `name` and listing the supported names.
Activation parse_activation(const std::string& name);
std::string activation_name(Activation activation);

// x: n values, in place.
void apply_activation(Activation activation, float* x, std::int64_t n, ThreadPool* pool = nullptr);

// A gated MLP's middle (Gemma's GeGLU: act(gate_proj(x)) · up_proj(x)):
//   out[r, i] = act(gate_up[r, i]) · gate_up[r, width + i]
// gate_up: rows × 2·width, the fused [gate | up] projection's output. out: rows × width.
void gated_activation(Activation activation, const float* gate_up, std::int64_t rows,
                      std::int64_t width, float* out, ThreadPool* pool = nullptr);

// Row-wise RMSNorm (T5, Llama, Gemma): y[r, :] = x[r, :] / sqrt(mean(x[r, :]²) + eps) · weight.
// Gemma's (1 + w) is the caller's: pass weight = 1 + w. x, y: rows × d (y may equal x).
void rms_norm(const float* x, std::int64_t rows, std::int64_t d, const float* weight, float eps,
              float* y, ThreadPool* pool = nullptr);

// Rotary position embedding in place, as transformers' apply_rotary_pos_emb with rotate_half
// (the two halves of each head rotate together, GPT-NeoX style): for each head of each row and
// i < head_dim / 2, with angle = position · theta^(-2i / head_dim),
//   x[i]  = x[i] cos − x[i + head_dim/2] sin;  x[i + head_dim/2] = x[i + head_dim/2] cos + x[i] sin.
// x: n_seq · seq_len rows of `ld` floats; the first n_heads · head_dim floats of each row are
// rotated (the q and k heads at the start of a fused qkv row). Row t of a sequence has
// position first_position + t. Angles, cosines and sines are computed in float64.
void rotary_embedding(float* x, std::int64_t n_seq, std::int64_t seq_len, std::int64_t ld,
                      std::int64_t n_heads, std::int64_t head_dim, std::int64_t first_position,
                      double theta, ThreadPool* pool = nullptr);

// Rotary position embedding from a table, interleaved pairs (EVA02's rotate_half on
// (x0, x1) -> (-x1, x0); GPT-J style): for each head of each row and each pair i < head_dim/2,
// with a = x[2i], b = x[2i + 1] and t the row's position in its sequence,
//   x[2i] = a · cos[t, 2i] − b · sin[t, 2i];  x[2i + 1] = b · cos[t, 2i + 1] + a · sin[t, 2i + 1].
// x: n_seq · seq_len rows of `ld` floats, the first n_heads · head_dim of each rotated.
// cos, sin: seq_len × head_dim (a row of cos 1 and sin 0 leaves its token unchanged, exactly).
void rotary_table(float* x, std::int64_t n_seq, std::int64_t seq_len, std::int64_t ld,
                  std::int64_t n_heads, std::int64_t head_dim, const float* cos, const float* sin,
                  ThreadPool* pool = nullptr);

// out[s, :] = Σ_t mask[s, t] · x[s · seq_len + t, :] / Σ_t mask[s, t]: the mean of each
// sequence's rows where key_mask is non-zero (key_mask: n_seq × seq_len bytes, host memory;
// nullptr: every row), summed in order of t. x: (n_seq · seq_len) × d, out: n_seq × d. A
// sequence with no row in its mask is an assertion failure.
void masked_mean_rows(const float* x, std::int64_t n_seq, std::int64_t seq_len, std::int64_t d,
                      const std::uint8_t* key_mask, float* out, ThreadPool* pool = nullptr);

// Numerically stable softmax of every row, in place. x: rows × cols.
void softmax_rows(float* x, std::int64_t rows, std::int64_t cols, ThreadPool* pool = nullptr);

// y[r, :] += bias for every row. y: rows × cols, bias: cols.
void add_bias_rows(float* y, std::int64_t rows, std::int64_t cols, const float* bias,
                   ThreadPool* pool = nullptr);

// y[i] += x[i] (the residual connections). y, x: n values.
void add_inplace(float* y, const float* x, std::int64_t n, ThreadPool* pool = nullptr);

// A PyTorch nn.Linear: y = x · weightᵀ + bias.
// x: rows × in, weight: out × in (PyTorch's layout), bias: out or nullptr, y: rows × out.
void linear(const Gemm& gemm, const float* x, std::int64_t rows, std::int64_t in,
            const float* weight, std::int64_t out, const float* bias, float* y,
            ThreadPool* pool = nullptr);

// nn.Linear with bf16 compute (ComputeType::bf16): y = bf16(x) · bf16(weight)ᵀ + bias, the
// products of the bf16 values accumulated in float32, y and bias float32. bf16(·) rounds to
// nearest even (core/dtype.hpp f32_to_bf16). Runs on oneDNN's matmul (AVX512-BF16 / AMX
// kernels where the CPU has them, emulated elsewhere) with oneDNN's OpenMP threads; the
// summation order, hence the last bits, may depend on rows and threads.
class LinearBf16 {
 public:
  // weight: out × in float32 (PyTorch's layout), rounded to bf16 once here; bias: out float32
  // or nullptr. Throws Error when this build has no oneDNN (bf16_linear_available()).
  LinearBf16(const float* weight, std::int64_t out, std::int64_t in, const float* bias);
  LinearBf16(LinearBf16&&) noexcept;
  LinearBf16& operator=(LinearBf16&&) noexcept;
  ~LinearBf16();

  std::int64_t in() const;
  std::int64_t out() const;
  // oneDNN's threads in run() (<= 0: all cores).
  void set_threads(int n_threads);
  // x: rows × in float32 (rounded to bf16 on the pool's threads), y: rows × out float32.
  // Calls on one object are serialized (it keeps the bf16 copy of x between calls).
  void run(const float* x, std::int64_t rows, float* y, ThreadPool* pool = nullptr) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Whether LinearBf16 is built in (it needs oneDNN).
bool bf16_linear_available();

// Sizes of one multi-head self-attention call over n_seq sequences of seq_len tokens each.
struct AttentionShape {
  std::int64_t n_seq = 1;
  std::int64_t seq_len = 0;
  std::int64_t n_heads = 1;
  std::int64_t head_dim = 0;
  bool causal = false;  // token i attends to tokens 0..i only
  float scale = 1.0f;   // usually head_dim^-0.5
  // Key/value heads (grouped-query attention: query head h reads kv head
  // h / (n_heads / n_kv_heads)). 0: n_heads. Must divide n_heads.
  std::int64_t n_kv_heads = 0;
  // Padding mask: sequence s has key_lengths[s] real tokens (1..seq_len) at its start, and no
  // token attends to the keys after them (their own rows are still computed). Host memory,
  // n_seq values; nullptr: every token is real.
  const std::int64_t* key_lengths = nullptr;
  // A mask of any form: no token attends to key t of sequence s where key_mask[s · seq_len + t]
  // is 0 (probability exactly 0). Host memory, n_seq × seq_len bytes, at least one non-zero per
  // sequence; nullptr: none. Not with key_lengths or causal.
  const std::uint8_t* key_mask = nullptr;
  // ALiBi (Press et al.), symmetric: head h adds −alibi_slopes[h] · |i − j| to the scaled
  // score of query i and key j. Host memory, n_heads values; nullptr: none.
  const float* alibi_slopes = nullptr;

  std::int64_t kv_heads() const { return n_kv_heads > 0 ? n_kv_heads : n_heads; }
};

// Scaled dot-product attention of every (sequence, head):
//   out_h = softmax(q_h · k_hᵀ · scale [− ALiBi] [+ mask]) · v_h
// qkv: (n_seq · seq_len) rows laid out [q | k | v] (the fused q/k/v projection's output): q is
// d = n_heads · head_dim wide, k and v kv_heads() · head_dim each, head h in columns
// h · head_dim .. (h + 1) · head_dim of its part. out: (n_seq · seq_len) × d, heads
// concatenated (the out projection's input).
void multi_head_attention(const float* qkv, const AttentionShape& shape, float* out,
                          ThreadPool* pool = nullptr);

// Attention pooling: one query per sequence attends over all seq_len tokens of its sequence
// (SigLIP's MAP head: a learned probe as the single query of a multi-head attention).
//   out[s]_h = softmax(q[s]_h · k[s]_hᵀ · scale) · v[s]_h
// q: n_seq rows of d floats, row s at q + s · q_stride (q_stride 0: one query shared by every
// sequence). kv: (n_seq · seq_len) × (2 · d) rows laid out [k | v]. out: n_seq × d, heads
// concatenated. shape.causal must be false.
void pooling_attention(const float* q, std::int64_t q_stride, const float* kv,
                       const AttentionShape& shape, float* out, ThreadPool* pool = nullptr);

}  // namespace vlbench
