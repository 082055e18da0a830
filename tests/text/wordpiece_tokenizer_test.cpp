// HfTokenizer on BERT WordPiece files (BertNormalizer, BertPreTokenizer, WordPiece, [CLS] $A
// [SEP]: jina-clip-v1's text tower) against the Hugging Face `tokenizers` library: the
// jina-clip-tiny fixture's goldens, tests/fixtures/text/wordpiece_tokenizer_golden.jsonl
// (hostile texts through that file and the variants of wordpiece_variants.json) and
// bert_char_classes.json (every code point through each component), both written by
// make_wordpiece_goldens.js with `tokenizers` 0.22 itself.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "test_util.hpp"
#include "text/hf_char_classes.hpp"
#include "text/tokenizer_test_util.hpp"
#include "text/unicode.hpp"
#include "vlbench/core/error.hpp"
#include "vlbench/text/hf_tokenizer.hpp"

namespace vlbench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::Ids;

constexpr int kMaxLength = 512;  // what jina-clip's encode_text asks for
constexpr std::int32_t kPad = 0;
constexpr std::int32_t kUnk = 100;
constexpr std::int32_t kCls = 101;
constexpr std::int32_t kSep = 102;

fs::path jina_dir() {
  return testing::shared_fixture("jina-clip-tiny");
}

const HfTokenizer& jina() {
  static const HfTokenizer tokenizer = HfTokenizer::from_file(jina_dir() / "tokenizer.json");
  return tokenizer;
}

json jina_json() {
  return testing::read_json(jina_dir() / "tokenizer.json");
}

// wordpiece_variants.json's recipe, as make_wordpiece_goldens.js applies it.
json variant_json(const json& spec) {
  json doc = jina_json();
  const auto apply = [&spec](const char* key, json& target) {
    if (!spec.contains(key)) return;
    for (const auto& [name, value] : spec.at(key).items()) target[name] = value;
  };
  apply("set", doc);
  apply("normalizer_set", doc["normalizer"]);
  apply("model_set", doc["model"]);
  if (spec.contains("vocab_add")) {
    std::int64_t next = 0;
    for (const auto& [token, id] : doc["model"]["vocab"].items()) {
      next = std::max(next, id.get<std::int64_t>() + 1);
    }
    for (const json& token : spec.at("vocab_add"))
      doc["model"]["vocab"][token.get<std::string>()] = next++;
  }
  return doc;
}

json manifest() {
  return testing::read_json(jina_dir() / "golden" / "manifest.json");
}

std::vector<std::string> captions() {
  return manifest().at("captions").get<std::vector<std::string>>();
}

// The golden rows cut after their [SEP] (the padding is 0 = [PAD]).
std::vector<Ids> unpadded_rows() {
  std::vector<Ids> rows = testing::read_i64_rows(jina_dir() / "golden" / "text_input_ids.npy");
  for (Ids& row : rows) {
    const auto sep = std::find(row.begin(), row.end(), kSep);
    EXPECT_NE(sep, row.end());
    EXPECT_TRUE(std::all_of(sep + 1, row.end(), [](std::int32_t id) { return id == kPad; }));
    row.erase(sep + 1, row.end());
  }
  return rows;
}

TEST(WordPieceTokenizer, SpecialTokenIdsAndVocabSize) {
  VLBENCH_REQUIRE_SHARED_FIXTURE("jina-clip-tiny");
  EXPECT_EQ(jina().token_to_id("[PAD]"), kPad);
  EXPECT_EQ(jina().token_to_id("[UNK]"), kUnk);
  EXPECT_EQ(jina().token_to_id("[CLS]"), kCls);
  EXPECT_EQ(jina().token_to_id("[SEP]"), kSep);
  EXPECT_EQ(jina().token_to_id("[MASK]"), 103);
  EXPECT_EQ(jina().token_to_id("##ful"), 327);
  EXPECT_EQ(jina().token_to_id("ful"), std::nullopt);
  EXPECT_EQ(jina().vocab_size(), 335);
}

