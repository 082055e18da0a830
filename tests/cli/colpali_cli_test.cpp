// ColPali (../shared/fixtures/colpali-tiny: base + LoRA adapter) through the commands that take
// --model, end to end: tokenize prints the processor's query ids, embed writes the MaxSim token
// files (TOKENS.npy + LENGTHS.npy) matching the goldens, run evaluates by MaxSim on the bundled
// datasets, and a missing base is a clear error.
#include "test_util.hpp"

#include <vlbench/core/atomic_file.hpp>
#include <vlbench/core/npy.hpp>
#include <vlbench/index/maxsim.hpp>

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

class ColPaliCli : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(VLBENCH_SHARED_FIXTURES) / "colpali-tiny";
    if (!fs::exists(root_)) GTEST_SKIP() << "no fixture at " << root_;
    model_ = " --model " + q(root_ / "adapter") + " --base " + q(root_ / "base");
    manifest_ = json::parse(read_file(root_ / "golden/manifest.json"));
  }
  fs::path root_;
  std::string model_;
  json manifest_;
  TempDir dir_;
};

// The real rows of golden [n, T, d] embeddings (queries left-padded), as padded [n, t_max, d]
// with zero rows after each item's tokens: what embed writes.
std::vector<float> golden_right_padded(const fs::path& npy, const std::vector<std::int32_t>& lengths,
                                       bool left_padded) {
  const NpyArray a = read_npy(npy);
  const std::vector<float> all = testing::read_npy_f32(npy);
  const std::int64_t t = a.shape[1], d = a.shape[2];
  std::vector<float> out(all.size(), 0.0f);
  for (std::size_t i = 0; i < lengths.size(); ++i) {
    const std::int64_t first = left_padded ? t - lengths[i] : 0;
    std::memcpy(out.data() + i * t * d, all.data() + (i * t + first) * d,
                sizeof(float) * lengths[i] * d);
  }
  return out;
}

TEST_F(ColPaliCli, TokenizeAndEmbedMatchTheGoldens) {
  std::string lines;
  for (const auto& query : manifest_["queries"]) lines += query.get<std::string>() + "\n";
  testing::write_text(dir_ / "queries.txt", lines);
  std::string output;
  ASSERT_EQ(run_cli("tokenize" + model_ + " --text-list " + q(dir_ / "queries.txt"), &output), 0)
      << output;
  std::istringstream stream(output);
  std::string line;
  std::vector<std::int32_t> lengths;
  for (const auto& ids : manifest_["query_ids_unpadded"]) {
    ASSERT_TRUE(std::getline(stream, line));
    EXPECT_EQ(json::parse(line)["ids"], ids);
    lengths.push_back(static_cast<std::int32_t>(ids.size()));
  }

  ASSERT_EQ(run_cli("embed" + model_ + " --text-list " + q(dir_ / "queries.txt") +
                        " --batch 3 --out " + q(dir_ / "q"),
                    &output),
            0)
      << output;
  const MultiVectorSet queries =
      load_multi_vectors(dir_ / "q/TOKENS.npy", dir_ / "q/LENGTHS.npy", "text tokens");
  EXPECT_EQ(queries.lengths, lengths);
  EXPECT_EQ(queries.t_max, 31);
  EXPECT_LE(testing::max_abs_diff(
                queries.tokens,
                golden_right_padded(root_ / "golden/query_embeddings.npy", lengths, true)),
            1e-4);

  std::string images;
  for (const auto& name : manifest_["images"]) {
    images += (fs::path(VLBENCH_SHARED_FIXTURES) / "images" / name.get<std::string>()).string() +
              "\n";
  }
  testing::write_text(dir_ / "images.txt", images);
  ASSERT_EQ(run_cli("embed" + model_ + " --image-list " + q(dir_ / "images.txt") +
                        " --batch 5 --out " + q(dir_ / "p"),
                    &output),
            0)
      << output;
  const MultiVectorSet pages =
      load_multi_vectors(dir_ / "p/TOKENS.npy", dir_ / "p/LENGTHS.npy", "image tokens");
  EXPECT_EQ(pages.lengths, std::vector<std::int32_t>(8, 11));
  EXPECT_LE(testing::max_abs_diff(
                pages.tokens, golden_right_padded(root_ / "golden/image_embeddings.npy",
                                                  pages.lengths, false)),
            1e-4);

  // preprocess gives the golden pixels (bicubic straight to 28x28).
  ASSERT_EQ(run_cli("preprocess" + model_ + " --image-list " + q(dir_ / "images.txt") +
                        " --out " + q(dir_ / "pix.npy"),
                    &output),
            0)
      << output;
  EXPECT_LE(testing::max_abs_diff(testing::read_npy_f32(dir_ / "pix.npy"),
                                  testing::read_npy_f32(root_ / "golden/pixel_values.npy")),
            1e-6);
}

