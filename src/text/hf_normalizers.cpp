// tokenizer.json "normalizer": Replace, Lowercase, NFC/NFD/NFKC/NFKD, Prepend, Strip,
// StripAccents, BertNormalizer, Sequence. Each keeps AlignedText's origins the way `tokenizers`
// keeps its alignments: a replaced character's successors inherit its origin, inserted ones that of
// the character before them.
#include <algorithm>

#include "text/hf_char_classes.hpp"
#include "text/hf_components.hpp"
#include "text/unicode.hpp"
#include "text/utf8.hpp"

namespace vlbench::text::hf {
namespace {

class ReplaceNormalizer final : public Normalizer {
 public:
  ReplaceNormalizer(TextPattern pattern, std::u32string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}

  void normalize(AlignedText& text) const override {
    const std::vector<MatchSpan> spans = pattern_.find(text.chars);
    if (spans.size() == 1 && !spans[0].is_match) return;
    AlignedText out;
    out.base = text.base;
    for (const MatchSpan& span : spans) {
      if (!span.is_match) {
        for (std::size_t i = span.begin; i < span.end; ++i)
          out.push(text.chars[i], text.origins[i]);
        continue;
      }
      // The new characters follow the last replaced one (or the piece's start for an empty
      // match at the front).
      const std::uint32_t origin = span.end > 0 ? text.origins[span.end - 1] : text.base;
      for (char32_t c : content_) out.push(c, origin);
    }
    text = std::move(out);
  }

 private:
  TextPattern pattern_;
  std::u32string content_;
};

class LowercaseNormalizer final : public Normalizer {
 public:
  void normalize(AlignedText& text) const override {
    AlignedText out;
    out.base = text.base;
    out.chars.reserve(text.chars.size());
    out.origins.reserve(text.chars.size());
    for (std::size_t i = 0; i < text.chars.size(); ++i) {
      const std::size_t before = out.chars.size();
      append_lower_char(text.chars[i], out.chars);  // char::to_lowercase, one char at a time
      out.origins.resize(out.chars.size(), text.origins[i]);
      VLB_ASSERT(out.chars.size() > before);
    }
    text = std::move(out);
  }
};

class UnicodeNormalizer final : public Normalizer {
 public:
  explicit UnicodeNormalizer(NormalForm form) : form_(form) {}

  void normalize(AlignedText& text) const override {
    if (is_normalized(text.chars, form_)) return;
    // Normalise segment by segment between normalisation boundaries (equal to normalising
    // the whole), so each output character can take the origin of its segment's start.
    AlignedText out;
    out.base = text.base;
    const std::size_t n = text.chars.size();
    std::size_t begin = 0;
    while (begin < n) {
      std::size_t end = begin + 1;
      while (end < n && !has_boundary_before(text.chars[end], form_)) ++end;
      const std::u32string segment =
          text::normalize(std::u32string_view(text.chars).substr(begin, end - begin), form_);
      for (char32_t c : segment) out.push(c, text.origins[begin]);
      begin = end;
    }
    text = std::move(out);
  }

 private:
  NormalForm form_;
};

class PrependNormalizer final : public Normalizer {
 public:
  explicit PrependNormalizer(std::u32string prefix) : prefix_(std::move(prefix)) {}

  void normalize(AlignedText& text) const override {
    if (text.empty()) return;  // `tokenizers` prepends only to non-empty text
    const std::uint32_t origin = text.origins[0];
    text.chars.insert(0, prefix_);
    text.origins.insert(text.origins.begin(), prefix_.size(), origin);
  }

 private:
  std::u32string prefix_;
};

class StripNormalizer final : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}

  void normalize(AlignedText& text) const override {
    std::size_t begin = 0;
    std::size_t end = text.chars.size();
    if (left_) {
      while (begin < end && is_white_space(text.chars[begin])) ++begin;
    }
    if (right_) {
      while (end > begin && is_white_space(text.chars[end - 1])) --end;
    }
    if (begin == 0 && end == text.chars.size()) return;
    const std::uint32_t base = text.base;
    text = text.slice(begin, end);
    text.base = base;  // normalising never moves where the piece starts
  }

 private:
  bool left_;
  bool right_;
};

// Drops the characters `remove` is true for: StripAccents (combining marks, Unicode 9.0) and
// BertNormalizer's accent stripping after NFD (nonspacing marks, Unicode 8.0).
class CharFilterNormalizer final : public Normalizer {
 public:
  explicit CharFilterNormalizer(bool (*remove)(char32_t)) : remove_(remove) {}

  void normalize(AlignedText& text) const override {
    AlignedText out;
    out.base = text.base;
    for (std::size_t i = 0; i < text.chars.size(); ++i) {
      if (!remove_(text.chars[i])) out.push(text.chars[i], text.origins[i]);
    }
    text = std::move(out);
  }

 private:
  bool (*remove_)(char32_t);
};

