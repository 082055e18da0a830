// tokenizer.json "model" of type WordPiece, as `tokenizers`' models/wordpiece (mod.rs, 0.22)
// runs it on each pre-tokenized word: a word of more than max_input_chars_per_word characters
// is one unk token; otherwise greedy longest-match-first, left to right: the longest
// vocabulary entry that starts the word, then the longest continuing_subword_prefix + text
// that starts the rest, and so on. When some rest has no such entry the whole word becomes a
// single unk token (none of its pieces are kept). E.g. with "play", "##ful", "##pi":
// "playful" -> play ##ful; "xyz" (no "x") -> [UNK].
#include <algorithm>

#include "text/hf_components.hpp"

namespace vlbench::text::hf {
namespace {

bool is_continuation_byte(char b) {
  return (static_cast<unsigned char>(b) & 0xC0) == 0x80;
}

class WordPieceModel final : public TokenModel {
 public:
  explicit WordPieceModel(const JsonNode& node);

  void tokenize(std::string_view word, std::vector<std::int32_t>& ids) const override;
  std::optional<std::int32_t> token_to_id(std::string_view token) const override {
    return vocab_.find(token);
  }
  std::int64_t entry_count() const override { return static_cast<std::int64_t>(vocab_.ids.size()); }
  std::int64_t id_bound() const override { return vocab_.id_bound; }

 private:
  std::int32_t unk_id() const;

  std::string where_;  // "<file>: model"
  ModelVocab vocab_;
  std::string unk_token_;
  std::string prefix_;           // continuing_subword_prefix ("" = none)
  std::size_t max_chars_ = 0;    // max_input_chars_per_word
  std::size_t longest_key_ = 0;  // bytes of the longest vocabulary entry
};

// The four fields are required, as `tokenizers` requires them; other keys are ignored.
WordPieceModel::WordPieceModel(const JsonNode& node) : where_(node.where()) {
  unk_token_ = node.at("unk_token").as_string();
  prefix_ = node.at("continuing_subword_prefix").as_string();
  const JsonNode max_chars = node.at("max_input_chars_per_word");
  const std::int64_t max_value = max_chars.as_int();
  if (max_value < 0) max_chars.fail("expected a non-negative integer, got {}", max_value);
  max_chars_ = static_cast<std::size_t>(max_value);
  vocab_ = ModelVocab::parse(node.at("vocab"));
  for (const auto& entry : vocab_.ids) longest_key_ = std::max(longest_key_, entry.first.size());
}

std::int32_t WordPieceModel::unk_id() const {
  const auto id = vocab_.find(unk_token_);
  if (!id) fail("{}.unk_token: \"{}\" is not in model.vocab", where_, unk_token_);
  return *id;
}

void WordPieceModel::tokenize(std::string_view word, std::vector<std::int32_t>& ids) const {
  const auto n_chars = static_cast<std::size_t>(
      std::count_if(word.begin(), word.end(), [](char b) { return !is_continuation_byte(b); }));
  if (n_chars > max_chars_) {
    ids.push_back(unk_id());
    return;
  }
  const std::size_t first = ids.size();
  std::string key;
  for (std::size_t start = 0; start < word.size();) {
    const std::string_view prefix = start > 0 ? std::string_view(prefix_) : std::string_view();
    // Longest first, on character boundaries; no entry is longer than longest_key_.
    const std::size_t room = longest_key_ > prefix.size() ? longest_key_ - prefix.size() : 0;
    std::size_t end = std::min(word.size(), start + room);
    while (end > start && end < word.size() && is_continuation_byte(word[end])) --end;
    std::optional<std::int32_t> id;
    while (end > start) {
      key.assign(prefix).append(word.substr(start, end - start));
      id = vocab_.find(key);
      if (id) break;
      do {
        --end;
      } while (end > start && is_continuation_byte(word[end]));
    }
    if (!id) {
      ids.resize(first);
      ids.push_back(unk_id());
      return;
    }
    ids.push_back(*id);
    start = end;
  }
}

}  // namespace

std::unique_ptr<TokenModel> make_wordpiece_model(const JsonNode& node) {
  return std::make_unique<WordPieceModel>(node);
}

}  // namespace vlbench::text::hf