TEST_F(ColPaliCli, RunEvaluatesByMaxSim) {
  std::string output;
  const std::string datasets =
      " --dataset coco-karpathy:" + repo_path("data/coco-karpathy-mini").string() +
      " --dataset winoground:" + repo_path("data/winoground-mini").string() +
      " --dataset flickr30k-karpathy:" + repo_path("data/flickr30k-karpathy-mini").string() +
      " --dataset jsonl:" + repo_path("data/jsonl-mini/captions.jsonl").string() +
      " --allow-any-size";
  ASSERT_EQ(run_cli("run" + model_ + datasets + " --batch 4 --bootstrap 50 --out " +
                        q(dir_ / "run"),
                    &output),
            0)
      << output;
  const fs::path stem = dir_ / "run" / "adapter";
  const json coco = json::parse(read_file(stem / "coco-karpathy-test.json"));
  EXPECT_EQ(coco["model"]["family"], "colpali");
  EXPECT_EQ(coco["model"]["output"], "multi_vector");
  EXPECT_EQ(coco["model"]["embed_dim"], 128);
  EXPECT_TRUE(fs::exists(stem / "winoground-all.json"));
  for (const char* file : {"flickr30k-karpathy-test.json", "jsonl-all.json"}) {
    ASSERT_TRUE(fs::exists(stem / file)) << file;
    const json doc = json::parse(read_file(stem / file));
    EXPECT_TRUE(doc["metrics"]["t2i"]["r1"].contains("ci95")) << file;
  }
  const MultiVectorSet pages =
      load_multi_vectors(stem / "coco-karpathy-test/IMAGE_TOKENS.npy",
                         stem / "coco-karpathy-test/IMAGE_LENGTHS.npy", "image tokens");
  EXPECT_EQ(pages.t_max, 11);
  // The same run with one thread gives exactly the same metrics.
  ASSERT_EQ(run_cli("run" + model_ + datasets + " --batch 3 --threads 1 --bootstrap 50 --out " +
                        q(dir_ / "run1"),
                    &output),
            0)
      << output;
  const json again = json::parse(read_file(dir_ / "run1/adapter/coco-karpathy-test.json"));
  EXPECT_EQ(again["metrics"], coco["metrics"]);
}

