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

// A folder that appears whole or not at all: filled under a temporary sibling name, then
// commit() swaps it in (a folder already at the target is moved aside, then removed).
// Destroyed uncommitted (an error, an exception), the temporary folder is removed, so an
// interrupted writer leaves at most a hidden-looking "<name>.tmp-..." sibling, never a
// half-written target. `replaceable(dir)` says whether an existing target may be replaced
// (e.g. it holds an index.json); otherwise a non-empty target is an Error naming it.
class AtomicDirectory {
 public:
  AtomicDirectory(std::filesystem::path target, std::string_view what,
                  bool (*replaceable)(const std::filesystem::path& dir));
  ~AtomicDirectory();
  AtomicDirectory(const AtomicDirectory&) = delete;
  AtomicDirectory& operator=(const AtomicDirectory&) = delete;

  const std::filesystem::path& temp_path() const { return temp_; }
  const std::filesystem::path& target() const { return target_; }
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
