// The compute backend interface of the model engines, and the registry of backends.
//
// A model keeps its weights and activations in backend memory and runs every tensor op of
// its transformer blocks through a Backend, so the same model code runs on any backend: the
// CPU backend is always built and is the numerical reference; an accelerator backend (CUDA)
// is an optional target that adds itself to the registry in backend_registry.cpp. Model code
// never names a backend and has no #ifdef.
//
// Memory: `float*` arguments of the ops point into the backend's own memory (allocate());
// host code moves data in and out with upload() / download(). For the CPU backend that
// memory is ordinary host memory (host_memory() is true).
//
// Ordering: ops may run asynchronously on the backend, in call order; download() and
// synchronize() wait for every op before them. One Backend object is used by one thread at a
// time (it owns the threads its ops run on).
#pragma once

#include <vlbench/kernels/ops.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace vlbench {

// The arithmetic of the Linear layers (the GEMMs: nearly all of a transformer's FLOPs).
//   fp32: float32 weights, activations and accumulation.
//   bf16: weights rounded to bf16 once, inputs rounded to bf16 per call, products accumulated
//         in float32; the output, biases, layer norms, softmax and the residual stream stay
//         float32.
enum class ComputeType { fp32, bf16 };

// "fp32" | "bf16"; anything else is an Error listing them.
ComputeType parse_compute_type(const std::string& name);
std::string compute_type_name(ComputeType compute);

struct BackendOptions {
  int threads = 0;  // host threads of the CPU backend (<= 0: all cores)
  int device = 0;   // accelerator ordinal
};

class Backend;

// Backend memory, freed by its destructor. Move-only.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(Backend& backend, std::size_t bytes);
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer();

  float* f32() const { return static_cast<float*>(data_); }
  std::size_t bytes() const { return bytes_; }

  // Reallocates (contents lost) when smaller than `floats` float32 values.
  void reserve_f32(Backend& backend, std::int64_t floats);

 private:
  void release() noexcept;
  Backend* backend_ = nullptr;
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
};

// A Linear layer's weights in the backend's preferred form (e.g. bf16 and pre-packed).
class BackendLinear {
 public:
  virtual ~BackendLinear() = default;
  virtual std::int64_t in() const = 0;
  virtual std::int64_t out() const = 0;
  virtual ComputeType compute() const = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;

  virtual std::string name() const = 0;         // the registry name: "cpu", "cuda"
  virtual std::string description() const = 0;  // the device, for results documents
  virtual bool host_memory() const = 0;         // allocate() returns host-addressable memory
  // Whether make_linear supports `compute` on this backend and machine.
  virtual bool supports(ComputeType compute) const = 0;

  virtual void* allocate(std::size_t bytes) = 0;
  virtual void deallocate(void* data) noexcept = 0;
  virtual void upload(void* device_dst, const void* host_src, std::size_t bytes) = 0;
  virtual void download(void* host_dst, const void* device_src, std::size_t bytes) = 0;
  virtual void synchronize() = 0;

  // A PyTorch nn.Linear: weight out × in (PyTorch's layout), bias out or empty. Takes the host
  // copies (the CPU backend keeps fp32 weights without copying). An unsupported compute type
  // is an Error naming the backend and the compute type.
  virtual std::unique_ptr<BackendLinear> make_linear(std::vector<float> weight, std::int64_t out,
                                                     std::int64_t in, std::vector<float> bias,
                                                     ComputeType compute) = 0;

  // y = x · weightᵀ + bias. x: rows × in, y: rows × out (backend memory).
  virtual void linear(const BackendLinear& layer, const float* x, std::int64_t rows, float* y) = 0;
  // ops.hpp's layer_norm (y may equal x). gamma, beta: d floats in backend memory.
  virtual void layer_norm(const float* x, std::int64_t rows, std::int64_t d, const float* gamma,
                          const float* beta, float eps, float* y) = 0;
  // ops.hpp's apply_activation, in place over n values.
  virtual void activation(Activation activation, float* x, std::int64_t n) = 0;
  // ops.hpp's rms_norm (y may equal x). weight: d floats in backend memory.
  virtual void rms_norm(const float* x, std::int64_t rows, std::int64_t d, const float* weight,
                        float eps, float* y) = 0;
  // ops.hpp's gated_activation: gate_up rows × 2·width -> out rows × width.
  virtual void gated_activation(Activation activation, const float* gate_up, std::int64_t rows,
                                std::int64_t width, float* out) = 0;
  // ops.hpp's rotary_embedding, in place.
  virtual void rotary_embedding(float* x, std::int64_t n_seq, std::int64_t seq_len,
                                std::int64_t ld, std::int64_t n_heads, std::int64_t head_dim,
                                std::int64_t first_position, double theta) = 0;
  // ops.hpp's rotary_table, in place. cos, sin: seq_len × head_dim in backend memory.
  virtual void rotary_table(float* x, std::int64_t n_seq, std::int64_t seq_len, std::int64_t ld,
                            std::int64_t n_heads, std::int64_t head_dim, const float* cos,
                            const float* sin) = 0;
  // ops.hpp's masked_mean_rows: x (n_seq · seq_len) × d -> out n_seq × d (key_mask: host).
  virtual void masked_mean_rows(const float* x, std::int64_t n_seq, std::int64_t seq_len,
                                std::int64_t d, const std::uint8_t* key_mask, float* out) = 0;
  // y[i] += x[i] for n values.
  virtual void add(float* y, const float* x, std::int64_t n) = 0;
  // y[i] += x[i % period] for n values (n a multiple of period): a per-sequence table such
  // as position embeddings added to every sequence of a batch.
  virtual void add_repeated(float* y, const float* x, std::int64_t n, std::int64_t period) = 0;
  // ops.hpp's multi_head_attention: qkv (n_seq · seq_len) × (d + 2 · kv width) -> out
  // (n_seq · seq_len) × d; grouped kv heads, key_lengths, key_mask and ALiBi as
  // AttentionShape says.
  virtual void attention(const float* qkv, const AttentionShape& shape, float* out) = 0;
  // ops.hpp's pooling_attention: q n_seq × d (row stride q_stride, 0: shared), kv
  // (n_seq · seq_len) × 2d [k | v] -> out n_seq × d.
  virtual void pooling_attention(const float* q, std::int64_t q_stride, const float* kv,
                                 const AttentionShape& shape, float* out) = 0;
  // out[i, :] = x[rows[i], :] for every i (rows: host indices). x: ? × d, out: rows.size() × d.
  virtual void gather_rows(const float* x, std::int64_t d, std::span<const std::int64_t> rows,
                           float* out) = 0;
};

// Registry. "cpu" is always present; others when built in (e.g. "cuda").
std::vector<std::string> backend_names();
// Throws Error listing backend_names() for an unknown name; a backend that is built in but
// cannot start (no device) throws an Error saying why.
std::unique_ptr<Backend> make_backend(const std::string& name, const BackendOptions& options = {});

// Uploads host floats into a new buffer.
DeviceBuffer upload_f32(Backend& backend, std::span<const float> host);

}  // namespace vlbench
