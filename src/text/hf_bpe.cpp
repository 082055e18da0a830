// tokenizer.json "model" of type BPE, as `tokenizers`' models/bpe (model.rs, word.rs) runs it:
// each character of a piece looked up alone (with continuing_subword_prefix after the first and
// end_of_word_suffix on the last), unknown ones as <0xNN> byte tokens (byte_fallback) or the
// unk token (fused into one when fuse_unk), then the adjacent pair with the lowest merge rank
// merged first (ties: leftmost), until no adjacent pair has a merge.
#include <array>
#include <limits>
#include <queue>
#include <unordered_map>

#include "text/hf_components.hpp"

namespace vlbench::text::hf {
namespace {

std::size_t utf8_length(unsigned char lead) {
  return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
}

class BpeModel final : public TokenModel {
 public:
  explicit BpeModel(const JsonNode& node);

  void tokenize(std::string_view piece, std::vector<std::int32_t>& ids) const override;
  std::optional<std::int32_t> token_to_id(std::string_view token) const override {
    return vocab_.find(token);
  }
  std::int64_t entry_count() const override { return static_cast<std::int64_t>(vocab_.ids.size()); }
  std::int64_t id_bound() const override { return vocab_.id_bound; }

 private:
  struct Merge {
    std::int32_t rank;
    std::int32_t new_id;
  };
  struct Symbol {
    std::int32_t id;
    std::int32_t prev;
    std::int32_t next;
    std::size_t length;  // bytes of the piece it covers; 0 once merged into its left neighbour
  };

  static std::uint64_t pair_key(std::int32_t left, std::int32_t right) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(left)) << 32) |
           static_cast<std::uint32_t>(right);
  }
  const Merge* find_merge(std::int32_t left, std::int32_t right) const {
    const auto it = merges_.find(pair_key(left, right));
    return it == merges_.end() ? nullptr : &it->second;
  }
  std::int32_t unk_id() const;
  void merge_all(std::vector<Symbol>& symbols) const;

  std::string where_;  // "<file>: model"
  ModelVocab vocab_;
  std::unordered_map<std::uint64_t, Merge> merges_;
  std::optional<std::string> unk_token_;
  std::string prefix_;  // continuing_subword_prefix ("" = none)
  std::string suffix_;  // end_of_word_suffix ("" = none)
  bool fuse_unk_ = false;
  bool byte_fallback_ = false;
  bool ignore_merges_ = false;
  std::array<std::int32_t, 256> byte_ids_{};  // id of "<0xNN>", or -1
};

BpeModel::BpeModel(const JsonNode& node) : where_(node.where()) {
  if (const auto dropout = node.find("dropout")) {
    // `tokenizers` samples merges at random for a dropout in (0, 1]; 0 means none.
    if (dropout->as_number() != 0.0) {
      dropout->fail("BPE dropout {} is not supported (randomised merges); expected null",
                    json_excerpt(dropout->value()));
    }
  }
  unk_token_ = node.get_string("unk_token");
  prefix_ = node.get_string("continuing_subword_prefix").value_or("");
  suffix_ = node.get_string("end_of_word_suffix").value_or("");
  fuse_unk_ = node.get_bool("fuse_unk", false);
  byte_fallback_ = node.get_bool("byte_fallback", false);
  ignore_merges_ = node.get_bool("ignore_merges", false);

  vocab_ = ModelVocab::parse(node.at("vocab"));
  for (int b = 0; b < 256; ++b) {
    const auto id = token_to_id(fmt::format("<0x{:02X}>", b));
    byte_ids_[static_cast<std::size_t>(b)] = id ? *id : -1;
  }

  const JsonNode merges = node.at("merges");
  merges.expect_array();
  merges_.reserve(merges.size());
  std::int32_t rank = 0;
  for (std::size_t i = 0; i < merges.size(); ++i) {
    const JsonNode entry = merges[i];
    std::string left;
    std::string right;
    if (entry.value().is_string()) {
      const std::string line = entry.as_string();
      if (line.rfind("#version", 0) == 0) continue;  // a merges.txt header kept in the file
      const std::size_t space = line.find(' ');
      if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos) {
        entry.fail("expected \"LEFT RIGHT\" (one space), got {}", json_excerpt(entry.value()));
      }
      left = line.substr(0, space);
      right = line.substr(space + 1);
    } else if (entry.value().is_array() && entry.value().size() == 2 &&
               entry.value()[0].is_string() && entry.value()[1].is_string()) {
      left = entry.value()[0].get<std::string>();
      right = entry.value()[1].get<std::string>();
    } else {
      entry.fail("expected \"LEFT RIGHT\" or [\"LEFT\", \"RIGHT\"], got {}",
                 json_excerpt(entry.value()));
    }
    const auto left_id = token_to_id(left);
    const auto right_id = token_to_id(right);
    if (!left_id) entry.fail("\"{}\" is not in model.vocab", left);
    if (!right_id) entry.fail("\"{}\" is not in model.vocab", right);
    // The merged token drops the right part's continuing_subword_prefix.
    if (prefix_.size() > right.size() ||
        (prefix_.size() < right.size() &&
         (static_cast<unsigned char>(right[prefix_.size()]) & 0xC0) == 0x80)) {
      entry.fail("\"{}\" is shorter than continuing_subword_prefix \"{}\"", right, prefix_);
    }
    const std::string merged = left + right.substr(prefix_.size());
    const auto new_id = token_to_id(merged);
    if (!new_id) entry.fail("the merged token \"{}\" is not in model.vocab", merged);
    merges_[pair_key(*left_id, *right_id)] = Merge{rank, *new_id};  // a repeated pair: last wins
    ++rank;
  }
}

