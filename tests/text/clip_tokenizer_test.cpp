// ClipTokenizer against the openai/CLIP reference ids (tests/fixtures/text/clip_golden.jsonl,
// copied from the shared fixtures) and against hand-computed tiny vocabularies.
#include "vlbench/text/clip_tokenizer.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.hpp"
#include "vlbench/core/error.hpp"

namespace vlbench {
namespace {

using Ids = std::vector<std::int32_t>;
using nlohmann::json;
namespace fs = std::filesystem;

fs::path clip_vocab_dir() {
  return testing::repo_path("data/tokenizers/clip");
}

const ClipTokenizer& clip() {
  static const ClipTokenizer tokenizer = ClipTokenizer::from_directory(clip_vocab_dir());
  return tokenizer;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

struct GoldenLine {
  std::string text;
  Ids ids;
};

std::vector<GoldenLine> golden_lines() {
  std::vector<GoldenLine> lines;
  std::ifstream in(testing::test_data("text/clip_golden.jsonl"));
  std::string line;
  while (std::getline(in, line)) {
    const json j = json::parse(line);
    lines.push_back({j.at("text").get<std::string>(), j.at("ids").get<Ids>()});
  }
  return lines;
}

// The error message of `f()`, or "" when it does not throw.
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ClipTokenizer, SpecialIdsAndVocabSize) {
  EXPECT_EQ(clip().bos_id(), 49406);
  EXPECT_EQ(clip().eos_id(), 49407);
  EXPECT_EQ(clip().vocab_size(), 49408);
}

TEST(ClipTokenizer, EveryGoldenLine) {
  const std::vector<GoldenLine> lines = golden_lines();
  ASSERT_EQ(lines.size(), 25u);
  for (const GoldenLine& line : lines) {
    EXPECT_EQ(clip().encode(line.text, 77), line.ids) << "text: " << line.text;
  }
}

TEST(ClipTokenizer, SharedFixtureVocabularyGivesTheSameIds) {
  const fs::path dir = fs::path(VLBENCH_SHARED_FIXTURES) / "clip-tiny-quickgelu";
  if (!fs::exists(dir)) GTEST_SKIP() << "shared fixtures absent: " << dir;
  const ClipTokenizer tokenizer = ClipTokenizer::from_directory(dir);
  for (const GoldenLine& line : golden_lines()) {
    EXPECT_EQ(tokenizer.encode(line.text, 77), line.ids) << "text: " << line.text;
  }
}

TEST(ClipTokenizer, TruncationKeepsEndTokenLast) {
  // "a photo of a cat" -> 320 1125 539 320 2368 (golden line 1).
  EXPECT_EQ(clip().encode("a photo of a cat", 7), (Ids{49406, 320, 1125, 539, 320, 2368, 49407}));
  EXPECT_EQ(clip().encode("a photo of a cat", 6), (Ids{49406, 320, 1125, 539, 320, 49407}));
  EXPECT_EQ(clip().encode("a photo of a cat", 3), (Ids{49406, 320, 49407}));
  EXPECT_EQ(clip().encode("a photo of a cat", 2), (Ids{49406, 49407}));
  EXPECT_EQ(clip().encode("a photo of a cat", 100).size(), 7u);
  // A word of several BPE tokens cut in the middle: "supercalifragilisticexpialidocious".
  EXPECT_EQ(clip().encode("supercalifragilisticexpialidocious", 4),
            (Ids{49406, 1642, 2857, 49407}));
  const std::string message = error_of([] { clip().encode("a", 1); });
  EXPECT_NE(message.find("context length must be at least 2"), std::string::npos) << message;
}

TEST(ClipTokenizer, TextCleaningCases) {
  // Checked against the reference by hand: case folding, HTML entities and whitespace change
  // nothing about the ids of the plain text.
  const Ids cat = clip().encode("a photo of a cat", 77);
  EXPECT_EQ(clip().encode("A PHOTO OF A CAT", 77), cat);
  EXPECT_EQ(clip().encode("a&#32;photo&nbsp;of\u2028a\u3000cat&#x20;", 77), cat);
  EXPECT_EQ(clip().encode("&#97; photo of &#x61; cat", 77), cat);
  // Decomposed "e" + U+0301 is NFC-composed to the "é" of "café" (golden line 7).
  EXPECT_EQ(clip().encode("cafe\xCC\x81", 77), clip().encode("caf\xC3\xA9", 77));
  EXPECT_EQ(clip().encode("caf\xC3\xA9", 77), (Ids{49406, 15304, 49407}));
}

TEST(ClipTokenizer, InvalidUtf8NamesTheByteOffset) {
  std::string message = error_of([] { clip().encode("ab\xC3(", 77); });
  EXPECT_NE(message.find("invalid UTF-8 at byte 3"), std::string::npos) << message;
  message = error_of([] { clip().encode("abcd\xFF", 77); });
  EXPECT_NE(message.find("invalid UTF-8 at byte 4"), std::string::npos) << message;
  message = error_of([] { clip().encode("x\xED\xA0\x80", 77); });  // a UTF-16 surrogate
  EXPECT_NE(message.find("invalid UTF-8 at byte 2"), std::string::npos) << message;
  message = error_of([] { clip().encode("\xE2\x82", 77); });  // cut short
  EXPECT_NE(message.find("invalid UTF-8 at byte 0"), std::string::npos) << message;
}

// tokenizer.json built from the same vocabulary and merges: the same ids for every golden line,
// with merges written both as "a b" strings and as ["a", "b"] pairs.
TEST(ClipTokenizer, TokenizerJsonFallback) {
  const json vocab = json::parse(read_text(clip_vocab_dir() / "vocab.json"));
  std::istringstream merges_text(read_text(clip_vocab_dir() / "merges.txt"));
  json string_merges = json::array();
  json pair_merges = json::array();
  std::string line;
  std::getline(merges_text, line);  // "#version: 0.2"
  while (std::getline(merges_text, line)) {
    if (line.empty()) continue;
    const auto space = line.find(' ');
    string_merges.push_back(line);
    pair_merges.push_back(json::array({line.substr(0, space), line.substr(space + 1)}));
  }
  ASSERT_EQ(string_merges.size(), 48894u);
  const std::vector<GoldenLine> lines = golden_lines();
  for (const json* merges : {&string_merges, &pair_merges}) {
    testing::TempDir dir;
    const json doc = {
        {"version", "1.0"},
        {"model",
         {{"type", "BPE"}, {"end_of_word_suffix", "</w>"}, {"vocab", vocab}, {"merges", *merges}}}};
    testing::write_text(dir / "tokenizer.json", doc.dump());
    const ClipTokenizer tokenizer = ClipTokenizer::from_directory(dir.path());
    EXPECT_EQ(tokenizer.vocab_size(), 49408);
    for (const GoldenLine& golden : lines) {
      EXPECT_EQ(tokenizer.encode(golden.text, 77), golden.ids) << "text: " << golden.text;
    }
  }
}

// A tiny vocabulary with ids worked out by hand.
//   "abc": a b c</w> -> (a b, rank 0) ab c</w> -> (ab c</w>, rank 1) abc</w>
//   "ab":  a b</w>   -> no merge applies -> a, b</w>
//   "aaa": a a a</w> -> (a a, rank 2) aa a</w>, merged left to right
//   "bc":  b c</w>   -> b, c</w>
constexpr const char* kTinyVocab = R"({"a": 0, "b": 1, "c</w>": 2, "b</w>": 3, "ab": 4,
  "abc</w>": 5, "aa": 6, "a</w>": 7, "<|startoftext|>": 8, "<|endoftext|>": 9})";

