// A Hugging Face tokenizer.json, run the way the Rust `tokenizers` library (0.22) runs it (what
// transformers' "fast" tokenizers call), for one text at a time:
//   1. added tokens ("added_tokens") split out of the text: leftmost-longest match, those with
//      normalized=false in the raw text first, the others in the normalised remainder;
//      lstrip / rstrip swallow the whitespace beside the token, single_word matches only where
//      no word character touches it;
//   2. normalizer on each remaining piece: Replace (String or Regex pattern), Lowercase (per
//      character), NFC / NFD / NFKC / NFKD, Prepend, Strip, StripAccents (combining marks),
//      BertNormalizer (clean_text: control characters, U+0000 and U+FFFD removed, whitespace
//      to ' '; handle_chinese_chars: spaces around CJK ideographs; strip_accents: NFD, then
//      nonspacing marks removed, null = as lowercase; lowercase), Sequence, or null;
//   3. pre_tokenizer: Metaspace, Whitespace, WhitespaceSplit, BertPreTokenizer (split on
//      whitespace, every punctuation character its own piece), Split, Sequence, or null;
//   4. model: BPE (vocab, merges as "a b" strings or ["a", "b"] pairs, unk_token, fuse_unk,
//      byte_fallback to <0xNN> tokens, continuing_subword_prefix, end_of_word_suffix,
//      ignore_merges; dropout must be null) or WordPiece (vocab, unk_token,
//      continuing_subword_prefix, max_input_chars_per_word: greedy longest-match-first per
//      word; a longer word, or one with a part that matches nothing, is a single unk token);
//   5. truncation (see encode), then post_processor: TemplateProcessing (single-sequence
//      template), BertProcessing, RobertaProcessing, or null.
// The file's own "truncation" and "padding" are ignored (transformers overrides them on every
// call); "decoder" is not read. Anything else is an Error naming the file and the JSON path,
// e.g. "<dir>/tokenizer.json: normalizer.normalizers[1].type: unsupported 'Precompiled' ...".
// Regex patterns are compiled with ICU (`tokenizers` uses Oniguruma; ordinary patterns agree).
// Character classes follow the library's own Unicode tables: BertNormalizer and
// BertPreTokenizer use Unicode 8.0 categories, StripAccents Unicode 9.0 ones (a character
// assigned later is neither punctuation, control nor mark there). Normalisation forms and case
// mappings come from ICU (Unicode 15.0 on Debian 12); the library's are Unicode 9.0 and the
// Rust standard library's, so they can differ only for characters assigned after 9.0 (e.g.
// the library's NFKC keeps U+1FBF5 and its NFD keeps U+11938).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

namespace vlbench {

class HfTokenizer {
 public:
  // Errors name the file: missing or unreadable file, malformed JSON (with the line), "version"
  // other than "1.0", unsupported or malformed components (with the JSON path), merges whose
  // tokens are not in the vocabulary.
  static HfTokenizer from_file(const std::filesystem::path& tokenizer_json);

  HfTokenizer(HfTokenizer&&) noexcept;
  HfTokenizer& operator=(HfTokenizer&&) noexcept;
  ~HfTokenizer();

  // Token ids of one UTF-8 text, special tokens of the post-processor included, not padded.
  // max_length > 0 truncates as transformers' fast tokenizer with truncation=True,
  // max_length=N: the ids before post-processing are cut to N minus the post-processor's added
  // tokens, so the result has at most N ids and e.g. a template's trailing <eos> stays last
  // (an Error when N is below that count). max_length == 0: no truncation. Negative: Error.
  // Invalid UTF-8 is an Error. Safe to call from several threads at once. add_special_tokens
  // false skips the post-processor (the tokenizers library's add_special_tokens=False).
  std::vector<std::int32_t> encode(std::string_view text, int max_length,
                                   bool add_special_tokens = true) const;

  // The id of an added token or vocabulary entry.
  std::optional<std::int32_t> token_to_id(std::string_view token) const;
  // 1 + the largest id of the vocabulary and the added tokens.
  std::int64_t vocab_size() const;

 private:
  struct Impl;
  explicit HfTokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vlbench
