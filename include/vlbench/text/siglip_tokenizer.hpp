// SigLIP's SentencePiece tokenizer, exactly as transformers' slow SiglipTokenizer
// (tokenization_siglip.py on PreTrainedTokenizer) runs it over the checkpoint's spiece.model,
// with the SentencePiece library itself (libsentencepiece) doing the segmentation.
//
// encode(text) does, in order:
//   1. text = "▁" + text with every "▁" (U+2581) replaced by " ";
//   2. do_lower_case: Python's str.lower() one character at a time (so U+03A3 always becomes
//      σ, never the final ς), the special tokens' own text left as is;
//   3. the added tokens (eos, unk, pad and tokenizer_config.json's added_tokens_decoder) split
//      out, leftmost-longest; lstrip / rstrip strip the whitespace of the neighbouring text;
//   4. each other piece: ASCII punctuation (Python's string.punctuation) deleted, runs of
//      whitespace (Python's \s) made one " ", stripped; then SentencePiece, with the model's
//      add_dummy_prefix forced off, encodes "<unk>" + piece and the pieces of "<unk>" alone are
//      dropped from the front;
//   5. a leading "▁" piece right before a special token dropped; pieces -> ids (added tokens
//      by their id, others by SentencePiece's piece_to_id, unknown ones -> unk);
//   6. truncated to max_length - 1 ids, then eos appended unless the last id already is eos.
// Padding is the caller's: SigLIP pads with pad_id() to the model's 64 positions and passes
// no attention mask.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string_view>
#include <vector>

namespace vlbench {

class SiglipTokenizer {
 public:
  // Reads DIR/spiece.model and, when present, DIR/tokenizer_config.json (do_lower_case,
  // default true; added_tokens_decoder) and DIR/special_tokens_map.json. The eos / pad / unk
  // token strings come from special_tokens_map.json, else tokenizer_config.json, else the
  // defaults "</s>", "</s>", "<unk>" (transformers lets special_tokens_map.json win).
  // Errors name the file: missing spiece.model, a file SentencePiece cannot load, malformed
  // JSON, a special token that is not in the vocabulary.
  static SiglipTokenizer from_directory(const std::filesystem::path& dir);

  SiglipTokenizer(SiglipTokenizer&&) noexcept;
  SiglipTokenizer& operator=(SiglipTokenizer&&) noexcept;
  ~SiglipTokenizer();

  // Ids of one UTF-8 caption, eos last, not padded: at most max_length ids when
  // max_length > 0 (max_length == 1 gives [eos]; transformers would not truncate at all
  // there), no truncation when 0; negative is an Error. An empty or punctuation-only caption
  // gives [eos]. Invalid UTF-8 is an Error. Safe to call from several threads at once.
  std::vector<std::int32_t> encode(std::string_view text, int max_length) const;

  std::int32_t pad_id() const;
  std::int32_t eos_id() const;
  std::int32_t unk_id() const;
  // Number of SentencePiece pieces (ids are 0 .. vocab_size() - 1).
  std::int64_t vocab_size() const;

 private:
  struct Impl;
  explicit SiglipTokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vlbench
