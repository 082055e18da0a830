// The real vlbench program with Hub references, end to end: a tiny checkpoint made by
// `make-model` (jina-clip, the smallest and quickest to load: config, weights, tokenizer.json,
// vocab.txt, ...), published on the loopback hub, fetched by `vlbench pull` (HF_ENDPOINT,
// HF_HUB_CACHE), then `embed`, `encode` and `run` by ORG/NAME give the same embeddings as the
// folder itself and record the repository and commit; every command that takes a model says
// how to fetch one not cached.
#include "cli/hub_test_server.hpp"
#include "test_util.hpp"

#include <vlbench/core/atomic_file.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace vlbench {
namespace {

namespace fs = std::filesystem;
using testing::EnvVars;
using testing::HubFile;
using testing::HubRepo;
using testing::LoopbackHub;
using testing::run_cli;
using testing::ScopedEnv;
using testing::TempDir;

const auto& q = testing::shell_quote;
const std::string kCommit = "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed";

// The files of a checkpoint folder as a Hub repository, *.safetensors stored in LFS.
std::vector<HubFile> repo_files(const fs::path& dir) {
  std::vector<HubFile> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    const std::string path = entry.path().lexically_relative(dir).string();
    files.push_back({path, read_file(entry.path()), entry.path().extension() == ".safetensors"});
  }
  return files;
}

TEST(HubCli, PullThenEmbedEncodeAndRunByReference) {
  TempDir dir;
  std::string output;
  ASSERT_EQ(
      run_cli("make-model --arch jina-clip --size tiny --seed 5 --out " + q(dir / "made"), &output),
      0)
      << output;
  LoopbackHub hub;
  HubRepo repo;
  const std::vector<HubFile> made = repo_files(dir / "made");
  repo.commits[kCommit] = made;
  // Files the model does not need: not fetched by default.
  repo.commits[kCommit].push_back({"README.md", "# jina-tiny\n"});
  repo.commits[kCommit].push_back({"pytorch_model.bin", "the same weights, another format", true});
  repo.refs = {{"main", kCommit}};
  hub.add_repo("test-org/jina-tiny", repo);

  auto env = testing::clean_hub_env();
  env.emplace_back("HF_ENDPOINT", hub.endpoint());
  env.emplace_back("HF_HUB_CACHE", (dir / "cache").string());
  env.emplace_back("HF_HOME", (dir / "hf-home").string());
  ScopedEnv scoped(env);

  ASSERT_EQ(run_cli("pull test-org/jina-tiny", &output), 0) << output;
  EXPECT_NE(output.find("placed  model.safetensors"), std::string::npos) << output;
  EXPECT_NE(output.find("sha256 checked"), std::string::npos) << output;
  EXPECT_NE(output.find("placed  config.json"), std::string::npos) << output;
  EXPECT_NE(output.find("git-sha1 checked"), std::string::npos) << output;
  EXPECT_EQ(output.find("README.md"), std::string::npos) << output;
  EXPECT_EQ(output.find("pytorch_model.bin"), std::string::npos) << output;
  EXPECT_NE(output.find("test-org/jina-tiny: commit " + kCommit + ", " +
                        std::to_string(made.size()) + " files"),
            std::string::npos)
      << output;
  EXPECT_NE(output.find("use it as: --model test-org/jina-tiny"), std::string::npos) << output;
  // Every file of the checkpoint, byte for byte, as a symlink into blobs/.
  const fs::path snapshot = dir / "cache" / "models--test-org--jina-tiny" / "snapshots" / kCommit;
  for (const HubFile& f : made) {
    ASSERT_TRUE(fs::is_symlink(snapshot / f.path)) << f.path;
    EXPECT_EQ(read_file(snapshot / f.path), f.content) << f.path;
  }
  EXPECT_FALSE(fs::exists(snapshot / "README.md"));

  // The same embeddings from the reference (offline: the cache alone) and from the folder.
  testing::write_text(dir / "captions.txt", "a dog on a beach\na red car\n");
  const std::string embed = "embed --text-list " + q(dir / "captions.txt") + " --threads 1";
  {
    ScopedEnv offline(EnvVars{{"HF_HUB_OFFLINE", "1"}});
    EXPECT_EQ(run_cli("pull test-org/jina-tiny", &output), 1) << output;
    EXPECT_NE(output.find("offline mode (HF_HUB_OFFLINE is set)"), std::string::npos) << output;
    ASSERT_EQ(run_cli(embed + " --model test-org/jina-tiny --out " + q(dir / "hub.npy"), &output),
              0)
        << output;
  }
  ASSERT_EQ(
      run_cli(embed + " --model " + q(dir / "made") + " --out " + q(dir / "dir.npy"), &output), 0)
      << output;
  EXPECT_EQ(read_file(dir / "hub.npy"), read_file(dir / "dir.npy"));

  // encode's manifest, run's results document and its report record the repository and the
  // commit.
  const std::string coco =
      "coco-karpathy:" + testing::repo_path("data/coco-karpathy-mini").string();
  ASSERT_EQ(run_cli("encode --model test-org/jina-tiny --dataset " + coco +
                        " --allow-any-size --threads 1 --out " + q(dir / "enc"),
                    &output),
            0)
      << output;
  const auto manifest = nlohmann::json::parse(read_file(dir / "enc" / "manifest.json"));
  EXPECT_EQ(manifest["hub"]["repo_id"], "test-org/jina-tiny");
  EXPECT_EQ(manifest["hub"]["revision"], "main");
  EXPECT_EQ(manifest["hub"]["commit"], kCommit);
  EXPECT_EQ(manifest["model"], fs::absolute(snapshot).string());
  ASSERT_EQ(run_cli("run --model test-org/jina-tiny --dataset " + coco +
                        " --allow-any-size --bootstrap 20 --threads 1 --out " + q(dir / "run"),
                    &output),
            0)
      << output;
  const auto doc =
      nlohmann::json::parse(read_file(dir / "run" / "jina-tiny" / "coco-karpathy-test.json"));
  EXPECT_EQ(doc["model"]["hub"]["repo_id"], "test-org/jina-tiny");
  EXPECT_EQ(doc["model"]["hub"]["revision"], "main");
  EXPECT_EQ(doc["model"]["hub"]["commit"], kCommit);
  EXPECT_EQ(doc["model"]["name"], "jina-tiny");
  // The config has no _name_or_path: the snapshot (named by its commit) is named by its repo.
  EXPECT_EQ(doc["model"]["model_name"], "test-org/jina-tiny");
  EXPECT_EQ(doc["model"]["path"], fs::absolute(snapshot).string());
  EXPECT_EQ(doc["model"]["sha256"],
            testing::sha256_of(read_file(dir / "made" / "model.safetensors")));
  const std::string report = read_file(dir / "run" / "report.md");
  EXPECT_NE(report.find("| test-org/jina-tiny@main = commit " + kCommit + " |"), std::string::npos)
      << report;
}

