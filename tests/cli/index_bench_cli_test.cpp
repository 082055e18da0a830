// `vlbench index bench` end to end on small data: synthetic, --gallery/--queries and
// --encoded inputs; output files and fields; exact flat scores recall 1; flag errors.
#include "test_util.hpp"

#include <vlbench/core/atomic_file.hpp>
#include <vlbench/core/npy.hpp>
#include <vlbench/core/random.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>

namespace vlbench {
namespace {

using nlohmann::json;
using testing::run_cli;
using testing::shell_quote;
using testing::TempDir;

// Writes a rows × d float32 .npy of seeded normal values (not unit: bench normalizes).
void write_random(const std::filesystem::path& path, std::int64_t rows, std::int64_t d,
                  std::uint64_t seed) {
  std::vector<float> v(static_cast<std::size_t>(rows * d));
  for (std::int64_t r = 0; r < rows; ++r) {
    SplitMix64 rng = SplitMix64::for_item(seed, static_cast<std::uint64_t>(r));
    for (std::int64_t j = 0; j < d; ++j) v[r * d + j] = static_cast<float>(rng.normal());
  }
  write_npy(path, DType::f32, {rows, d}, v.data());
}

TEST(IndexBenchCli, SyntheticRunWritesJsonMarkdownAndChart) {
  TempDir dir;
  std::string output;
  const int rc = run_cli(
      "index bench --synthetic 2000,16,8 --synthetic-queries 60 --latency-queries 20 --reps 1 "
      "--type flat --type hnsw --param M=8 --sweep efSearch=16,64 --type ivf-flat --sweep "
      "nprobe=1,4 --k 10 --out " +
          shell_quote(dir / "out"),
      &output);
  ASSERT_EQ(rc, 0) << output;
  for (const char* name : {"index_bench.json", "index_bench.md", "recall_qps_synthetic.svg"}) {
    EXPECT_TRUE(std::filesystem::exists(dir / "out" / name)) << name;
  }
  const json doc = json::parse(read_file(dir / "out" / "index_bench.json"));
  EXPECT_EQ(doc["schema"], "vlbench.index_bench/1");
  EXPECT_TRUE(doc["machine"].contains("cpu"));
  ASSERT_EQ(doc["runs"].size(), 1u);
  const json& run = doc["runs"][0];
  EXPECT_EQ(run["name"], "synthetic");
  EXPECT_EQ(run["source"]["synthetic"]["clusters"], 8);
  EXPECT_EQ(run["n_gallery"], 2000);
  EXPECT_EQ(run["n_queries"], 60);
  EXPECT_EQ(run["latency_queries"], 20);
  ASSERT_EQ(run["settings"].size(), 3u);
  EXPECT_EQ(run["settings"][1]["build_params"]["M"], "8");
  EXPECT_EQ(run["settings"][1]["sweeps"]["efSearch"], json({"16", "64"}));
  const json& rows = run["measurements"];
  ASSERT_EQ(rows.size(), 5u);  // flat, hnsw × 2, ivf-flat × 2
  const json& flat = rows[0];
  EXPECT_EQ(flat["type"], "flat");
  EXPECT_EQ(flat["recall_at_1"].get<double>(), 1.0);
  EXPECT_EQ(flat["recall_at_10"].get<double>(), 1.0);
  EXPECT_EQ(flat["bytes_per_vector"].get<double>(), 64.0);  // 16 float32
  EXPECT_EQ(rows[1]["type"], "hnsw");
  EXPECT_EQ(rows[1]["search_params"]["efSearch"], "16");
  EXPECT_EQ(rows[1]["params"]["M"], "8");
  EXPECT_EQ(rows[4]["search_params"]["nprobe"], "4");
  bool any_frontier = false;
  for (const json& row : rows) {
    for (const char* field : {"recall_at_1", "recall_at_10", "recall_at_k", "batched_qps",
                              "latency_ms", "build_seconds", "memory_bytes", "pareto"}) {
      EXPECT_TRUE(row.contains(field)) << field;
    }
    EXPECT_GT(row["batched_qps"].get<double>(), 0);
    EXPECT_LE(row["latency_ms"]["p50"].get<double>(), row["latency_ms"]["p99"].get<double>());
    EXPECT_GE(row["recall_at_10"].get<double>(), 0.0);
    EXPECT_LE(row["recall_at_10"].get<double>(), 1.0);
    any_frontier = any_frontier || row["pareto"].get<bool>();
  }
  EXPECT_TRUE(any_frontier);
  const std::string md = read_file(dir / "out" / "index_bench.md");
  EXPECT_NE(md.find("M=8 efSearch=64"), std::string::npos) << md;
  const std::string svg = read_file(dir / "out" / "recall_qps_synthetic.svg");
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_NE(svg.find(">ivf-flat</text>"), std::string::npos);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
}

TEST(IndexBenchCli, GalleryQueriesWithDefaultSettingsAndEncodedDirections) {
  TempDir dir;
  write_random(dir / "G.npy", 300, 12, 1);
  write_random(dir / "Q.npy", 40, 12, 2);
  std::string output;
  int rc = run_cli("index bench --gallery " + shell_quote(dir / "G.npy") + " --queries " +
                       shell_quote(dir / "Q.npy") + " --latency-queries 5 --reps 1 --out " +
                       shell_quote(dir / "a"),
                   &output);
  ASSERT_EQ(rc, 0) << output;
  json doc = json::parse(read_file(dir / "a" / "index_bench.json"));
  const json& rows = doc["runs"][0]["measurements"];
  ASSERT_EQ(rows.size(), 8u);  // flat, flat-int8, flat-binary, hnsw × 5 efSearch (n < 1,000)
  EXPECT_EQ(rows[0]["recall_at_10"].get<double>(), 1.0);
  EXPECT_EQ(doc["runs"][0]["source"]["gallery"]["path"], (dir / "G.npy").string());
  EXPECT_EQ(doc["runs"][0]["source"]["gallery"]["sha256"].get<std::string>().size(), 64u);
  EXPECT_TRUE(std::filesystem::exists(dir / "a" / "recall_qps_search.svg"));

  std::filesystem::create_directories(dir / "enc");
  write_random(dir / "enc" / "IMAGES.npy", 50, 12, 3);
  write_random(dir / "enc" / "TEXTS.npy", 120, 12, 4);
  rc = run_cli("index bench --encoded " + shell_quote(dir / "enc") +
                   " --type flat --type flat-int8 --latency-queries 5 --reps 1 --out " +
                   shell_quote(dir / "b"),
               &output);
  ASSERT_EQ(rc, 0) << output;
  doc = json::parse(read_file(dir / "b" / "index_bench.json"));
  ASSERT_EQ(doc["runs"].size(), 2u);
  EXPECT_EQ(doc["runs"][0]["name"], "t2i");  // caption queries over the image gallery
  EXPECT_EQ(doc["runs"][0]["n_gallery"], 50);
  EXPECT_EQ(doc["runs"][0]["n_queries"], 120);
  EXPECT_EQ(doc["runs"][1]["name"], "i2t");
  EXPECT_EQ(doc["runs"][1]["n_gallery"], 120);
  EXPECT_EQ(doc["runs"][1]["n_queries"], 50);
  for (const json& run : doc["runs"]) EXPECT_EQ(run["measurements"][0]["recall_at_1"], 1.0);
  EXPECT_TRUE(std::filesystem::exists(dir / "b" / "recall_qps_t2i.svg"));
  EXPECT_TRUE(std::filesystem::exists(dir / "b" / "recall_qps_i2t.svg"));
  const std::string md = read_file(dir / "b" / "index_bench.md");
  EXPECT_NE(md.find("### t2i"), std::string::npos);
  EXPECT_NE(md.find("### i2t"), std::string::npos);
}

// Each case fails with exit 1, a message naming the problem, and writes nothing.
TEST(IndexBenchCli, FlagErrors) {
  TempDir dir;
  write_random(dir / "G.npy", 30, 8, 1);
  write_random(dir / "Q6.npy", 5, 6, 2);
  const std::string out = " --out " + shell_quote(dir / "out");
  const std::string g = " --gallery " + shell_quote(dir / "G.npy");
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"--synthetic 100,8 --sweep efSearch=16 --type hnsw",
       {"--sweep efSearch=16", "after a --type"}},
      {"--synthetic 100,8 --type hnsw --sweep efSearch", {"--sweep (--type hnsw)", "NAME=V1,V2"}},
      {"--synthetic 100,8 --type hnsw --param M", {"--param (--type hnsw)", "NAME=VALUE"}},
      {"--synthetic 100,x", {"--synthetic", "N,D[,CLUSTERS]", "100,x"}},
      {"--type flat", {"exactly one of --gallery"}},
      {g + " --queries " + shell_quote(dir / "Q6.npy"), {"Q6.npy", "8-dimensional", "got 6"}},
      {"--synthetic 100,8 --type flat --sweep nprobe=2", {"nprobe"}},
  };
  for (const auto& [args, parts] : cases) {
    SCOPED_TRACE(args);
    std::string output;
    EXPECT_EQ(run_cli("index bench " + args + out, &output), 1) << output;
    for (const std::string& part : parts) {
      EXPECT_NE(output.find(part), std::string::npos) << "'" << output << "' lacks " << part;
    }
    EXPECT_FALSE(std::filesystem::exists(dir / "out" / "index_bench.json"));
  }
}

}  // namespace
}  // namespace vlbench
