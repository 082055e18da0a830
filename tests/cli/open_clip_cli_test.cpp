// `vlbench preprocess` on an open_clip checkpoint gives open_clip's own pixels: the images are
// decoded in their file's mode and resized and cropped there (the palette and RGBA fixtures
// differ from the Hugging Face path), against ../shared/fixtures/open-clip-tiny's golden.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "test_util.hpp"

namespace vlbench {
namespace {

namespace fs = std::filesystem;

TEST(OpenClipCli, PreprocessGivesOpenClipsPixelsForEveryFixtureImage) {
  const fs::path fixture = fs::path(VLBENCH_SHARED_FIXTURES) / "open-clip-tiny";
  if (!fs::exists(fixture / "golden/pixel_values.npy")) {
    GTEST_SKIP() << "no shared fixture at " << fixture;
  }
  std::ifstream in(fixture / "golden/manifest.json");
  const auto names = nlohmann::json::parse(in)["images"].get<std::vector<std::string>>();
  ASSERT_EQ(names.size(), 8u);
  testing::TempDir dir;
  std::string list;
  for (const std::string& name : names) {
    list += (fs::path(VLBENCH_SHARED_FIXTURES) / "images" / name).string() + "\n";
  }
  testing::write_text(dir / "images.txt", list);
  std::string output;
  ASSERT_EQ(testing::run_cli("preprocess --model " + testing::shell_quote(fixture) +
                                 " --image-list " + testing::shell_quote(dir / "images.txt") +
                                 " --out " + testing::shell_quote(dir / "pixels.npy"),
                             &output),
            0)
      << output;
  const std::vector<float> got = testing::read_npy_f32(dir / "pixels.npy");
  EXPECT_EQ(got, testing::read_npy_f32(fixture / "golden/pixel_values.npy"));  // bit for bit
  EXPECT_NE(got, testing::read_npy_f32(fixture / "golden/pixel_values_hf.npy"));
}

}  // namespace
}  // namespace vlbench
