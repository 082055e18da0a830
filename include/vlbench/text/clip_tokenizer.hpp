// CLIP's byte-level BPE tokenizer, read from a checkpoint's own files.
//
// encode() does exactly what the openai/CLIP reference does (ftfy replaced by NFC
// normalisation, as transformers' CLIPTokenizer does without ftfy): NFC, html.unescape twice,
// whitespace runs collapsed to one space and stripped, lower-cased; split with CLIP's
// pre-tokenizer pattern; bytes mapped to unicode (GPT-2's table); "</w>" appended to each
// word's last symbol; merges applied by rank; then <|startoftext|> ... <|endoftext|>,
// truncated to the context length keeping <|endoftext|> last.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string_view>
#include <vector>

namespace vlbench {

class ClipTokenizer {
 public:
  // Which text in a caption stands for the start and end tokens (the ids are the vocabulary's
  // "<|startoftext|>" and "<|endoftext|>" either way): openai/CLIP's and transformers'
  // "<|startoftext|>" / "<|endoftext|>", or open_clip's "<start_of_text>" / "<end_of_text>"
  // (a literal "<|startoftext|>" is then ordinary BPE pieces, as in open_clip).
  enum class Specials { openai, open_clip };

  // Reads DIR/vocab.json + DIR/merges.txt, or DIR/tokenizer.json when those are absent.
  // Errors name the file (and line for merges.txt).
  static ClipTokenizer from_directory(const std::filesystem::path& dir,
                                      Specials specials = Specials::openai);

  ClipTokenizer(ClipTokenizer&&) noexcept;
  ClipTokenizer& operator=(ClipTokenizer&&) noexcept;
  ~ClipTokenizer();

  // Token ids of one UTF-8 caption: [bos, ..., eos], at most context_length ids (>= 2).
  // Invalid UTF-8 is an Error. Safe to call from several threads at once.
  std::vector<std::int32_t> encode(std::string_view text, int context_length) const;

  std::int32_t bos_id() const;
  std::int32_t eos_id() const;
  std::int64_t vocab_size() const;

 private:
  struct Impl;
  explicit ClipTokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vlbench
