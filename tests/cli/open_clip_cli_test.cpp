// An open_clip folder through the real binary (../shared/fixtures/open-clip-tiny, see its
// README): `preprocess` gives open_clip's own pixels bit for bit (the images decoded in their
// file's mode and resized and cropped there: the palette and RGBA fixtures differ from the
// Hugging Face path), `embed` of the fixture images and captions gives the public reference
// code's embeddings, and `run` records the weight file's hash.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "test_util.hpp"
#include "vlbench/core/atomic_file.hpp"
#include "vlbench/core/hash.hpp"

namespace vlbench {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using testing::read_npy_f32;
using testing::run_cli;
using testing::TempDir;
const auto& q = testing::shell_quote;

fs::path fixture() {
  return fs::path(VLBENCH_SHARED_FIXTURES) / "open-clip-tiny";
}

json manifest() {
  std::ifstream in(fixture() / "golden" / "manifest.json");
  return json::parse(in);
}

TEST(OpenClipCli, PreprocessGivesOpenClipsPixelsForEveryFixtureImage) {
  const auto names = manifest()["images"].get<std::vector<std::string>>();
  ASSERT_EQ(names.size(), 8u);
  TempDir dir;
  std::string list;
  for (const std::string& name : names) {
    list += (fs::path(VLBENCH_SHARED_FIXTURES) / "images" / name).string() + "\n";
  }
  testing::write_text(dir / "images.txt", list);
  std::string output;
  ASSERT_EQ(run_cli("preprocess --model " + q(fixture()) + " --image-list " +
                        q(dir / "images.txt") + " --out " + q(dir / "pixels.npy"),
                    &output),
            0)
      << output;
  const std::vector<float> got = read_npy_f32(dir / "pixels.npy");
  EXPECT_EQ(got, read_npy_f32(fixture() / "golden/pixel_values.npy"));  // bit for bit
  EXPECT_NE(got, read_npy_f32(fixture() / "golden/pixel_values_hf.npy"));
}

TEST(OpenClipCli, EmbedGivesTheReferenceEmbeddingsOfImagesAndCaptions) {
  TempDir dir;
  const json m = manifest();
  std::string images, captions;
  for (const auto& path : m["image_paths"]) {
    images += fs::weakly_canonical(fixture() / "golden" / path.get<std::string>()).string() + "\n";
  }
  for (const auto& caption : m["captions"]) captions += caption.dump() + "\n";
  testing::write_text(dir / "images.txt", images);
  testing::write_text(dir / "captions.jsonl", captions);
  std::string output;
  ASSERT_EQ(run_cli("embed --model " + q(fixture()) + " --image-list " + q(dir / "images.txt") +
                        " --out " + q(dir / "images.npy"),
                    &output),
            0)
      << output;
  ASSERT_EQ(run_cli("embed --model " + q(fixture()) + " --text-list " + q(dir / "captions.jsonl") +
                        " --out " + q(dir / "texts.npy"),
                    &output),
            0)
      << output;
  const auto golden_images = read_npy_f32(fixture() / "golden" / "image_embeds.npy");
  const auto golden_texts = read_npy_f32(fixture() / "golden" / "text_embeds.npy");
  const auto got_images = read_npy_f32(dir / "images.npy");
  const auto got_texts = read_npy_f32(dir / "texts.npy");
  ASSERT_EQ(got_images.size(), golden_images.size());
  ASSERT_EQ(got_texts.size(), golden_texts.size());
  // The palette and RGBA images among them differ by up to 0.7 in pixels when resized after
  // the RGB conversion (the fixture's pixel_values_hf.npy): the embeddings would too.
  EXPECT_LE(testing::max_abs_diff(got_images, golden_images), 1e-4);
  EXPECT_LE(testing::max_abs_diff(got_texts, golden_texts), 1e-4);
}

TEST(OpenClipCli, RunRecordsTheOpenClipWeightFileHash) {
  TempDir dir;
  std::string output;
  ASSERT_EQ(run_cli("run --model " + q(fixture()) + " --dataset coco-karpathy:" +
                        q(testing::repo_path("data/coco-karpathy-mini")) +
                        " --allow-any-size --bootstrap 20 --out " + q(dir / "run"),
                    &output),
            0)
      << output;
  const json doc =
      json::parse(read_file(dir / "run" / "open-clip-tiny" / "coco-karpathy-test.json"));
  EXPECT_EQ(doc["model"]["architecture"], "clip");
  EXPECT_EQ(doc["model"]["sha256"], sha256_file(fixture() / "open_clip_model.safetensors"));
}

}  // namespace
}  // namespace vlbench
