// GPT-2 style byte-level BPE as the openai/CLIP reference runs it: the bytes of a pre-token
// mapped to unicode symbols (bytes_to_unicode), "</w>" appended to the last symbol, then the
// lowest-ranked adjacent pair merged everywhere (left to right) until no pair has a rank.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace vlbench::text {

class BytePairEncoder {
 public:
  // `source` names the files the vocabulary came from, for error messages.
  explicit BytePairEncoder(std::string source);

  // A vocabulary entry: `token` (mapped-unicode UTF-8, e.g. "a</w>") has id `id`.
  void add_token(std::string_view token, std::int32_t id);
  // Merge `left` + `right` with priority `rank` (lower first). A pair given twice keeps the
  // later rank, as the reference's dict(zip(merges, range(...))) does.
  void add_merge(std::string_view left, std::string_view right, std::int32_t rank);

  // Id of a vocabulary entry, or -1.
  std::int32_t token_id(std::string_view token) const;

  // Appends the ids of one pre-token given as its raw UTF-8 bytes. A resulting symbol missing
  // from the vocabulary is an Error (the reference raises KeyError there).
  void encode_word(std::string_view bytes, std::vector<std::int32_t>& ids) const;

  // The mapped-unicode symbol (UTF-8) of a byte: GPT-2's bytes_to_unicode.
  static std::string byte_symbol(unsigned char byte);

 private:
  struct Merge {
    std::int32_t rank;
    std::int32_t result;  // symbol index of left + right
  };

  std::int32_t intern(std::string_view symbol);
  static std::uint64_t pair_key(std::int32_t left, std::int32_t right) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(left)) << 32) |
           static_cast<std::uint32_t>(right);
  }

  std::string source_;
  std::unordered_map<std::string, std::int32_t> symbol_index_;
  std::vector<std::string> symbols_;           // symbol index -> text
  std::vector<std::int32_t> symbol_token_id_;  // symbol index -> vocabulary id or -1
  std::unordered_map<std::uint64_t, Merge> merges_;
  std::int32_t byte_symbols_[256];      // symbol index of each byte's symbol
  std::int32_t byte_end_symbols_[256];  // ... and of that symbol + "</w>"
};

}  // namespace vlbench::text
