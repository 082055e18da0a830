// The stages of a Hugging Face tokenizer.json pipeline, as the Rust `tokenizers` library runs
// them: added tokens split out -> normalizer -> pre-tokenizer -> model -> post-processor.
// Each stage is an interface with one implementation per JSON "type"; parse_* build them from
// the file and reject anything unsupported with the JSON path of the offending value.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "text/json_file.hpp"

namespace vlbench::text::hf {

// Text on its way through the pipeline, with where each character came from: the part of
// `tokenizers`' NormalizedString that affects ids. origins[i] is the byte offset in the input of
// the character chars[i] derives from; `base` is the offset where this piece starts in the
// input (Rust's original_shift), which normalisation never moves. Metaspace's
// prepend_scheme "first" needs it.
struct AlignedText {
  std::u32string chars;
  std::vector<std::uint32_t> origins;  // chars.size()
  std::uint32_t base = 0;

  bool empty() const { return chars.empty(); }
  void push(char32_t c, std::uint32_t origin) {
    chars.push_back(c);
    origins.push_back(origin);
  }
  // chars[begin, end) as a new piece starting where its first character came from.
  AlignedText slice(std::size_t begin, std::size_t end) const;
  std::string utf8() const;
};

// The input text as an AlignedText: each character's origin is its own byte offset.
AlignedText aligned_from_utf8(std::u32string_view chars);

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(AlignedText& text) const = 0;
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Appends the parts of `piece` to `out` (empty parts may be appended; the caller drops them).
  virtual void split(const AlignedText& piece, std::vector<AlignedText>& out) const = 0;
};

// The vocabulary model (BPE, WordPiece; Unigram later).
class TokenModel {
 public:
  virtual ~TokenModel() = default;
  // Appends the ids of one pre-tokenized piece (valid UTF-8, not empty).
  virtual void tokenize(std::string_view piece, std::vector<std::int32_t>& ids) const = 0;
  virtual std::optional<std::int32_t> token_to_id(std::string_view token) const = 0;
  // Number of vocabulary entries (Rust's get_vocab_size, used to number added tokens).
  virtual std::int64_t entry_count() const = 0;
  // 1 + the largest id.
  virtual std::int64_t id_bound() const = 0;
};

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  // How many ids process() adds to a single sequence (truncation leaves room for them).
  virtual std::size_t added_count() const = 0;
  virtual void process(std::vector<std::int32_t>& ids) const = 0;
};

// A model's "vocab" object, token -> id, looked up without copying the key.
struct ModelVocab {
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  std::unordered_map<std::string, std::int32_t, Hash, std::equal_to<>> ids;
  std::int64_t id_bound = 0;  // 1 + the largest id

  // Every id must be a non-negative 32-bit integer; errors name the entry.
  static ModelVocab parse(const JsonNode& node);
  std::optional<std::int32_t> find(std::string_view token) const {
    const auto it = ids.find(token);
    if (it == ids.end()) return std::nullopt;
    return it->second;
  }
};

// A null node gives nullptr (no such stage). parse_model dispatches on "type" to one
// make_*_model per model file (hf_bpe.cpp, hf_wordpiece.cpp; Unigram goes beside them).
std::unique_ptr<Normalizer> parse_normalizer(const JsonNode& node);
std::unique_ptr<PreTokenizer> parse_pre_tokenizer(const JsonNode& node);
std::unique_ptr<TokenModel> parse_model(const JsonNode& node);
std::unique_ptr<PostProcessor> parse_post_processor(const JsonNode& node);
std::unique_ptr<TokenModel> make_bpe_model(const JsonNode& node);
std::unique_ptr<TokenModel> make_wordpiece_model(const JsonNode& node);

// How a pattern's matches become pieces (`tokenizers`' SplitDelimiterBehavior), e.g. on '-'
// in "the-final--countdown":
//   removed              "the" "final" "countdown"
//   isolated             "the" "-" "final" "-" "-" "countdown"
//   merged_with_previous "the-" "final-" "-" "countdown"
//   merged_with_next     "the" "-final" "-" "-countdown"
//   contiguous           "the" "-" "final" "--" "countdown"
enum class SplitBehavior { removed, isolated, merged_with_previous, merged_with_next, contiguous };

// A run of characters [begin, end) of a piece; the runs of one piece cover it in order.
struct MatchSpan {
  std::size_t begin = 0;
  std::size_t end = 0;
  bool is_match = false;
};

// Appends the pieces of `text` cut along `spans` as `behavior` says.
void split_by_spans(const AlignedText& text, const std::vector<MatchSpan>& spans,
                    SplitBehavior behavior, std::vector<AlignedText>& out);

// A "pattern" value of Replace / Split: {"String": "..."} or {"Regex": "..."}. Finds the
// leftmost non-overlapping matches as `tokenizers` does (Regex through ICU, which agrees with
// Oniguruma on ordinary patterns).
class TextPattern {
 public:
  static TextPattern parse(const JsonNode& node);
  ~TextPattern();
  TextPattern(TextPattern&&) noexcept;
  TextPattern& operator=(TextPattern&&) noexcept;

  // Spans covering `chars` (a single non-match span for empty input).
  std::vector<MatchSpan> find(std::u32string_view chars) const;

 private:
  TextPattern();
  std::u32string literal_;
  struct Regex;
  std::unique_ptr<Regex> regex_;  // set for {"Regex": ...}
};

}  // namespace vlbench::text::hf