std::int32_t BpeModel::unk_id() const {
  const auto id = token_to_id(*unk_token_);
  if (!id) fail("{}.unk_token: \"{}\" is not in model.vocab", where_, *unk_token_);
  return *id;
}

void BpeModel::tokenize(std::string_view piece, std::vector<std::int32_t>& ids) const {
  if (piece.empty()) return;
  if (ignore_merges_) {
    if (const auto id = token_to_id(piece)) {
      ids.push_back(*id);
      return;
    }
  }
  std::vector<Symbol> symbols;
  symbols.reserve(piece.size());
  const auto add = [&symbols](std::int32_t id, std::size_t length) {
    const auto n = static_cast<std::int32_t>(symbols.size());
    if (n > 0) symbols.back().next = n;
    symbols.push_back(Symbol{id, n - 1, -1, length});
  };
  // An unknown run waiting to be emitted (fuse_unk joins consecutive ones).
  bool unk_pending = false;
  std::int32_t unk_token_id = 0;
  std::size_t unk_length = 0;
  std::string key;
  for (std::size_t i = 0; i < piece.size();) {
    const std::size_t length = utf8_length(static_cast<unsigned char>(piece[i]));
    const bool is_first = i == 0;
    const bool is_last = i + length >= piece.size();
    key.clear();
    if (!is_first) key += prefix_;
    key.append(piece.substr(i, length));
    if (is_last) key += suffix_;
    i += length;

    if (const auto id = vocab_.find(key)) {
      if (unk_pending) add(unk_token_id, unk_length);
      unk_pending = false;
      add(*id, length);
      continue;
    }
    if (byte_fallback_) {
      bool all_bytes = true;
      for (char b : key) all_bytes = all_bytes && byte_ids_[static_cast<unsigned char>(b)] >= 0;
      if (all_bytes) {
        // As `tokenizers` does, a pending unknown run is not flushed here.
        for (char b : key) add(byte_ids_[static_cast<unsigned char>(b)], 1);
        continue;
      }
    }
    if (unk_token_) {
      if (unk_pending && fuse_unk_) {
        unk_length += length;
      } else {
        if (unk_pending) add(unk_token_id, unk_length);
        unk_pending = true;
        unk_token_id = unk_id();
        unk_length = length;
      }
    }
    // No unk token: the character is dropped, as `tokenizers` drops it.
  }
  if (unk_pending) add(unk_token_id, unk_length);

  merge_all(symbols);
  for (const Symbol& s : symbols) {
    if (s.length != 0) ids.push_back(s.id);
  }
}

void BpeModel::merge_all(std::vector<Symbol>& symbols) const {
  struct Candidate {
    std::int32_t rank;
    std::int32_t pos;
    std::int32_t new_id;
  };
  // Lowest rank first, then leftmost.
  const auto later = [](const Candidate& a, const Candidate& b) {
    return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
  };
  std::priority_queue<Candidate, std::vector<Candidate>, decltype(later)> queue(later);
  for (std::size_t i = 0; i + 1 < symbols.size(); ++i) {
    if (const Merge* m = find_merge(symbols[i].id, symbols[i + 1].id)) {
      queue.push({m->rank, static_cast<std::int32_t>(i), m->new_id});
    }
  }
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& current = symbols[static_cast<std::size_t>(top.pos)];
    if (current.length == 0 || current.next == -1) continue;
    const std::int32_t next_pos = current.next;
    const Symbol right = symbols[static_cast<std::size_t>(next_pos)];
    // Skip entries made stale by an earlier merge at this position.
    const Merge* still = find_merge(current.id, right.id);
    if (still == nullptr || still->new_id != top.new_id) continue;

    current.id = top.new_id;
    current.length += right.length;
    current.next = right.next;
    symbols[static_cast<std::size_t>(next_pos)].length = 0;
    if (right.next >= 0) symbols[static_cast<std::size_t>(right.next)].prev = top.pos;

    if (current.prev >= 0) {
      if (const Merge* m =
              find_merge(symbols[static_cast<std::size_t>(current.prev)].id, current.id)) {
        queue.push({m->rank, current.prev, m->new_id});
      }
    }
    if (current.next >= 0) {
      if (const Merge* m =
              find_merge(current.id, symbols[static_cast<std::size_t>(current.next)].id)) {
        queue.push({m->rank, top.pos, m->new_id});
      }
    }
  }
}

}  // namespace

std::unique_ptr<TokenModel> make_bpe_model(const JsonNode& node) {
  return std::make_unique<BpeModel>(node);
}

}  // namespace vlbench::text::hf
