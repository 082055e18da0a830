#include "text/byte_pair_encoder.hpp"

#include <limits>
#include <utility>

#include "text/utf8.hpp"
#include "vlbench/core/error.hpp"

namespace vlbench::text {

std::string BytePairEncoder::byte_symbol(unsigned char byte) {
  // Printable Latin-1 bytes ('!'..'~', U+00A1..U+00AC, U+00AE..U+00FF) map to themselves; the
  // other 68, in byte order, to U+0100, U+0101, ...
  const auto printable = [](unsigned b) {
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
  };
  char32_t c = byte;
  if (!printable(byte)) {
    char32_t n = 0;
    for (unsigned b = 0; b < byte; ++b) n += printable(b) ? 0 : 1;
    c = 0x100 + n;
  }
  std::string out;
  append_utf8(c, out);
  return out;
}

BytePairEncoder::BytePairEncoder(std::string source) : source_(std::move(source)) {
  for (unsigned b = 0; b < 256; ++b) {
    const std::string symbol = byte_symbol(static_cast<unsigned char>(b));
    byte_symbols_[b] = intern(symbol);
    byte_end_symbols_[b] = intern(symbol + "</w>");
  }
}

std::int32_t BytePairEncoder::intern(std::string_view symbol) {
  auto [it, inserted] =
      symbol_index_.try_emplace(std::string(symbol), static_cast<std::int32_t>(symbols_.size()));
  if (inserted) {
    VLB_ASSERT(symbols_.size() < static_cast<std::size_t>(std::numeric_limits<int32_t>::max()));
    symbols_.emplace_back(symbol);
    symbol_token_id_.push_back(-1);
  }
  return it->second;
}

void BytePairEncoder::add_token(std::string_view token, std::int32_t id) {
  symbol_token_id_[static_cast<std::size_t>(intern(token))] = id;
}

void BytePairEncoder::add_merge(std::string_view left, std::string_view right, std::int32_t rank) {
  const std::int32_t l = intern(left);
  const std::int32_t r = intern(right);
  std::string joined;
  joined.reserve(left.size() + right.size());
  joined.append(left).append(right);
  const std::int32_t result = intern(joined);
  merges_[pair_key(l, r)] = Merge{rank, result};
}

std::int32_t BytePairEncoder::token_id(std::string_view token) const {
  const auto it = symbol_index_.find(std::string(token));
  return it == symbol_index_.end() ? -1 : symbol_token_id_[static_cast<std::size_t>(it->second)];
}

void BytePairEncoder::encode_word(std::string_view bytes, std::vector<std::int32_t>& ids) const {
  VLB_ASSERT(!bytes.empty());
  // word: symbol indices, [n_symbols]
  std::vector<std::int32_t> word;
  word.reserve(bytes.size());
  for (std::size_t i = 0; i + 1 < bytes.size(); ++i) {
    word.push_back(byte_symbols_[static_cast<unsigned char>(bytes[i])]);
  }
  word.push_back(byte_end_symbols_[static_cast<unsigned char>(bytes.back())]);

  std::vector<std::int32_t> merged;
  merged.reserve(word.size());
  while (word.size() > 1) {
    // The adjacent pair with the lowest rank; one rank belongs to one pair.
    const Merge* best = nullptr;
    std::int32_t best_left = 0, best_right = 0;
    for (std::size_t i = 0; i + 1 < word.size(); ++i) {
      const auto it = merges_.find(pair_key(word[i], word[i + 1]));
      if (it != merges_.end() && (best == nullptr || it->second.rank < best->rank)) {
        best = &it->second;
        best_left = word[i];
        best_right = word[i + 1];
      }
    }
    if (best == nullptr) break;
    merged.clear();
    for (std::size_t i = 0; i < word.size();) {
      if (i + 1 < word.size() && word[i] == best_left && word[i + 1] == best_right) {
        merged.push_back(best->result);
        i += 2;
      } else {
        merged.push_back(word[i]);
        i += 1;
      }
    }
    word.swap(merged);
  }
  for (std::int32_t symbol : word) {
    const std::int32_t id = symbol_token_id_[static_cast<std::size_t>(symbol)];
    if (id < 0) {
      fail("{}: BPE token \"{}\" (of the text piece \"{}\") is not in the vocabulary", source_,
           symbols_[static_cast<std::size_t>(symbol)], bytes);
    }
    ids.push_back(id);
  }
}

}  // namespace vlbench::text
