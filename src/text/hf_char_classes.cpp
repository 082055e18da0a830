#include "text/hf_char_classes.hpp"

#include <unicode/uchar.h>

#include "text/unicode.hpp"

namespace vlbench::text::hf {
namespace {

// Characters whose general category changed after Unicode 8.0 in a way these classes see
// (found by running every code point through `tokenizers` 0.22 and comparing with ICU 72).
struct ChangedCategory {
  char32_t c;
  UCharCategory in_8;
  UCharCategory in_9;
};
constexpr ChangedCategory kChanged[] = {
    {0x166D, U_OTHER_PUNCTUATION, U_OTHER_PUNCTUATION},  // CANADIAN SYLLABICS CHI SIGN: So in 12.0
    {0x1734, U_NON_SPACING_MARK, U_NON_SPACING_MARK},    // HANUNOO SIGN PAMUDPOD: Mc in 14.0
    {0x1885, U_OTHER_LETTER, U_NON_SPACING_MARK},        // MONGOLIAN LETTER ALI GALI BALUDA
    {0x1886, U_OTHER_LETTER, U_NON_SPACING_MARK},        // ... THREE BALUDA: Mn in 9.0
    {0x1CF2, U_COMBINING_SPACING_MARK, U_COMBINING_SPACING_MARK},  // VEDIC SIGN ARDHAVISARGA
    {0x1CF3, U_COMBINING_SPACING_MARK, U_COMBINING_SPACING_MARK},  // ... ROTATED: Lo in 10.0
    {0xA9BD, U_COMBINING_SPACING_MARK, U_COMBINING_SPACING_MARK},  // JAVANESE ... KERET: Mn in 12.0
    {0x111C9, U_OTHER_PUNCTUATION, U_OTHER_PUNCTUATION},  // SHARADA SANDHI MARK: Mn in 11.0
};

// The general category of `c` in Unicode `major`.0 (8 or 9): unassigned if it came later.
UCharCategory category_in(char32_t c, int major) {
  const auto u = static_cast<UChar32>(c);
  UVersionInfo age;
  u_charAge(u, age);
  if (age[0] > major || (age[0] == major && (age[1] != 0 || age[2] != 0))) return U_UNASSIGNED;
  for (const ChangedCategory& changed : kChanged) {
    if (changed.c == c) return major == 8 ? changed.in_8 : changed.in_9;
  }
  return static_cast<UCharCategory>(u_charType(u));
}

}  // namespace

bool is_bert_control(char32_t c) {
  if (c == U'\t' || c == U'\n' || c == U'\r') return false;
  const UCharCategory category = category_in(c, 8);
  return category == U_CONTROL_CHAR || category == U_FORMAT_CHAR || category == U_PRIVATE_USE_CHAR;
}

bool is_bert_whitespace(char32_t c) {
  return c == U'\t' || c == U'\n' || c == U'\r' || is_white_space(c);
}

bool is_bert_punctuation(char32_t c) {
  if (c < 0x80) {
    return (c >= U'!' && c <= U'/') || (c >= U':' && c <= U'@') || (c >= U'[' && c <= U'`') ||
           (c >= U'{' && c <= U'~');
  }
  return (U_MASK(category_in(c, 8)) & U_GC_P_MASK) != 0;
}

bool is_bert_nonspacing_mark(char32_t c) {
  return category_in(c, 8) == U_NON_SPACING_MARK;
}

bool is_bert_chinese_char(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

bool is_combining_mark_unicode9(char32_t c) {
  return (U_MASK(category_in(c, 9)) & U_GC_M_MASK) != 0;
}

}  // namespace vlbench::text::hf
