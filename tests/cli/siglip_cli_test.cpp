// SigLIP and SigLIP 2 through every command that takes --model, end to end: the fixtures'
// checkpoints, make-model --arch siglip|siglip2, run on the bundled datasets, the padding
// diagnostic, .jsonl caption lists.
#include "test_util.hpp"

#include <vlbench/core/atomic_file.hpp>
#include <vlbench/core/npy.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

namespace vlbench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::repo_path;
using testing::run_cli;
using testing::TempDir;

const auto& q = testing::shell_quote;

fs::path fixture(const std::string& name) {
  return fs::path(VLBENCH_SHARED_FIXTURES) / name;
}

std::vector<std::int64_t> golden_row(const fs::path& npy, std::size_t row) {
  const NpyArray a = read_npy(npy);
  std::vector<std::int64_t> ids(static_cast<std::size_t>(a.shape[1]));
  std::memcpy(ids.data(), a.data + row * a.shape[1] * 8, ids.size() * 8);
  return ids;
}

class SiglipCli : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    model_ = fixture(GetParam());
    if (!fs::exists(model_)) GTEST_SKIP() << "no fixture at " << model_;
    const json m = json::parse(read_file(model_ / "golden/manifest.json"));
    captions_ = m["captions"].get<std::vector<std::string>>();
  }
  fs::path model_;
  std::vector<std::string> captions_;
  TempDir dir_;
};

TEST_P(SiglipCli, TokenizeAndEmbedMatchTheGoldens) {
  // A .jsonl caption list: one JSON string per line (a caption may hold a tab or a newline).
  std::string lines;
  for (const std::string& caption : captions_) lines += json(caption).dump() + "\n";
  testing::write_text(dir_ / "captions.jsonl", lines);
  std::string output;
  ASSERT_EQ(run_cli("tokenize --model " + q(model_) + " --text-list " + q(dir_ / "captions.jsonl"),
                    &output),
            0)
      << output;
  std::istringstream stream(output);
  std::string line;
  for (std::size_t i = 0; i < captions_.size(); ++i) {
    ASSERT_TRUE(std::getline(stream, line));
    const json row = json::parse(line);
    EXPECT_EQ(row["text"], captions_[i]);
    EXPECT_EQ(row["ids"].get<std::vector<std::int64_t>>(),
              golden_row(model_ / "golden/text_input_ids.npy", i))
        << captions_[i];
  }

  ASSERT_EQ(run_cli("embed --model " + q(model_) + " --text-list " + q(dir_ / "captions.jsonl") +
                        " --batch 3 --out " + q(dir_ / "t.npy"),
                    &output),
            0)
      << output;
  const auto got = testing::read_npy_f32(dir_ / "t.npy");
  const auto golden = testing::read_npy_f32(model_ / "golden/text_embeds.npy");
  EXPECT_LE(testing::max_abs_diff(got, golden), 1e-4);

  // Images from files: decode + preprocess (resample from preprocessor_config.json) + encode.
  const json m = json::parse(read_file(model_ / "golden/manifest.json"));
  std::string images;
  for (const auto& name : m["images"]) {
    images += (fixture("images") / name.get<std::string>()).string() + "\n";
  }
  testing::write_text(dir_ / "images.txt", images);
  ASSERT_EQ(run_cli("embed --model " + q(model_) + " --image-list " + q(dir_ / "images.txt") +
                        " --out " + q(dir_ / "i.npy"),
                    &output),
            0)
      << output;
  EXPECT_LE(testing::max_abs_diff(testing::read_npy_f32(dir_ / "i.npy"),
                                  testing::read_npy_f32(model_ / "golden/image_embeds.npy")),
            1e-4);
}

TEST_P(SiglipCli, TextPaddingLongestIsTheDiagnosticOfTheTrap) {
  // The reference's padded-to-longest ids cover the captions of manifest padded_to_longest.rows.
  const json m = json::parse(read_file(model_ / "golden/manifest.json"));
  const auto rows = m["padded_to_longest"]["rows"].get<std::vector<std::size_t>>();
  std::string lines;
  for (std::size_t r : rows) lines += json(captions_[r]).dump() + "\n";
  testing::write_text(dir_ / "captions.jsonl", lines);
  std::string output;
  ASSERT_EQ(run_cli("tokenize --model " + q(model_) + " --text-padding longest --text-list " +
                        q(dir_ / "captions.jsonl"),
                    &output),
            0)
      << output;
  std::istringstream stream(output);
  std::string line;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    ASSERT_TRUE(std::getline(stream, line));
    EXPECT_EQ(json::parse(line)["ids"].get<std::vector<std::int64_t>>(),
              golden_row(model_ / "golden/text_input_ids_padded_to_longest.npy", i));
  }
}

