// The pipeline stages as commands (tokenize, preprocess, embed, make-model) against the
// reference fixture clip-tiny-quickgelu: golden pixel values, token ids and embeddings from
// an independent float64 reference.
#include "test_util.hpp"

#include <vlbench/core/atomic_file.hpp>
#include <vlbench/core/hash.hpp>
#include <vlbench/core/npy.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>

namespace vlbench {
namespace {

using nlohmann::json;
using testing::run_cli;
using testing::TempDir;

const std::filesystem::path kFixtures = VLBENCH_SHARED_FIXTURES;
const std::filesystem::path kModel = kFixtures / "clip-tiny-quickgelu";

// Single-quoted for run_cli's shell command line.
const auto& q = testing::shell_quote;

using testing::max_abs_diff;

class ModelStages : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kModel)) GTEST_SKIP() << "no " << kModel;
    manifest = json::parse(read_file(kModel / "golden/manifest.json"));
    std::string images, captions;
    for (const auto& name : manifest["images"]) {
      images += (kFixtures / "images" / name.get<std::string>()).string() + "\n";
    }
    for (const auto& caption : manifest["captions"]) captions += caption.get<std::string>() + "\n";
    testing::write_text(dir / "images.txt", images);
    testing::write_text(dir / "captions.txt", captions);
  }

  TempDir dir;
  json manifest;
};

TEST_F(ModelStages, EmbedImagesFromGoldenPixelsAndFromFiles) {
  const auto golden = testing::read_npy_f32(kModel / "golden/image_embeds.npy");
  std::string output;
  ASSERT_EQ(run_cli("embed --model " + q(kModel) + " --pixels " +
                        q(kModel / "golden/pixel_values.npy") + " --out " + q(dir / "a.npy"),
                    &output),
            0)
      << output;
  const double from_pixels = max_abs_diff(testing::read_npy_f32(dir / "a.npy"), golden);
  ASSERT_EQ(run_cli("embed --model " + q(kModel) + " --batch 3 --image-list " +
                        q(dir / "images.txt") + " --out " + q(dir / "b.npy"),
                    &output),
            0)
      << output;
  const double from_files = max_abs_diff(testing::read_npy_f32(dir / "b.npy"), golden);
  std::printf("  image_embeds max abs diff: %.3g from golden pixels, %.3g from files\n",
              from_pixels, from_files);
  EXPECT_LE(from_pixels, 1e-4);
  EXPECT_LE(from_files, 1e-4);
}

TEST_F(ModelStages, PreprocessEqualsGoldenPixels) {
  std::string output;
  ASSERT_EQ(run_cli("preprocess --model " + q(kModel) + " --image-list " + q(dir / "images.txt") +
                        " --out " + q(dir / "pix.npy"),
                    &output),
            0)
      << output;
  EXPECT_EQ(max_abs_diff(testing::read_npy_f32(dir / "pix.npy"), testing::read_npy_f32(kModel / "golden/pixel_values.npy")),
            0.0);
}

TEST_F(ModelStages, TokenizeAndEmbedCaptions) {
  std::string output;
  ASSERT_EQ(
      run_cli("tokenize --model " + q(kModel) + " --text-list " + q(dir / "captions.txt"), &output),
      0)
      << output;
  std::vector<std::vector<std::int32_t>> ids;
  std::size_t start = 0;
  while (start < output.size()) {
    const std::size_t end = output.find('\n', start);
    ids.push_back(json::parse(output.substr(start, end - start))["ids"]);
    start = end + 1;
  }
  // golden/text_input_ids.npy: int64 [8, 77], zero-padded after the end token.
  const NpyArray golden_ids = read_npy(kModel / "golden/text_input_ids.npy");
  ASSERT_EQ(ids.size(), 8u);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    std::vector<std::int32_t> expected;
    for (std::int64_t t = 0; t < 77; ++t) {
      std::int64_t id;
      std::memcpy(&id, golden_ids.data + (i * 77 + t) * sizeof(id), sizeof(id));
      expected.push_back(static_cast<std::int32_t>(id));
      if (id == 49407) break;
    }
    EXPECT_EQ(ids[i], expected) << "caption " << i;
  }

  ASSERT_EQ(run_cli("embed --model " + q(kModel) + " --text-list " + q(dir / "captions.txt") +
                        " --out " + q(dir / "t.npy"),
                    &output),
            0)
      << output;
  // The summary on stderr: counts, the output, and the peak memory (> 0, below 1 GB here).
  EXPECT_NE(output.find("vlbench embed: 8 items, 8 vectors of 32 dims -> "), std::string::npos)
      << output;
  const std::size_t rss = output.find("peak RSS ");
  ASSERT_NE(rss, std::string::npos) << output;
  const double gb = std::stod(output.substr(rss + 9));
  EXPECT_GT(gb, 0.0);
  EXPECT_LT(gb, 1.0);
  const double diff =
      max_abs_diff(testing::read_npy_f32(dir / "t.npy"), testing::read_npy_f32(kModel / "golden/text_embeds.npy"));
  std::printf("  text_embeds max abs diff from raw captions: %.3g\n", diff);
  EXPECT_LE(diff, 1e-4);
}

