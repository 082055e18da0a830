// Helpers shared by the tests.
#pragma once

#include <vlbench/core/error.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

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

// A path in single quotes for run_cli's shell command line.
std::string shell_quote(const std::filesystem::path& path);

// The values of a float32 .npy (any shape); a test failure when the dtype or, if given, the
// shape differs.
std::vector<float> read_npy_f32(const std::filesystem::path& path,
                                const std::vector<std::int64_t>& expected_shape = {});

// n values drawn from N(0, scale²) by std::mt19937(seed): seeded test data for kernels.
std::vector<float> random_normal_values(std::size_t n, unsigned seed, float scale = 1.0f);

// The smallest cosine similarity between corresponding d-wide rows of a and b (a test failure
// when the sizes differ).
double min_row_cosine(const std::vector<float>& a, const std::vector<float>& b, std::int64_t d);

// Largest |a[i] - b[i]| (a test failure when the sizes differ).
double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b);

// The reference checkpoint ../shared/fixtures/clip-tiny-quickgelu.
std::filesystem::path clip_fixture_dir();
// Its golden/text_input_ids.npy (int64 [8, 77], zero-padded), each row cut after the end token.
std::vector<std::vector<std::int32_t>> clip_fixture_golden_ids();

// Runs `body`, expects a vlbench::Error with a one-line message containing every string in
// `parts`.
template <typename F>
void expect_error(F&& body, const std::vector<std::string>& parts) {
  try {
    body();
    ADD_FAILURE() << "expected vlbench::Error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    for (const std::string& part : parts) {
      EXPECT_NE(message.find(part), std::string::npos)
          << "message '" << message << "' lacks '" << part << "'";
    }
  }
}

std::filesystem::path test_data(const std::string& relative);  // tests/fixtures/<relative>

// A decompression bomb: tests/fixtures/vision/pillow/rgb8.png (a few hundred bytes) with its
// IHDR rewritten to declare width × height (CRC recomputed), as file bytes.
std::string png_declaring(std::uint32_t width, std::uint32_t height);
std::filesystem::path repo_path(const std::string& relative);  // <repo>/<relative>

}  // namespace vlbench::testing