TEST_F(ColPaliCli, RunWithRerankModelIsTheTwoStagePipeline) {
  const fs::path dense = fs::path(VLBENCH_SHARED_FIXTURES) / "clip-tiny-quickgelu";
  if (!fs::exists(dense)) GTEST_SKIP() << "no fixture at " << dense;
  std::string output;
  const std::string coco = " --dataset coco-karpathy:" +
                           repo_path("data/coco-karpathy-mini").string() + " --allow-any-size";
  const std::string rerank = " --rerank-model " + q(root_ / "adapter") + " --base " +
                             q(root_ / "base") + " --rerank-depth 10";
  ASSERT_EQ(run_cli("run --model " + q(dense) + rerank + coco + " --bootstrap 50 --out " +
                        q(dir_ / "two"),
                    &output),
            0)
      << output;
  EXPECT_NE(output.find("Two-stage retrieval: dense top-10 re-ranked by MaxSim"), std::string::npos)
      << output;
  // The dense model alone, and ColPali alone (MaxSim over the whole gallery).
  ASSERT_EQ(run_cli("run --model " + q(dense) + coco + " --bootstrap 50 --out " + q(dir_ / "dense"),
                    &output),
            0)
      << output;
  ASSERT_EQ(run_cli("run" + model_ + coco + " --bootstrap 50 --out " + q(dir_ / "late"), &output),
            0)
      << output;
  const json two = json::parse(read_file(dir_ / "two/clip-tiny-quickgelu/coco-karpathy-test.json"));
  const json alone =
      json::parse(read_file(dir_ / "dense/clip-tiny-quickgelu/coco-karpathy-test.json"));
  const json late = json::parse(read_file(dir_ / "late/adapter/coco-karpathy-test.json"));
  const json& r = two["rerank"];
  EXPECT_EQ(r["depth"], 10);
  EXPECT_EQ(r["model"]["family"], "colpali");
  for (const char* direction : {"t2i", "i2t"}) {
    SCOPED_TRACE(direction);
    // Stage 1 is the dense evaluation; MaxSim over the whole gallery is ColPali's own run.
    EXPECT_EQ(r[direction]["stage1"], alone["metrics"][direction]);
    EXPECT_EQ(r[direction]["full_maxsim"], late["metrics"][direction]);
    EXPECT_TRUE(r[direction]["stage2"].contains("r1"));
    EXPECT_GT(r[direction]["latency_seconds"]["stage2"]["p50"].get<double>(), 0.0);
  }
  EXPECT_GT(r["query_encode_seconds"]["stage2_model"]["p50"].get<double>(), 0.0);
  EXPECT_GT(r["t2i_query_seconds_p50"]["two_stage"].get<double>(),
            r["t2i_query_seconds_p50"]["stage1_only"].get<double>());
  // ColPali's tokens are written once, under its own name.
  EXPECT_TRUE(fs::exists(dir_ / "two/adapter/coco-karpathy-test/IMAGE_TOKENS.npy"));

  // The re-ranking model must be multi-vector, the stage-1 model single-vector.
  EXPECT_NE(run_cli("run --model " + q(dense) + " --rerank-model " + q(dense) + coco +
                        " --out " + q(dir_ / "bad"),
                    &output),
            0);
  EXPECT_NE(output.find("re-ranking needs a multi-vector"), std::string::npos) << output;
}

TEST_F(ColPaliCli, PooledAndQuantizedPageTokensAreComparedWithFullMaxSim) {
  std::string output;
  const std::string coco = " --dataset coco-karpathy:" +
                           repo_path("data/coco-karpathy-mini").string() + " --allow-any-size";
  ASSERT_EQ(run_cli("run" + model_ + coco +
                        " --token-pool-factor 3 --token-quantize binary --bootstrap 50 --out " +
                        q(dir_ / "v"),
                    &output),
            0)
      << output;
  const json doc = json::parse(read_file(dir_ / "v/adapter/coco-karpathy-test.json"));
  const json& pooled = doc["token_pooling"];
  const json& binary = doc["token_quantization"];
  // 11 tokens of 128 floats; pooled to max(11 // 3, 1) = 3 clusters; 16 bytes of sign bits.
  EXPECT_DOUBLE_EQ(pooled["bytes_per_page"]["fp32"].get<double>(), 11 * 128 * 4);
  EXPECT_DOUBLE_EQ(pooled["bytes_per_page"]["variant"].get<double>(), 3 * 128 * 4);
  EXPECT_DOUBLE_EQ(binary["bytes_per_page"]["variant"].get<double>(), 11 * 16);
  for (const json* section : {&pooled, &binary}) {
    // The baseline is the run's own MaxSim metrics; each paired row is variant − baseline.
    EXPECT_EQ((*section)["fp32"]["t2i"]["r1"]["value"], doc["metrics"]["t2i"]["r1"]["value"]);
    for (const json& row : (*section)["paired"]) {
      EXPECT_NEAR(row["diff"].get<double>(),
                  row["quantized"].get<double>() - row["fp32"].get<double>(), 1e-12);
    }
  }
  EXPECT_NE(output.find("bytes per page: 5632 (fp32, unpooled) → 1536"), std::string::npos)
      << output;
  // bf16 page tokens: half the bytes, scored as serve --rerank-token-storage bf16 scores them.
  ASSERT_EQ(run_cli("run" + model_ + coco + " --token-quantize bf16 --bootstrap 50 --out " +
                        q(dir_ / "b"),
                    &output),
            0)
      << output;
  const json bf16 =
      json::parse(read_file(dir_ / "b/adapter/coco-karpathy-test.json"))["token_quantization"];
  EXPECT_DOUBLE_EQ(bf16["bytes_per_page"]["variant"].get<double>(), 11 * 128 * 2);
  EXPECT_NE(output.find("bytes per page: 5632 (fp32, unpooled) → 2816 (bf16 page tokens)"),
            std::string::npos)
      << output;
  // The flags concern a multi-vector model.
  EXPECT_NE(run_cli("run --model " + q(fs::path(VLBENCH_SHARED_FIXTURES) / "clip-tiny-quickgelu") +
                        coco + " --token-pool-factor 2 --out " + q(dir_ / "bad"),
                    &output),
            0);
  EXPECT_NE(output.find("apply to a multi-vector model"), std::string::npos) << output;
}

