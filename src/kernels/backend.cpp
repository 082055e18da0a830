// Backend-neutral parts of backend.hpp: compute type names and DeviceBuffer.
#include <utility>

#include "vlbench/core/error.hpp"
#include "vlbench/kernels/backend.hpp"

namespace vlbench {

ComputeType parse_compute_type(const std::string& name) {
  if (name == "fp32") return ComputeType::fp32;
  if (name == "bf16") return ComputeType::bf16;
  fail("unknown compute type '{}' (supported: fp32, bf16)", name);
}

std::string compute_type_name(ComputeType compute) {
  return compute == ComputeType::bf16 ? "bf16" : "fp32";
}

DeviceBuffer::DeviceBuffer(Backend& backend, std::size_t bytes)
    : backend_(&backend), data_(bytes > 0 ? backend.allocate(bytes) : nullptr), bytes_(bytes) {}

DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept
    : backend_(std::exchange(other.backend_, nullptr)),
      data_(std::exchange(other.data_, nullptr)),
      bytes_(std::exchange(other.bytes_, 0)) {}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  if (this != &other) {
    release();
    backend_ = std::exchange(other.backend_, nullptr);
    data_ = std::exchange(other.data_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

DeviceBuffer::~DeviceBuffer() {
  release();
}

void DeviceBuffer::release() noexcept {
  if (data_ != nullptr) backend_->deallocate(data_);
  data_ = nullptr;
  bytes_ = 0;
}

void DeviceBuffer::reserve_f32(Backend& backend, std::int64_t floats) {
  VLB_ASSERT(floats >= 0);
  const auto bytes = static_cast<std::size_t>(floats) * sizeof(float);
  if (bytes <= bytes_ && backend_ == &backend) return;
  *this = DeviceBuffer(backend, bytes);
}

DeviceBuffer upload_f32(Backend& backend, std::span<const float> host) {
  DeviceBuffer buffer(backend, host.size_bytes());
  if (!host.empty()) backend.upload(buffer.f32(), host.data(), host.size_bytes());
  return buffer;
}

}  // namespace vlbench
