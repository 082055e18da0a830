// HfTokenizer against the Hugging Face `tokenizers` library: the siglip2-tiny fixture's goldens
// (made with `tokenizers`) and tests/fixtures/text/siglip2_tokenizer_golden.jsonl (hostile texts
// through siglip2-tiny's tokenizer.json and the variants of hf_tokenizer_variants.json, made by
// make_hf_tokenizer_goldens.js with `tokenizers` 0.22 itself).
#include "vlbench/text/hf_tokenizer.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "test_util.hpp"
#include "text/tokenizer_test_util.hpp"
#include "vlbench/core/error.hpp"
#include "vlbench/text/text_utils.hpp"

namespace vlbench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::Ids;

constexpr int kContext = 64;
constexpr std::int32_t kPad = 0;
constexpr std::int32_t kEos = 1;

fs::path siglip2_dir() {
  return testing::shared_fixture("siglip2-tiny");
}

const HfTokenizer& siglip2() {
  static const HfTokenizer tokenizer = HfTokenizer::from_file(siglip2_dir() / "tokenizer.json");
  return tokenizer;
}

json siglip2_json() {
  return testing::read_json(siglip2_dir() / "tokenizer.json");
}

// hf_tokenizer_variants.json's recipe, as make_hf_tokenizer_goldens.js applies it.
json variant_json(const json& spec) {
  json doc = spec.contains("tokenizer") ? spec.at("tokenizer") : siglip2_json();
  if (spec.contains("set")) {
    for (const auto& [key, value] : spec.at("set").items()) doc[key] = value;
  }
  if (spec.contains("model_set")) {
    for (const auto& [key, value] : spec.at("model_set").items()) {
      if (value == "PAIRS") {
        json pairs = json::array();
        for (const json& merge : doc["model"]["merges"]) {
          const std::string s = merge.get<std::string>();
          const std::size_t space = s.find(' ');
          pairs.push_back({s.substr(0, space), s.substr(space + 1)});
        }
        doc["model"][key] = pairs;
      } else {
        doc["model"][key] = value;
      }
    }
  }
  return doc;
}

std::vector<std::string> manifest_captions(const char* key) {
  const json manifest = testing::read_json(siglip2_dir() / "golden" / "manifest.json");
  return manifest.at(key).get<std::vector<std::string>>();
}

// The golden rows cut after their eos (the padding is 0 = <pad>).
std::vector<Ids> unpadded_rows(const char* file) {
  std::vector<Ids> rows = testing::read_i64_rows(siglip2_dir() / "golden" / file);
  for (Ids& row : rows) {
    const auto eos = std::find(row.begin(), row.end(), kEos);
    EXPECT_NE(eos, row.end());
    EXPECT_TRUE(std::all_of(eos + 1, row.end(), [](std::int32_t id) { return id == kPad; }));
    row.erase(eos + 1, row.end());
  }
  return rows;
}

TEST(HfTokenizer, SpecialTokenIdsAndVocabSize) {
  VLBENCH_REQUIRE_SHARED_FIXTURE("siglip2-tiny");
  EXPECT_EQ(siglip2().token_to_id("<pad>"), 0);
  EXPECT_EQ(siglip2().token_to_id("<eos>"), 1);
  EXPECT_EQ(siglip2().token_to_id("<bos>"), 2);
  EXPECT_EQ(siglip2().token_to_id("<unk>"), 3);
  EXPECT_EQ(siglip2().token_to_id("<0x41>"), 72);
  EXPECT_EQ(siglip2().token_to_id("\u2581photo"), 462);
  EXPECT_EQ(siglip2().token_to_id("not a token"), std::nullopt);
  EXPECT_EQ(siglip2().vocab_size(), 900);
}

