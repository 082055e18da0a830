// Option values and config fields that would hang or exhaust memory are refused at once with a
// message that names the option (or field) and its bounds.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <thread>

#include "test_util.hpp"

namespace vlbench {
namespace {

using testing::run_cli;

struct Case {
  std::string args;
  std::string expected;  // in the output
};

TEST(OptionBounds, AbsurdValuesAreRefusedNamingTheBound) {
  const unsigned hardware = std::max(1u, std::thread::hardware_concurrency());
  const std::string most = std::to_string(4 * hardware);
  const std::string readme = testing::shell_quote(testing::repo_path("README.md"));
  const Case cases[] = {
      {"embed --model m --text-list t --out o.npy --batch 0", "--batch: 0 is below the minimum 1"},
      {"embed --model m --text-list t --out o.npy --threads 100000",
       "--threads: 100000 is outside [0, " + most + "] (0: all cores; at most 4 x the"},
      {"eval --dataset jsonl:x --image-embeddings a --text-embeddings b --threads 100000",
       "--threads: 100000 is outside"},
      {"index search --index i --queries q --k 1 --out r --threads 100000",
       "--threads: 100000 is outside"},
      {"eval --dataset jsonl:x --image-embeddings a --text-embeddings b --bootstrap 1000000000",
       "--bootstrap: 1000000000 is outside [0, 1000000]"},
      {"compare " + readme + " " + readme + " --bootstrap 0",
       "--bootstrap: 0 is outside [1, 1000000]"},
      {"run --model m --dataset jsonl:x --bootstrap 1e12", "--bootstrap: 1e12 is outside"},
      {"serve --index i --threads 100000", "--threads: 100000 is outside [1, 1024]"},
      {"serve --index i --rerank-token-storage int8",
       "--rerank-token-storage int8: needs --rerank-image-tokens and --rerank-image-lengths"},
      {"serve --index i --rerank-token-storage fp16", "--rerank-token-storage: fp16 not in"},
      {"embed --model m --text-list t --out o.npy --batch many", "--batch: 'many' is not a number"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.args);
    std::string output;
    EXPECT_NE(run_cli(c.args, &output), 0);
    EXPECT_NE(output.find(c.expected), std::string::npos) << output;
    EXPECT_LT(output.size(), 400u) << output;  // no 309-digit range
  }
}

TEST(OptionBounds, ImplausibleConfigSizesAreErrorsNotAllocations) {
  testing::TempDir dir;
  std::string output;
  ASSERT_EQ(run_cli("make-model --arch clip --size tiny --out " + testing::shell_quote(dir / "m"),
                    &output),
            0)
      << output;
  testing::write_text(
      dir / "m" / "config.json",
      R"({"model_type": "clip", "text_config": {"num_hidden_layers": 1000000000}})");
  testing::write_text(dir / "t.txt", "a photo\n");
  EXPECT_NE(run_cli("embed --model " + testing::shell_quote(dir / "m") + " --text-list " +
                        testing::shell_quote(dir / "t.txt") + " --out " +
                        testing::shell_quote(dir / "o.npy"),
                    &output),
            0);
  EXPECT_NE(output.find("field 'text_config.num_hidden_layers': 1000000000 is implausibly large "
                        "(at most 1024)"),
            std::string::npos)
      << output;
  EXPECT_FALSE(std::filesystem::exists(dir / "o.npy"));
}

}  // namespace
}  // namespace vlbench
