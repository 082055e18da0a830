// nn.Linear with bf16 weights and activations on oneDNN's matmul. See ops.hpp.
//
// Weights are rounded to bf16 once, in oneDNN's "ba" view of PyTorch's out × in layout
// (weights [in, out] with strides {1, in}), so no copy is transposed. One matmul primitive
// per row count is created on first use and kept: a fixed M lets oneDNN pick its fastest
// (brgemm) kernels, and the row counts of one model are few (images per chunk, caption
// lengths × group sizes). The bias is fused into the matmul (float32).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

#include "kernels/cpu/isa_clones.hpp"
#include "kernels/cpu/parallel_rows.hpp"
#include "vlbench/core/dtype.hpp"
#include "vlbench/core/error.hpp"
#include "vlbench/kernels/ops.hpp"

#if defined(VLBENCH_WITH_ONEDNN)
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>

#include <thread>
#endif

namespace vlbench {

#if defined(VLBENCH_WITH_ONEDNN)
namespace {

int resolve_threads(int n_threads) {
  if (n_threads > 0) return n_threads;
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

void check(dnnl_status_t status, const char* what, std::int64_t m, std::int64_t n, std::int64_t k) {
  if (status != dnnl_success) {
    fail("onednn: {} failed with status {} for a bf16 {}x{}x{} matmul", what,
         static_cast<int>(status), m, n, k);
  }
}

// The process's CPU engine, created on first use and kept.
dnnl_engine_t cpu_engine() {
  static const dnnl_engine_t engine = [] {
    dnnl_engine_t created = nullptr;
    check(dnnl_engine_create(&created, dnnl_cpu, 0), "dnnl_engine_create", 0, 0, 0);
    return created;
  }();
  return engine;
}

// f32 -> bf16, round to nearest even, NaN kept quiet: f32_to_bf16 of core/dtype.cpp as a
// branch-free loop the compiler vectorizes.
VLBENCH_ISA_CLONES
void round_to_bf16(const float* x, std::int64_t n, std::uint16_t* y) {
  for (std::int64_t i = 0; i < n; ++i) {
    std::uint32_t bits;
    std::memcpy(&bits, x + i, sizeof(bits));
    const std::uint32_t rounded = (bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16;
    const std::uint32_t nan = (bits >> 16) | 0x0040u;
    y[i] = static_cast<std::uint16_t>((bits & 0x7fffffffu) > 0x7f800000u ? nan : rounded);
  }
}

dnnl_memory_desc_t plain_md(std::int64_t rows, std::int64_t cols, dnnl_data_type_t type,
                            dnnl_format_tag_t tag) {
  dnnl_memory_desc_t md;
  const dnnl_dims_t dims = {rows, cols};
  check(dnnl_memory_desc_init_by_tag(&md, 2, dims, type, tag), "dnnl_memory_desc_init_by_tag", rows,
        cols, 0);
  return md;
}

}  // namespace

struct LinearBf16::Impl {
  std::int64_t in = 0;
  std::int64_t out = 0;
  int n_threads = resolve_threads(0);
  std::vector<std::uint16_t> weight;  // [out, in] bf16 bits
  std::vector<float> bias;            // [out] or empty

  mutable std::mutex mutex;                                  // guards the members below
  mutable std::map<std::int64_t, dnnl_primitive_t> by_rows;  // matmul primitive per M

  ~Impl() {
    for (auto& [rows, primitive] : by_rows) dnnl_primitive_destroy(primitive);
  }

  dnnl_memory_desc_t src_md(std::int64_t m) const { return plain_md(m, in, dnnl_bf16, dnnl_ab); }
  dnnl_memory_desc_t weight_md() const { return plain_md(in, out, dnnl_bf16, dnnl_ba); }
  dnnl_memory_desc_t bias_md() const { return plain_md(1, out, dnnl_f32, dnnl_ab); }
  dnnl_memory_desc_t dst_md(std::int64_t m) const { return plain_md(m, out, dnnl_f32, dnnl_ab); }

  dnnl_primitive_t primitive(std::int64_t m) const {
    const auto found = by_rows.find(m);
    if (found != by_rows.end()) return found->second;
    const dnnl_memory_desc_t src = src_md(m), wei = weight_md(), b = bias_md(), dst = dst_md(m);
    dnnl_matmul_desc_t desc;
    check(dnnl_matmul_desc_init(&desc, &src, &wei, bias.empty() ? nullptr : &b, &dst),
          "dnnl_matmul_desc_init", m, out, in);
    dnnl_primitive_desc_t pd = nullptr;
    check(dnnl_primitive_desc_create(&pd, &desc, nullptr, cpu_engine(), nullptr),
          "dnnl_primitive_desc_create", m, out, in);
    dnnl_primitive_t created = nullptr;
    const dnnl_status_t status = dnnl_primitive_create(&created, pd);
    dnnl_primitive_desc_destroy(pd);
    check(status, "dnnl_primitive_create", m, out, in);
    by_rows.emplace(m, created);
    return created;
  }
};

LinearBf16::LinearBf16(const float* weight, std::int64_t out, std::int64_t in, const float* bias)
    : impl_(std::make_unique<Impl>()) {
  VLB_ASSERT(out > 0 && in > 0 && weight != nullptr);
  impl_->in = in;
  impl_->out = out;
  impl_->weight.resize(static_cast<std::size_t>(out * in));
  for (std::int64_t i = 0; i < out * in; ++i) impl_->weight[i] = f32_to_bf16(weight[i]);
  if (bias != nullptr) impl_->bias.assign(bias, bias + out);
}

bool bf16_linear_available() {
  return true;
}

void LinearBf16::run(const float* x, std::int64_t rows, float* y, ThreadPool* pool) const {
  VLB_ASSERT(rows >= 0);
  if (rows == 0) return;
  VLB_ASSERT(x != nullptr && y != nullptr);
  const Impl& impl = *impl_;
  const std::int64_t in = impl.in;
  const std::lock_guard<std::mutex> lock(impl.mutex);
  // The rounded input: one buffer per calling thread shared by every layer (a buffer per
  // layer would hold rows × in for each of a model's ~200 Linears: 1.2 GB for a ColPali page).
  thread_local std::vector<std::uint16_t> rounded;
  if (static_cast<std::int64_t>(rounded.size()) < rows * in) {
    rounded.resize(static_cast<std::size_t>(rows * in));
  }
  std::uint16_t* x_bf16 = rounded.data();  // [rows, in]
  parallel_rows(pool, rows, in, [&](std::int64_t begin, std::int64_t end) {
    round_to_bf16(x + begin * in, (end - begin) * in, x_bf16 + begin * in);
  });

  const dnnl_primitive_t matmul = impl.primitive(rows);
  const dnnl_engine_t engine = cpu_engine();
  const dnnl_memory_desc_t src_md = impl.src_md(rows), wei_md = impl.weight_md(),
                           bias_md = impl.bias_md(), dst_md = impl.dst_md(rows);
  // Memory objects wrap the caller's buffers (no copies); oneDNN never writes src/weights.
  dnnl_memory_t memory[4] = {nullptr, nullptr, nullptr, nullptr};
  auto wrap = [&](int slot, const dnnl_memory_desc_t& md, const void* data) {
    check(dnnl_memory_create(&memory[slot], &md, engine, const_cast<void*>(data)),
          "dnnl_memory_create", rows, impl.out, in);
  };
  dnnl_stream_t stream = nullptr;
  dnnl_status_t status = dnnl_success;
  try {
    wrap(0, src_md, x_bf16);
    wrap(1, wei_md, impl.weight.data());
    wrap(2, dst_md, y);
    std::vector<dnnl_exec_arg_t> args = {
        {DNNL_ARG_SRC, memory[0]}, {DNNL_ARG_WEIGHTS, memory[1]}, {DNNL_ARG_DST, memory[2]}};
    if (!impl.bias.empty()) {
      wrap(3, bias_md, impl.bias.data());
      args.push_back({DNNL_ARG_BIAS, memory[3]});
    }
    check(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags), "dnnl_stream_create",
          rows, impl.out, in);
    // OpenMP's thread count belongs to the calling thread: set it right before the call.
    omp_set_num_threads(impl.n_threads);
    status = dnnl_primitive_execute(matmul, stream, static_cast<int>(args.size()), args.data());
    if (status == dnnl_success) status = dnnl_stream_wait(stream);
  } catch (...) {
    for (dnnl_memory_t m : memory) {
      if (m != nullptr) dnnl_memory_destroy(m);
    }
    if (stream != nullptr) dnnl_stream_destroy(stream);
    throw;
  }
  for (dnnl_memory_t m : memory) {
    if (m != nullptr) dnnl_memory_destroy(m);
  }
  dnnl_stream_destroy(stream);
  check(status, "dnnl_primitive_execute", rows, impl.out, in);
}

void LinearBf16::set_threads(int n_threads) {
  impl_->n_threads = resolve_threads(n_threads);
}

#else  // no oneDNN

struct LinearBf16::Impl {
  std::int64_t in = 0;
  std::int64_t out = 0;
};

LinearBf16::LinearBf16(const float*, std::int64_t, std::int64_t, const float*) {
  fail("bf16 compute needs oneDNN, and this build has none (VLBENCH_WITH_ONEDNN is OFF)");
}

bool bf16_linear_available() {
  return false;
}

void LinearBf16::run(const float*, std::int64_t, float*, ThreadPool*) const {
  VLB_ASSERT(false);
}

void LinearBf16::set_threads(int) {}

#endif

LinearBf16::LinearBf16(LinearBf16&&) noexcept = default;
LinearBf16& LinearBf16::operator=(LinearBf16&&) noexcept = default;
LinearBf16::~LinearBf16() = default;

std::int64_t LinearBf16::in() const {
  return impl_->in;
}
std::int64_t LinearBf16::out() const {
  return impl_->out;
}

}  // namespace vlbench