TEST(HfTokenizer, LowerCasedCaptionsGiveTheGoldenIds) {
  VLBENCH_REQUIRE_SHARED_FIXTURE("siglip2-tiny");
  const std::vector<std::string> captions = manifest_captions("captions");
  const std::vector<std::string> lowered = manifest_captions("captions_lowercased");
  const std::vector<Ids> rows = unpadded_rows("text_input_ids.npy");
  ASSERT_EQ(captions.size(), 10u);
  ASSERT_EQ(rows.size(), captions.size());
  for (std::size_t i = 0; i < captions.size(); ++i) {
    EXPECT_EQ(python_lower(captions[i]), lowered[i]);
    EXPECT_EQ(siglip2().encode(python_lower(captions[i]), kContext), rows[i])
        << testing::shown(captions[i]);
  }
  // And the manifest's own unpadded ids.
  const json manifest = testing::read_json(siglip2_dir() / "golden" / "manifest.json");
  EXPECT_EQ(manifest.at("caption_ids_unpadded").get<std::vector<Ids>>(), rows);
}

TEST(HfTokenizer, CaptionsNotLowerCasedGiveTheirGolden) {
  VLBENCH_REQUIRE_SHARED_FIXTURE("siglip2-tiny");
  const std::vector<std::string> captions = manifest_captions("captions");
  const std::vector<Ids> rows = unpadded_rows("text_input_ids_not_lowercased.npy");
  ASSERT_EQ(rows.size(), captions.size());
  for (std::size_t i = 0; i < captions.size(); ++i) {
    EXPECT_EQ(siglip2().encode(captions[i], kContext), rows[i]) << testing::shown(captions[i]);
  }
}

TEST(HfTokenizer, EveryGoldenLineOfEveryVariant) {
  VLBENCH_REQUIRE_SHARED_FIXTURE("siglip2-tiny");
  const json spec = testing::read_json(testing::test_data("text/hf_tokenizer_variants.json"));
  std::map<std::string, std::unique_ptr<testing::LoadedTokenizer>> variants;
  for (const auto& [name, recipe] : spec.at("variants").items()) {
    variants[name] = testing::load_tokenizer_json(variant_json(recipe));
  }
  const std::vector<json> lines =
      testing::read_jsonl(testing::test_data("text/siglip2_tokenizer_golden.jsonl"));
  ASSERT_GE(lines.size(), 150u);
  std::map<std::string, int> per_variant;
  for (const json& line : lines) {
    const std::string name = line.at("variant").get<std::string>();
    ASSERT_TRUE(variants.count(name)) << name;
    const std::string text = line.at("text").get<std::string>();
    const int max_length = line.at("max_length").get<int>();
    EXPECT_EQ(variants[name]->tokenizer->encode(text, max_length), line.at("ids").get<Ids>())
        << name << ": " << testing::shown(text) << " max_length " << max_length;
    ++per_variant[name];
  }
  EXPECT_GE(per_variant["siglip2"], 40);
  EXPECT_EQ(per_variant.size(), variants.size());  // every variant has lines
}

TEST(HfTokenizer, ByteFallbackForCharactersOutsideTheVocabulary) {
  VLBENCH_REQUIRE_SHARED_FIXTURE("siglip2-tiny");
  // '猫' (U+732B, UTF-8 E7 8C AB) is not in the vocabulary: its three byte tokens, never <unk>.
  const Ids expected = {*siglip2().token_to_id("<0xE7>"), *siglip2().token_to_id("<0x8C>"),
                        *siglip2().token_to_id("<0xAB>"), kEos};
  EXPECT_EQ(siglip2().encode("\u732b", kContext), expected);
  EXPECT_EQ(expected, (Ids{238, 147, 178, 1}));
  // A 4-byte character and an ASCII one missing from the vocabulary.
  EXPECT_EQ(siglip2().encode("\U0001F431", kContext), (Ids{247, 166, 151, 184, 1}));
  EXPECT_EQ(siglip2().encode(".", kContext), (Ids{*siglip2().token_to_id("<0x2E>"), kEos}));
}

TEST(HfTokenizer, LiteralSpecialTokensInTheTextAreMatched) {
  VLBENCH_REQUIRE_SHARED_FIXTURE("siglip2-tiny");
  // "<eos>" in the text is the added token (id 1), and the template adds another one.
  EXPECT_EQ(siglip2().encode("x<eos>y", kContext), (Ids{882, 1, 876, 1}));
  EXPECT_EQ(siglip2().encode("<eos>", kContext), (Ids{1, 1}));
  EXPECT_EQ(siglip2().encode("<start_of_turn>", kContext), (Ids{5, 1}));
  // Not exactly the token: no match.
  const Ids near_miss = siglip2().encode("<eos >", kContext);
  EXPECT_EQ(std::count(near_miss.begin(), near_miss.end(), kEos), 1);
}

