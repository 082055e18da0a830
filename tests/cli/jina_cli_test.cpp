// jina-clip-v1 through the commands that take --model, end to end: the fixture's checkpoint
// (tokenize, embed from image files and captions against its goldens), --max-text-tokens,
// make-model --arch jina-clip and run on the bundled datasets.
#include "test_util.hpp"

#include <vlbench/core/atomic_file.hpp>
#include <vlbench/core/npy.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstring>
#include <sstream>

namespace vlbench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::repo_path;
using testing::run_cli;
using testing::TempDir;

const auto& q = testing::shell_quote;

fs::path fixture() {
  return fs::path(VLBENCH_SHARED_FIXTURES) / "jina-clip-tiny";
}

// Row `row` of the fixture's 0-padded ids, without the padding.
std::vector<std::int64_t> golden_ids(std::size_t row) {
  const NpyArray a = read_npy(fixture() / "golden/text_input_ids.npy");
  std::vector<std::int64_t> ids(static_cast<std::size_t>(a.shape[1]));
  std::memcpy(ids.data(), a.data + row * a.shape[1] * 8, ids.size() * 8);
  while (!ids.empty() && ids.back() == 0) ids.pop_back();
  return ids;
}

TEST(JinaCli, TokenizeAndEmbedMatchTheGoldens) {
  TempDir dir;
  const json m = json::parse(read_file(fixture() / "golden/manifest.json"));
  const auto captions = m["captions"].get<std::vector<std::string>>();
  std::string lines;
  for (const std::string& caption : captions) lines += json(caption).dump() + "\n";
  testing::write_text(dir / "captions.jsonl", lines);
  std::string output;
  ASSERT_EQ(
      run_cli("tokenize --model " + q(fixture()) + " --text-list " + q(dir / "captions.jsonl"),
              &output),
      0)
      << output;
  std::istringstream stream(output);
  std::string line;
  for (std::size_t i = 0; i < captions.size(); ++i) {
    ASSERT_TRUE(std::getline(stream, line));
    EXPECT_EQ(json::parse(line)["ids"].get<std::vector<std::int64_t>>(), golden_ids(i)) << i;
  }

  ASSERT_EQ(run_cli("embed --model " + q(fixture()) + " --text-list " + q(dir / "captions.jsonl") +
                        " --batch 3 --out " + q(dir / "t.npy"),
                    &output),
            0)
      << output;
  EXPECT_LE(testing::max_abs_diff(testing::read_npy_f32(dir / "t.npy"),
                                  testing::read_npy_f32(fixture() / "golden/text_embeds.npy")),
            1e-4);
  // Images from their files: decode, RGB, JinaCLIPImageProcessor, the EVA02 tower.
  std::string images;
  for (const auto& name : m["images"]) {
    images += (fixture() / "../images" / name.get<std::string>()).string() + "\n";
  }
  testing::write_text(dir / "images.txt", images);
  ASSERT_EQ(run_cli("embed --model " + q(fixture()) + " --image-list " + q(dir / "images.txt") +
                        " --out " + q(dir / "i.npy"),
                    &output),
            0)
      << output;
  EXPECT_LE(testing::max_abs_diff(testing::read_npy_f32(dir / "i.npy"),
                                  testing::read_npy_f32(fixture() / "golden/image_embeds.npy")),
            1e-4);
}

TEST(JinaCli, MaxTextTokensTruncatesAndFixedModelsRefuseIt) {
  TempDir dir;
  testing::write_text(dir / "captions.txt", "the quick brown fox jumps over the lazy dog\n");
  std::string output;
  ASSERT_EQ(run_cli("tokenize --model " + q(fixture()) + " --max-text-tokens 4 --text-list " +
                        q(dir / "captions.txt"),
                    &output),
            0)
      << output;
  const std::vector<std::int64_t> full = golden_ids(3);  // the same caption, untruncated
  EXPECT_EQ(json::parse(output)["ids"].get<std::vector<std::int64_t>>(),
            (std::vector<std::int64_t>{full[0], full[1], full[2], 102}));
  EXPECT_NE(run_cli("tokenize --model " + q(testing::clip_fixture_dir()) +
                        " --max-text-tokens 4 --text-list " + q(dir / "captions.txt"),
                    &output),
            0);
  EXPECT_NE(output.find("--max-text-tokens 4: a clip model's caption length is fixed"),
            std::string::npos)
      << output;
}

TEST(JinaCli, MakeModelAndRunOnTheBundledDatasets) {
  TempDir dir;
  std::string output;
  ASSERT_EQ(run_cli("make-model --arch jina-clip --size tiny --out " + q(dir / "jina"), &output), 0)
      << output;
  ASSERT_EQ(run_cli("run --model " + q(dir / "jina") +
                        " --dataset coco-karpathy:" + q(repo_path("data/coco-karpathy-mini")) +
                        " --dataset winoground:" + q(repo_path("data/winoground-mini")) +
                        " --allow-any-size --bootstrap 50 --out " + q(dir / "run"),
                    &output),
            0)
      << output;
  const json doc = json::parse(read_file(dir / "run" / "jina" / "coco-karpathy-test.json"));
  EXPECT_EQ(doc["model"]["family"], "jina-clip");
  EXPECT_EQ(doc["model"]["max_text_tokens"], 512);
  EXPECT_NE(doc["model"]["text_rules"].get<std::string>().find("truncated at 512 tokens"),
            std::string::npos);
  EXPECT_EQ(doc["metrics"]["t2i"]["gallery"], doc["dataset"]["images"]);
  EXPECT_GT(doc["speed"]["image_encode_per_s"].get<double>(), 0);
  EXPECT_TRUE(fs::exists(dir / "run" / "jina" / "winoground-all.json"));
  EXPECT_TRUE(fs::exists(dir / "run" / "report.html"));
}

}  // namespace
}  // namespace vlbench
