// tokenizer.json "pre_tokenizer": Metaspace, Whitespace, WhitespaceSplit, BertPreTokenizer, Split,
// Sequence.
#include "text/hf_char_classes.hpp"
#include "text/hf_components.hpp"
#include "text/unicode.hpp"
#include "text/utf8.hpp"

namespace vlbench::text::hf {
namespace {

// Spans of the characters for which `is_delimiter` holds, each its own match (how
// `tokenizers` matches a char or a char predicate).
template <typename F>
std::vector<MatchSpan> char_spans(std::u32string_view chars, F is_delimiter) {
  std::vector<MatchSpan> spans;
  std::size_t previous = 0;
  for (std::size_t i = 0; i < chars.size(); ++i) {
    if (!is_delimiter(chars[i])) continue;
    if (previous < i) spans.push_back({previous, i, false});
    spans.push_back({i, i + 1, true});
    previous = i + 1;
  }
  if (previous < chars.size() || spans.empty()) spans.push_back({previous, chars.size(), false});
  return spans;
}

enum class PrependScheme { always, never, first };

class MetaspacePreTokenizer final : public PreTokenizer {
 public:
  MetaspacePreTokenizer(char32_t replacement, PrependScheme scheme, bool split)
      : replacement_(replacement), scheme_(scheme), split_(split) {}

  void split(const AlignedText& piece, std::vector<AlignedText>& out) const override {
    AlignedText text = piece;
    for (char32_t& c : text.chars) {
      if (c == U' ') c = replacement_;
    }
    const bool starts_with_replacement = !text.empty() && text.chars[0] == replacement_;
    const bool prepend =
        !text.empty() && !starts_with_replacement &&
        (scheme_ == PrependScheme::always || (scheme_ == PrependScheme::first && text.base == 0));
    if (prepend) {
      text.chars.insert(text.chars.begin(), replacement_);
      text.origins.insert(text.origins.begin(), text.origins[0]);
    }
    if (!split_) {
      out.push_back(std::move(text));
      return;
    }
    split_by_spans(text, char_spans(text.chars, [this](char32_t c) { return c == replacement_; }),
                   SplitBehavior::merged_with_next, out);
  }

 private:
  char32_t replacement_;
  PrependScheme scheme_;
  bool split_;
};

// Rust regex \w+|[^\w\s]+, keeping the matches and dropping the rest.
class WhitespacePreTokenizer final : public PreTokenizer {
 public:
  void split(const AlignedText& piece, std::vector<AlignedText>& out) const override {
    const std::u32string& chars = piece.chars;
    std::size_t i = 0;
    while (i < chars.size()) {
      if (is_white_space(chars[i]) && !is_word_char(chars[i])) {
        ++i;
        continue;
      }
      const bool word = is_word_char(chars[i]);
      std::size_t end = i + 1;
      while (end < chars.size() &&
             (word ? is_word_char(chars[end])
                   : !is_word_char(chars[end]) && !is_white_space(chars[end]))) {
        ++end;
      }
      out.push_back(piece.slice(i, end));
      i = end;
    }
  }
};

class WhitespaceSplitPreTokenizer final : public PreTokenizer {
 public:
  void split(const AlignedText& piece, std::vector<AlignedText>& out) const override {
    split_by_spans(piece, char_spans(piece.chars, is_white_space), SplitBehavior::removed, out);
  }
};

// Split on whitespace (removed), then every punctuation character its own piece: "Hey
// friend!?" -> "Hey" "friend" "!" "?".
class BertPreTokenizer final : public PreTokenizer {
 public:
  void split(const AlignedText& piece, std::vector<AlignedText>& out) const override {
    std::vector<AlignedText> words;
    split_by_spans(piece, char_spans(piece.chars, is_white_space), SplitBehavior::removed, words);
    for (const AlignedText& word : words) {
      if (word.empty()) continue;
      split_by_spans(word, char_spans(word.chars, is_bert_punctuation), SplitBehavior::isolated,
                     out);
    }
  }
};

class SplitPreTokenizer final : public PreTokenizer {
 public:
  SplitPreTokenizer(TextPattern pattern, SplitBehavior behavior, bool invert)
      : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}