TEST(HfTokenizer, TruncationKeepsEosLast) {
  VLBENCH_REQUIRE_SHARED_FIXTURE("siglip2-tiny");
  const std::string caption = manifest_captions("captions_lowercased")[9];  // the long one
  const Ids full = siglip2().encode(caption, 0);
  ASSERT_GT(full.size(), 64u);
  EXPECT_EQ(full.back(), kEos);
  const Ids cut = siglip2().encode(caption, kContext);
  ASSERT_EQ(cut.size(), 64u);
  EXPECT_EQ(Ids(cut.begin(), cut.end() - 1), Ids(full.begin(), full.begin() + 63));
  EXPECT_EQ(cut.back(), kEos);
  EXPECT_EQ(siglip2().encode(caption, 1), Ids{kEos});
  testing::expect_error([&] { siglip2().encode(caption, -1); }, {"tokenizer.json", "max_length"});

  // Without a post-processor nothing is reserved.
  json doc = siglip2_json();
  doc["post_processor"] = nullptr;
  const auto bare = testing::load_tokenizer_json(doc);
  EXPECT_EQ(bare->tokenizer->encode(caption, 5), Ids(full.begin(), full.begin() + 5));
  EXPECT_EQ(bare->tokenizer->encode("", 5), Ids{});
}

TEST(HfTokenizer, MaxLengthBelowTheAddedTokensIsAnError) {
  VLBENCH_REQUIRE_SHARED_FIXTURE("siglip2-tiny");
  json doc = variant_json(testing::read_json(testing::test_data("text/hf_tokenizer_variants.json"))
                              .at("variants")
                              .at("template_bos_eos"));
  const auto loaded = testing::load_tokenizer_json(doc);
  EXPECT_EQ(loaded->tokenizer->encode("a photo", 2), (Ids{2, 1}));
  testing::expect_error([&] { loaded->tokenizer->encode("a photo", 1); },
                        {"tokenizer.json", "max_length 1", "2 tokens"});
}

TEST(HfTokenizer, SafeFromManyThreads) {
  VLBENCH_REQUIRE_SHARED_FIXTURE("siglip2-tiny");
  const std::vector<std::string> captions = manifest_captions("captions_lowercased");
  const std::vector<Ids> rows = unpadded_rows("text_input_ids.npy");
  EXPECT_EQ(testing::mismatches_from_threads(
                [](const std::string& c) { return siglip2().encode(c, kContext); }, captions, rows),
            std::vector<int>(4, 0));
}

TEST(HfTokenizer, PythonLowerMatchesStrLower) {
  // Values from CPython 3.11's str.lower().
  EXPECT_EQ(python_lower("A Photo"), "a photo");
  EXPECT_EQ(python_lower("\u0130stanbul"), "i\u0307stanbul");
  EXPECT_EQ(python_lower("\u039f\u0394\u039f\u03a3 \u03a3"), "\u03bf\u03b4\u03bf\u03c2 \u03c3");
  EXPECT_EQ(python_lower("Stra\u00dfe \u1e9e"), "stra\u00dfe \u00df");
  EXPECT_EQ(python_lower("\u01c5\u01c4"), "\u01c6\u01c6");
  EXPECT_EQ(python_lower("\uff21\u2160"), "\uff41\u2170");
  testing::expect_error([] { python_lower("\xC0\x80"); }, {"invalid UTF-8"});
}

