// vlbench index build / search end to end: RESULTS.json against a brute-force reference,
// search-time parameter overrides, and user errors.
#include "test_util.hpp"

#include <vlbench/core/atomic_file.hpp>
#include <vlbench/core/hash.hpp>
#include <vlbench/core/npy.hpp>
#include <vlbench/core/random.hpp>
#include <vlbench/eval/embeddings.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <numeric>

namespace vlbench {
namespace {

using nlohmann::json;
using testing::run_cli;
using testing::shell_quote;
using testing::TempDir;

// rows × d points around 16 shared centres (not normalized: the CLI normalizes).
void write_clustered(const std::filesystem::path& path, std::int64_t rows, std::int64_t d,
                     std::uint64_t seed) {
  SplitMix64 centres_rng(77);
  std::vector<float> centres(static_cast<std::size_t>(16 * d));
  for (float& v : centres) v = static_cast<float>(centres_rng.normal());
  SplitMix64 rng(seed);
  std::vector<float> x(static_cast<std::size_t>(rows * d));
  for (std::int64_t r = 0; r < rows; ++r) {
    const auto c = static_cast<std::int64_t>(rng.below(16));
    for (std::int64_t j = 0; j < d; ++j) {
      x[r * d + j] = static_cast<float>(centres[c * d + j] + 0.5 * rng.normal());
    }
  }
  write_npy(path, DType::f32, {rows, d}, x.data());
}

json read_json(const std::filesystem::path& p) {
  return json::parse(read_file(p));
}

// Exact top k by (double dot product desc, row asc) of the normalized files.
std::vector<std::vector<std::int64_t>> brute_force(const MatrixF32& gallery,
                                                   const MatrixF32& queries, std::int64_t k) {
  std::vector<std::vector<std::int64_t>> out;
  std::vector<double> s(static_cast<std::size_t>(gallery.rows));
  for (std::int64_t q = 0; q < queries.rows; ++q) {
    for (std::int64_t j = 0; j < gallery.rows; ++j) {
      double dot = 0;
      for (std::int64_t t = 0; t < gallery.cols; ++t) {
        dot += double(queries.row(q)[t]) * double(gallery.row(j)[t]);
      }
      s[j] = dot;
    }
    std::vector<std::int64_t> order(static_cast<std::size_t>(gallery.rows));
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(),
              [&](std::int64_t a, std::int64_t b) { return s[a] != s[b] ? s[a] > s[b] : a < b; });
    order.resize(static_cast<std::size_t>(k));
    out.push_back(order);
  }
  return out;
}

double recall(const json& ids, const std::vector<std::vector<std::int64_t>>& truth) {
  std::int64_t hits = 0, total = 0;
  for (std::size_t q = 0; q < truth.size(); ++q) {
    const auto row = ids[q].get<std::vector<std::int64_t>>();
    for (const std::int64_t id : truth[q]) {
      hits += std::find(row.begin(), row.end(), id) != row.end() ? 1 : 0;
      ++total;
    }
  }
  return static_cast<double>(hits) / static_cast<double>(total);
}

class IndexCli : public ::testing::Test {
 protected:
  void SetUp() override {
    write_clustered(gallery_, 3000, 24, 1);
    write_clustered(queries_, 40, 24, 2);
  }
  int run(const std::string& args) { return run_cli(args, &output_); }

