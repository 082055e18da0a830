// AlignedText, splitting along pattern matches, and Replace / Split patterns.
#include <unicode/regex.h>
#include <unicode/unistr.h>

#include <algorithm>

#include "text/hf_components.hpp"
#include "text/utf8.hpp"

namespace vlbench::text::hf {

AlignedText AlignedText::slice(std::size_t begin, std::size_t end) const {
  VLB_ASSERT(begin <= end && end <= chars.size());
  AlignedText out;
  out.chars = chars.substr(begin, end - begin);
  out.origins.assign(origins.begin() + static_cast<std::ptrdiff_t>(begin),
                     origins.begin() + static_cast<std::ptrdiff_t>(end));
  out.base = begin < end ? origins[begin] : base;
  return out;
}

std::string AlignedText::utf8() const {
  std::string out;
  out.reserve(chars.size());
  for (char32_t c : chars) append_utf8(c, out);
  return out;
}

AlignedText aligned_from_utf8(std::u32string_view chars) {
  AlignedText text;
  text.chars.assign(chars);
  text.origins.reserve(chars.size());
  std::uint32_t offset = 0;
  for (char32_t c : chars) {
    text.origins.push_back(offset);
    offset += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
  }
  return text;
}

void split_by_spans(const AlignedText& text, const std::vector<MatchSpan>& spans,
                    SplitBehavior behavior, std::vector<AlignedText>& out) {
  struct Cut {
    std::size_t begin, end;
    bool remove;
  };
  std::vector<Cut> cuts;
  cuts.reserve(spans.size());
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::isolated:
      for (const MatchSpan& s : spans) cuts.push_back({s.begin, s.end, false});
      break;
    case SplitBehavior::removed:
      for (const MatchSpan& s : spans) cuts.push_back({s.begin, s.end, s.is_match});
      break;
    case SplitBehavior::contiguous:
      for (const MatchSpan& s : spans) {
        if (s.is_match == previous_match && !cuts.empty()) {
          cuts.back().end = s.end;
        } else {
          cuts.push_back({s.begin, s.end, false});
        }
        previous_match = s.is_match;
      }
      break;
    case SplitBehavior::merged_with_previous:
      for (const MatchSpan& s : spans) {
        if (s.is_match && !previous_match && !cuts.empty()) {
          cuts.back().end = s.end;
        } else {
          cuts.push_back({s.begin, s.end, false});
        }
        previous_match = s.is_match;
      }
      break;
    case SplitBehavior::merged_with_next:
      // Right to left: a match joins the piece after it unless that piece is a match too.
      for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
        if (it->is_match && !previous_match && !cuts.empty()) {
          cuts.back().begin = it->begin;
        } else {
          cuts.push_back({it->begin, it->end, false});
        }
        previous_match = it->is_match;
      }
      std::reverse(cuts.begin(), cuts.end());
      break;
  }
  for (const Cut& cut : cuts) {
    if (!cut.remove) out.push_back(text.slice(cut.begin, cut.end));
  }
}

struct TextPattern::Regex {
  std::unique_ptr<icu::RegexPattern> pattern;
};

TextPattern::TextPattern() = default;
TextPattern::~TextPattern() = default;
TextPattern::TextPattern(TextPattern&&) noexcept = default;
TextPattern& TextPattern::operator=(TextPattern&&) noexcept = default;

TextPattern TextPattern::parse(const JsonNode& node) {
  node.expect_object();
  TextPattern pattern;
  if (node.value().size() == 1 && node.has("String")) {
    const JsonNode literal = node.at("String");
    pattern.literal_ = decode_utf8(literal.as_string(), literal.where());
    if (pattern.literal_.empty()) literal.fail("an empty pattern is not supported");
    return pattern;
  }
  if (node.value().size() == 1 && node.has("Regex")) {
    const JsonNode regex = node.at("Regex");
    const std::string source = regex.as_string();
    UParseError parse_error{};
    UErrorCode status = U_ZERO_ERROR;
    auto compiled = std::unique_ptr<icu::RegexPattern>(
        icu::RegexPattern::compile(icu::UnicodeString::fromUTF8(source), 0, parse_error, status));
    if (U_FAILURE(status)) {
      regex.fail("invalid regular expression {} ({} at offset {})", json_excerpt(regex.value()),
                 u_errorName(status), parse_error.offset);
    }
    pattern.regex_ = std::make_unique<Regex>(Regex{std::move(compiled)});
    return pattern;
  }
  node.fail("expected {{\"String\": ...}} or {{\"Regex\": ...}}, got {}",
            json_excerpt(node.value()));
}

std::vector<MatchSpan> TextPattern::find(std::u32string_view chars) const {
  std::vector<MatchSpan> spans;
  if (chars.empty()) {
    spans.push_back({0, 0, false});
    return spans;
  }
  std::size_t previous = 0;
  const auto add_match = [&](std::size_t begin, std::size_t end) {
    if (previous != begin) spans.push_back({previous, begin, false});
    spans.push_back({begin, end, true});
    previous = end;
  };
  if (!regex_) {
    std::size_t pos = chars.find(literal_);
    while (pos != std::u32string_view::npos) {
      add_match(pos, pos + literal_.size());
      pos = chars.find(literal_, pos + literal_.size());
    }
  } else {
    const icu::UnicodeString input = icu::UnicodeString::fromUTF32(
        reinterpret_cast<const UChar32*>(chars.data()), static_cast<int32_t>(chars.size()));
    // UTF-16 index -> code point index.
    std::vector<std::size_t> to_char(static_cast<std::size_t>(input.length()) + 1, 0);
    for (std::size_t i = 0, u = 0; i < chars.size(); ++i) {
      to_char[u] = i;
      u += chars[i] >= 0x10000 ? 2 : 1;
      to_char[u] = i + 1;
    }
    UErrorCode status = U_ZERO_ERROR;
    std::unique_ptr<icu::RegexMatcher> matcher(regex_->pattern->matcher(input, status));
    VLB_ASSERT(U_SUCCESS(status));
    while (matcher->find(status) && U_SUCCESS(status)) {
      const int32_t begin = matcher->start(status);
      const int32_t end = matcher->end(status);
      VLB_ASSERT(U_SUCCESS(status));
      add_match(to_char[static_cast<std::size_t>(begin)], to_char[static_cast<std::size_t>(end)]);
    }
    VLB_ASSERT(U_SUCCESS(status));
  }
  if (previous != chars.size()) spans.push_back({previous, chars.size(), false});
  return spans;
}

}  // namespace vlbench::text::hf
