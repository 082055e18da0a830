// tokenizer.json "added_tokens": tokens matched in the text before anything else, as
// `tokenizers`' AddedVocabulary (tokenizer/added_vocabulary.rs) does it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "text/hf_components.hpp"

namespace vlbench::text::hf {

struct AddedToken {
  std::string content;
  bool single_word = false;  // match only where no word character (\w) touches it
  bool lstrip = false;       // swallow the whitespace on its left
  bool rstrip = false;       // ... and on its right
  bool normalized = true;    // match in the normalised text (else in the raw text)
  bool special = false;

  bool operator==(const AddedToken&) const = default;
};

// A piece of the text after added tokens were split out: either an added token's id, or text
// (already normalised) for the pre-tokenizer and model.
struct TextSplit {
  AlignedText text;
  std::optional<std::int32_t> token;
};

class AddedVocabulary {
 public:
  // Adds one token the way `tokenizers` loads "added_tokens" (in file order): its id is the
  // model's id for that content if it has one, else the next free id after the model's entries
  // and the added tokens so far. An empty or already added (identical) token is ignored.
  void add(const AddedToken& token, const TokenModel& model);
  // Builds the matchers once every token is added; normalised tokens are matched by their
  // content passed through `normalizer` (may be null).
  void finalize(const Normalizer* normalizer);

  // The id of an added token (not of other vocabulary entries).
  std::optional<std::int32_t> find(std::string_view content) const;
  std::int64_t id_bound() const { return id_bound_; }

  // extract_and_normalize: non-normalised tokens split out of the raw text, then each
  // remaining piece normalised and normalised tokens split out of it. Empty pieces are dropped.
  std::vector<TextSplit> extract_and_normalize(const AlignedText& text,
                                               const Normalizer* normalizer) const;

 private:
  // Leftmost-longest matching of a set of patterns (the aho-corasick MatchKind of `tokenizers`).
  struct MatchSet {
    std::vector<std::u32string> patterns;
    std::vector<std::int32_t> ids;
    // First character -> pattern indices, longest first.
    std::unordered_map<char32_t, std::vector<std::size_t>> by_first_char;
    void build();
  };

  void split(const AlignedText& text, const MatchSet& set, std::vector<TextSplit>& out) const;

  std::unordered_map<std::string, std::int32_t> ids_;    // content -> id
  std::unordered_map<std::int32_t, AddedToken> tokens_;  // id -> token (its flags)
  std::vector<AddedToken> special_tokens_;               // in the order added
  std::vector<AddedToken> classic_tokens_;
  std::vector<std::string> special_contents_;
  MatchSet raw_set_;
  MatchSet normalized_set_;
  std::int64_t id_bound_ = 0;
};

}  // namespace vlbench::text::hf
