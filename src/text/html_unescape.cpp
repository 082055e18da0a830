#include "text/html_unescape.hpp"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <string>

namespace vlbench::text {
namespace {

struct HtmlEntity {
  std::string_view name;
  char32_t first;
  char32_t second;  // 0: the entity is one code point
};

struct InvalidCharref {
  std::uint32_t code;
  char32_t replacement;
};

#include "text/html_entities.inc"

constexpr std::size_t kMaxNameLength = 32;

const HtmlEntity* find_entity(std::string_view name) {
  const auto* end = std::end(kHtml5Entities);
  const auto* it =
      std::lower_bound(std::begin(kHtml5Entities), end, name,
                       [](const HtmlEntity& e, std::string_view key) { return e.name < key; });
  return it != end && it->name == name ? it : nullptr;
}

void append_entity(const HtmlEntity& e, std::u32string& out) {
  out.push_back(e.first);
  if (e.second != 0) out.push_back(e.second);
}

// Python's _replace_charref for a numeric reference whose value is `code` (saturated at
// 0x110000, which Python also maps to U+FFFD).
void append_numeric(std::uint32_t code, std::u32string& out) {
  const auto* end = std::end(kInvalidCharrefs);
  const auto* it =
      std::lower_bound(std::begin(kInvalidCharrefs), end, code,
                       [](const InvalidCharref& r, std::uint32_t key) { return r.code < key; });
  if (it != end && it->code == code) {
    out.push_back(it->replacement);
    return;
  }
  if ((code >= 0xD800 && code <= 0xDFFF) || code > 0x10FFFF) {
    out.push_back(U'\uFFFD');
    return;
  }
  if (std::binary_search(std::begin(kInvalidCodepoints), std::end(kInvalidCodepoints),
                         static_cast<char32_t>(code))) {
    return;
  }
  out.push_back(static_cast<char32_t>(code));
}

bool is_digit(char32_t c) {
  return c >= U'0' && c <= U'9';
}

int hex_value(char32_t c) {
  if (c >= U'0' && c <= U'9') return static_cast<int>(c - U'0');
  if (c >= U'a' && c <= U'f') return static_cast<int>(c - U'a') + 10;
  if (c >= U'A' && c <= U'F') return static_cast<int>(c - U'A') + 10;
  return -1;
}

// [^\t\n\f <&#;]
bool is_name_char(char32_t c) {
  return c != U'\t' && c != U'\n' && c != U'\f' && c != U' ' && c != U'<' && c != U'&' &&
         c != U'#' && c != U';';
}

// Matches a numeric reference at s[pos] == '#'; returns the end of the match or `pos` when
// neither numeric alternative matches.
std::size_t match_numeric(std::u32string_view s, std::size_t pos, std::u32string& out) {
  constexpr std::uint32_t kSaturated = 0x110000;
  std::size_t k = pos + 1;
  std::uint32_t code = 0;
  if (k < s.size() && is_digit(s[k])) {
    while (k < s.size() && is_digit(s[k])) {
      code =
          std::min<std::uint32_t>(code * 10 + static_cast<std::uint32_t>(s[k] - U'0'), kSaturated);
      ++k;
    }
  } else if (k + 1 < s.size() && (s[k] == U'x' || s[k] == U'X') && hex_value(s[k + 1]) >= 0) {
    ++k;
    while (k < s.size() && hex_value(s[k]) >= 0) {
      code = std::min<std::uint32_t>(code * 16 + static_cast<std::uint32_t>(hex_value(s[k])),
                                     kSaturated);
      ++k;
    }
  } else {
    return pos;
  }
  if (k < s.size() && s[k] == U';') ++k;
  append_numeric(code, out);
  return k;
}

// Matches a named reference at s[pos] (just after '&'); returns the end of the match or `pos`.
std::size_t match_named(std::u32string_view s, std::size_t pos, std::u32string& out) {
  std::size_t k = pos;
  while (k < s.size() && k - pos < kMaxNameLength && is_name_char(s[k])) ++k;
  if (k == pos) return pos;
  if (k < s.size() && s[k] == U';') ++k;
  const std::u32string_view match = s.substr(pos, k - pos);  // name plus an optional ';'
  // Entity names are ASCII: only the ASCII head of the match can be (a prefix of) one.
  std::string ascii;
  for (char32_t c : match) {
    if (c >= 0x80) break;
    ascii.push_back(static_cast<char>(c));
  }
  if (ascii.size() == match.size()) {
    if (const HtmlEntity* e = find_entity(ascii)) {
      append_entity(*e, out);
      return k;
    }
  }
  // Python: for x in range(len(s) - 1, 1, -1): if s[:x] in html5: value + s[x:].
  for (std::size_t x = std::min(match.size() - 1, ascii.size()); x >= 2; --x) {
    if (const HtmlEntity* e = find_entity(std::string_view(ascii).substr(0, x))) {
      append_entity(*e, out);
      out.append(match.substr(x));
      return k;
    }
  }
  out.push_back(U'&');
  out.append(match);
  return k;
}

}  // namespace

std::u32string html_unescape(std::u32string_view s) {
  std::u32string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    if (s[i] != U'&') {
      out.push_back(s[i++]);
      continue;
    }
    const std::size_t start = i + 1;
    std::size_t end = start;
    if (start < s.size()) {
      end = s[start] == U'#' ? match_numeric(s, start, out) : match_named(s, start, out);
    }
    if (end == start) {
      out.push_back(U'&');  // no reference here: '&' stays, scanning goes on after it
      i = start;
    } else {
      i = end;
    }
  }
  return out;
}

}  // namespace vlbench::text
