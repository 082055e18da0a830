#include "test_util.hpp"

#include <vlbench/core/npy.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include <sys/wait.h>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <random>
#include <stdexcept>

namespace vlbench::testing {

TempDir::TempDir() {
  std::random_device rd;
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto candidate = std::filesystem::temp_directory_path() /
                     ("vlbench-test-" + std::to_string(rd()) + std::to_string(attempt));
    if (std::filesystem::create_directory(candidate)) {
      path_ = candidate;
      return;
    }
  }
  throw std::runtime_error("cannot create a temporary directory");
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

int run_cli(const std::string& args, std::string* output) {
  std::string command = std::string(VLBENCH_BINARY) + " " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) throw std::runtime_error("popen failed");
  std::string text;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) text.append(buffer, n);
  int status = pclose(pipe);
  if (output) *output = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string shell_quote(const std::filesystem::path& path) {
  std::string quoted = "'";
  quoted += path.string();
  quoted += "'";
  return quoted;
}

std::vector<float> random_normal_values(std::size_t n, unsigned seed, float scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> values(n);
  for (float& v : values) v = normal(rng);
  return values;
}

std::vector<float> read_npy_f32(const std::filesystem::path& path,
                                const std::vector<std::int64_t>& expected_shape) {
  const NpyArray array = read_npy(path);
  EXPECT_EQ(array.dtype, DType::f32) << path;
  if (!expected_shape.empty()) {
    EXPECT_EQ(array.shape, expected_shape) << path;
  }
  std::vector<float> values(static_cast<std::size_t>(array.numel()));
  if (!values.empty()) std::memcpy(values.data(), array.data, values.size() * sizeof(float));
  return values;
}

double min_row_cosine(const std::vector<float>& a, const std::vector<float>& b, std::int64_t d) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 1.0;
  const std::size_t width = static_cast<std::size_t>(d);
  for (std::size_t r = 0; r + width <= std::min(a.size(), b.size()); r += width) {
    double dot = 0, na = 0, nb = 0;
    for (std::size_t i = r; i < r + width; ++i) {
      dot += double{a[i]} * b[i];
      na += double{a[i]} * a[i];
      nb += double{b[i]} * b[i];
    }
    worst = std::min(worst, dot / std::sqrt(na * nb));
  }
  return worst;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0.0;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    worst = std::max(worst, std::abs(static_cast<double>(a[i]) - b[i]));
  }
  return worst;
}

std::filesystem::path clip_fixture_dir() {
  return std::filesystem::path(VLBENCH_SHARED_FIXTURES) / "clip-tiny-quickgelu";
}

std::vector<std::vector<std::int32_t>> clip_fixture_golden_ids() {
  constexpr std::int64_t kEndOfText = 49407;
  const NpyArray array = read_npy(clip_fixture_dir() / "golden" / "text_input_ids.npy");
  EXPECT_EQ(array.dtype, DType::i64);
  EXPECT_EQ(array.shape.size(), 2u);
  std::vector<std::vector<std::int32_t>> ids(static_cast<std::size_t>(array.shape[0]));
  for (std::int64_t r = 0; r < array.shape[0]; ++r) {
    for (std::int64_t c = 0; c < array.shape[1]; ++c) {
      std::int64_t id = 0;
      std::memcpy(&id, array.data + (r * array.shape[1] + c) * sizeof(id), sizeof(id));
      ids[static_cast<std::size_t>(r)].push_back(static_cast<std::int32_t>(id));
      if (id == kEndOfText) break;
    }
  }
  return ids;
}

std::filesystem::path test_data(const std::string& relative) {
  return std::filesystem::path(VLBENCH_TEST_DATA) / relative;
}

std::filesystem::path repo_path(const std::string& relative) {
  return std::filesystem::path(VLBENCH_SOURCE_DIR) / relative;
}

namespace {

// CRC-32 (ISO 3309, the PNG chunk CRC), bit by bit.
std::uint32_t crc32(const char* data, std::size_t n) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < n; ++i) {
    crc ^= static_cast<unsigned char>(data[i]);
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

void put_be32(std::string& bytes, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) bytes[at + i] = static_cast<char>((v >> (24 - 8 * i)) & 0xFF);
}

}  // namespace

std::string png_declaring(std::uint32_t width, std::uint32_t height) {
  std::ifstream in(test_data("vision/pillow/rgb8.png"), std::ios::binary);
  std::string png{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  // signature (8), IHDR length (4) and type (4) at 8..15, data at 16..28, CRC at 29..32
  EXPECT_EQ(png.substr(12, 4), "IHDR");
  put_be32(png, 16, width);
  put_be32(png, 20, height);
  put_be32(png, 29, crc32(png.data() + 12, 17));
  return png;
}

}  // namespace vlbench::testing
