// SiglipTokenizer against transformers' slow SiglipTokenizer: the siglip-tiny fixture's own
// goldens (made with transformers and sentencepiece 0.1.97) and
// tests/fixtures/text/siglip_tokenizer_golden.jsonl (hostile captions, made by
// make_siglip_goldens.py with the real sentencepiece).
#include "vlbench/text/siglip_tokenizer.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "test_util.hpp"
#include "text/tokenizer_test_util.hpp"
#include "vlbench/core/error.hpp"

namespace vlbench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::Ids;

constexpr int kContext = 64;

fs::path siglip_dir() {
  return testing::shared_fixture("siglip-tiny");
}

const SiglipTokenizer& siglip() {
  static const SiglipTokenizer tokenizer = SiglipTokenizer::from_directory(siglip_dir());
  return tokenizer;
}

// A copy of siglip-tiny's tokenizer files in a temp folder, to break one of them.
void copy_tokenizer_files(const fs::path& to) {
  for (const char* name : {"spiece.model", "tokenizer_config.json", "special_tokens_map.json"}) {
    fs::copy_file(siglip_dir() / name, to / name);
  }
}

TEST(SiglipTokenizer, SpecialIdsAndVocabSize) {
  VLBENCH_REQUIRE_SHARED_FIXTURE("siglip-tiny");
  EXPECT_EQ(siglip().pad_id(), 1);
  EXPECT_EQ(siglip().eos_id(), 1);
  EXPECT_EQ(siglip().unk_id(), 2);
  EXPECT_EQ(siglip().vocab_size(), 640);
}

TEST(SiglipTokenizer, FixtureCaptionsGiveTheManifestIds) {
  VLBENCH_REQUIRE_SHARED_FIXTURE("siglip-tiny");
  const json manifest = testing::read_json(siglip_dir() / "golden" / "manifest.json");
  const auto captions = manifest.at("captions").get<std::vector<std::string>>();
  const auto expected = manifest.at("caption_ids_unpadded").get<std::vector<Ids>>();
  ASSERT_EQ(captions.size(), 10u);
  ASSERT_EQ(expected.size(), captions.size());
  for (std::size_t i = 0; i < captions.size(); ++i) {
    EXPECT_EQ(siglip().encode(captions[i], kContext), expected[i]) << testing::shown(captions[i]);
  }
}

TEST(SiglipTokenizer, PaddedToSixtyFourEqualsTheNpyGolden) {
  VLBENCH_REQUIRE_SHARED_FIXTURE("siglip-tiny");
  const json manifest = testing::read_json(siglip_dir() / "golden" / "manifest.json");
  const auto captions = manifest.at("captions").get<std::vector<std::string>>();
  const std::vector<Ids> rows =
      testing::read_i64_rows(siglip_dir() / "golden" / "text_input_ids.npy");
  ASSERT_EQ(rows.size(), captions.size());
  for (std::size_t i = 0; i < captions.size(); ++i) {
    ASSERT_EQ(rows[i].size(), 64u);
    EXPECT_EQ(testing::padded(siglip().encode(captions[i], kContext), 64, siglip().pad_id()),
              rows[i])
        << testing::shown(captions[i]);
  }
}

TEST(SiglipTokenizer, EveryHostileGoldenLine) {
  VLBENCH_REQUIRE_SHARED_FIXTURE("siglip-tiny");
  const std::vector<json> lines =
      testing::read_jsonl(testing::test_data("text/siglip_tokenizer_golden.jsonl"));
  ASSERT_GE(lines.size(), 40u);
  for (const json& line : lines) {
    const std::string text = line.at("text").get<std::string>();
    const int max_length = line.at("max_length").get<int>();
    EXPECT_EQ(siglip().encode(text, max_length), line.at("ids").get<Ids>())
        << testing::shown(text) << " max_length " << max_length;
  }
}

TEST(SiglipTokenizer, EmptyAndPunctuationOnlyGiveEos) {
  VLBENCH_REQUIRE_SHARED_FIXTURE("siglip-tiny");
  for (const char* text : {"", " ", "...", "!?,.;:'\"()[]{}<>/\\|@#$%^&*-_+=~`", " \t\n "}) {
    EXPECT_EQ(siglip().encode(text, kContext), Ids{1}) << testing::shown(text);
  }
}

TEST(SiglipTokenizer, TruncatesToMaxLengthWithEosLast) {
  VLBENCH_REQUIRE_SHARED_FIXTURE("siglip-tiny");
  std::string long_caption;
  for (int i = 0; i < 100; ++i) long_caption += "a photo of a cat ";
  const Ids full = siglip().encode(long_caption, 0);
  ASSERT_GT(full.size(), 64u);
  const Ids cut = siglip().encode(long_caption, kContext);
  ASSERT_EQ(cut.size(), 64u);
  EXPECT_EQ(cut.back(), siglip().eos_id());
  EXPECT_EQ(Ids(cut.begin(), cut.end() - 1), Ids(full.begin(), full.begin() + 63));
  EXPECT_EQ(siglip().encode(long_caption, 1), Ids{1});
  EXPECT_EQ(siglip().encode("a photo of a cat", 3), (Ids{49, 5, 1}));
}