TEST_P(SiglipCli, RunOnTheBundledDatasetsRecordsFamilyAndPadding) {
  std::string output;
  const std::string datasets =
      " --dataset coco-karpathy:" + repo_path("data/coco-karpathy-mini").string() +
      " --dataset winoground:" + repo_path("data/winoground-mini").string() + " --allow-any-size";
  // The same batch size for both runs, so the image embeddings must be bit-identical.
  ASSERT_EQ(run_cli("run --model " + q(model_) + datasets + " --batch 4 --bootstrap 50 --out " +
                        q(dir_ / "run"),
                    &output),
            0)
      << output;
  ASSERT_EQ(
      run_cli("run --model " + q(model_) + datasets +
                  " --text-padding longest --batch 4 --bootstrap 50 --out " + q(dir_ / "longest"),
              &output),
      0)
      << output;
  const json right = json::parse(read_file(dir_ / "run" / GetParam() / "coco-karpathy-test.json"));
  const json wrong =
      json::parse(read_file(dir_ / "longest" / GetParam() / "coco-karpathy-test.json"));
  EXPECT_EQ(right["model"]["family"], "siglip");
  EXPECT_EQ(right["model"]["model_name"], GetParam());
  EXPECT_EQ(right["model"]["similarity"], "sigmoid");
  EXPECT_EQ(right["model"]["text_padding"], "model");
  EXPECT_EQ(wrong["model"]["text_padding"], "longest");
  EXPECT_NE(right["model"]["text_rules"].get<std::string>().find("padded to 64"),
            std::string::npos);
  EXPECT_GT(right["model"]["params"].get<std::int64_t>(), 0);
  // Image embeddings do not depend on caption padding; the text embeddings do.
  const auto right_images =
      testing::read_npy_f32(dir_ / "run" / GetParam() / "coco-karpathy-test/IMAGES.npy");
  const auto wrong_images =
      testing::read_npy_f32(dir_ / "longest" / GetParam() / "coco-karpathy-test/IMAGES.npy");
  EXPECT_EQ(right_images, wrong_images);
  const auto right_texts =
      testing::read_npy_f32(dir_ / "run" / GetParam() / "coco-karpathy-test/TEXTS.npy");
  const auto wrong_texts =
      testing::read_npy_f32(dir_ / "longest" / GetParam() / "coco-karpathy-test/TEXTS.npy");
  EXPECT_GT(testing::max_abs_diff(right_texts, wrong_texts), 1e-2);
  EXPECT_TRUE(fs::exists(dir_ / "run" / GetParam() / "winoground-all.json"));
}

INSTANTIATE_TEST_SUITE_P(Fixtures, SiglipCli, ::testing::Values("siglip-tiny", "siglip2-tiny"),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST(MakeModel, SiglipArchsWriteThePublishedLayoutAndRun) {
  TempDir dir;
  std::string output;
  for (const char* arch : {"siglip", "siglip2"}) {
    const fs::path m = dir / arch;
    ASSERT_EQ(
        run_cli(std::string("make-model --arch ") + arch + " --size tiny --seed 2 --out " + q(m),
                &output),
        0)
        << output;
    const json config = json::parse(read_file(m / "config.json"));
    EXPECT_EQ(config["model_type"], "siglip");
    const json pre = json::parse(read_file(m / "preprocessor_config.json"));
    EXPECT_EQ(pre["resample"], std::string(arch) == "siglip2" ? 2 : 3);
    EXPECT_TRUE(
        fs::exists(m / (std::string(arch) == "siglip2" ? "tokenizer.json" : "spiece.model")));
    testing::write_text(dir / "c.txt", "a dog on a table\nTwo cats!\n");
    ASSERT_EQ(run_cli("embed --model " + q(m) + " --text-list " + q(dir / "c.txt") + " --out " +
                          q(dir / "e.npy"),
                      &output),
              0)
        << output;
    const NpyArray e = read_npy(dir / "e.npy");
    EXPECT_EQ(e.shape, (std::vector<std::int64_t>{2, 96}));
  }
  // The same seed gives the same bytes.
  ASSERT_EQ(
      run_cli("make-model --arch siglip --size tiny --seed 2 --out " + q(dir / "again"), &output),
      0);
  EXPECT_EQ(read_file(dir / "again/model.safetensors"),
            read_file(dir / "siglip/model.safetensors"));
  EXPECT_NE(run_cli("make-model --arch siglip --size vit-h-14 --out " + q(dir / "x"), &output), 0);
  EXPECT_NE(output.find("unknown model size 'vit-h-14' for --arch siglip"), std::string::npos)
      << output;
  EXPECT_NE(output.find("so400m-384"), std::string::npos) << output;
}

TEST(CaptionLists, JsonlErrorsNameTheLine) {
  TempDir dir;
  std::string output;
  testing::write_text(dir / "c.jsonl", "\"fine\"\n{\"text\": \"an object\"}\n");
  const fs::path clip = dir / "clip-tiny";  // generated: the test needs no shared fixture
  ASSERT_EQ(run_cli("make-model --arch clip --size tiny --out " + q(clip), &output), 0) << output;
  EXPECT_NE(run_cli("tokenize --model " + q(clip) + " --text-list " + q(dir / "c.jsonl"), &output),
            0);
  EXPECT_NE(output.find("c.jsonl:2: expected a JSON string"), std::string::npos) << output;
  testing::write_text(dir / "d.jsonl", "\"ok\"\nnot json\n");
  EXPECT_NE(run_cli("tokenize --model " + q(clip) + " --text-list " + q(dir / "d.jsonl"), &output),
            0);
  EXPECT_NE(output.find("d.jsonl:2: not valid JSON"), std::string::npos) << output;
  // Tabs and newlines inside a caption survive.
  testing::write_text(dir / "e.jsonl", "\"a\\tdog\\non a mat\"\n\n");
  ASSERT_EQ(run_cli("tokenize --model " + q(clip) + " --text-list " + q(dir / "e.jsonl"), &output),
            0)
      << output;
  EXPECT_NE(output.find(R"("text":"a\tdog\non a mat")"), std::string::npos) << output;
}

}  // namespace
}  // namespace vlbench
