// write_safetensors: the layout of the reference implementation (huggingface/safetensors):
// 8-byte little-endian header length N, N bytes of compact JSON ("__metadata__" first, then
// each tensor's {"dtype", "shape", "data_offsets"}) padded with spaces to a multiple of 8 so the
// data section starts 8-byte aligned, then the tensors back to back.
#include <vlbench/models/checkpoint.hpp>

#include <vlbench/core/atomic_file.hpp>
#include <vlbench/core/error.hpp>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace vlbench {

namespace {

std::string_view safetensors_dtype(DType dtype) {
  switch (dtype) {
    case DType::f64:
      return "F64";
    case DType::f32:
      return "F32";
    case DType::f16:
      return "F16";
    case DType::bf16:
      return "BF16";
    case DType::i64:
      return "I64";
    case DType::i32:
      return "I32";
    case DType::i16:
      return "I16";
    case DType::i8:
      return "I8";
    case DType::u8:
      return "U8";
    case DType::boolean:
      return "BOOL";
  }
  VLB_ASSERT(false && "unknown DType");
  return "";
}

struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};

}  // namespace

void write_safetensors(const std::filesystem::path& path, const std::vector<TensorToWrite>& tensors,
                       const std::vector<std::pair<std::string, std::string>>& metadata) {
  const std::string file = path.string();
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    nlohmann::ordered_json meta = nlohmann::ordered_json::object();
    for (const auto& [key, value] : metadata) {
      if (meta.contains(key)) fail("{}: metadata key '{}' given twice", file, key);
      meta[key] = value;
    }
    header["__metadata__"] = std::move(meta);
  }

  std::vector<std::uint64_t> sizes;
  std::uint64_t offset = 0;
  for (const TensorToWrite& tensor : tensors) {
    if (tensor.name.empty()) fail("{}: a tensor has an empty name", file);
    if (tensor.name == "__metadata__") {
      fail("{}: '__metadata__' is reserved and cannot name a tensor", file);
    }
    if (header.contains(tensor.name)) fail("{}: tensor '{}' given twice", file, tensor.name);
    std::uint64_t nbytes = dtype_size(tensor.dtype);
    for (const std::int64_t dim : tensor.shape) {
      if (dim < 0) fail("{}: tensor '{}' has a negative dimension {}", file, tensor.name, dim);
      if (__builtin_mul_overflow(nbytes, static_cast<std::uint64_t>(dim), &nbytes)) {
        fail("{}: tensor '{}': shape overflows a 64-bit byte count", file, tensor.name);
      }
    }
    if (nbytes > 0 && tensor.data == nullptr) {
      fail("{}: tensor '{}' has {} bytes but no data", file, tensor.name, nbytes);
    }
    header[tensor.name] = {{"dtype", safetensors_dtype(tensor.dtype)},
                           {"shape", tensor.shape},
                           {"data_offsets", {offset, offset + nbytes}}};
    sizes.push_back(nbytes);
    offset += nbytes;
  }

  std::string header_text;
  try {
    header_text = header.dump();
  } catch (const nlohmann::json::type_error&) {
    fail("{}: tensor names and metadata must be valid UTF-8", file);
  }
  header_text.append((8 - header_text.size() % 8) % 8, ' ');
  unsigned char length[8];
  std::uint64_t n = header_text.size();
  for (unsigned char& byte : length) {
    byte = static_cast<unsigned char>(n & 0xff);
    n >>= 8;
  }

  AtomicFile out(path);
  {
    std::unique_ptr<std::FILE, FileCloser> f(std::fopen(out.temp_path().c_str(), "wb"));
    if (!f) fail("cannot create {}: {}", out.temp_path().string(), std::strerror(errno));
    auto write = [&](const void* bytes, std::size_t count) {
      if (count > 0 && std::fwrite(bytes, 1, count, f.get()) != count) {
        fail("cannot write {}: {}", out.temp_path().string(), std::strerror(errno));
      }
    };
    write(length, sizeof length);
    write(header_text.data(), header_text.size());
    for (std::size_t i = 0; i < tensors.size(); ++i) {
      write(tensors[i].data, static_cast<std::size_t>(sizes[i]));
    }
    if (std::fclose(f.release()) != 0) {
      fail("cannot write {}: {}", out.temp_path().string(), std::strerror(errno));
    }
  }
  out.commit();
}

}  // namespace vlbench