  void split(const AlignedText& piece, std::vector<AlignedText>& out) const override {
    std::vector<MatchSpan> spans = pattern_.find(piece.chars);
    if (invert_) {
      for (MatchSpan& span : spans) span.is_match = !span.is_match;
    }
    split_by_spans(piece, spans, behavior_, out);
  }

 private:
  TextPattern pattern_;
  SplitBehavior behavior_;
  bool invert_;
};

class SequencePreTokenizer final : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> steps)
      : steps_(std::move(steps)) {}

  void split(const AlignedText& piece, std::vector<AlignedText>& out) const override {
    std::vector<AlignedText> pieces{piece};
    std::vector<AlignedText> next;
    for (const auto& step : steps_) {
      next.clear();
      for (const AlignedText& p : pieces) {
        if (!p.empty()) step->split(p, next);
      }
      pieces.swap(next);
    }
    for (AlignedText& p : pieces) out.push_back(std::move(p));
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

SplitBehavior parse_behavior(const JsonNode& node) {
  const std::string name = node.as_string();
  if (name == "Removed") return SplitBehavior::removed;
  if (name == "Isolated") return SplitBehavior::isolated;
  if (name == "MergedWithPrevious") return SplitBehavior::merged_with_previous;
  if (name == "MergedWithNext") return SplitBehavior::merged_with_next;
  if (name == "Contiguous") return SplitBehavior::contiguous;
  node.fail(
      "unsupported '{}' (supported: Removed, Isolated, MergedWithPrevious, MergedWithNext, "
      "Contiguous)",
      name);
}

std::unique_ptr<PreTokenizer> parse_metaspace(const JsonNode& node) {
  const JsonNode replacement_node = node.at("replacement");
  const std::u32string replacement =
      decode_utf8(replacement_node.as_string(), replacement_node.where());
  if (replacement.size() != 1) replacement_node.fail("expected a single character");
  PrependScheme scheme = PrependScheme::always;
  if (const auto scheme_node = node.find("prepend_scheme")) {
    const std::string name = scheme_node->as_string();
    if (name == "always") {
      scheme = PrependScheme::always;
    } else if (name == "never") {
      scheme = PrependScheme::never;
    } else if (name == "first") {
      scheme = PrependScheme::first;
    } else {
      scheme_node->fail("unsupported '{}' (supported: always, never, first)", name);
    }
  }
  // Files from before prepend_scheme say add_prefix_space; false means never.
  if (const auto legacy = node.find("add_prefix_space")) {
    if (!legacy->as_bool()) scheme = PrependScheme::never;
  }
  return std::make_unique<MetaspacePreTokenizer>(replacement[0], scheme,
                                                 node.get_bool("split", true));
}

}  // namespace

std::unique_ptr<PreTokenizer> parse_pre_tokenizer(const JsonNode& node) {
  if (node.is_null()) return nullptr;
  node.expect_object();
  const JsonNode type_node = node.at("type");
  const std::string type = type_node.as_string();
  if (type == "Metaspace") return parse_metaspace(node);
  if (type == "Whitespace") return std::make_unique<WhitespacePreTokenizer>();
  if (type == "WhitespaceSplit") return std::make_unique<WhitespaceSplitPreTokenizer>();
  if (type == "BertPreTokenizer") return std::make_unique<BertPreTokenizer>();
  if (type == "Split") {
    return std::make_unique<SplitPreTokenizer>(TextPattern::parse(node.at("pattern")),
                                               parse_behavior(node.at("behavior")),
                                               node.get_bool("invert", false));
  }
  if (type == "Sequence") {
    const JsonNode list = node.at("pretokenizers");
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    for (std::size_t i = 0; i < list.size(); ++i) {
      auto step = parse_pre_tokenizer(list[i]);
      if (!step) list[i].fail("expected a pre-tokenizer object, got null");
      steps.push_back(std::move(step));
    }
    return std::make_unique<SequencePreTokenizer>(std::move(steps));
  }
  type_node.fail(
      "unsupported '{}' (supported: Metaspace, Whitespace, WhitespaceSplit, BertPreTokenizer, "
      "Split, Sequence)",
      type);
}

}  // namespace vlbench::text::hf