// Unsupported or malformed files: the message names the file and the JSON path.
TEST(HfTokenizer, Errors) {
  VLBENCH_REQUIRE_SHARED_FIXTURE("siglip2-tiny");
  testing::TempDir dir;
  testing::expect_error([&] { HfTokenizer::from_file(dir / "tokenizer.json"); },
                        {"tokenizer.json", "cannot open"});

  testing::write_text(dir / "tokenizer.json", "{\"version\": \"1.0\",\n\"model\": {,}}");
  testing::expect_error([&] { HfTokenizer::from_file(dir / "tokenizer.json"); },
                        {"tokenizer.json:2", "malformed JSON"});

  const auto expect_rejected = [](json doc, const std::vector<std::string>& parts) {
    testing::TempDir d;
    testing::write_text(d / "tokenizer.json", doc.dump());
    std::vector<std::string> all = parts;
    all.push_back("tokenizer.json: ");
    testing::expect_error([&] { HfTokenizer::from_file(d / "tokenizer.json"); }, all);
  };
  json doc = siglip2_json();
  doc["normalizer"] = {{"type", "Sequence"},
                       {"normalizers", {{{"type", "NFC"}}, {{"type", "Precompiled"}}}}};
  expect_rejected(doc, {"normalizer.normalizers[1].type: unsupported 'Precompiled'"});

  doc = siglip2_json();
  doc["pre_tokenizer"] = {{"type", "ByteLevel"}};
  expect_rejected(doc, {"pre_tokenizer.type: unsupported 'ByteLevel'"});

  doc = siglip2_json();
  doc["model"]["type"] = "Unigram";
  expect_rejected(doc, {"model.type: unsupported 'Unigram'"});

  doc = siglip2_json();
  doc["model"]["dropout"] = 0.1;
  expect_rejected(doc, {"model.dropout", "not supported"});

  doc = siglip2_json();
  doc["post_processor"] = {{"type", "ByteLevel"}};
  expect_rejected(doc, {"post_processor.type: unsupported 'ByteLevel'"});

  doc = siglip2_json();
  doc["post_processor"]["single"][1]["SpecialToken"]["id"] = "<nope>";
  expect_rejected(doc, {"post_processor.single[1].SpecialToken.id", "<nope>"});

  doc = siglip2_json();
  doc["model"]["merges"][3] = "a b c";
  expect_rejected(doc, {"model.merges[3]", "one space"});

  doc = siglip2_json();
  doc["model"]["merges"][5] = "qq zz";
  expect_rejected(doc, {"model.merges[5]", "\"qq\" is not in model.vocab"});

  doc = siglip2_json();
  doc["model"].erase("vocab");
  expect_rejected(doc, {"model: missing \"vocab\""});

  doc = siglip2_json();
  doc["model"]["vocab"]["a"] = -3;
  expect_rejected(doc, {"model.vocab", "\"a\"", "non-negative"});

  doc = siglip2_json();
  doc["normalizer"]["pattern"] = {{"Regex", "(unclosed"}};
  expect_rejected(doc, {"normalizer.pattern.Regex", "invalid regular expression"});

  doc = siglip2_json();
  doc["normalizer"]["content"] = 7;
  expect_rejected(doc, {"normalizer.content: expected a string, got 7"});

  doc = siglip2_json();
  doc["version"] = "2.0";
  expect_rejected(doc, {"version", "\"2.0\""});

  doc = siglip2_json();
  doc["added_tokens"][0].erase("content");
  expect_rejected(doc, {"added_tokens[0]: missing \"content\""});

  // Invalid UTF-8 text.
  testing::expect_error([] { siglip2().encode("caf\xC3", kContext); },
                        {"tokenizer.json", "text to tokenize", "invalid UTF-8", "byte 3"});
  testing::expect_error([] { siglip2().encode("\xED\xA0\x80", kContext); }, {"invalid UTF-8"});

  // An unk token missing from the vocabulary is an Error only when it is needed.
  doc = siglip2_json();
  doc["model"]["byte_fallback"] = false;
  doc["model"]["unk_token"] = "<missing>";
  const auto no_unk = testing::load_tokenizer_json(doc);
  EXPECT_EQ(no_unk->tokenizer->encode("a", kContext), (Ids{863, 1}));
  testing::expect_error([&] { no_unk->tokenizer->encode("\u732b", kContext); },
                        {"tokenizer.json: model.unk_token", "<missing>"});
}

}  // namespace
}  // namespace vlbench
