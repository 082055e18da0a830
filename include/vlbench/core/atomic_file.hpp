// Output files that appear whole or not at all: write to a temporary name beside the target,
// then commit() renames it over the target. Destroyed uncommitted, the temporary is removed.
#pragma once

#include <filesystem>
#include <string_view>

namespace vlbench {

class AtomicFile {
 public:
  explicit AtomicFile(std::filesystem::path target);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // The temporary path to write to (same folder as the target).
  const std::filesystem::path& temp_path() const { return temp_; }
  const std::filesystem::path& target() const { return target_; }
  // fsyncs and renames the temporary over the target. Error on failure.
  void commit();

 private:
  std::filesystem::path target_;
  std::filesystem::path temp_;
  bool committed_ = false;
};

// Writes `contents` to `path` atomically.
void write_file_atomic(const std::filesystem::path& path, std::string_view contents);

// Reads a whole file; Error naming the path on failure.
std::string read_file(const std::filesystem::path& path);

}  // namespace vlbench
