// vlbench eval --rerank-* (two-stage dense + MaxSim) and --quantize on the bundled mini COCO:
// tables, the results document's "rerank" and "quantization" sections, and flag errors.
#include "test_util.hpp"

#include <vlbench/core/atomic_file.hpp>
#include <vlbench/core/dtype.hpp>
#include <vlbench/core/npy.hpp>
#include <vlbench/core/random.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

namespace vlbench {
namespace {

using nlohmann::json;
using testing::repo_path;
using testing::run_cli;
using testing::TempDir;

const std::string kCoco = "coco-karpathy:" + repo_path("data/coco-karpathy-mini").string();
constexpr std::int64_t kDim = 32;

// Single-quoted for run_cli's shell command line.
const auto& q = testing::shell_quote;

std::vector<std::string> files_in(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Token sets for the rows of `dense` (an .npy [n, kDim]): token 0 is the dense row, the
// other real tokens are noise; lengths 1 + (row mod t_max). Image tokens go as float16.
void write_tokens(const std::filesystem::path& dense_path, std::int64_t t_max, bool as_f16,
                  const std::filesystem::path& tokens_path,
                  const std::filesystem::path& lengths_path, std::uint64_t seed) {
  const std::vector<float> dense = testing::read_npy_f32(dense_path);
  const auto n = static_cast<std::int64_t>(dense.size()) / kDim;
  std::vector<float> tokens(static_cast<std::size_t>(n * t_max * kDim), 0.0f);
  std::vector<std::int32_t> lengths;
  SplitMix64 rng(seed);
  for (std::int64_t i = 0; i < n; ++i) {
    lengths.push_back(static_cast<std::int32_t>(1 + i % t_max));
    float* item = tokens.data() + i * t_max * kDim;
    std::copy(dense.begin() + i * kDim, dense.begin() + (i + 1) * kDim, item);
    for (std::int64_t k = kDim; k < lengths.back() * kDim; ++k) {
      item[k] = static_cast<float>(0.3 * rng.normal());
    }
  }
  if (as_f16) {
    std::vector<std::uint16_t> halves;
    for (const float x : tokens) halves.push_back(f32_to_f16(x));
    write_npy(tokens_path, DType::f16, {n, t_max, kDim}, halves.data());
  } else {
    write_npy(tokens_path, DType::f32, {n, t_max, kDim}, tokens.data());
  }
  write_npy(lengths_path, DType::i32, {n}, lengths.data());
}

struct RerankCli : ::testing::Test {
  void SetUp() override {
    std::string output;
    ASSERT_EQ(run_cli("synth-embeddings --dataset " + kCoco +
                          " --allow-any-size --dim 32 --seed 4 --out " + q(emb()),
                      &output),
              0)
        << output;
    write_tokens(emb() / "TEXTS.npy", 3, false, dir / "T.npy", dir / "TL.npy", 1);
    write_tokens(emb() / "IMAGES.npy", 5, true, dir / "I.npy", dir / "IL.npy", 2);
    std::filesystem::create_directory(out());
  }
  std::filesystem::path emb() const { return dir / "emb"; }
  std::filesystem::path out() const { return dir / "out"; }
  std::string eval_args() const {
    return "eval --dataset " + kCoco + " --allow-any-size --bootstrap 200 --image-embeddings " +
           q(emb() / "IMAGES.npy") + " --text-embeddings " + q(emb() / "TEXTS.npy");
  }
  std::string rerank_args() const {
    return " --rerank-text-tokens " + q(dir / "T.npy") + " --rerank-text-lengths " +
           q(dir / "TL.npy") + " --rerank-image-tokens " + q(dir / "I.npy") +
           " --rerank-image-lengths " + q(dir / "IL.npy");
  }
  void expect_eval_error(const std::string& args, const std::vector<std::string>& parts) {
    const std::vector<std::string> before = files_in(out());
    std::string output;
    EXPECT_NE(run_cli(args + " --out " + q(out() / "r.json"), &output), 0) << output;
    EXPECT_NE(output.find("vlbench: error: "), std::string::npos) << output;
    for (const auto& part : parts) {
      EXPECT_NE(output.find(part), std::string::npos) << "missing '" << part << "' in: " << output;
    }
    EXPECT_EQ(std::count(output.begin(), output.end(), '\n'), 1) << output;
    EXPECT_EQ(files_in(out()), before) << "a failed eval left files behind";
  }

  TempDir dir;
};

TEST_F(RerankCli, TwoStageTablesAndDocument) {
  std::string output;
  ASSERT_EQ(run_cli(eval_args() + rerank_args() + " --rerank-depth 5 --protocol seed --out " +
                        q(out() / "r.json"),
                    &output),
            0)
      << output;
  EXPECT_NE(output.find("### Two-stage retrieval: dense top-5 re-ranked by MaxSim"),
            std::string::npos)
      << output;
  EXPECT_NE(output.find("| t2i | stage 2: dense top-5 + MaxSim |"), std::string::npos) << output;
  EXPECT_NE(output.find("| i2t | MaxSim over the whole gallery |"), std::string::npos) << output;
  EXPECT_NE(output.find("### Two-stage latency per query (ms"), std::string::npos) << output;

  const json doc = json::parse(read_file(out() / "r.json"));
  const json& rerank = doc["rerank"];
  EXPECT_EQ(rerank["depth"], 5);
  EXPECT_EQ(rerank["protocol"], "seed");
  EXPECT_EQ(rerank["tokens"]["dim"], kDim);
  EXPECT_EQ(rerank["tokens"]["image_tokens"]["sha256"].get<std::string>().size(), 64u);
  for (const char* direction : {"t2i", "i2t"}) {
    SCOPED_TRACE(direction);
    // Stage 1 is the dense evaluation itself.
    EXPECT_EQ(rerank[direction]["stage1"], doc["metrics"][direction]);
    for (const char* stage : {"stage2", "full_maxsim"}) {
      EXPECT_EQ(rerank[direction][stage]["queries"], doc["metrics"][direction]["queries"]);
      const double r1 = rerank[direction][stage]["r1"]["value"];
      EXPECT_GE(r1, 0.0);
      EXPECT_LE(r1, 1.0);
    }
    for (const char* stage : {"stage1", "stage2"}) {
      const json& l = rerank[direction]["latency_seconds"][stage];
      EXPECT_GT(l["p50"].get<double>(), 0.0);
      EXPECT_LE(l["p50"].get<double>(), l["p99"].get<double>());
    }
  }
  // The existing document is unchanged by the new section.
  EXPECT_EQ(doc["schema"], "vlbench.results/1");
  EXPECT_TRUE(doc.contains("per_query"));
}

TEST_F(RerankCli, RerankFlagErrors) {
  expect_eval_error(eval_args() + " --rerank-text-tokens " + q(dir / "T.npy") +
                        " --rerank-image-tokens " + q(dir / "I.npy"),
                    {"all four", "missing --rerank-text-lengths, --rerank-image-lengths"});
  expect_eval_error(eval_args() + " --rerank-depth 10", {"--rerank-depth needs"});
  expect_eval_error(eval_args() + rerank_args() + " --rerank-depth 0",
                    {"--rerank-depth must be >= 1, got 0"});
  // Caption tokens given as image tokens: the count names the role.
  expect_eval_error(eval_args() + " --rerank-text-tokens " + q(dir / "I.npy") +
                        " --rerank-text-lengths " + q(dir / "IL.npy") + " --rerank-image-tokens " +
                        q(dir / "I.npy") + " --rerank-image-lengths " + q(dir / "IL.npy"),
                    {"text tokens", "16 items, expected 82"});
  expect_eval_error(eval_args() + " --rerank-text-tokens " + q(dir / "T.npy") +
                        " --rerank-text-lengths " + q(dir / "IL.npy") + " --rerank-image-tokens " +
                        q(dir / "I.npy") + " --rerank-image-lengths " + q(dir / "IL.npy"),
                    {"text tokens", "IL.npy", "has 16 lengths, expected 82"});
}

TEST_F(RerankCli, QuantizedEvaluation) {
  for (const std::string type : {"int8", "binary"}) {
    SCOPED_TRACE(type);
    std::string output;
    const auto path = out() / (type + ".json");
    ASSERT_EQ(run_cli(eval_args() + " --quantize " + type + " --out " + q(path), &output), 0)
        << output;
    EXPECT_NE(output.find("### Quantized embeddings (" + type + ") against fp32"),
              std::string::npos)
        << output;
    const json doc = json::parse(read_file(path));
    const json& section = doc["quantization"];
    EXPECT_EQ(section["type"], type);
    EXPECT_EQ(section["fp32"], doc["metrics"]);
    ASSERT_EQ(section["paired"].size(), 10u);  // t2i and i2t × r1 r5 r10 mrr median_rank
    EXPECT_EQ(section["paired"][0]["metric"], "t2i.r1");
    for (const json& c : section["paired"]) {
      EXPECT_NEAR(c["diff"].get<double>(), c["quantized"].get<double>() - c["fp32"].get<double>(),
                  1e-12);
      EXPECT_GE(c["p_value"].get<double>(), 0.0);
      EXPECT_LE(c["p_value"].get<double>(), 1.0);
    }
    for (const char* direction : {"t2i", "i2t"}) {
      const double fp32 = section["fp32"][direction]["r1"]["value"];
      const double quantized = section["quantized"][direction]["r1"]["value"];
      if (type == "int8") {
        // Measured (seed 4, d 32): t2i R@1 93.90 -> 95.12 % (one query of 82), i2t equal.
        EXPECT_NEAR(quantized, fp32, 0.02) << direction;
      } else {
        EXPECT_GT(quantized, 0.0) << direction;
        EXPECT_LE(quantized, 1.0) << direction;
      }
    }
  }
  // CLI11 rejects an unknown type while parsing (its own message format).
  std::string output;
  EXPECT_NE(run_cli(eval_args() + " --quantize int4", &output), 0);
  EXPECT_NE(output.find("--quantize"), std::string::npos) << output;
  EXPECT_NE(output.find("int4"), std::string::npos) << output;
}

}  // namespace
}  // namespace vlbench
