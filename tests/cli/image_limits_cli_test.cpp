// Decompression bombs through the commands that decode images: refused from the header with a
// message naming the file and the limit, skipped and counted under --skip-bad-images, let
// through (to fail on the missing data) with --max-image-pixels 0, never a half-written output.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "test_util.hpp"

namespace vlbench {
namespace {

namespace fs = std::filesystem;
using testing::run_cli;
using testing::TempDir;

std::string q(const fs::path& path) {
  return testing::shell_quote(path);
}

class ImageLimitsCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    std::string output;
    ASSERT_EQ(run_cli("make-model --arch clip --size tiny --out " + q(model()), &output), 0)
        << output;
    fs::create_directories(*dir_ / "images");
    testing::write_text(*dir_ / "images" / "bomb.png", testing::png_declaring(30000, 30000));
    testing::write_text(*dir_ / "images" / "big.png", testing::png_declaring(3000, 3000));
    fs::copy_file(testing::repo_path("data/jsonl-mini/images/red_square_yellow_triangle.jpg"),
                  *dir_ / "images" / "good.jpg");
    testing::write_text(*dir_ / "bomb.txt", (*dir_ / "images" / "bomb.png").string() + "\n");
    testing::write_text(*dir_ / "big.txt", (*dir_ / "images" / "big.png").string() + "\n");
    testing::write_text(*dir_ / "data.jsonl",
                        "{\"image\": \"images/good.jpg\", \"captions\": [\"a red square\"]}\n"
                        "{\"image\": \"images/bomb.png\", \"captions\": [\"a bomb\"]}\n");
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static fs::path model() { return *dir_ / "clip-tiny"; }
  static TempDir* dir_;
};

TempDir* ImageLimitsCli::dir_ = nullptr;

TEST_F(ImageLimitsCli, EmbedAndPreprocessRefuseABombNamingFileAndLimit) {
  const fs::path bomb = *dir_ / "images" / "bomb.png";
  for (const std::string command : {"embed", "preprocess"}) {
    SCOPED_TRACE(command);
    const fs::path out = *dir_ / (command + ".npy");
    std::string output;
    EXPECT_NE(run_cli(command + " --model " + q(model()) + " --image-list " +
                          q(*dir_ / "bomb.txt") + " --out " + q(out),
                      &output),
              0);
    EXPECT_NE(output.find(bomb.string() + ": the image declares 30000x30000"), std::string::npos)
        << output;
    EXPECT_NE(output.find("over the limit of 89478485"), std::string::npos) << output;
    EXPECT_FALSE(fs::exists(out));
    // A lower limit is the user's; 0 lets a declared 3000 x 3000 go on to the decoder.
    EXPECT_NE(run_cli(command + " --model " + q(model()) + " --image-list " + q(*dir_ / "big.txt") +
                          " --max-image-pixels 1000000 --out " + q(out),
                      &output),
              0);
    EXPECT_NE(output.find("over the limit of 1000000"), std::string::npos) << output;
    EXPECT_NE(run_cli(command + " --model " + q(model()) + " --image-list " + q(*dir_ / "big.txt") +
                          " --max-image-pixels 0 --out " + q(out),
                      &output),
              0);
    EXPECT_NE(output.find("corrupt PNG image"), std::string::npos) << output;
    EXPECT_NE(run_cli(command + " --model " + q(model()) + " --image-list " + q(*dir_ / "big.txt") +
                          " --max-image-pixels -1 --out " + q(out),
                      &output),
              0);
    EXPECT_NE(output.find("--max-image-pixels"), std::string::npos) << output;
  }
}

TEST_F(ImageLimitsCli, EncodeSkipsAndCountsABombUnderSkipBadImages) {
  const std::string dataset = " --dataset jsonl:" + q(*dir_ / "data.jsonl");
  std::string output;
  EXPECT_NE(
      run_cli("encode --model " + q(model()) + dataset + " --out " + q(*dir_ / "strict"), &output),
      0);
  EXPECT_NE(output.find("bomb.png: the image declares 30000x30000"), std::string::npos) << output;
  EXPECT_FALSE(fs::exists(*dir_ / "strict" / "manifest.json"));

  ASSERT_EQ(run_cli("encode --model " + q(model()) + dataset + " --skip-bad-images --out " +
                        q(*dir_ / "skipped"),
                    &output),
            0)
      << output;
  std::ifstream in(*dir_ / "skipped" / "manifest.json");
  const nlohmann::json manifest = nlohmann::json::parse(in);
  EXPECT_EQ(manifest["skipped_images"], 1);
  EXPECT_EQ(manifest["images"], 1);
  EXPECT_EQ(manifest["captions"], 1);
}

}  // namespace
}  // namespace vlbench
