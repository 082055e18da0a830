// End-to-end tests of the vlbench program: eval -> results documents -> report / compare,
// and every user error of eval (message, exit code, no output left behind).
#include "test_util.hpp"

#include <vlbench/core/atomic_file.hpp>
#include <vlbench/core/npy.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>

namespace vlbench {
namespace {

using nlohmann::json;
using testing::repo_path;
using testing::run_cli;
using testing::TempDir;

const std::string kCoco = "coco-karpathy:" + repo_path("data/coco-karpathy-mini").string();
const std::string kWinoground = "winoground:" + repo_path("data/winoground-mini").string();

// Single-quoted for run_cli's shell command line.
const auto& q = testing::shell_quote;

// Synthetic embeddings for `spec` in dir/name/{IMAGES,TEXTS}.npy.
std::filesystem::path synth(const TempDir& dir, const std::string& spec, const std::string& name,
                            int seed) {
  std::string output;
  const auto out = dir / name;
  const int rc =
      run_cli("synth-embeddings --dataset " + spec + " --allow-any-size --dim 32 --seed " +
                  std::to_string(seed) + " --out " + q(out),
              &output);
  EXPECT_EQ(rc, 0) << output;
  return out;
}

std::string eval_args(const std::string& spec, const std::filesystem::path& emb) {
  return "eval --dataset " + spec + " --allow-any-size --bootstrap 200 --image-embeddings " +
         q(emb / "IMAGES.npy") + " --text-embeddings " + q(emb / "TEXTS.npy");
}

json read_json(const std::filesystem::path& p) {
  return json::parse(read_file(p));
}

// Files left in `dir` (to check that a failed command wrote nothing, not even a temporary).
std::vector<std::string> files_in(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

TEST(Cli, EvalWritesResultsThatReportAndCompareRead) {
  TempDir dir;
  const auto emb = synth(dir, kCoco, "model_a", 1);
  std::string output;
  ASSERT_EQ(run_cli(eval_args(kCoco, emb) + " --protocol seed --out " + q(dir / "a.json"), &output),
            0)
      << output;
  EXPECT_NE(output.find("| model | dataset | protocol | t2i R@1"), std::string::npos) << output;

  const json doc = read_json(dir / "a.json");
  EXPECT_EQ(doc["schema"], "vlbench.results/1");
  EXPECT_EQ(doc["model"]["name"], "model_a");
  EXPECT_EQ(doc["protocol"], "seed");
  EXPECT_EQ(doc["dataset"]["kind"], "coco-karpathy");
  EXPECT_EQ(doc["dataset"]["split"], "test");
  EXPECT_EQ(doc["dataset"]["sha256"].get<std::string>().size(), 64u);
  const std::int64_t n_images = doc["dataset"]["images"];
  const std::int64_t n_captions = doc["dataset"]["captions"];
  EXPECT_GT(n_captions, 5 * n_images);  // the mini COCO has 6-caption images
  // seed: one t2i query per image; i2t: every image against every caption.
  EXPECT_EQ(doc["metrics"]["t2i"]["queries"], n_images);
  EXPECT_EQ(doc["metrics"]["i2t"]["gallery"], n_captions);
  const json& r1 = doc["metrics"]["t2i"]["r1"];
  EXPECT_GE(r1["value"].get<double>(), 0.0);
  EXPECT_LE(r1["value"].get<double>(), 1.0);
  EXPECT_LE(r1["ci95"][0].get<double>(), r1["value"].get<double>());
  EXPECT_GE(r1["ci95"][1].get<double>(), r1["value"].get<double>());
  EXPECT_EQ(doc["per_query"], "a.per_query.npy");
  const NpyArray ranks = read_npy(dir / "a.per_query.npy");
  EXPECT_EQ(ranks.shape[0], 2 * n_images);

  ASSERT_EQ(run_cli("report " + q(dir / "a.json") + " --format csv", &output), 0) << output;
  EXPECT_NE(output.find("model,dataset,split,protocol,metric,value,ci95_lo,ci95_hi,n"),
            std::string::npos);
  EXPECT_NE(output.find("model_a,coco-karpathy,test,seed,t2i.r1,"), std::string::npos) << output;
  ASSERT_EQ(run_cli("report " + q(dir / "a.json") + " --format json", &output), 0) << output;
  EXPECT_EQ(json::parse(output)[0]["metrics"], doc["metrics"]);

  // A second "model" on the same queries; compare it with A, and A with itself.
  const auto emb_b = synth(dir, kCoco, "model_b", 2);
  ASSERT_EQ(
      run_cli(eval_args(kCoco, emb_b) + " --protocol seed --out " + q(dir / "b.json"), &output), 0);
  ASSERT_EQ(
      run_cli("compare " + q(dir / "a.json") + " " + q(dir / "b.json") + " --format json", &output),
      0)
      << output;
  const json cmp = json::parse(output);
  EXPECT_TRUE(cmp["metrics"].contains("t2i.r1"));
  EXPECT_TRUE(cmp["metrics"].contains("i2t.median_rank"));
  ASSERT_EQ(
      run_cli("compare " + q(dir / "a.json") + " " + q(dir / "a.json") + " --format json", &output),
      0)
      << output;
  EXPECT_EQ(json::parse(output)["metrics"]["t2i.r10"]["p_value"], 1.0);
  ASSERT_EQ(run_cli("compare " + q(dir / "a.json") + " " + q(dir / "b.json"), &output), 0);
  EXPECT_NE(output.find("| metric | A | B | B - A |"), std::string::npos) << output;

  // Another protocol evaluates other queries: not comparable.
  ASSERT_EQ(
      run_cli(eval_args(kCoco, emb_b) + " --protocol standard --out " + q(dir / "c.json"), &output),
      0);
  EXPECT_NE(run_cli("compare " + q(dir / "a.json") + " " + q(dir / "c.json"), &output), 0);
  EXPECT_NE(output.find("not comparable: protocol differs"), std::string::npos) << output;
}

TEST(Cli, WinogroundEvalAndReport) {
  TempDir dir;
  const auto emb = synth(dir, kWinoground, "wino", 3);
  std::string output;
  ASSERT_EQ(run_cli(eval_args(kWinoground, emb) + " --out " + q(dir / "w.json"), &output), 0)
      << output;
  const json doc = read_json(dir / "w.json");
  EXPECT_EQ(doc["protocol"], "winoground");
  const json& w = doc["metrics"]["winoground"];
  EXPECT_EQ(w["examples"], doc["dataset"]["images"].get<int>() / 2);
  EXPECT_LE(w["group"]["value"].get<double>(), w["text"]["value"].get<double>());
  EXPECT_LE(w["group"]["value"].get<double>(), w["image"]["value"].get<double>());
  EXPECT_FALSE(w["by_collapsed_tag"].empty());
  ASSERT_EQ(run_cli("report " + q(dir / "w.json"), &output), 0) << output;
  EXPECT_NE(output.find("## Winoground"), std::string::npos) << output;
  EXPECT_NE(output.find("#### By collapsed tag"), std::string::npos) << output;
  // Winoground alone: no retrieval, so nothing to recommend, and no Pareto chart.
  EXPECT_NE(output.find("nothing to recommend"), std::string::npos) << output;
  ASSERT_EQ(run_cli("report " + q(dir / "w.json") + " --format html", &output), 0) << output;
  EXPECT_EQ(output.rfind("<!DOCTYPE html>", 0), 0u) << output;
  EXPECT_NE(output.find("<section id=\"winoground\">"), std::string::npos) << output;
  EXPECT_EQ(output.find("<svg"), std::string::npos) << output;
}

TEST(Cli, ReportDecisionTableFromAnIndexBenchmark) {
  TempDir dir;
  const auto emb = synth(dir, kCoco, "model_a", 1);
  std::string output;
  ASSERT_EQ(run_cli(eval_args(kCoco, emb) + " --out " + q(dir / "a.json"), &output), 0) << output;
  ASSERT_EQ(run_cli("index bench --synthetic 2000,16,8 --synthetic-queries 50 --latency-queries "
                    "20 --reps 1 --type flat --type hnsw --sweep efSearch=16,64 --out " +
                        q(dir / "ib"),
                    &output),
            0)
      << output;
  const std::string bench = (dir / "ib" / "index_bench.json").string();
  for (const char* format : {"md", "html"}) {
    ASSERT_EQ(run_cli("report " + q(dir / "a.json") + " --index-bench " + q(bench) +
                          " --format " + format,
                      &output),
              0)
        << output;
    EXPECT_NE(output.find("Decision table by gallery size"), std::string::npos) << output;
    EXPECT_NE(output.find("Search on "), std::string::npos) << output;
    EXPECT_NE(output.find(bench + ", run synthetic (2,000 × 16)"), std::string::npos) << output;
  }
  // A row per band, a column per latency budget.
  ASSERT_EQ(run_cli("report " + q(dir / "a.json") + " --index-bench " + q(bench), &output), 0);
  std::size_t rows = 0;
  for (const char* band : {"| ≤ 10K | ", "| 10K – 1M | ", "| 1M – 10M | ", "| > 10M | "}) {
    for (std::size_t i = output.find(band); i != std::string::npos; i = output.find(band, i + 1)) {
      ++rows;
    }
  }
  EXPECT_EQ(rows, 4u) << output;
  EXPECT_NE(output.find("| gallery size | exact search at the band's top | p99 ≤ 1 ms | p99 ≤ 10 "
                        "ms | p99 ≤ 100 ms | ANN figures | measured in |"),
            std::string::npos)
      << output;

  // A file that is not an index benchmark: an error naming it, from report and from run
  // (before anything is encoded or written).
  EXPECT_NE(run_cli("report " + q(dir / "a.json") + " --index-bench " + q(dir / "a.json"),
                    &output),
            0);
  EXPECT_NE(output.find((dir / "a.json").string() + ": schema is"), std::string::npos) << output;
  EXPECT_NE(run_cli("run --index-bench " + q(dir / "a.json") + " --out " + q(dir / "run"), &output),
            0);
  EXPECT_NE(output.find("expected \"vlbench.index_bench/1\""), std::string::npos) << output;
  EXPECT_FALSE(std::filesystem::exists(dir / "run"));
}

TEST(Cli, MetricsIdenticalForOneAndTwoThreads) {
  TempDir dir;
  const auto emb = synth(dir, kCoco, "m", 4);
  std::string output;
  ASSERT_EQ(run_cli(eval_args(kCoco, emb) + " --threads 1 --out " + q(dir / "t1.json"), &output),
            0);
  ASSERT_EQ(run_cli(eval_args(kCoco, emb) + " --threads 2 --out " + q(dir / "t2.json"), &output),
            0);
  EXPECT_EQ(read_json(dir / "t1.json")["metrics"], read_json(dir / "t2.json")["metrics"]);
  EXPECT_EQ(read_file(dir / "t1.per_query.npy"), read_file(dir / "t2.per_query.npy"));
}

// Runs eval expecting failure; checks the message and that `out_dir` holds nothing new.
void expect_eval_error(const std::string& args, const std::filesystem::path& out_dir,
                       const std::vector<std::string>& expected_parts) {
  const std::vector<std::string> before = files_in(out_dir);
  std::string output;
  const int rc = run_cli(args + " --out " + q(out_dir / "r.json"), &output);
  EXPECT_NE(rc, 0) << output;
  EXPECT_NE(output.find("vlbench: error: "), std::string::npos) << output;
  for (const auto& part : expected_parts) {
    EXPECT_NE(output.find(part), std::string::npos) << "missing '" << part << "' in: " << output;
  }
  // One line of message.
  EXPECT_EQ(std::count(output.begin(), output.end(), '\n'), 1) << output;
  EXPECT_EQ(files_in(out_dir), before) << "a failed eval left files behind";
}

TEST(Cli, EvalErrorsNameTheProblemAndLeaveNoOutput) {
  TempDir dir;
  const auto emb = synth(dir, kCoco, "good", 5);
  const auto out = dir / "out";
  std::filesystem::create_directory(out);

  // Malformed dataset JSON: file and line.
  std::filesystem::create_directory(dir / "bad_json");
  testing::write_text(dir / "bad_json/dataset_coco.json",
                      "{\"images\": [\n  {\"split\": \"test\",,}\n]}\n");
  expect_eval_error(eval_args("coco-karpathy:" + (dir / "bad_json").string(), emb), out,
                    {"dataset_coco.json:2:", "invalid JSON"});

  // A missing field names the entry and the field.
  std::filesystem::create_directory(dir / "no_sentences");
  testing::write_text(
      dir / "no_sentences/dataset_coco.json",
      R"({"images": [{"filepath": "val2014", "filename": "a.jpg", "split": "test", "cocoid": 7}]})");
  expect_eval_error(eval_args("coco-karpathy:" + (dir / "no_sentences").string(), emb), out,
                    {"dataset_coco.json", "sentences"});

  // Unknown split; a split without images.
  expect_eval_error(eval_args(kCoco, emb) + " --split dev", out, {"dev"});
  std::filesystem::create_directory(dir / "no_test");
  testing::write_text(
      dir / "no_test/dataset_coco.json",
      R"({"images": [{"filepath": "train2014", "filename": "a.jpg", "split": "train", "cocoid": 7, )"
      R"("sentences": [{"raw": "a cat", "tokens": ["a", "cat"]}]}]})");
  expect_eval_error(eval_args("coco-karpathy:" + (dir / "no_test").string(), emb), out,
                    {"dataset_coco.json", "test"});

  // Embeddings that disagree with the dataset.
  const NpyArray images = read_npy(emb / "IMAGES.npy");
  const std::int64_t n_images = images.shape[0];
  std::vector<float> extra(static_cast<std::size_t>((n_images + 1) * 32), 0.5f);
  write_npy(dir / "extra.npy", DType::f32, {n_images + 1, 32}, extra.data());
  expect_eval_error("eval --dataset " + kCoco + " --allow-any-size --image-embeddings " +
                        q(dir / "extra.npy") + " --text-embeddings " + q(emb / "TEXTS.npy"),
                    out,
                    {"extra.npy: has " + std::to_string(n_images + 1) + " rows, expected " +
                     std::to_string(n_images)});
  const NpyArray texts = read_npy(emb / "TEXTS.npy");
  const std::int64_t n_texts = texts.shape[0];
  std::vector<float> wide(static_cast<std::size_t>(n_texts * 8), 0.5f);
  write_npy(dir / "wide.npy", DType::f32, {n_texts, 8}, wide.data());
  expect_eval_error("eval --dataset " + kCoco + " --allow-any-size --image-embeddings " +
                        q(emb / "IMAGES.npy") + " --text-embeddings " + q(dir / "wide.npy"),
                    out, {"dimension 32", "dimension 8"});

  // NaN and all-zero rows; a file that is not .npy.
  std::vector<float> values(static_cast<std::size_t>(n_texts * 32), 0.25f);
  values[3 * 32 + 5] = std::numeric_limits<float>::quiet_NaN();
  write_npy(dir / "nan.npy", DType::f32, {n_texts, 32}, values.data());
  expect_eval_error("eval --dataset " + kCoco + " --allow-any-size --image-embeddings " +
                        q(emb / "IMAGES.npy") + " --text-embeddings " + q(dir / "nan.npy"),
                    out, {"nan.npy", "row 3 column 5"});
  values[3 * 32 + 5] = 0.25f;
  std::fill(values.begin() + 32 * 2, values.begin() + 32 * 3, 0.0f);
  write_npy(dir / "zero.npy", DType::f32, {n_texts, 32}, values.data());
  expect_eval_error("eval --dataset " + kCoco + " --allow-any-size --image-embeddings " +
                        q(emb / "IMAGES.npy") + " --text-embeddings " + q(dir / "zero.npy"),
                    out, {"zero.npy", "row 2 is all zeros"});
  testing::write_text(dir / "garbage.npy", "this is not a numpy file");
  expect_eval_error("eval --dataset " + kCoco + " --allow-any-size --image-embeddings " +
                        q(dir / "garbage.npy") + " --text-embeddings " + q(emb / "TEXTS.npy"),
                    out, {"garbage.npy"});

  // The real test-split size is enforced unless --allow-any-size.
  expect_eval_error("eval --dataset " + kCoco + " --image-embeddings " + q(emb / "IMAGES.npy") +
                        " --text-embeddings " + q(emb / "TEXTS.npy"),
                    out, {"5,000", "--allow-any-size"});
}

}  // namespace
}  // namespace vlbench