TEST_F(ModelStages, EmbedInBf16IsCloseToTheReference) {
  std::string output;
  ASSERT_EQ(run_cli("embed --model " + q(kModel) + " --dtype bf16 --text-list " +
                        q(dir / "captions.txt") + " --out " + q(dir / "t16.npy"),
                    &output),
            0)
      << output;
  const auto got = testing::read_npy_f32(dir / "t16.npy");
  const auto golden = testing::read_npy_f32(kModel / "golden/text_embeds.npy");
  ASSERT_EQ(got.size(), golden.size());
  const std::size_t d = 32;
  double min_cosine = 1.0;
  for (std::size_t r = 0; r < got.size() / d; ++r) {
    double dot = 0, na = 0, nb = 0;
    for (std::size_t j = 0; j < d; ++j) {
      dot += double(got[r * d + j]) * golden[r * d + j];
      na += double(got[r * d + j]) * got[r * d + j];
      nb += double(golden[r * d + j]) * golden[r * d + j];
    }
    min_cosine = std::min(min_cosine, dot / std::sqrt(na * nb));
  }
  std::printf("  bf16 text_embeds min cosine to the reference: %.7f\n", min_cosine);
  EXPECT_GE(min_cosine, 0.999);
}

TEST_F(ModelStages, MakeModelWritesALoadableDeterministicCheckpoint) {
  std::string output;
  ASSERT_EQ(run_cli("make-model --arch clip --size tiny --seed 3 --out " + q(dir / "m1"), &output),
            0)
      << output;
  ASSERT_EQ(run_cli("make-model --arch clip --size tiny --seed 3 --out " + q(dir / "m2"), &output),
            0);
  ASSERT_EQ(run_cli("make-model --arch clip --size tiny --seed 4 --out " + q(dir / "m3"), &output),
            0);
  EXPECT_EQ(sha256_file(dir / "m1/model.safetensors"), sha256_file(dir / "m2/model.safetensors"));
  EXPECT_NE(sha256_file(dir / "m1/model.safetensors"), sha256_file(dir / "m3/model.safetensors"));
  // The tiny size has the fixture's architecture: same config shapes, same tensor layout.
  const json made = json::parse(read_file(dir / "m1/config.json"));
  const json fixture = json::parse(read_file(kModel / "config.json"));
  EXPECT_EQ(made["text_config"], fixture["text_config"]);
  EXPECT_EQ(made["vision_config"], fixture["vision_config"]);
  EXPECT_EQ(std::filesystem::file_size(dir / "m1/model.safetensors"),
            std::filesystem::file_size(kModel / "model.safetensors"));
  EXPECT_EQ(read_file(dir / "m1/vocab.json"), read_file(kModel / "vocab.json"));
  ASSERT_EQ(run_cli("embed --model " + q(dir / "m1") + " --image-list " + q(dir / "images.txt") +
                        " --out " + q(dir / "e.npy"),
                    &output),
            0)
      << output;
  const NpyArray e = read_npy(dir / "e.npy");
  EXPECT_EQ(e.shape, (std::vector<std::int64_t>{8, 32}));

  EXPECT_NE(run_cli("make-model --arch clip --size vit-z-99 --out " + q(dir / "m4"), &output), 0);
  EXPECT_NE(output.find("unknown model size 'vit-z-99'"), std::string::npos) << output;
  EXPECT_NE(output.find("vit-h-14"), std::string::npos) << output;
}

TEST_F(ModelStages, ErrorsNameTheProblem) {
  std::string output;
  testing::write_text(dir / "empty.txt", "");
  EXPECT_NE(run_cli("embed --model " + q(kModel) + " --text-list " + q(dir / "empty.txt") +
                        " --out " + q(dir / "x.npy"),
                    &output),
            0);
  EXPECT_NE(output.find("empty.txt: empty caption list"), std::string::npos) << output;

  testing::write_text(dir / "bad.jpg", "not an image at all");
  testing::write_text(dir / "bad_list.txt", "bad.jpg\n");
  EXPECT_NE(run_cli("embed --model " + q(kModel) + " --image-list " + q(dir / "bad_list.txt") +
                        " --out " + q(dir / "x.npy"),
                    &output),
            0);
  EXPECT_NE(output.find("bad.jpg"), std::string::npos) << output;

  std::filesystem::create_directory(dir / "no_config");
  EXPECT_NE(run_cli("embed --model " + q(dir / "no_config") + " --text-list " +
                        q(dir / "captions.txt") + " --out " + q(dir / "x.npy"),
                    &output),
            0);
  EXPECT_NE(output.find("config.json"), std::string::npos) << output;

  EXPECT_NE(run_cli("embed --model " + q(kModel) + " --device tpu --text-list " +
                        q(dir / "captions.txt") + " --out " + q(dir / "x.npy"),
                    &output),
            0);
  EXPECT_NE(output.find("unknown compute backend 'tpu' (built into this binary: cpu"),
            std::string::npos)
      << output;
  EXPECT_FALSE(std::filesystem::exists(dir / "x.npy"));
}

}  // namespace
}  // namespace vlbench