TEST(WordPieceTokenizer, FixtureCaptionsGiveTheGoldenIds) {
  VLBENCH_REQUIRE_SHARED_FIXTURE("jina-clip-tiny");
  const std::vector<std::string> texts = captions();
  const std::vector<Ids> rows = unpadded_rows();
  const std::vector<Ids> padded_rows =
      testing::read_i64_rows(jina_dir() / "golden" / "text_input_ids.npy");
  const std::vector<Ids> masks =
      testing::read_i64_rows(jina_dir() / "golden" / "attention_mask.npy");
  const auto tokens = manifest().at("tokens_unpadded").get<std::vector<std::vector<std::string>>>();
  ASSERT_EQ(texts.size(), 10u);
  ASSERT_EQ(rows.size(), texts.size());
  ASSERT_EQ(masks.size(), texts.size());
  ASSERT_EQ(tokens.size(), texts.size());

  std::vector<Ids> encoded;
  std::size_t longest = 0;
  for (const std::string& text : texts) {
    encoded.push_back(jina().encode(text, kMaxLength));
    longest = std::max(longest, encoded.back().size());
  }
  EXPECT_EQ(longest, 11u);
  for (std::size_t i = 0; i < texts.size(); ++i) {
    EXPECT_EQ(encoded[i], rows[i]) << testing::shown(texts[i]);
    // Padded to the batch's longest with [PAD], as encode_text's padding=True.
    EXPECT_EQ(testing::padded(encoded[i], longest, kPad), padded_rows[i])
        << testing::shown(texts[i]);
    Ids mask(longest, 0);
    std::fill(mask.begin(), mask.begin() + static_cast<std::ptrdiff_t>(encoded[i].size()), 1);
    EXPECT_EQ(mask, masks[i]) << testing::shown(texts[i]);
    // And the manifest's token strings.
    Ids from_tokens;
    for (const std::string& token : tokens[i]) from_tokens.push_back(*jina().token_to_id(token));
    EXPECT_EQ(from_tokens, rows[i]) << testing::shown(texts[i]);
  }
}

TEST(WordPieceTokenizer, EveryGoldenLineOfEveryVariant) {
  VLBENCH_REQUIRE_SHARED_FIXTURE("jina-clip-tiny");
  const json spec = testing::read_json(testing::test_data("text/wordpiece_variants.json"));
  std::map<std::string, std::unique_ptr<testing::LoadedTokenizer>> variants;
  for (const auto& [name, recipe] : spec.at("variants").items()) {
    variants[name] = testing::load_tokenizer_json(variant_json(recipe));
  }
  const std::vector<json> lines =
      testing::read_jsonl(testing::test_data("text/wordpiece_tokenizer_golden.jsonl"));
  ASSERT_GE(lines.size(), 300u);
  std::map<std::string, int> per_variant;
  int truncated = 0;
  int without_special_tokens = 0;
  for (const json& line : lines) {
    const std::string name = line.at("variant").get<std::string>();
    ASSERT_TRUE(variants.count(name)) << name;
    const std::string text = line.at("text").get<std::string>();
    const int max_length = line.at("max_length").get<int>();
    const bool add_special_tokens = line.value("add_special_tokens", true);
    const Ids expected = line.at("ids").get<Ids>();
    EXPECT_EQ(variants[name]->tokenizer->encode(text, max_length, add_special_tokens), expected)
        << name << ": " << testing::shown(text) << " max_length " << max_length
        << (add_special_tokens ? "" : " without special tokens");
    ++per_variant[name];
    truncated += max_length > 0 && max_length < kMaxLength;
    without_special_tokens += !add_special_tokens;
  }
  EXPECT_GE(per_variant["jina"], 100);
  EXPECT_GE(truncated, 10);
  EXPECT_GE(without_special_tokens, 3);
  EXPECT_EQ(per_variant.size(), variants.size());  // every variant has lines
}

// Every code point (surrogates excepted) against what the library does with it alone.
TEST(WordPieceTokenizer, CharacterClassesMatchTheLibraryForEveryCodePoint) {
  const json classes = testing::read_json(testing::test_data("text/bert_char_classes.json"));
  const auto members = [&classes](const char* name) {
    std::vector<bool> in(0x110000, false);
    for (const json& range : classes.at(name)) {
      for (auto c = range[0].get<std::uint32_t>(); c <= range[1].get<std::uint32_t>(); ++c) {
        in[c] = true;
      }
    }
    return in;
  };
  // BertNormalizer's strip_accents on one character: NFD, then nonspacing marks removed.
  const auto strip_removes = [](char32_t c) {
    const std::u32string nfd = text::normalize(std::u32string(1, c), text::NormalForm::nfd);
    return std::all_of(nfd.begin(), nfd.end(), text::hf::is_bert_nonspacing_mark);
  };
  const std::vector<std::pair<const char*, std::function<bool(char32_t)>>> checks = {
      {"clean_text_removes",
       [](char32_t c) { return c == 0 || c == 0xFFFD || text::hf::is_bert_control(c); }},
      {"clean_text_spaces",
       [](char32_t c) {
         return c != U' ' && !text::hf::is_bert_control(c) && text::hf::is_bert_whitespace(c);
       }},
      {"chinese_chars", text::hf::is_bert_chinese_char},
      {"bert_strip_accents_removes", strip_removes},
      {"strip_accents_removes", text::hf::is_combining_mark_unicode9},
      {"pre_tokenizer_drops", text::is_white_space},
      {"pre_tokenizer_isolates",
       [](char32_t c) { return !text::is_white_space(c) && text::hf::is_bert_punctuation(c); }},
  };
  for (const auto& [name, predicate] : checks) {
    const std::vector<bool> expected = members(name);
    int mismatches = 0;
    for (char32_t c = 0; c < 0x110000; ++c) {
      if (c >= 0xD800 && c <= 0xDFFF) continue;
      if (predicate(c) != expected[c] && ++mismatches <= 5) {
        ADD_FAILURE() << name << ": U+" << std::hex << static_cast<std::uint32_t>(c)
                      << (expected[c] ? " is in the library's class" : " is not in it");
      }
    }
    EXPECT_EQ(mismatches, 0) << name;
  }
}