TEST(HubCli, EveryModelOptionSaysHowToFetchAModelNotCached) {
  TempDir dir;
  auto env = testing::clean_hub_env();
  env.emplace_back("HF_HUB_CACHE", (dir / "cache").string());
  ScopedEnv scoped(env);
  testing::write_text(dir / "captions.txt", "a dog\n");
  testing::write_text(dir / "images.txt", "x.png\n");
  const std::string coco =
      "coco-karpathy:" + testing::repo_path("data/coco-karpathy-mini").string();
  const std::string fixture = testing::clip_fixture_dir().string();
  const std::vector<std::string> commands = {
      "tokenize --model test-org/absent --text-list " + q(dir / "captions.txt"),
      "preprocess --model test-org/absent --image-list " + q(dir / "images.txt") + " --out " +
          q(dir / "p.npy"),
      "embed --model test-org/absent --text-list " + q(dir / "captions.txt") + " --out " +
          q(dir / "e.npy"),
      "embed --model " + q(fixture) + " --base test-org/absent --text-list " +
          q(dir / "captions.txt") + " --out " + q(dir / "e.npy"),
      "encode --model test-org/absent --dataset " + coco + " --out " + q(dir / "enc"),
      "run --model test-org/absent --dataset " + coco + " --out " + q(dir / "run"),
      "run --model " + q(fixture) + " --rerank-model test-org/absent --dataset " + coco +
          " --out " + q(dir / "run"),
      "serve --index " + q(dir / "no-index") + " --model test-org/absent",
      "serve --index " + q(dir / "no-index") + " --rerank-model test-org/absent",
  };
  for (const std::string& command : commands) {
    std::string output;
    EXPECT_EQ(run_cli(command, &output), 1) << command << "\n" << output;
    EXPECT_NE(output.find("test-org/absent: not in the local Hugging Face cache ($HF_HUB_CACHE = " +
                          (dir / "cache").string()),
              std::string::npos)
        << command << "\n"
        << output;
    EXPECT_NE(output.find("fetch it with: vlbench pull test-org/absent"), std::string::npos)
        << command << "\n"
        << output;
  }
  EXPECT_FALSE(fs::exists(dir / "run"));
  EXPECT_FALSE(fs::exists(dir / "enc"));
  EXPECT_FALSE(fs::exists(dir / "e.npy"));
}

}  // namespace
}  // namespace vlbench
