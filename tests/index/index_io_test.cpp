// save_index / load_index: identical results after a round trip for every type, and clear
// errors for damaged or mismatched files.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <vector>

#include "index_test_data.hpp"
#include "test_util.hpp"
#include "vlbench/core/atomic_file.hpp"
#include "vlbench/core/hash.hpp"
#include "vlbench/index/vector_index.hpp"

namespace vlbench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::int64_t kN = 1000, kD = 16, kQueries = 20, kK = 5;
const std::string kHash = "ab12";

IndexParams small_params(const std::string& type) {
  if (type == "ivf-flat") return {{"nlist", "8"}, {"nprobe", "2"}};
  if (type == "ivf-pq") return {{"nlist", "4"}, {"m", "4"}, {"nbits", "4"}};
  if (type == "hnsw") return {{"M", "8"}, {"efConstruction", "40"}, {"efSearch", "20"}};
  return {};
}

std::unique_ptr<VectorIndex> build_small(const std::string& type,
                                         const std::vector<float>& gallery) {
  auto index = make_index(type, kD, small_params(type));
  index->add(kN, gallery.data());
  return index;
}

TEST(IndexIo, RoundTripGivesIdenticalResultsForEveryType) {
  const std::vector<float> gallery = testing::clustered_rows(kN, kD, 10, 1);
  const std::vector<float> queries = testing::clustered_rows(kQueries, kD, 10, 2);
  testing::TempDir tmp;
  for (const std::string& type : index_types()) {
    const auto index = build_small(type, gallery);
    const fs::path dir = tmp / type;
    save_index(*index, dir, kHash);
    const LoadedIndex loaded = load_index(dir);
    EXPECT_EQ(loaded.gallery_sha256, kHash);
    EXPECT_EQ(loaded.index->type(), type);
    EXPECT_EQ(loaded.index->dim(), kD);
    EXPECT_EQ(loaded.index->size(), kN);
    EXPECT_EQ(loaded.index->params(), index->params()) << type;
    EXPECT_EQ(loaded.index->memory_bytes(), index->memory_bytes()) << type;
    const SearchResult a = index->search(kQueries, queries.data(), kK);
    const SearchResult b = loaded.index->search(kQueries, queries.data(), kK);
    EXPECT_EQ(a.ids, b.ids) << type;
    EXPECT_EQ(a.scores, b.scores) << type;
    const json doc = json::parse(read_file(dir / "index.json"));
    EXPECT_EQ(doc["format"], "vlbench.index");
    EXPECT_EQ(doc["version"], 2);
    EXPECT_EQ(doc["size"], kN);
    for (const auto& [name, entry] : doc["payload"].items()) {
      EXPECT_EQ(entry["bytes"], static_cast<std::int64_t>(fs::file_size(dir / name))) << name;
      EXPECT_EQ(entry["sha256"], sha256_file(dir / name)) << name;
    }
  }
  // Only the six index folders remain: no temporaries.
  std::int64_t entries = 0;
  for (const auto& e : fs::directory_iterator(tmp.path())) entries += e.is_directory() ? 1 : 0;
  EXPECT_EQ(entries, 6);
}

TEST(IndexIo, SearchParamOverrideAfterLoad) {
  const std::vector<float> gallery = testing::clustered_rows(kN, kD, 10, 3);
  testing::TempDir tmp;
  const auto index = build_small("ivf-flat", gallery);
  save_index(*index, tmp / "ivf", kHash);
  const LoadedIndex loaded = load_index(tmp / "ivf");
  EXPECT_EQ(loaded.index->params().at("nprobe"), "2");
  loaded.index->set_search_param("nprobe", "5");
  EXPECT_EQ(loaded.index->params().at("nprobe"), "5");
}

TEST(IndexIo, SaveReplacesAnIndexButNotOtherFolders) {
  const std::vector<float> gallery = testing::random_unit_rows(kN, kD, 4);
  testing::TempDir tmp;
  const auto flat = build_small("flat", gallery);
  const auto binary = build_small("flat-binary", gallery);
  save_index(*flat, tmp / "idx", kHash);
  save_index(*binary, tmp / "idx", "other");
  EXPECT_EQ(load_index(tmp / "idx").index->type(), "flat-binary");
  EXPECT_FALSE(fs::exists(tmp / "idx" / "vectors.npy"));
  fs::create_directory(tmp / "mine");
  testing::write_text(tmp / "mine" / "notes.txt", "keep");
  testing::expect_error([&] { save_index(*flat, tmp / "mine", kHash); }, {"mine", "empty folder"});
  EXPECT_TRUE(fs::exists(tmp / "mine" / "notes.txt"));
}

// A saved flat index whose files the test then damages.
class DamagedIndex : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::vector<float> gallery = testing::random_unit_rows(kN, kD, 5);
    save_index(*build_small("flat", gallery), dir_, kHash);
    save_index(*build_small("hnsw", gallery), hnsw_dir_, kHash);
    doc_ = json::parse(read_file(dir_ / "index.json"));
  }
  void write_doc(const json& doc) { testing::write_text(dir_ / "index.json", doc.dump()); }

  testing::TempDir tmp_;
  fs::path dir_ = tmp_ / "flat";
  fs::path hnsw_dir_ = tmp_ / "hnsw";
  json doc_;
};