TEST(ClipTokenizer, TinyVocabularyHandComputed) {
  testing::TempDir dir;
  testing::write_text(dir / "vocab.json", kTinyVocab);
  testing::write_text(dir / "merges.txt", "#version: 0.2\na b\nab c</w>\na a\n");
  const ClipTokenizer tokenizer = ClipTokenizer::from_directory(dir.path());
  EXPECT_EQ(tokenizer.bos_id(), 8);
  EXPECT_EQ(tokenizer.eos_id(), 9);
  EXPECT_EQ(tokenizer.vocab_size(), 10);
  EXPECT_EQ(tokenizer.encode("ABC ab", 77), (Ids{8, 5, 0, 3, 9}));
  EXPECT_EQ(tokenizer.encode("aaa", 77), (Ids{8, 6, 7, 9}));
  EXPECT_EQ(tokenizer.encode("abc<|endoftext|>abc", 77), (Ids{8, 5, 9, 5, 9}));
  EXPECT_EQ(tokenizer.encode("abc abc abc", 4), (Ids{8, 5, 5, 9}));
  // "bc" needs the token "b" + "c</w>" pieces; "c</w>" exists, so it is b, c</w>.
  EXPECT_EQ(tokenizer.encode("bc", 77), (Ids{8, 1, 2, 9}));
  // "d" -> "d</w>", not in this vocabulary: the reference fails there too (KeyError).
  const std::string message = error_of([&] { tokenizer.encode("d", 77); });
  EXPECT_NE(message.find("\"d</w>\""), std::string::npos) << message;
  EXPECT_NE(message.find("vocab.json"), std::string::npos) << message;
}

