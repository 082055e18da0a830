// Helpers shared by the tests.
#pragma once

#include <filesystem>
#include <string>

namespace vlbench::testing {

// A fresh empty folder under the system temp dir, removed with the object.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

void write_text(const std::filesystem::path& path, const std::string& text);

// Runs the built `vlbench` program with `args` (a shell-quoted string); returns the exit code
// and fills `output` with stdout+stderr.
int run_cli(const std::string& args, std::string* output = nullptr);

std::filesystem::path test_data(const std::string& relative);  // tests/fixtures/<relative>
std::filesystem::path repo_path(const std::string& relative);  // <repo>/<relative>

}  // namespace vlbench::testing
