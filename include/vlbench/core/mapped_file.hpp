// A read-only memory map of a whole file.
#pragma once

#include <cstddef>
#include <filesystem>

namespace vlbench {

class MappedFile {
 public:
  MappedFile() = default;
  // Throws Error naming the path if it cannot be opened or mapped. An empty file maps to
  // size() == 0 and data() == nullptr.
  explicit MappedFile(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::byte* data() const { return data_; }
  std::size_t size() const { return size_; }
  const std::filesystem::path& path() const { return path_; }

  // Tells the kernel the pages are no longer needed (they leave the resident set; a later
  // read faults them back in from the file). For inputs that were copied out once.
  void release_pages() const;
  // The same for the whole pages inside [begin, begin + bytes), which must lie in this map
  // (checked: a range outside it is ignored): one tensor of a checkpoint, once converted.
  void release_range(const std::byte* begin, std::size_t bytes) const;
  bool contains(const std::byte* begin, std::size_t bytes) const {
    return data_ != nullptr && begin >= data_ && bytes <= size_ &&
           static_cast<std::size_t>(begin - data_) <= size_ - bytes;
  }

 private:
  std::filesystem::path path_;
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace vlbench