TEST(ClipTokenizer, LowerRankMergesFirst) {
  testing::TempDir dir;
  testing::write_text(dir / "vocab.json",
                      R"({"a": 0, "b": 1, "c</w>": 2, "ab": 3, "bc</w>": 4, "abc</w>": 5,
                          "<|startoftext|>": 6, "<|endoftext|>": 7})");
  // "b c</w>" outranks "a b", so "abc" -> a bc</w> and no merge joins those two.
  testing::write_text(dir / "merges.txt", "#version: 0.2\nb c</w>\na b\nab c</w>\n");
  EXPECT_EQ(ClipTokenizer::from_directory(dir.path()).encode("abc", 77), (Ids{6, 0, 4, 7}));
  // Without the header line skipped, "b c</w>" is lost: the reference skips line 1 always.
  testing::write_text(dir / "merges.txt", "b c</w>\na b\nab c</w>\n");
  EXPECT_EQ(ClipTokenizer::from_directory(dir.path()).encode("abc", 77), (Ids{6, 5, 7}));
}

TEST(ClipTokenizer, MissingFilesNameTheDirectory) {
  testing::TempDir dir;
  std::string message = error_of([&] { ClipTokenizer::from_directory(dir.path()); });
  EXPECT_NE(message.find(dir.path().string()), std::string::npos) << message;
  EXPECT_NE(message.find("vocab.json and merges.txt, or tokenizer.json"), std::string::npos)
      << message;
  testing::write_text(dir / "vocab.json", kTinyVocab);
  message = error_of([&] { ClipTokenizer::from_directory(dir.path()); });
  EXPECT_NE(message.find("found vocab.json but not merges.txt"), std::string::npos) << message;
}

TEST(ClipTokenizer, MalformedVocabNamesFileAndLine) {
  testing::TempDir dir;
  testing::write_text(dir / "merges.txt", "#version: 0.2\na b\n");
  testing::write_text(dir / "vocab.json", "{\n  \"a\": 0,\n  \"b\": ,\n  \"c\": 2\n}\n");
  std::string message = error_of([&] { ClipTokenizer::from_directory(dir.path()); });
  EXPECT_NE(message.find((dir / "vocab.json").string() + ":3:"), std::string::npos) << message;

  testing::write_text(dir / "vocab.json", R"({"a": 0, "b": "one"})");
  message = error_of([&] { ClipTokenizer::from_directory(dir.path()); });
  EXPECT_NE(message.find("vocab.json: entry \"b\""), std::string::npos) << message;

  testing::write_text(dir / "vocab.json", R"(["a", "b"])");
  message = error_of([&] { ClipTokenizer::from_directory(dir.path()); });
  EXPECT_NE(message.find("vocab.json: expected a JSON object"), std::string::npos) << message;

  testing::write_text(dir / "vocab.json", R"({"a": 0, "b": 1, "<|startoftext|>": 2})");
  message = error_of([&] { ClipTokenizer::from_directory(dir.path()); });
  EXPECT_NE(message.find("vocab.json: no \"<|endoftext|>\" token"), std::string::npos) << message;
}

TEST(ClipTokenizer, MalformedMergesNamesFileAndLine) {
  testing::TempDir dir;
  testing::write_text(dir / "vocab.json", kTinyVocab);
  testing::write_text(dir / "merges.txt", "#version: 0.2\na b\nab c</w> x\n");
  std::string message = error_of([&] { ClipTokenizer::from_directory(dir.path()); });
  EXPECT_NE(message.find((dir / "merges.txt").string() + ":3:"), std::string::npos) << message;
  testing::write_text(dir / "merges.txt", "#version: 0.2\na b\n\nab\n");
  message = error_of([&] { ClipTokenizer::from_directory(dir.path()); });
  EXPECT_NE(message.find("merges.txt:4: expected two symbols"), std::string::npos) << message;
}

TEST(ClipTokenizer, MalformedTokenizerJsonNamesTheEntry) {
  testing::TempDir dir;
  const json vocab = json::parse(kTinyVocab);
  testing::write_text(dir / "tokenizer.json",
                      json{{"model", {{"vocab", vocab}, {"merges", {"a b", "ab"}}}}}.dump());
  std::string message = error_of([&] { ClipTokenizer::from_directory(dir.path()); });
  EXPECT_NE(message.find("tokenizer.json: model.merges[1]"), std::string::npos) << message;

  testing::write_text(dir / "tokenizer.json",
                      json{{"model", {{"type", "WordPiece"}, {"vocab", vocab}}}}.dump());
  message = error_of([&] { ClipTokenizer::from_directory(dir.path()); });
  EXPECT_NE(message.find("tokenizer.json: model.type: expected \"BPE\""), std::string::npos)
      << message;

  testing::write_text(dir / "tokenizer.json", json{{"model", {{"vocab", vocab}}}}.dump());
  message = error_of([&] { ClipTokenizer::from_directory(dir.path()); });
  EXPECT_NE(message.find("tokenizer.json: model: missing \"merges\""), std::string::npos)
      << message;

  testing::write_text(dir / "tokenizer.json", "{\"model\": {\n\"vocab\": {\"a\": 0,}}}");
  message = error_of([&] { ClipTokenizer::from_directory(dir.path()); });
  EXPECT_NE(message.find("tokenizer.json:2: malformed JSON"), std::string::npos) << message;
}

}  // namespace
}  // namespace vlbench
