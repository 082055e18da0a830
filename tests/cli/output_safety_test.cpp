// Outputs never destroy inputs and never appear half-written: an output path that names an
// input is refused before anything is written, and make-model writes its folder whole or not
// at all.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "test_util.hpp"
#include "vlbench/core/atomic_file.hpp"

namespace vlbench {
namespace {

namespace fs = std::filesystem;
using testing::run_cli;
using testing::TempDir;

std::string q(const fs::path& path) {
  return testing::shell_quote(path);
}

TEST(OutputSafety, AnOutputNamingAnInputIsRefusedAndTheInputKept) {
  TempDir dir;
  const std::string captions = "a red square\na blue circle\n";
  testing::write_text(dir / "captions.txt", captions);
  const std::string images = (dir / "captions.txt").string() + "\n";
  testing::write_text(dir / "images.txt", images);
  const std::string model = q(dir / "m");
  std::string output;
  ASSERT_EQ(run_cli("make-model --arch clip --size tiny --out " + model, &output), 0) << output;
  const std::string commands[] = {
      "embed --model " + model + " --text-list " + q(dir / "captions.txt") + " --out " +
          q(dir / "captions.txt"),
      // the same file through another spelling of its path
      "embed --model " + model + " --text-list " + q(dir / "captions.txt") + " --out " +
          q(dir / "." / "captions.txt"),
      "preprocess --model " + model + " --image-list " + q(dir / "images.txt") + " --out " +
          q(dir / "images.txt"),
      "eval --dataset jsonl:" + q(testing::repo_path("data/jsonl-mini/captions.jsonl")) +
          " --image-embeddings " + q(dir / "captions.txt") + " --text-embeddings " +
          q(dir / "images.txt") + " --out " + q(dir / "images.txt"),
  };
  for (const std::string& command : commands) {
    SCOPED_TRACE(command);
    EXPECT_NE(run_cli(command, &output), 0);
    EXPECT_NE(output.find("is also the input"), std::string::npos) << output;
  }
  EXPECT_EQ(read_file(dir / "captions.txt"), captions);
  EXPECT_EQ(read_file(dir / "images.txt"), images);
}

TEST(OutputSafety, MakeModelWritesItsFolderWholeOrNotAtAll) {
  TempDir dir;
  std::string output;
  // A failure half way (a tokenizer folder without the files) leaves neither the target nor a
  // temporary folder behind.
  fs::create_directories(dir / "no-tokenizer");
  EXPECT_NE(run_cli("make-model --arch clip --size tiny --out " + q(dir / "m") +
                        " --tokenizer-dir " + q(dir / "no-tokenizer"),
                    &output),
            0);
  EXPECT_FALSE(fs::exists(dir / "m"));
  for (const auto& entry : fs::directory_iterator(dir.path())) {
    EXPECT_EQ(entry.path().filename(), "no-tokenizer") << "left behind: " << entry.path();
  }
  // A folder of other files is not replaced.
  fs::create_directories(dir / "notes");
  testing::write_text(dir / "notes" / "todo.txt", "keep me");
  EXPECT_NE(run_cli("make-model --arch clip --size tiny --out " + q(dir / "notes"), &output), 0);
  EXPECT_NE(output.find("expected an empty folder or a checkpoint to replace"), std::string::npos)
      << output;
  EXPECT_EQ(read_file(dir / "notes" / "todo.txt"), "keep me");
  // A checkpoint is replaced whole: another seed, other weights.
  ASSERT_EQ(run_cli("make-model --arch clip --size tiny --seed 1 --out " + q(dir / "m"), &output),
            0)
      << output;
  const std::string first = read_file(dir / "m" / "model.safetensors");
  ASSERT_EQ(run_cli("make-model --arch clip --size tiny --seed 2 --out " + q(dir / "m"), &output),
            0)
      << output;
  EXPECT_NE(read_file(dir / "m" / "model.safetensors"), first);
  EXPECT_TRUE(fs::exists(dir / "m" / "config.json"));
}

}  // namespace
}  // namespace vlbench
