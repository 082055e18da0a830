// .safetensors files, memory-mapped, with the header validated before any tensor is used:
// header length inside the file, JSON well formed, every tensor's dtype known, byte length
// == product(shape) × dtype size (overflow-checked), offsets inside the data section, tensors
// neither overlapping nor leaving holes (the format's rule). Violations throw Error naming
// the file and the tensor.
#pragma once

#include <vlbench/core/dtype.hpp>
#include <vlbench/core/mapped_file.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace vlbench {

struct TensorInfo {
  std::string name;
  DType dtype = DType::f32;
  std::vector<std::int64_t> shape;
  std::size_t offset = 0;  // from the start of the file
  std::size_t nbytes = 0;
};

class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return file_.path(); }
  // Tensors in file order (sorted by offset).
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  // nullptr when absent.
  const TensorInfo* find(const std::string& name) const;
  // Throws Error ("<file>: no tensor named <name>") when absent.
  const TensorInfo& at(const std::string& name) const;
  const std::byte* data(const TensorInfo& tensor) const { return file_.data() + tensor.offset; }
  const MappedFile& mapping() const { return file_; }
  // The optional "__metadata__" string map.
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  MappedFile file_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace vlbench
