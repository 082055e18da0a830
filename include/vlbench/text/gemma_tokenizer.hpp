// Gemma's SentencePiece tokenizer (tokenizer.model), run as transformers' slow GemmaTokenizer
// runs it (tokenization_gemma.py on PreTrainedTokenizer), with the SentencePiece library itself
// (libsentencepiece) doing the segmentation. SigLIP 2 and PaliGemma ship this model beside the
// equivalent tokenizer.json; both give the same ids (tests/text/gemma_tokenizer_test.cpp).
//
// encode(text) does, in order:
//   1. the model's control pieces (<pad>, <eos>, <bos>, ...), <unk> and the added tokens of
//      tokenizer_config.json's added_tokens_decoder beyond the SentencePiece vocabulary
//      (PaliGemma's <image>) split out of the
//      text, leftmost-longest, as they are (no strip, no normalization); user-defined pieces
//      (<start_of_turn>, <loc0000>, ...) SentencePiece keeps whole itself;
//   2. every other piece through SentencePiece as the model says (Gemma's: no dummy prefix,
//      identity normalization, byte fallback);
//   3. truncated to max_length minus the special ids added, then <bos> first when
//      tokenizer_config.json's add_bos_token (default true) and <eos> last when add_eos_token
//      (default false).
// Padding is the caller's.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

namespace vlbench {

class GemmaTokenizer {
 public:
  // Reads DIR/tokenizer.model and, when present, DIR/tokenizer_config.json (add_bos_token,
  // add_eos_token, added_tokens_decoder). Errors name the file: missing tokenizer.model, a file
  // SentencePiece cannot load, malformed JSON, a model without <bos> / <eos> that the config
  // asks to add, a malformed added_tokens_decoder entry.
  static GemmaTokenizer from_directory(const std::filesystem::path& dir);
  GemmaTokenizer(GemmaTokenizer&&) noexcept;
  GemmaTokenizer& operator=(GemmaTokenizer&&) noexcept;
  ~GemmaTokenizer();

  // Ids of one UTF-8 text with the configured <bos> / <eos> (none when add_special_tokens is
  // false, as a processor that sets add_bos_token = False), not padded: at most max_length ids
  // when max_length > 0 (an Error when it is below the number of special ids), no
  // truncation when 0; negative is an Error. Invalid UTF-8 is an Error. Thread-safe.
  std::vector<std::int32_t> encode(std::string_view text, int max_length,
                                   bool add_special_tokens = true) const;

  // The id of a piece of the model.
  std::optional<std::int32_t> piece_to_id(std::string_view piece) const;
  std::int64_t vocab_size() const;

 private:
  struct Impl;
  explicit GemmaTokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vlbench