// BertNormalizer's clean_text: control characters, U+0000 and U+FFFD removed, then whitespace
// turned into ' '.
class BertCleanTextNormalizer final : public Normalizer {
 public:
  void normalize(AlignedText& text) const override {
    AlignedText out;
    out.base = text.base;
    for (std::size_t i = 0; i < text.chars.size(); ++i) {
      const char32_t c = text.chars[i];
      if (c == 0 || c == 0xFFFD || is_bert_control(c)) continue;
      out.push(is_bert_whitespace(c) ? U' ' : c, text.origins[i]);
    }
    text = std::move(out);
  }
};

// BertNormalizer's handle_chinese_chars: a space on each side of every CJK ideograph.
class BertChineseCharsNormalizer final : public Normalizer {
 public:
  void normalize(AlignedText& text) const override {
    AlignedText out;
    out.base = text.base;
    for (std::size_t i = 0; i < text.chars.size(); ++i) {
      const char32_t c = text.chars[i];
      if (!is_bert_chinese_char(c)) {
        out.push(c, text.origins[i]);
        continue;
      }
      out.push(U' ', text.origins[i]);
      out.push(c, text.origins[i]);
      out.push(U' ', text.origins[i]);
    }
    text = std::move(out);
  }
};

class SequenceNormalizer final : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> steps)
      : steps_(std::move(steps)) {}

  void normalize(AlignedText& text) const override {
    for (const auto& step : steps_) step->normalize(text);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> steps_;
};

std::u32string decode_field(const JsonNode& node) {
  return decode_utf8(node.as_string(), node.where());
}

// BertNormalizer is its steps in this order, each when enabled: clean_text,
// handle_chinese_chars, strip_accents (NFD, then nonspacing marks removed; null means: as
// lowercase), lowercase. The three booleans are required, as `tokenizers` requires them.
std::unique_ptr<Normalizer> parse_bert_normalizer(const JsonNode& node) {
  const bool clean_text = node.at("clean_text").as_bool();
  const bool handle_chinese_chars = node.at("handle_chinese_chars").as_bool();
  const bool lowercase = node.at("lowercase").as_bool();
  const auto strip_node = node.find("strip_accents");
  const bool strip_accents = strip_node ? strip_node->as_bool() : lowercase;
  std::vector<std::unique_ptr<Normalizer>> steps;
  if (clean_text) steps.push_back(std::make_unique<BertCleanTextNormalizer>());
  if (handle_chinese_chars) steps.push_back(std::make_unique<BertChineseCharsNormalizer>());
  if (strip_accents) {
    steps.push_back(std::make_unique<UnicodeNormalizer>(NormalForm::nfd));
    steps.push_back(std::make_unique<CharFilterNormalizer>(is_bert_nonspacing_mark));
  }
  if (lowercase) steps.push_back(std::make_unique<LowercaseNormalizer>());
  return std::make_unique<SequenceNormalizer>(std::move(steps));
}

}  // namespace

std::unique_ptr<Normalizer> parse_normalizer(const JsonNode& node) {
  if (node.is_null()) return nullptr;
  node.expect_object();
  const JsonNode type_node = node.at("type");
  const std::string type = type_node.as_string();
  if (type == "Replace") {
    return std::make_unique<ReplaceNormalizer>(TextPattern::parse(node.at("pattern")),
                                               decode_field(node.at("content")));
  }
  if (type == "Lowercase") return std::make_unique<LowercaseNormalizer>();
  if (type == "NFC") return std::make_unique<UnicodeNormalizer>(NormalForm::nfc);
  if (type == "NFD") return std::make_unique<UnicodeNormalizer>(NormalForm::nfd);
  if (type == "NFKC") return std::make_unique<UnicodeNormalizer>(NormalForm::nfkc);
  if (type == "NFKD") return std::make_unique<UnicodeNormalizer>(NormalForm::nfkd);
  if (type == "Prepend")
    return std::make_unique<PrependNormalizer>(decode_field(node.at("prepend")));
  if (type == "Strip") {
    return std::make_unique<StripNormalizer>(node.at("strip_left").as_bool(),
                                             node.at("strip_right").as_bool());
  }
  if (type == "StripAccents")
    return std::make_unique<CharFilterNormalizer>(is_combining_mark_unicode9);
  if (type == "BertNormalizer") return parse_bert_normalizer(node);
  if (type == "Sequence") {
    const JsonNode list = node.at("normalizers");
    std::vector<std::unique_ptr<Normalizer>> steps;
    for (std::size_t i = 0; i < list.size(); ++i) {
      auto step = parse_normalizer(list[i]);
      if (!step) list[i].fail("expected a normalizer object, got null");
      steps.push_back(std::move(step));
    }
    return std::make_unique<SequenceNormalizer>(std::move(steps));
  }
  type_node.fail(
      "unsupported '{}' (supported: Replace, Lowercase, NFC, NFD, NFKC, NFKD, Prepend, Strip, "
      "StripAccents, BertNormalizer, Sequence)",
      type);
}

}  // namespace vlbench::text::hf
