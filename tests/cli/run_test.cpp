// vlbench encode and vlbench run, end to end on generated models and the bundled datasets.
#include "test_util.hpp"

#include <vlbench/core/atomic_file.hpp>
#include <vlbench/core/npy.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>

namespace vlbench {
namespace {

using nlohmann::json;
using testing::repo_path;
using testing::run_cli;
using testing::TempDir;

// Single-quoted for run_cli's shell command line.
const auto& q = testing::shell_quote;

TEST(Run, QuickstartEvaluatesEveryBundledDataset) {
  TempDir dir;
  std::string output;
  ASSERT_EQ(run_cli("run --bootstrap 100 --out " + q(dir / "out"), &output), 0) << output;
  EXPECT_NE(output.find("### Retrieval: Recall@K"), std::string::npos) << output;
  EXPECT_NE(output.find("### Winoground"), std::string::npos) << output;
  EXPECT_NE(output.find("### Speed"), std::string::npos) << output;
  EXPECT_TRUE(std::filesystem::exists(dir / "out/report.md"));
  for (const char* name :
       {"coco-karpathy-test", "flickr30k-karpathy-test", "winoground-all", "jsonl-all"}) {
    const auto path = dir / "out/clip-tiny" / (std::string(name) + ".json");
    ASSERT_TRUE(std::filesystem::exists(path)) << path;
    const json doc = json::parse(read_file(path));
    EXPECT_EQ(doc["schema"], "vlbench.results/1");
    EXPECT_EQ(doc["model"]["architecture"], "clip");
    EXPECT_GT(doc["model"]["params"].get<std::int64_t>(), 0);
    EXPECT_EQ(doc["model"]["sha256"].get<std::string>().size(), 64u);
    EXPECT_GT(doc["speed"]["image_encode_per_s"].get<double>(), 0.0);
    EXPECT_GT(doc["speed"]["end_to_end_images_per_s"].get<double>(), 0.0);
    EXPECT_GT(doc["speed"]["text_encode_per_s"].get<double>(), 0.0);
    EXPECT_GT(doc["speed"]["peak_rss_bytes"].get<double>(), 0.0);
    EXPECT_EQ(doc["dataset"]["skipped_images"], 0);
  }
}

TEST(Run, EncodeMatchesEmbedAndEvalReproducesRun) {
  TempDir dir;
  std::string output;
  ASSERT_EQ(run_cli("make-model --size tiny --seed 1 --out " + q(dir / "m"), &output), 0) << output;
  const std::string spec = "coco-karpathy:" + repo_path("data/coco-karpathy-mini").string();
  ASSERT_EQ(run_cli("encode --model " + q(dir / "m") + " --dataset " + spec +
                        " --allow-any-size --batch 5 --out " + q(dir / "enc"),
                    &output),
            0)
      << output;
  const json manifest = json::parse(read_file(dir / "enc/manifest.json"));
  EXPECT_EQ(manifest["images"], 16);
  EXPECT_EQ(manifest["captions"], 82);

  // The same images through `embed` (another batch size): the same rows.
  const json coco = json::parse(read_file(repo_path("data/coco-karpathy-mini/dataset_coco.json")));
  std::string list;
  for (const auto& image : coco["images"]) {
    if (image["split"] != "test") continue;
    list += repo_path("data/coco-karpathy-mini").string() + "/" +
            image["filepath"].get<std::string>() + "/" + image["filename"].get<std::string>() +
            "\n";
  }
  testing::write_text(dir / "images.txt", list);
  ASSERT_EQ(run_cli("embed --model " + q(dir / "m") + " --batch 16 --image-list " +
                        q(dir / "images.txt") + " --out " + q(dir / "e.npy"),
                    &output),
            0)
      << output;
  const auto a = testing::read_npy_f32(dir / "enc/IMAGES.npy");
  const auto b = testing::read_npy_f32(dir / "e.npy");
  ASSERT_EQ(a.size(), b.size());
  double diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff = std::max(diff, std::abs(double(a[i]) - b[i]));
  EXPECT_LE(diff, 1e-5);

  // run writes the same metrics that eval computes from the encoded files.
  ASSERT_EQ(run_cli("run --model " + q(dir / "m") + " --dataset " + spec +
                        " --allow-any-size --bootstrap 50 --out " + q(dir / "run"),
                    &output),
            0)
      << output;
  ASSERT_EQ(run_cli("eval --dataset " + spec + " --allow-any-size --bootstrap 50 " +
                        "--image-embeddings " + q(dir / "enc/IMAGES.npy") + " --text-embeddings " +
                        q(dir / "enc/TEXTS.npy") + " --out " + q(dir / "eval.json"),
                    &output),
            0)
      << output;
  const json from_run = json::parse(read_file(dir / "run/m/coco-karpathy-test.json"));
  const json from_eval = json::parse(read_file(dir / "eval.json"));
  EXPECT_EQ(from_run["metrics"]["t2i"]["r1"], from_eval["metrics"]["t2i"]["r1"]);
  EXPECT_EQ(from_run["metrics"]["i2t"]["median_rank"], from_eval["metrics"]["i2t"]["median_rank"]);
}

TEST(Run, BadImagesFailOrAreSkippedAndCounted) {
  TempDir dir;
  std::string output;
  ASSERT_EQ(run_cli("make-model --size tiny --out " + q(dir / "m"), &output), 0) << output;
  std::filesystem::create_directory(dir / "ds");
  std::filesystem::copy(repo_path("data/jsonl-mini/images"), dir / "ds/images");
  testing::write_text(dir / "ds/images/broken.jpg", "\xff\xd8\xff garbage");
  std::string lines = read_file(repo_path("data/jsonl-mini/captions.jsonl"));
  lines += "{\"image\": \"images/broken.jpg\", \"captions\": [\"a broken file\"]}\n";
  testing::write_text(dir / "ds/captions.jsonl", lines);
  const std::string spec = "jsonl:" + (dir / "ds/captions.jsonl").string();

  EXPECT_NE(
      run_cli("encode --model " + q(dir / "m") + " --dataset " + spec + " --out " + q(dir / "enc"),
              &output),
      0);
  EXPECT_NE(output.find("1 of 7 images could not be read"), std::string::npos) << output;
  EXPECT_NE(output.find("broken.jpg"), std::string::npos) << output;
  EXPECT_NE(output.find("--skip-bad-images"), std::string::npos) << output;
  EXPECT_FALSE(std::filesystem::exists(dir / "enc/IMAGES.npy"));

  ASSERT_EQ(run_cli("run --model " + q(dir / "m") + " --dataset " + spec +
                        " --skip-bad-images --bootstrap 50 --out " + q(dir / "run"),
                    &output),
            0)
      << output;
  const json doc = json::parse(read_file(dir / "run/m/jsonl-all.json"));
  EXPECT_EQ(doc["dataset"]["skipped_images"], 1);
  EXPECT_EQ(doc["dataset"]["images"], 6);
  EXPECT_EQ(doc["metrics"]["i2t"]["queries"], 6);
}

}  // namespace
}  // namespace vlbench
