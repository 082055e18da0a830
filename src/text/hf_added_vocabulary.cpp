#include "text/hf_added_vocabulary.hpp"

#include <algorithm>

#include "text/unicode.hpp"
#include "text/utf8.hpp"

namespace vlbench::text::hf {

void AddedVocabulary::add(const AddedToken& token, const TokenModel& model) {
  if (token.special && !token.content.empty() &&
      std::find(special_contents_.begin(), special_contents_.end(), token.content) ==
          special_contents_.end()) {
    special_tokens_.push_back(token);
    special_contents_.push_back(token.content);
  }
  if (token.content.empty()) return;
  for (const auto& [id, existing] : tokens_) {
    if (existing == token) return;
  }
  std::int32_t id = 0;
  if (const auto known = find(token.content)) {
    id = *known;
  } else if (const auto in_model = model.token_to_id(token.content)) {
    id = *in_model;
  } else {
    // After the model's entries, or after the largest added id when that is past them.
    const auto entries = static_cast<std::int32_t>(model.entry_count());
    std::optional<std::int32_t> max_added;
    for (const auto& [content, added_id] : ids_) {
      max_added = std::max(max_added.value_or(added_id), added_id);
    }
    id = !max_added ? entries : (*max_added >= entries || entries == 0) ? *max_added + 1 : entries;
  }
  ids_[token.content] = id;
  tokens_[id] = token;
  if (std::find(special_contents_.begin(), special_contents_.end(), token.content) ==
      special_contents_.end()) {
    classic_tokens_.push_back(token);
  }
  id_bound_ = std::max<std::int64_t>(id_bound_, std::int64_t{id} + 1);
}

void AddedVocabulary::MatchSet::build() {
  by_first_char.clear();
  for (std::size_t i = 0; i < patterns.size(); ++i) {
    if (!patterns[i].empty()) by_first_char[patterns[i][0]].push_back(i);
  }
  for (auto& [c, list] : by_first_char) {
    std::stable_sort(list.begin(), list.end(), [this](std::size_t a, std::size_t b) {
      return patterns[a].size() > patterns[b].size();
    });
  }
}

void AddedVocabulary::finalize(const Normalizer* normalizer) {
  raw_set_ = {};
  normalized_set_ = {};
  const auto add_pattern = [&](const AddedToken& token) {
    const std::int32_t id = ids_.at(token.content);
    const std::u32string content = decode_utf8(token.content, "added token");
    if (!token.normalized) {
      raw_set_.patterns.push_back(content);
      raw_set_.ids.push_back(id);
      return;
    }
    AlignedText text = aligned_from_utf8(content);
    if (normalizer != nullptr) normalizer->normalize(text);
    normalized_set_.patterns.push_back(std::move(text.chars));
    normalized_set_.ids.push_back(id);
  };
  for (const AddedToken& token : special_tokens_) add_pattern(token);
  for (const AddedToken& token : classic_tokens_) add_pattern(token);
  raw_set_.build();
  normalized_set_.build();
}

std::optional<std::int32_t> AddedVocabulary::find(std::string_view content) const {
  if (const auto it = ids_.find(std::string(content)); it != ids_.end()) return it->second;
  return std::nullopt;
}

void AddedVocabulary::split(const AlignedText& text, const MatchSet& set,
                            std::vector<TextSplit>& out) const {
  const std::u32string& s = text.chars;
  const std::size_t n = s.size();
  const auto emit_text = [&](std::size_t begin, std::size_t end) {
    if (begin < end) out.push_back({text.slice(begin, end), std::nullopt});
  };
  std::size_t start_offset = 0;  // end of the last split emitted
  std::size_t pos = 0;           // where the next match may start
  while (pos < n) {
    // The leftmost position where some pattern matches, and the longest pattern there.
    std::size_t match_begin = n;
    std::size_t pattern = 0;
    for (std::size_t i = pos; i < n && match_begin == n; ++i) {
      const auto bucket = set.by_first_char.find(s[i]);
      if (bucket == set.by_first_char.end()) continue;
      for (std::size_t p : bucket->second) {
        const std::u32string& candidate = set.patterns[p];
        if (s.compare(i, candidate.size(), candidate) == 0) {
          match_begin = i;
          pattern = p;
          break;
        }
      }
    }
    if (match_begin == n) break;
    std::size_t begin = match_begin;
    std::size_t end = match_begin + set.patterns[pattern].size();
    pos = end;
    const std::int32_t id = set.ids[pattern];
    const AddedToken& token = tokens_.at(id);
    if (token.single_word) {
      const bool space_before = begin == 0 || !is_word_char(s[begin - 1]);
      const bool space_after = end == n || !is_word_char(s[end]);
      if (!space_before || !space_after) continue;
    }
    if (token.lstrip) {
      std::size_t new_begin = begin;
      while (new_begin > 0 && is_white_space(s[new_begin - 1])) --new_begin;
      begin = std::max(new_begin, start_offset);  // spaces a previous match took stay its
    }
    if (token.rstrip) {
      while (end < n && is_white_space(s[end])) ++end;
    }
    emit_text(start_offset, begin);
    out.push_back({text.slice(begin, end), id});
    start_offset = end;  // the search itself goes on after the match, not after the stripping
  }
  emit_text(start_offset, n);
}

std::vector<TextSplit> AddedVocabulary::extract_and_normalize(const AlignedText& text,
                                                              const Normalizer* normalizer) const {
  std::vector<TextSplit> raw_splits;
  split(text, raw_set_, raw_splits);
  std::vector<TextSplit> splits;
  for (TextSplit& piece : raw_splits) {
    if (piece.token) {
      splits.push_back(std::move(piece));
      continue;
    }
    if (normalizer != nullptr) normalizer->normalize(piece.text);
    split(piece.text, normalized_set_, splits);
  }
  return splits;
}

}  // namespace vlbench::text::hf