TEST_F(DamagedIndex, MissingOrInvalidJson) {
  testing::expect_error([&] { load_index(tmp_ / "nothing"); }, {"nothing/index.json", "not found"});
  testing::write_text(dir_ / "index.json", "{\"format\": ");
  testing::expect_error([&] { load_index(dir_); }, {"index.json", "expected JSON"});
}

TEST_F(DamagedIndex, WrongFormatVersionOrFields) {
  json doc = doc_;
  doc["format"] = "faiss";
  write_doc(doc);
  testing::expect_error([&] { load_index(dir_); }, {"index.json", "format", "vlbench.index"});
  doc = doc_;
  doc["version"] = 3;
  write_doc(doc);
  testing::expect_error([&] { load_index(dir_); }, {"index.json", "version", "got 3"});
  doc = doc_;
  doc["type"] = "annoy";
  write_doc(doc);
  testing::expect_error([&] { load_index(dir_); }, {"index.json", "type", "'annoy'"});
  doc = doc_;
  doc.erase("gallery_sha256");
  write_doc(doc);
  testing::expect_error([&] { load_index(dir_); }, {"index.json", "gallery_sha256"});
  doc = doc_;
  doc["params"] = {{"M", "4"}};
  write_doc(doc);
  testing::expect_error([&] { load_index(dir_); }, {"index.json", "index parameter M"});
}

TEST_F(DamagedIndex, SizeOrDimMismatch) {
  json doc = doc_;
  doc["size"] = kN + 1;
  write_doc(doc);
  testing::expect_error([&] { load_index(dir_); }, {"vectors.npy", "shape", "1001"});
  doc = doc_;
  doc["dim"] = kD * 2;
  write_doc(doc);
  testing::expect_error([&] { load_index(dir_); }, {"vectors.npy", "32"});
  // faiss payload: index.json says one vector more than index.faiss holds.
  json hnsw = json::parse(read_file(hnsw_dir_ / "index.json"));
  hnsw["size"] = kN + 1;
  testing::write_text(hnsw_dir_ / "index.json", hnsw.dump());
  testing::expect_error([&] { load_index(hnsw_dir_); }, {"index.faiss", "1001", "1000"});
}

TEST_F(DamagedIndex, TruncatedPayload) {
  fs::resize_file(dir_ / "vectors.npy", fs::file_size(dir_ / "vectors.npy") - 10);
  testing::expect_error([&] { load_index(dir_); }, {"vectors.npy", "bytes", "truncated"});
  // A truncated faiss file whose recorded size was updated too fails its hash; unverified, it
  // reaches faiss's reader.
  const fs::path faiss_file = hnsw_dir_ / "index.faiss";
  fs::resize_file(faiss_file, fs::file_size(faiss_file) / 2);
  json hnsw = json::parse(read_file(hnsw_dir_ / "index.json"));
  hnsw["payload"]["index.faiss"]["bytes"] = fs::file_size(faiss_file);
  testing::write_text(hnsw_dir_ / "index.json", hnsw.dump());
  testing::expect_error([&] { load_index(hnsw_dir_); }, {"index.faiss", "SHA-256", "damaged"});
  testing::expect_error([&] { load_index(hnsw_dir_, /*verify=*/false); },
                        {"index.faiss", "reading failed"});
}

// Random damage of the same size (faiss's readers trust their input: before the hashes 16 of
// 200 such HNSW files crashed a search and others silently returned other ids) is caught before
// faiss reads a byte, for every index type.
TEST_F(DamagedIndex, EveryRandomCorruptionIsDetected) {
  const std::vector<float> gallery = testing::random_unit_rows(kN, kD, 5);
  std::mt19937 rng(42);
  for (const std::string type : {"hnsw", "ivf-flat", "flat"}) {
    const fs::path dir = tmp_ / ("corrupt-" + type);
    save_index(*build_small(type, gallery), dir, kHash);
    const json saved = json::parse(read_file(dir / "index.json"));
    for (const auto& [name, entry] : saved["payload"].items()) {
      const std::string good = read_file(dir / name);
      int detected = 0;
      for (int trial = 0; trial < 100; ++trial) {
        std::string bad = good;
        const std::size_t at = std::uniform_int_distribution<std::size_t>(0, bad.size() - 1)(rng);
        bad[at] = static_cast<char>(bad[at] ^ (1 + rng() % 255));
        testing::write_text(dir / name, bad);
        try {
          load_index(dir);
        } catch (const Error& e) {
          detected += std::string(e.what()).find("SHA-256") != std::string::npos;
        }
      }
      EXPECT_EQ(detected, 100) << type << " " << name;
      testing::write_text(dir / name, good);
      EXPECT_EQ(load_index(dir).index->size(), kN);
    }
  }
}

// A format 1 folder (sizes only, no hashes) loads only when the caller trusts it.
TEST_F(DamagedIndex, FormatOneNeedsNoVerify) {
  json doc = doc_;
  doc["version"] = 1;
  for (auto& [name, entry] : doc["payload"].items()) entry = entry["bytes"];
  write_doc(doc);
  testing::expect_error([&] { load_index(dir_); },
                        {"index.json", "format 1", "no content hashes", "--no-verify"});
  EXPECT_EQ(load_index(dir_, /*verify=*/false).index->size(), kN);
}

TEST_F(DamagedIndex, MissingPayloadFile) {
  fs::remove(dir_ / "vectors.npy");
  testing::expect_error([&] { load_index(dir_); }, {"vectors.npy"});
}

}  // namespace
}  // namespace vlbench