  TempDir tmp_;
  std::filesystem::path gallery_ = tmp_ / "G.npy";
  std::filesystem::path queries_ = tmp_ / "Q.npy";
  std::string output_;
};

TEST_F(IndexCli, FlatBuildAndSearchMatchBruteForce) {
  const auto dir = tmp_ / "flat";
  ASSERT_EQ(run("index build --embeddings " + shell_quote(gallery_) + " --type flat --out " +
                shell_quote(dir)),
            0)
      << output_;
  EXPECT_NE(output_.find("built flat index of 3000 x 24"), std::string::npos) << output_;
  EXPECT_NE(output_.find("index memory"), std::string::npos) << output_;
  const json index_doc = read_json(dir / "index.json");
  EXPECT_EQ(index_doc["gallery_sha256"], sha256_file(gallery_));

  const auto results = tmp_ / "R.json";
  ASSERT_EQ(run("index search --index " + shell_quote(dir) + " --queries " + shell_quote(queries_) +
                " --k 10 --threads 2 --out " + shell_quote(results)),
            0)
      << output_;
  const json doc = read_json(results);
  EXPECT_EQ(doc["type"], "flat");
  EXPECT_EQ(doc["k"], 10);
  EXPECT_EQ(doc["n_queries"], 40);
  const MatrixF32 g = load_unit_embeddings(gallery_, "g");
  const MatrixF32 q = load_unit_embeddings(queries_, "q");
  const auto truth = brute_force(g, q, 10);
  ASSERT_EQ(doc["ids"].size(), 40u);
  for (std::size_t i = 0; i < truth.size(); ++i) {
    EXPECT_EQ(doc["ids"][i].get<std::vector<std::int64_t>>(), truth[i]);
    const auto scores = doc["scores"][i].get<std::vector<double>>();
    ASSERT_EQ(scores.size(), 10u);
    EXPECT_TRUE(std::is_sorted(scores.rbegin(), scores.rend()));
    double dot = 0;
    for (std::int64_t t = 0; t < 24; ++t) dot += double(q.row(i)[t]) * g.row(truth[i][0])[t];
    EXPECT_EQ(scores[0], static_cast<float>(dot));
  }
}

TEST_F(IndexCli, SearchTimeParamChangesRecall) {
  const auto flat = tmp_ / "flat";
  const auto ivf = tmp_ / "ivf";
  ASSERT_EQ(run("index build --embeddings " + shell_quote(gallery_) +
                " --type ivf-flat --param nlist=32 "
                "--param nprobe=1 --out " +
                shell_quote(ivf)),
            0)
      << output_;
  const MatrixF32 g = load_unit_embeddings(gallery_, "g");
  const MatrixF32 q = load_unit_embeddings(queries_, "q");
  const auto truth = brute_force(g, q, 10);
  const auto results = tmp_ / "R.json";
  const std::string search = "index search --index " + shell_quote(ivf) + " --queries " +
                             shell_quote(queries_) + " --k 10 --out " + shell_quote(results);
  ASSERT_EQ(run(search), 0) << output_;
  const json one = read_json(results);
  EXPECT_EQ(one["params"]["nprobe"], "1");
  ASSERT_EQ(run(search + " --param nprobe=32"), 0) << output_;
  const json all = read_json(results);
  EXPECT_EQ(all["params"]["nprobe"], "32");
  EXPECT_EQ(all["params"]["nlist"], "32");
  const double recall_one = recall(one["ids"], truth);
  const double recall_all = recall(all["ids"], truth);
  std::printf("ivf-flat recall@10: nprobe 1 %.4f, nprobe 32 %.4f\n", recall_one, recall_all);
  EXPECT_GE(recall_all, 0.999);  // every list scanned: exact (measured 1.000)
  EXPECT_LT(recall_one, 0.95);   // measured 0.8225
  EXPECT_LT(recall_one, recall_all);
}

TEST_F(IndexCli, ShortGalleryGivesNullScores) {
  const auto small = tmp_ / "small.npy";
  write_clustered(small, 3, 24, 5);
  const auto dir = tmp_ / "bin";
  ASSERT_EQ(run("index build --embeddings " + shell_quote(small) + " --type flat-binary --out " +
                shell_quote(dir)),
            0)
      << output_;
  const auto results = tmp_ / "R.json";
  ASSERT_EQ(run("index search --index " + shell_quote(dir) + " --queries " + shell_quote(queries_) +
                " --k 5 --out " + shell_quote(results)),
            0)
      << output_;
  const json doc = read_json(results);
  EXPECT_EQ(doc["ids"][0][3], -1);
  EXPECT_EQ(doc["ids"][0][4], -1);
  EXPECT_TRUE(doc["scores"][0][4].is_null());
  EXPECT_TRUE(doc["scores"][0][2].is_number());
}

TEST_F(IndexCli, UserErrors) {
  const auto dir = tmp_ / "flat";
  ASSERT_EQ(run("index build --embeddings " + shell_quote(gallery_) + " --type flat --out " +
                shell_quote(dir)),
            0)
      << output_;
  EXPECT_EQ(run("index build --embeddings " + shell_quote(gallery_) + " --type kd-tree --out " +
                shell_quote(tmp_ / "x")),
            1);
  EXPECT_NE(output_.find("'kd-tree'"), std::string::npos) << output_;
  EXPECT_EQ(run("index build --embeddings " + shell_quote(gallery_) +
                " --type hnsw --param M --out " + shell_quote(tmp_ / "x")),
            1);
  EXPECT_NE(output_.find("--param 'M': expected NAME=VALUE"), std::string::npos) << output_;
  EXPECT_EQ(run("index build --embeddings " + shell_quote(gallery_) +
                " --type ivf-pq --param m=5 --out " + shell_quote(tmp_ / "x")),
            1);
  EXPECT_NE(output_.find("divisor of the dimension 24"), std::string::npos) << output_;
  EXPECT_FALSE(std::filesystem::exists(tmp_ / "x"));

  // Query dimension mismatch: names both dimensions and the file; no results written.
  const auto wide = tmp_ / "wide.npy";
  write_clustered(wide, 4, 32, 3);
  const auto results = tmp_ / "R.json";
  EXPECT_EQ(run("index search --index " + shell_quote(dir) + " --queries " + shell_quote(wide) +
                " --k 3 --out " + shell_quote(results)),
            1);
  EXPECT_NE(output_.find("wide.npy: query dimension 32 does not match the index dimension 24"),
            std::string::npos)
      << output_;
  EXPECT_EQ(run("index search --index " + shell_quote(dir) + " --queries " + shell_quote(queries_) +
                " --k 3 --param nprobe=4 --out " + shell_quote(results)),
            1);
  EXPECT_NE(output_.find("nprobe"), std::string::npos) << output_;
  EXPECT_EQ(run("index search --index " + shell_quote(tmp_ / "none") + " --queries " +
                shell_quote(queries_) + " --k 3 --out " + shell_quote(results)),
            1);
  EXPECT_NE(output_.find("index.json"), std::string::npos) << output_;
  EXPECT_FALSE(std::filesystem::exists(results));
  EXPECT_NE(run("index"), 0);  // a sub-subcommand is required
}

}  // namespace
}  // namespace vlbench