TEST(SiglipTokenizer, LiteralEosIsNotDuplicated) {
  VLBENCH_REQUIRE_SHARED_FIXTURE("siglip-tiny");
  // "a cat </s>": the </s> token (rstrip/lstrip) ends the ids, so no second eos is added.
  const Ids ids = siglip().encode("a cat </s>", kContext);
  EXPECT_EQ(ids, (Ids{49, 153, 1}));
}

TEST(SiglipTokenizer, SafeFromManyThreads) {
  VLBENCH_REQUIRE_SHARED_FIXTURE("siglip-tiny");
  const json manifest = testing::read_json(siglip_dir() / "golden" / "manifest.json");
  const auto captions = manifest.at("captions").get<std::vector<std::string>>();
  const auto expected = manifest.at("caption_ids_unpadded").get<std::vector<Ids>>();
  EXPECT_EQ(
      testing::mismatches_from_threads(
          [](const std::string& c) { return siglip().encode(c, kContext); }, captions, expected),
      std::vector<int>(4, 0));
}

TEST(SiglipTokenizer, WithoutConfigFilesUsesTheDefaults) {
  VLBENCH_REQUIRE_SHARED_FIXTURE("siglip-tiny");
  testing::TempDir dir;
  fs::copy_file(siglip_dir() / "spiece.model", dir / "spiece.model");
  const SiglipTokenizer tokenizer = SiglipTokenizer::from_directory(dir.path());
  EXPECT_EQ(tokenizer.eos_id(), 1);
  EXPECT_EQ(tokenizer.pad_id(), 1);
  EXPECT_EQ(tokenizer.unk_id(), 2);
  EXPECT_EQ(tokenizer.encode("A red square on a white background.", kContext),
            siglip().encode("A red square on a white background.", kContext));
}

TEST(SiglipTokenizer, DoLowerCaseFalseKeepsCase) {
  VLBENCH_REQUIRE_SHARED_FIXTURE("siglip-tiny");
  testing::TempDir dir;
  copy_tokenizer_files(dir.path());
  json config = testing::read_json(dir / "tokenizer_config.json");
  config["do_lower_case"] = false;
  testing::write_text(dir / "tokenizer_config.json", config.dump());
  const SiglipTokenizer cased = SiglipTokenizer::from_directory(dir.path());
  // Upper-case letters are not in the tiny vocabulary's pieces: different ids.
  EXPECT_NE(cased.encode("A Red Square", kContext), siglip().encode("A Red Square", kContext));
  EXPECT_EQ(cased.encode("a red square", kContext), siglip().encode("a red square", kContext));
}

TEST(SiglipTokenizer, Errors) {
  VLBENCH_REQUIRE_SHARED_FIXTURE("siglip-tiny");
  testing::TempDir empty;
  testing::expect_error([&] { SiglipTokenizer::from_directory(empty.path()); },
                        {"spiece.model", "no such file"});

  testing::TempDir garbage;
  testing::write_text(garbage / "spiece.model", "this is not a protobuf");
  testing::expect_error([&] { SiglipTokenizer::from_directory(garbage.path()); },
                        {"spiece.model", "not a SentencePiece model"});

  testing::TempDir malformed;
  copy_tokenizer_files(malformed.path());
  testing::write_text(malformed / "tokenizer_config.json", "{\"do_lower_case\": true,\n  oops}");
  testing::expect_error([&] { SiglipTokenizer::from_directory(malformed.path()); },
                        {"tokenizer_config.json:2", "malformed JSON"});

  testing::TempDir wrong_type;
  copy_tokenizer_files(wrong_type.path());
  testing::write_text(wrong_type / "tokenizer_config.json", "{\"do_lower_case\": \"yes\"}");
  testing::expect_error([&] { SiglipTokenizer::from_directory(wrong_type.path()); },
                        {"tokenizer_config.json", "do_lower_case", "expected true or false"});

  testing::TempDir unknown_special;
  copy_tokenizer_files(unknown_special.path());
  testing::write_text(unknown_special / "special_tokens_map.json", "{\"eos_token\": \"<eos>\"}");
  testing::expect_error([&] { SiglipTokenizer::from_directory(unknown_special.path()); },
                        {"spiece.model", "\"<eos>\"", "not a piece"});

  testing::expect_error([] { siglip().encode("caf\xC3", kContext); },
                        {"spiece.model", "invalid UTF-8", "byte 3"});
  testing::expect_error([] { siglip().encode("\xFF", kContext); }, {"invalid UTF-8"});
  testing::expect_error([] { siglip().encode("a", -1); }, {"max_length"});
}

}  // namespace
}  // namespace vlbench