TEST(WordPieceTokenizer, GreedyLongestMatchAndWholeWordUnknown) {
  json doc = jina_json();
  doc["model"]["vocab"] = {{"[UNK]", 0}, {"[CLS]", 1}, {"[SEP]", 2}, {"ba", 3},   {"##na", 4},
                           {"b", 5},     {"##n", 6},   {"##a", 7},   {"##nan", 8}};
  doc["added_tokens"] = json::array();
  doc["post_processor"] = nullptr;
  const auto loaded = testing::load_tokenizer_json(doc);
  const HfTokenizer& t = *loaded->tokenizer;
  EXPECT_EQ(t.encode("banana", 0), (Ids{3, 8, 7}));  // ba ##nan ##a: longest first
  EXPECT_EQ(t.encode("ban", 0), (Ids{3, 6}));
  EXPECT_EQ(t.encode("nanana", 0), Ids{0});   // no entry starts the word
  EXPECT_EQ(t.encode("bananas", 0), Ids{0});  // "##s" is missing: the whole word
  EXPECT_EQ(t.encode("ba bananas ba", 0), (Ids{3, 0, 3}));
  EXPECT_EQ(t.encode("BA, ba!", 0), (Ids{3, 0, 3, 0}));  // ',' and '!' are words of their own
}

TEST(WordPieceTokenizer, WordsLongerThanMaxInputCharsAreOneUnknown) {
  VLBENCH_REQUIRE_SHARED_FIXTURE("jina-clip-tiny");
  // Characters, not bytes, after normalisation: 99 'a' + 'é' is 100 characters.
  const Ids hundred = jina().encode(std::string(99, 'a') + "\u00e9", 0);
  ASSERT_EQ(hundred.size(), 102u);
  EXPECT_EQ(hundred[1], *jina().token_to_id("a"));
  EXPECT_EQ(hundred[100], *jina().token_to_id("##e"));
  EXPECT_EQ(jina().encode(std::string(101, 'a'), 0), (Ids{kCls, kUnk, kSep}));
  EXPECT_EQ(jina().encode(std::string(100, 'a') + "\u00e9", 0), (Ids{kCls, kUnk, kSep}));
  EXPECT_EQ(jina().encode(std::string(101, 'a') + " cat", 0), (Ids{kCls, kUnk, 229, kSep}));
}

TEST(WordPieceTokenizer, TruncationKeepsSepLast) {
  VLBENCH_REQUIRE_SHARED_FIXTURE("jina-clip-tiny");
  const std::string caption = captions()[3];  // the longest: 9 words
  const Ids full = jina().encode(caption, 0);
  ASSERT_EQ(full.size(), 11u);
  for (int n = 2; n <= 12; ++n) {
    const Ids cut = jina().encode(caption, n);
    const std::size_t kept = std::min<std::size_t>(static_cast<std::size_t>(n), full.size());
    ASSERT_EQ(cut.size(), kept) << n;
    EXPECT_EQ(cut.front(), kCls) << n;
    EXPECT_EQ(cut.back(), kSep) << n;
    EXPECT_EQ(Ids(cut.begin(), cut.end() - 1), Ids(full.begin(), full.begin() + kept - 1)) << n;
  }
  testing::expect_error([&] { jina().encode(caption, 1); },
                        {"tokenizer.json", "max_length 1", "2 tokens"});
  // Without the post-processor nothing is reserved.
  EXPECT_EQ(jina().encode(caption, 3, false), Ids(full.begin() + 1, full.begin() + 4));
}

TEST(WordPieceTokenizer, FilesWithoutOptionalFields) {
  VLBENCH_REQUIRE_SHARED_FIXTURE("jina-clip-tiny");
  const std::string text = "Caf\u00e9 \u65e5\u672c [MASK] playful";
  const Ids expected = jina().encode(text, 0);
  // An old file's model without "type"; a normalizer without strip_accents (= lowercase).
  json doc = jina_json();
  doc["model"].erase("type");
  doc["normalizer"].erase("strip_accents");
  EXPECT_EQ(testing::load_tokenizer_json(doc)->tokenizer->encode(text, 0), expected);
  // BertProcessing gives what the template gives.
  doc = jina_json();
  doc["post_processor"] = {
      {"type", "BertProcessing"}, {"sep", {"[SEP]", 102}}, {"cls", {"[CLS]", 101}}};
  EXPECT_EQ(testing::load_tokenizer_json(doc)->tokenizer->encode(text, 0), expected);
}

