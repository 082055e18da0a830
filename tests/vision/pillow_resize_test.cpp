// resize against Pillow 9.4's Image.resize for every filter: outputs recorded by
// tests/fixtures/vision/resize/make_refs.py from Image.open(...).convert("RGB") of the
// fixture images, compared byte for byte (raw bytes where small, else their SHA-256).
#include <vlbench/core/hash.hpp>
#include <vlbench/vision/image.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "test_util.hpp"

namespace vlbench {
namespace {

namespace fs = std::filesystem;
using testing::test_data;

std::vector<std::uint8_t> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

const nlohmann::json& cases() {
  static const nlohmann::json manifest = [] {
    std::ifstream in(test_data("vision/resize/cases.json"));
    EXPECT_TRUE(in.good());
    return nlohmann::json::parse(in);
  }();
  return manifest["cases"];
}

const ImageRgb8& source(const std::string& name) {
  static std::map<std::string, ImageRgb8> decoded;
  auto it = decoded.find(name);
  if (it == decoded.end()) {
    it = decoded.emplace(name, decode_image(test_data("vision/images/" + name))).first;
  }
  return it->second;
}

class PillowResize : public ::testing::TestWithParam<int> {};

TEST_P(PillowResize, MatchesImageResizeByteForByte) {
  const int code = GetParam();
  int n_cases = 0;
  for (const nlohmann::json& c : cases()) {
    if (c["resample"].get<int>() != code) continue;
    ++n_cases;
    const std::string image = c["image"];
    const int width = c["width"];
    const int height = c["height"];
    SCOPED_TRACE(image + " -> " + std::to_string(width) + "x" + std::to_string(height) + " " +
                 pil_resample_name(code));
    const ImageRgb8 out = resize(source(image), width, height, code);
    ASSERT_EQ(out.width, width);
    ASSERT_EQ(out.height, height);
    ASSERT_EQ(out.rgb.size(), static_cast<std::size_t>(width) * height * 3);
    if (c.contains("rgb")) {
      const std::vector<std::uint8_t> expected =
          read_bytes(test_data("vision/resize/" + c["rgb"].get<std::string>()));
      ASSERT_EQ(expected.size(), out.rgb.size());
      std::size_t differing = 0;
      std::size_t first = 0;
      for (std::size_t i = 0; i < expected.size(); ++i) {
        if (out.rgb[i] != expected[i] && differing++ == 0) first = i;
      }
      EXPECT_EQ(differing, 0u) << "first at pixel (" << first / 3 % width << ", "
                               << first / 3 / width << ") channel " << first % 3 << ": got "
                               << int{out.rgb[first]} << ", Pillow " << int{expected[first]};
    }
    const std::string_view bytes(reinterpret_cast<const char*>(out.rgb.data()), out.rgb.size());
    EXPECT_EQ(sha256_bytes(bytes), c["sha256"].get<std::string>());
  }
  EXPECT_GE(n_cases, 10);
}

INSTANTIATE_TEST_SUITE_P(EveryFilter, PillowResize,
                         ::testing::Values(kPilNearest, kPilLanczos, kPilBilinear, kPilBicubic,
                                           kPilBox, kPilHamming),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::string(pil_resample_name(info.param));
                         });

}  // namespace
}  // namespace vlbench
