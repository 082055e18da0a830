// Helpers shared by the SigLIP / Hugging Face tokenizer tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "test_util.hpp"
#include "vlbench/core/npy.hpp"
#include "vlbench/text/hf_tokenizer.hpp"

namespace vlbench::testing {

using Ids = std::vector<std::int32_t>;

inline std::filesystem::path shared_fixture(const std::string& name) {
  return std::filesystem::path(VLBENCH_SHARED_FIXTURES) / name;
}

// Mismatches of encode(captions[i]) against expected[i] per thread, with `n_threads` threads
// encoding every caption 50 times at once (a tokenizer must be safe to share).
inline std::vector<int> mismatches_from_threads(
    const std::function<Ids(const std::string&)>& encode, const std::vector<std::string>& captions,
    const std::vector<Ids>& expected, int n_threads = 4) {
  std::vector<int> mismatches(static_cast<std::size_t>(n_threads), 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < n_threads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 50; ++round) {
        for (std::size_t i = 0; i < captions.size(); ++i) {
          if (encode(captions[i]) != expected[i]) ++mismatches[static_cast<std::size_t>(t)];
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  return mismatches;
}

// Skips the test when ../shared/fixtures/<name> is not there (a clone without the shared
// fixtures).
#define VLBENCH_REQUIRE_SHARED_FIXTURE(name)                              \
  if (!std::filesystem::exists(::vlbench::testing::shared_fixture(name))) \
  GTEST_SKIP() << "no fixture at " << ::vlbench::testing::shared_fixture(name)

// The rows of a 2-d int64 .npy (e.g. golden/text_input_ids.npy, [n_texts, 64]).
inline std::vector<Ids> read_i64_rows(const std::filesystem::path& path) {
  const NpyArray array = read_npy(path);
  EXPECT_EQ(array.dtype, DType::i64) << path;
  EXPECT_EQ(array.shape.size(), 2u) << path;
  std::vector<Ids> rows;
  if (array.dtype != DType::i64 || array.shape.size() != 2) return rows;
  for (std::int64_t r = 0; r < array.shape[0]; ++r) {
    Ids row;
    for (std::int64_t c = 0; c < array.shape[1]; ++c) {
      std::int64_t id = 0;
      std::memcpy(&id, array.data + (r * array.shape[1] + c) * sizeof(id), sizeof(id));
      row.push_back(static_cast<std::int32_t>(id));
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

// One JSON object per line.
inline std::vector<nlohmann::json> read_jsonl(const std::filesystem::path& path) {
  std::vector<nlohmann::json> lines;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
  }
  return lines;
}

inline nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  return nlohmann::json::parse(in);
}

// A printable form of a text for failure messages (JSON-escaped).
inline std::string shown(const std::string& text) {
  return nlohmann::json(text).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
}

inline Ids padded(Ids ids, std::size_t length, std::int32_t pad) {
  ids.resize(std::max(ids.size(), length), pad);
  return ids;
}

// A tokenizer.json written to a temp folder and loaded (the folder lives with the object).
struct LoadedTokenizer {
  TempDir dir;
  std::unique_ptr<HfTokenizer> tokenizer;
};

inline std::unique_ptr<LoadedTokenizer> load_tokenizer_json(const nlohmann::json& doc) {
  auto loaded = std::make_unique<LoadedTokenizer>();
  write_text(loaded->dir / "tokenizer.json", doc.dump());
  loaded->tokenizer =
      std::make_unique<HfTokenizer>(HfTokenizer::from_file(loaded->dir / "tokenizer.json"));
  return loaded;
}

}  // namespace vlbench::testing
