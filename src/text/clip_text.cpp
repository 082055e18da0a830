#include "text/clip_text.hpp"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <algorithm>

#include "text/html_unescape.hpp"
#include "text/unicode.hpp"
#include "vlbench/core/error.hpp"

namespace vlbench::text {
namespace {

icu::UnicodeString to_icu(std::u32string_view s) {
  return icu::UnicodeString::fromUTF32(reinterpret_cast<const UChar32*>(s.data()),
                                       static_cast<int32_t>(s.size()));
}

std::u32string from_icu(const icu::UnicodeString& s) {
  std::u32string out;
  out.reserve(static_cast<std::size_t>(s.length()));
  for (int32_t i = 0; i < s.length();) {
    const UChar32 c = s.char32At(i);
    out.push_back(static_cast<char32_t>(c));
    i += U16_LENGTH(c);
  }
  return out;
}

std::u32string nfc(std::u32string_view s) {
  // Every code point below U+0300 is NFC-stable with combining class 0: nothing to do.
  if (std::all_of(s.begin(), s.end(), [](char32_t c) { return c < 0x300; })) {
    return std::u32string(s);
  }
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* normalizer = icu::Normalizer2::getNFCInstance(status);
  VLB_ASSERT(U_SUCCESS(status));
  const icu::UnicodeString normalized = normalizer->normalize(to_icu(s), status);
  VLB_ASSERT(U_SUCCESS(status));
  return from_icu(normalized);
}

// re.sub(r'\s+', ' ', text).strip() with Python's str.isspace() as \s.
std::u32string collapse_whitespace(std::u32string_view s) {
  std::u32string out;
  out.reserve(s.size());
  bool pending_space = false;
  for (char32_t c : s) {
    if (is_python_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(U' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

enum class CharClass { kLetter, kNumber, kOther, kNone };

// What the pattern's classes match, as Python `regex` decides with IGNORECASE: \s is the
// White_Space property; U+0345 COMBINING GREEK YPOGEGRAMMENI (a mark that case-folds to a
// letter) is matched by neither [\p{L}] nor [^\s\p{L}\p{N}], so findall skips it like a space.
CharClass classify(char32_t c) {
  const auto mask = U_GET_GC_MASK(static_cast<UChar32>(c));
  if (mask & U_GC_L_MASK) return CharClass::kLetter;
  if (mask & U_GC_N_MASK) return CharClass::kNumber;
  if (u_isUWhiteSpace(static_cast<UChar32>(c)) || c == 0x345) return CharClass::kNone;
  return CharClass::kOther;
}

// Case-insensitive match of the ASCII-lowercase `literal` at text[pos] (simple case folding,
// as `regex` does by default: 'S' and U+017F LONG S both match 's').
bool matches_literal(std::u32string_view text, std::size_t pos, std::string_view literal) {
  if (text.size() - pos < literal.size()) return false;
  for (std::size_t k = 0; k < literal.size(); ++k) {
    const char32_t c = text[pos + k];
    const auto want = static_cast<char32_t>(literal[k]);
    if (c != want &&
        static_cast<char32_t>(u_foldCase(static_cast<UChar32>(c), U_FOLD_CASE_DEFAULT)) != want) {
      return false;
    }
  }
  return true;
}

constexpr std::string_view kContractions[] = {"'s", "'t", "'re", "'ve", "'m", "'ll", "'d"};

}  // namespace

bool is_python_space(char32_t c) {
  // The set CPython derives from the UCD (bidi WS/B/S or Zs); unchanged since Unicode 6.3.
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

std::u32string clip_clean_text(std::u32string_view text) {
  std::u32string s = nfc(text);
  if (s.find(U'&') != std::u32string::npos) s = html_unescape(html_unescape(s));
  return lower_python(collapse_whitespace(s));
}

std::vector<std::u32string_view> clip_pretokenize(std::u32string_view text,
                                                 std::span<const std::string_view, 2> specials) {
  std::vector<std::u32string_view> pieces;
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    std::size_t literal_length = 0;
    if (text[i] == U'<') {
      for (std::string_view special : specials) {
        if (matches_literal(text, i, special)) {
          literal_length = special.size();
          break;
        }
      }
    } else if (text[i] == U'\'') {
      for (std::string_view contraction : kContractions) {
        if (matches_literal(text, i, contraction)) {
          literal_length = contraction.size();
          break;
        }
      }
    }
    if (literal_length > 0) {
      pieces.push_back(text.substr(i, literal_length));
      i += literal_length;
      continue;
    }
    const CharClass cls = classify(text[i]);
    if (cls == CharClass::kNone) {
      ++i;
      continue;
    }
    std::size_t end = i + 1;
    if (cls != CharClass::kNumber) {  // [\p{N}] is one code point; the others are runs
      while (end < n && classify(text[end]) == cls) ++end;
    }
    pieces.push_back(text.substr(i, end - i));
    i = end;
  }
  return pieces;
}

}  // namespace vlbench::text