TEST(WordPieceTokenizer, SafeFromManyThreads) {
  VLBENCH_REQUIRE_SHARED_FIXTURE("jina-clip-tiny");
  const std::vector<std::string> texts = captions();
  EXPECT_EQ(testing::mismatches_from_threads(
                [](const std::string& c) { return jina().encode(c, kMaxLength); }, texts,
                unpadded_rows()),
            std::vector<int>(4, 0));
}

// Malformed files: the message names the file and the JSON path.
TEST(WordPieceTokenizer, Errors) {
  VLBENCH_REQUIRE_SHARED_FIXTURE("jina-clip-tiny");
  const auto expect_rejected = [](const json& doc, const std::vector<std::string>& parts) {
    testing::TempDir d;
    testing::write_text(d / "tokenizer.json", doc.dump());
    std::vector<std::string> all = parts;
    all.push_back("tokenizer.json: ");
    testing::expect_error([&] { HfTokenizer::from_file(d / "tokenizer.json"); }, all);
  };
  const auto with = [](const char* stage, const char* key, const json& value) {
    json doc = jina_json();
    doc[stage][key] = value;
    return doc;
  };
  const auto without = [](const char* stage, const char* key) {
    json doc = jina_json();
    doc[stage].erase(key);
    return doc;
  };

  expect_rejected(without("model", "unk_token"), {"model: missing \"unk_token\""});
  expect_rejected(without("model", "continuing_subword_prefix"),
                  {"model: missing \"continuing_subword_prefix\""});
  expect_rejected(without("model", "max_input_chars_per_word"),
                  {"model: missing \"max_input_chars_per_word\""});
  expect_rejected(without("model", "vocab"), {"model: missing \"vocab\""});
  expect_rejected(with("model", "unk_token", nullptr), {"model.unk_token: expected a string"});
  expect_rejected(with("model", "max_input_chars_per_word", -1),
                  {"model.max_input_chars_per_word", "non-negative", "-1"});
  expect_rejected(with("model", "max_input_chars_per_word", 1.5),
                  {"model.max_input_chars_per_word: expected an integer, got 1.5"});
  expect_rejected(with("model", "vocab", {{"a", -2}}), {"model.vocab", "\"a\"", "non-negative"});
  expect_rejected(with("model", "vocab", json::array()), {"model.vocab: expected a JSON object"});
  expect_rejected(with("model", "type", "WordLevel"),
                  {"model.type: unsupported 'WordLevel' (supported: BPE, WordPiece)"});

  expect_rejected(without("normalizer", "clean_text"), {"normalizer: missing \"clean_text\""});
  expect_rejected(without("normalizer", "handle_chinese_chars"),
                  {"normalizer: missing \"handle_chinese_chars\""});
  expect_rejected(without("normalizer", "lowercase"), {"normalizer: missing \"lowercase\""});
  expect_rejected(with("normalizer", "lowercase", nullptr),
                  {"normalizer.lowercase: expected true or false, got null"});
  expect_rejected(with("normalizer", "strip_accents", "yes"),
                  {"normalizer.strip_accents: expected true or false, got \"yes\""});
  json doc = jina_json();
  doc["normalizer"] = {
      {"type", "Sequence"},
      {"normalizers", {{{"type", "NFD"}}, with("normalizer", "clean_text", 1)["normalizer"]}}};
  expect_rejected(doc, {"normalizer.normalizers[1].clean_text: expected true or false, got 1"});
  doc = jina_json();
  doc["pre_tokenizer"] = {
      {"type", "Sequence"},
      {"pretokenizers", {{{"type", "BertPreTokenizer"}}, {{"type", "Digits"}}}}};
  expect_rejected(doc, {"pre_tokenizer.pretokenizers[1].type: unsupported 'Digits'"});

  // An unk token missing from the vocabulary is an Error only when a word needs it.
  const auto no_unk = testing::load_tokenizer_json(with("model", "unk_token", "[NOPE]"));
  EXPECT_EQ(no_unk->tokenizer->encode("a cat", 0), (Ids{kCls, 146, 229, kSep}));
  testing::expect_error([&] { no_unk->tokenizer->encode("a stra\u00dfe", 0); },
                        {"tokenizer.json: model.unk_token", "\"[NOPE]\" is not in model.vocab"});
  testing::expect_error([&] { jina().encode("caf\xC3", 0); },
                        {"tokenizer.json", "text to tokenize", "invalid UTF-8"});
}

}  // namespace
}  // namespace vlbench