namespace vlbench {
namespace {

// A damaged payload file is an error naming it, before faiss reads it; --no-verify trusts it.
TEST_F(IndexCli, DamagedPayloadIsRefusedUnlessTrusted) {
  const auto dir = tmp_ / "hnsw";
  ASSERT_EQ(run("index build --embeddings " + shell_quote(gallery_) + " --type hnsw --out " +
                shell_quote(dir)),
            0)
      << output_;
  std::string bytes = read_file(dir / "index.faiss");
  // The last vector's last float: damage that faiss would read without complaint.
  bytes[bytes.size() - 200] = static_cast<char>(bytes[bytes.size() - 200] ^ 0x40);
  testing::write_text(dir / "index.faiss", bytes);
  const std::string search = "index search --index " + shell_quote(dir) + " --queries " +
                             shell_quote(queries_) + " --k 5 --out " + shell_quote(tmp_ / "R.json");
  EXPECT_NE(run(search), 0);
  EXPECT_NE(output_.find((dir / "index.faiss").string() + ": SHA-256"), std::string::npos)
      << output_;
  EXPECT_FALSE(std::filesystem::exists(tmp_ / "R.json"));
  EXPECT_EQ(run(search + " --no-verify"), 0) << output_;
}

}  // namespace
}  // namespace vlbench
