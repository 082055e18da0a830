// The weights of a Hugging Face checkpoint directory, as published:
//   model.safetensors, or model.safetensors.index.json + its shards (memory-mapped), or
//   pytorch_model.bin (PyTorch's zip format, read by a restricted unpickler that accepts only
//   the opcodes and globals of a tensor state dict — torch._utils._rebuild_tensor_v2,
//   torch.*Storage, collections.OrderedDict — and refuses anything else; it never runs code);
//   else open_clip's open_clip_model.safetensors or open_clip_pytorch_model.bin. A state dict
//   wrapped as {"state_dict": ...} is unwrapped, and a "module." prefix on every name dropped.
// Stored dtypes f32, f16, bf16 (and integer buffers such as position_ids).
#pragma once

#include <vlbench/core/dtype.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace vlbench {

struct TensorRef {
  std::string name;
  DType dtype = DType::f32;
  std::vector<std::int64_t> shape;
  const std::byte* data = nullptr;  // C-order, little endian; may be unaligned
  std::size_t nbytes = 0;

  std::int64_t numel() const;
};

class Checkpoint {
 public:
  // Errors: no weights file (lists what was looked for), corrupt or truncated files (named),
  // a pickle asking for a forbidden global (named), a shard listed in the index but missing.
  static Checkpoint open(const std::filesystem::path& dir);
  // One .safetensors file (a PEFT adapter's adapter_model.safetensors, say); dir() is its folder.
  static Checkpoint open_safetensors(const std::filesystem::path& path);

  Checkpoint(Checkpoint&&) noexcept;
  Checkpoint& operator=(Checkpoint&&) noexcept;
  ~Checkpoint();

  const std::filesystem::path& dir() const;
  // Every tensor, in a stable order (by name).
  const std::vector<TensorRef>& tensors() const;
  // nullptr when absent.
  const TensorRef* find(const std::string& name) const;
  // The tensor converted to float32 (from f32, f16 or bf16), checked against
  // `expected_shape`: a missing tensor or another shape is an Error naming the tensor, the
  // file, and both shapes.
  std::vector<float> load_f32(const std::string& name,
                              const std::vector<std::int64_t>& expected_shape) const;
  // Drops the tensor's memory-mapped pages from the resident set (a later read faults them
  // back in from the file): a loader that has converted a tensor releases it, so loading never
  // holds the file's bytes and the compute copy of every weight at once. A tensor read into
  // memory (an inflated pytorch_model.bin entry) is left alone; an unknown name is ignored.
  void release(const std::string& name) const;

 private:
  struct Impl;
  explicit Checkpoint(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Writes tensors (f32, f16, bf16, i64, ...) as one .safetensors file, atomically, tensors in
// the given order with contiguous offsets. metadata goes to "__metadata__".
struct TensorToWrite {
  std::string name;
  DType dtype = DType::f32;
  std::vector<std::int64_t> shape;
  const void* data = nullptr;
};
void write_safetensors(const std::filesystem::path& path, const std::vector<TensorToWrite>& tensors,
                       const std::vector<std::pair<std::string, std::string>>& metadata = {});

}  // namespace vlbench
