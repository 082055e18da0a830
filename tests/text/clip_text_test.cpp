// The text stages of the CLIP tokenizer alone: Python's html.unescape, the reference's text
// cleaning and its pre-tokenizer regex. Expected values were produced by CPython 3.11
// (html.unescape, unicodedata NFC, str.lower) and the `regex` module, and written down here.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "text/clip_text.hpp"
#include "text/html_unescape.hpp"
#include "text/utf8.hpp"
#include "vlbench/core/error.hpp"

namespace vlbench::text {
namespace {

std::u32string unescape(std::u32string_view s) {
  return html_unescape(s);
}

TEST(HtmlUnescape, MatchesPythonHtmlUnescape) {
  const std::vector<std::pair<std::u32string, std::u32string>> cases = {
      {U"&amp;", U"&"},
      {U"&ampx", U"&x"},  // a name Python accepts without ';'
      {U"&notin;", U"\u2209"},
      {U"&notit;", U"\u00ACit;"},  // longest known prefix "not"
      {U"&#65;&#x41;&#X41", U"AAA"},
      {U"&#0;", U"\uFFFD"},
      {U"&#13;", U"\r"},
      {U"&#128;", U"\u20AC"},    // Windows-1252 remapping
      {U"&#xD800;", U"\uFFFD"},  // surrogate
      {U"&#1;", U""},            // invalid code point: dropped
      {U"&#xfffe;", U""},
      {U"&#99999999999;", U"\uFFFD"},  // past U+10FFFF
      {U"&#x110000;", U"\uFFFD"},
      {U"&#;", U"&#;"},
      {U"&#x;", U"&#x;"},
      {U"&#0x41;", U"\uFFFDx41;"},  // "#0" is the reference; "x41;" stays
      {U"&bogus;", U"&bogus;"},
      {U"&", U"&"},
      {U"&&amp;", U"&&"},
      {U"&lt", U"<"},
      {U"&gt&lt;", U"><"},
      {U"&nbsp;x", U"\u00A0x"},
      {U"&acE;", U"\u223E\u0333"},  // two code points
      {U"&AMP", U"&"},
      {U"&Amp;", U"&Amp;"},  // names are case-sensitive
      {U"&amp\u00E9;", U"&\u00E9;"},
      {U"&lt\u00E9x;", U"<\u00E9x;"},
      {U"a&b c", U"a&b c"},
      {U"&amp;amp;", U"&amp;"},  // one pass only
      {U"&aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa;", U"&aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa;"},
  };
  for (const auto& [input, expected] : cases) {
    EXPECT_EQ(unescape(input), expected) << "input: " << std::string(input.begin(), input.end());
  }
}

TEST(ClipCleanText, MatchesTheReferenceCleaning) {
  const std::vector<std::pair<std::u32string, std::u32string>> cases = {
      {U"\u039F\u0394\u039F\u03A3 \u03A3", U"\u03BF\u03B4\u03BF\u03C2 \u03C3"},  // final sigma
      {U"\u0130stanbul", U"i\u0307stanbul"},  // full lower-case mapping
      {U"  a\x1C\x1D"
       U"b\u0085\u200B"
       U"c\u3000 ",
       U"a b \u200Bc"},                                // str.isspace, not U+200B
      {U"e\u0301\u1100\u1161", U"\u00E9\uAC00"},       // NFC, Hangul composed
      {U"&amp;lt;b&amp;gt;", U"<b>"},                  // html.unescape twice
      {U"Stra\u00DFe \uFB06", U"stra\u00DFe \uFB06"},  // lower(), not case folding
      {U"&#x3a3;&#x3A3;", U"\u03C3\u03C2"},            // sigma rule after unescaping
      {U"\t\n", U""},
  };
  for (const auto& [input, expected] : cases) {
    EXPECT_EQ(clip_clean_text(input), expected);
  }
}

std::vector<std::u32string> pieces(std::u32string_view text) {
  std::vector<std::u32string> out;
  for (std::u32string_view piece : clip_pretokenize(text)) out.emplace_back(piece);
  return out;
}

TEST(ClipPretokenize, MatchesPythonRegexFindall) {
  using P = std::vector<std::u32string>;
  EXPECT_EQ(pieces(U"it's 42-times!!a'll'x"),
            (P{U"it", U"'s", U"4", U"2", U"-", U"times", U"!!", U"a", U"'ll", U"'", U"x"}));
  // IGNORECASE with simple case folding: U+017F LONG S matches 's'.
  EXPECT_EQ(pieces(U"'\u017F <|endoftext|>x<|end"),
            (P{U"'\u017F", U"<|endoftext|>", U"x", U"<|", U"end"}));
  EXPECT_EQ(pieces(U"don'T a<|startoftext|>"), (P{U"don", U"'T", U"a", U"<|startoftext|>"}));
  // U+0345 is matched by no alternative under IGNORECASE: skipped like a space.
  EXPECT_EQ(pieces(U"!\u0345\u0345"
                   U"a\u0345"
                   U"b"),
            (P{U"!", U"a", U"b"}));
  // A combining mark is neither a letter nor a number; numbers come one at a time.
  EXPECT_EQ(pieces(U"x\u0301y \u00BD\u2167"), (P{U"x", U"\u0301", U"y", U"\u00BD", U"\u2167"}));
  EXPECT_TRUE(pieces(U"   ").empty());
}

TEST(Utf8, RoundTripsEveryScalarValue) {
  std::string bytes;
  std::u32string expected;
  for (char32_t c = 0; c <= 0x10FFFF; c += (c < 0x800 ? 1 : 97)) {
    if (c >= 0xD800 && c <= 0xDFFF) continue;
    append_utf8(c, bytes);
    expected.push_back(c);
  }
  append_utf8(0x10FFFF, bytes);
  expected.push_back(0x10FFFF);
  EXPECT_EQ(decode_utf8(bytes, "test"), expected);
  EXPECT_EQ(std::string("\xF0\x9F\x90\xB6").size(), 4u);
  EXPECT_EQ(decode_utf8("\xF0\x9F\x90\xB6", "test"), std::u32string(U"\U0001F436"));
}

TEST(Utf8, RejectsOverlongAndOutOfRangeForms) {
  for (const char* bad : {"\xC0\x80", "\xE0\x80\x80", "\xF0\x80\x80\x80", "\xF4\x90\x80\x80",
                          "\xF5\x80\x80\x80", "\x80", "\xC3"}) {
    EXPECT_THROW(decode_utf8(bad, "test"), Error) << "bytes: " << bad;
  }
}

}  // namespace
}  // namespace vlbench::text