TEST_F(ColPaliCli, AnAdapterWithoutItsBaseIsAClearError) {
  std::string output;
  testing::write_text(dir_ / "c.txt", "a query\n");
  EXPECT_NE(run_cli("embed --model " + q(root_ / "adapter") + " --text-list " + q(dir_ / "c.txt") +
                        " --out " + q(dir_ / "o"),
                    &output),
            0);
  EXPECT_NE(output.find("vidore/colpaligemma-3b-pt-448-base"), std::string::npos) << output;
  EXPECT_NE(output.find("--base"), std::string::npos) << output;
  EXPECT_FALSE(fs::exists(dir_ / "o"));
}

TEST(MakeModel, ColPaliWritesBaseAndAdapterThatFindEachOther) {
  TempDir dir;
  std::string output;
  const fs::path out = dir / "m";
  ASSERT_EQ(run_cli("make-model --arch colpali --size tiny --seed 3 --out " + q(out), &output), 0)
      << output;
  const fs::path base = out / "colpaligemma-3b-pt-448-base", adapter = out / "colpali-tiny";
  const json config = json::parse(read_file(base / "config.json"));
  EXPECT_EQ(config["model_type"], "paligemma");
  EXPECT_EQ(config["architectures"], json::array({"ColPali"}));
  const json adapter_config = json::parse(read_file(adapter / "adapter_config.json"));
  EXPECT_EQ(adapter_config["base_model_name_or_path"], "vidore/colpaligemma-3b-pt-448-base");
  EXPECT_TRUE(fs::exists(adapter / "adapter_model.safetensors"));
  EXPECT_TRUE(fs::exists(adapter / "tokenizer.model"));
  // The base is found next to the adapter (no --base); embeddings are unit tokens.
  testing::write_text(dir / "q.txt", "a page about cats\n");
  ASSERT_EQ(run_cli("embed --model " + q(adapter) + " --text-list " + q(dir / "q.txt") +
                        " --out " + q(dir / "e"),
                    &output),
            0)
      << output;
  const MultiVectorSet tokens =
      load_multi_vectors(dir / "e/TOKENS.npy", dir / "e/LENGTHS.npy", "text tokens");
  ASSERT_EQ(tokens.n, 1);
  EXPECT_GT(tokens.lengths[0], 11);  // <bos> "Query: ..." + 10 <pad> + "\n"
  double norm = 0;
  for (std::int64_t i = 0; i < 128; ++i) norm += double{tokens.tokens[i]} * tokens.tokens[i];
  EXPECT_NEAR(norm, 1.0, 1e-5);
  // The same seed gives the same bytes; make-model may replace its own output.
  ASSERT_EQ(run_cli("make-model --arch colpali --size tiny --seed 3 --out " + q(dir / "again"),
                    &output),
            0);
  EXPECT_EQ(read_file(dir / "again/colpaligemma-3b-pt-448-base/model.safetensors"),
            read_file(base / "model.safetensors"));
  EXPECT_EQ(read_file(dir / "again/colpali-tiny/adapter_model.safetensors"),
            read_file(adapter / "adapter_model.safetensors"));
  ASSERT_EQ(run_cli("make-model --arch colpali --size tiny --seed 4 --out " + q(out), &output), 0)
      << output;
  EXPECT_NE(read_file(dir / "again/colpaligemma-3b-pt-448-base/model.safetensors"),
            read_file(base / "model.safetensors"));
}

}  // namespace
}  // namespace vlbench
