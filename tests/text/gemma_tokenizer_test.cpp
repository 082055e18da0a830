// Gemma's SentencePiece tokenizer.model through libsentencepiece against the equivalent
// tokenizer.json through the tokenizer.json reader, whose ids equal the Hugging Face
// `tokenizers` library's (hf_tokenizer_test.cpp). The pair is ../shared/fixtures/colpali-tiny/
// base (a Gemma-style SentencePiece BPE with byte fallback and its GemmaConverter
// tokenizer.json; its README: the two agree on every string).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "test_util.hpp"
#include "text/tokenizer_test_util.hpp"
#include "vlbench/core/error.hpp"
#include "vlbench/text/gemma_tokenizer.hpp"
#include "vlbench/text/hf_tokenizer.hpp"
#include "vlbench/text/text_utils.hpp"

namespace vlbench::testing {
namespace {

namespace fs = std::filesystem;

fs::path gemma_dir() {
  return shared_fixture("colpali-tiny") / "base";
}

std::vector<std::string> texts() {
  std::vector<std::string> out = {
      "",
      "a photo of a cat",
      "A red square, on a WHITE background!",
      "  two  spaces,\ttab and\nnewline ",
      "digits 1234567 and 3.14159",
      "ünïcödé façade — naïve 東京 🐱 émoji",
      "literal <eos> and <bos><pad> inside",
      "<eos>",
      "unknown \x7f control and \xe2\x80\x8b zero width",
      "Query: what is on the page?\n",
  };
  std::ifstream in(shared_fixture("siglip2-tiny") / "golden" / "manifest.json");
  const nlohmann::json manifest = nlohmann::json::parse(in);
  for (const auto& caption : manifest["captions"]) {
    out.push_back(caption.get<std::string>());
    out.push_back(python_lower(caption.get<std::string>()));
  }
  return out;
}

class GemmaTokenizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(gemma_dir() / "tokenizer.model")) GTEST_SKIP() << "no " << gemma_dir();
  }
};

TEST_F(GemmaTokenizerTest, SentencePieceModelGivesTheIdsOfTheTokenizerJson) {
  const GemmaTokenizer sentencepiece = GemmaTokenizer::from_directory(gemma_dir());
  const HfTokenizer json = HfTokenizer::from_file(gemma_dir() / "tokenizer.json");
  for (const std::string& text : texts()) {
    SCOPED_TRACE(text);
    const Ids ids = sentencepiece.encode(text, 0);
    EXPECT_EQ(ids, json.encode(text, 0));
    EXPECT_EQ(ids.front(), 2);  // this config's add_bos_token: <bos>
    EXPECT_EQ(sentencepiece.encode(text, 6), json.encode(text, 6));
  }
  // Byte fallback: a character outside the vocabulary becomes its UTF-8 bytes <0xNN>, id 4 + byte.
  EXPECT_EQ(sentencepiece.encode("\xe6\x9d\xb1", 0), (Ids{2, 4 + 0xe6, 4 + 0x9d, 4 + 0xb1}));
  EXPECT_EQ(sentencepiece.piece_to_id("<eos>"), 1);
  EXPECT_EQ(sentencepiece.piece_to_id("no such piece"), std::nullopt);
}

TEST_F(GemmaTokenizerTest, AddBosAndEosFollowTheConfig) {
  TempDir dir;
  fs::copy_file(gemma_dir() / "tokenizer.model", dir / "tokenizer.model");
  write_text(dir / "tokenizer_config.json", R"({"add_bos_token": false, "add_eos_token": true})");
  const GemmaTokenizer tokenizer = GemmaTokenizer::from_directory(dir.path());
  const GemmaTokenizer with_bos = GemmaTokenizer::from_directory(gemma_dir());
  Ids expected = with_bos.encode("a photo of a cat", 0);
  expected.erase(expected.begin());
  expected.push_back(1);
  EXPECT_EQ(tokenizer.encode("a photo of a cat", 0), expected);
  // Truncation keeps <eos> last.
  const Ids cut = tokenizer.encode("a photo of a cat on a mat in the sun", 4);
  ASSERT_EQ(cut.size(), 4u);
  EXPECT_EQ(cut.back(), 1);
  EXPECT_EQ(Ids(cut.begin(), cut.end() - 1), Ids(expected.begin(), expected.begin() + 3));
  EXPECT_EQ(tokenizer.encode("", 1), Ids{1});
  expect_error([&] { (void)tokenizer.encode("x", -1); }, {"max_length"});
  expect_error([&] { (void)tokenizer.encode("bad \xff utf8", 0); }, {"UTF-8"});
}

TEST_F(GemmaTokenizerTest, ErrorsNameTheFile) {
  TempDir dir;
  expect_error([&] { GemmaTokenizer::from_directory(dir.path()); },
               {(dir / "tokenizer.model").string(), "no such file"});
  write_text(dir / "tokenizer.model", "not a protobuf at all");
  expect_error([&] { GemmaTokenizer::from_directory(dir.path()); },
               {(dir / "tokenizer.model").string(), "SentencePiece"});
  fs::copy_file(gemma_dir() / "tokenizer.model", dir / "tokenizer.model",
                fs::copy_options::overwrite_existing);
  write_text(dir / "tokenizer_config.json", "{\"add_bos_token\": ");
  expect_error([&] { GemmaTokenizer::from_directory(dir.path()); },
               {(dir / "tokenizer_config.json").string()});
}

}  // namespace
}  // namespace vlbench::testing
