// Shared pieces of the libFuzzer targets (fuzz/README.md). The loaders under test read files,
// as the CLI does: each input is written to a scratch folder of this process first.
//
// Only vlbench::Error is an expected outcome of a bad input. Any other exception (a raw
// nlohmann::json or std::bad_alloc escaping, say), a crash, a sanitizer report, a hang past
// -timeout or memory past -rss_limit_mb is a finding.
#pragma once

#include <vlbench/core/error.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <unistd.h>

namespace vlbench::fuzz {

// A folder of this process, created on first use, removed at exit.
inline const std::filesystem::path& scratch() {
  static const std::filesystem::path dir = [] {
    const char* base = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
    std::filesystem::path d =
        std::filesystem::path(base) / ("vlbench-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    static const std::string to_remove = d.string();
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(to_remove, ignored);
    });
    return d;
  }();
  return dir;
}

inline void write_file(const std::filesystem::path& path, const std::uint8_t* data,
                       std::size_t size) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
}

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Runs `body`; a vlbench::Error (the clear refusal of a bad input) is swallowed, anything else
// escapes to libFuzzer, which reports it.
template <class F>
void expect_clean(F&& body) {
  try {
    body();
  } catch (const vlbench::Error&) {
  }
}

// Folders the targets find their fixed assets in (set by fuzz/CMakeLists.txt).
inline std::filesystem::path source_dir() { return VLBENCH_SOURCE_DIR; }
inline std::filesystem::path shared_fixtures() { return VLBENCH_SHARED_FIXTURES; }

}  // namespace vlbench::fuzz
