// The CPU backend: every op is the ops.hpp reference function on host memory, split over one
// ThreadPool; matrix products run on the Gemm's (or oneDNN's) own threads.
#include "kernels/cpu/cpu_backend.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

#include "kernels/cpu/parallel_rows.hpp"
#include "vlbench/core/error.hpp"
#include "vlbench/core/thread_pool.hpp"

namespace vlbench {
namespace {

class CpuLinear final : public BackendLinear {
 public:
  CpuLinear(std::vector<float> weight, std::int64_t out, std::int64_t in, std::vector<float> bias,
            ComputeType compute, int threads)
      : in_(in), out_(out), compute_(compute) {
    if (compute == ComputeType::bf16) {
      bf16_ = std::make_unique<LinearBf16>(weight.data(), out, in,
                                           bias.empty() ? nullptr : bias.data());
      bf16_->set_threads(threads);
    } else {
      weight_ = std::move(weight);
      bias_ = std::move(bias);
    }
  }

  std::int64_t in() const override { return in_; }
  std::int64_t out() const override { return out_; }
  ComputeType compute() const override { return compute_; }

  void run(const Gemm& gemm, const float* x, std::int64_t rows, float* y, ThreadPool* pool) const {
    if (bf16_) {
      bf16_->run(x, rows, y, pool);
    } else {
      linear(gemm, x, rows, in_, weight_.data(), out_, bias_.empty() ? nullptr : bias_.data(), y,
             pool);
    }
  }

 private:
  std::int64_t in_, out_;
  ComputeType compute_;
  std::vector<float> weight_, bias_;  // fp32: out × in, out
  std::unique_ptr<LinearBf16> bf16_;  // bf16: weights rounded once, bias fused
};

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown CPU";
}

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(const BackendOptions& options)
      : threads_(options.threads > 0
                     ? options.threads
                     : std::max(1, static_cast<int>(std::thread::hardware_concurrency()))),
        gemm_(make_gemm(default_gemm_backend())),
        pool_(threads_) {
    gemm_->set_threads(threads_);
  }

  std::string name() const override { return "cpu"; }
  std::string description() const override {
    return fmt::format("{} ({} threads, GEMM {})", cpu_model_name(), threads_, gemm_->name());
  }
  bool host_memory() const override { return true; }
  bool supports(ComputeType compute) const override {
    return compute == ComputeType::fp32 || bf16_linear_available();
  }

  void* allocate(std::size_t bytes) override {
    // 64-byte aligned for the vector kernels.
    void* data = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (data == nullptr) fail("cpu backend: out of memory allocating {} bytes", bytes);
    return data;
  }
  void deallocate(void* data) noexcept override { std::free(data); }
  void upload(void* dst, const void* src, std::size_t bytes) override {
    if (bytes > 0) std::memcpy(dst, src, bytes);
  }
  void download(void* dst, const void* src, std::size_t bytes) override {
    if (bytes > 0) std::memcpy(dst, src, bytes);
  }
  void synchronize() override {}

  std::unique_ptr<BackendLinear> make_linear(std::vector<float> weight, std::int64_t out,
                                             std::int64_t in, std::vector<float> bias,
                                             ComputeType compute) override {
    VLB_ASSERT(out > 0 && in > 0 && static_cast<std::int64_t>(weight.size()) == out * in);
    VLB_ASSERT(bias.empty() || static_cast<std::int64_t>(bias.size()) == out);
    if (!supports(compute)) {
      fail("cpu backend: compute type {} needs oneDNN, and this build has none (supported: fp32)",
           compute_type_name(compute));
    }
    return std::make_unique<CpuLinear>(std::move(weight), out, in, std::move(bias), compute,
                                       threads_);
  }

  void linear(const BackendLinear& layer, const float* x, std::int64_t rows, float* y) override {
    static_cast<const CpuLinear&>(layer).run(*gemm_, x, rows, y, &pool_);
  }
  void layer_norm(const float* x, std::int64_t rows, std::int64_t d, const float* gamma,
                  const float* beta, float eps, float* y) override {
    vlbench::layer_norm(x, rows, d, gamma, beta, eps, y, &pool_);
  }
  void activation(Activation activation, float* x, std::int64_t n) override {
    apply_activation(activation, x, n, &pool_);
  }
  void rms_norm(const float* x, std::int64_t rows, std::int64_t d, const float* weight, float eps,
                float* y) override {
    vlbench::rms_norm(x, rows, d, weight, eps, y, &pool_);
  }
  void gated_activation(Activation activation, const float* gate_up, std::int64_t rows,
                        std::int64_t width, float* out) override {
    vlbench::gated_activation(activation, gate_up, rows, width, out, &pool_);
  }
  void rotary_embedding(float* x, std::int64_t n_seq, std::int64_t seq_len, std::int64_t ld,
                        std::int64_t n_heads, std::int64_t head_dim, std::int64_t first_position,
                        double theta) override {
    vlbench::rotary_embedding(x, n_seq, seq_len, ld, n_heads, head_dim, first_position, theta,
                              &pool_);
  }
  void rotary_table(float* x, std::int64_t n_seq, std::int64_t seq_len, std::int64_t ld,
                    std::int64_t n_heads, std::int64_t head_dim, const float* cos,
                    const float* sin) override {
    vlbench::rotary_table(x, n_seq, seq_len, ld, n_heads, head_dim, cos, sin, &pool_);
  }
  void masked_mean_rows(const float* x, std::int64_t n_seq, std::int64_t seq_len, std::int64_t d,
                        const std::uint8_t* key_mask, float* out) override {
    vlbench::masked_mean_rows(x, n_seq, seq_len, d, key_mask, out, &pool_);
  }
  void add(float* y, const float* x, std::int64_t n) override { add_inplace(y, x, n, &pool_); }
  void add_repeated(float* y, const float* x, std::int64_t n, std::int64_t period) override {
    VLB_ASSERT(period > 0 && n % period == 0);
    add_bias_rows(y, n / period, period, x, &pool_);
  }
  void attention(const float* qkv, const AttentionShape& shape, float* out) override {
    multi_head_attention(qkv, shape, out, &pool_);
  }
  void pooling_attention(const float* q, std::int64_t q_stride, const float* kv,
                         const AttentionShape& shape, float* out) override {
    vlbench::pooling_attention(q, q_stride, kv, shape, out, &pool_);
  }
  void gather_rows(const float* x, std::int64_t d, std::span<const std::int64_t> rows,
                   float* out) override {
    for (std::size_t i = 0; i < rows.size(); ++i) {
      std::memcpy(out + static_cast<std::int64_t>(i) * d, x + rows[i] * d,
                  static_cast<std::size_t>(d) * sizeof(float));
    }
  }

 private:
  int threads_;
  std::unique_ptr<Gemm> gemm_;
  ThreadPool pool_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(const BackendOptions& options) {
  return std::make_unique<CpuBackend>(options);
}

}  // namespace vlbench
