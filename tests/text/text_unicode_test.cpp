// The Unicode helpers and split behaviours under the SigLIP / Hugging Face tokenizers, against
// values written down from CPython 3.11 (str.lower) and `tokenizers`' own documentation.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "text/hf_components.hpp"
#include "text/unicode.hpp"

namespace vlbench::text {
namespace {

std::u32string lower_each(std::u32string_view s) {
  std::u32string out;
  for (char32_t c : s) append_lower_char(c, out);
  return out;
}

TEST(UnicodeCase, WholeStringAndPerCharacterLowerCase) {
  // Whole string (Python str.lower()): final sigma at a word end.
  EXPECT_EQ(lower_python(U"\u039f\u0394\u039f\u03a3 \u03a3"), U"\u03bf\u03b4\u03bf\u03c2 \u03c3");
  // One character at a time (transformers' (.+?) regex, Rust char::to_lowercase): never.
  EXPECT_EQ(lower_each(U"\u039f\u0394\u039f\u03a3 \u03a3"), U"\u03bf\u03b4\u03bf\u03c3 \u03c3");
  EXPECT_EQ(lower_each(U"\u0130A\u1e9e\u2160\uff21"), U"i\u0307a\u00df\u2170\uff41");
  EXPECT_EQ(lower_each(U"\U00010400"), U"\U00010428");  // Deseret, outside the BMP
}

TEST(UnicodeClasses, WhiteSpaceAndWordCharacters) {
  for (char32_t c : {U' ', U'\t', U'\n', U'\u00a0', U'\u2003', U'\u3000', U'\u2028', U'\u0085'}) {
    EXPECT_TRUE(is_white_space(c)) << static_cast<unsigned>(c);
  }
  for (char32_t c : {U'a', U'_', U'\u00e9', U'\u0301', U'\u0663', U'\u732b', U'\u200d'}) {
    EXPECT_TRUE(is_word_char(c)) << static_cast<unsigned>(c);
  }
  for (char32_t c : {U'-', U',', U' ', U'\U0001f431', U'\u200b'}) {
    EXPECT_FALSE(is_word_char(c)) << static_cast<unsigned>(c);
  }
}

TEST(UnicodeNormalization, SegmentsNormaliseLikeTheWhole) {
  const std::u32string s = U"e\u0301\u0323 \ufb01 \u2460 \uac00\u11a8";
  for (NormalForm form : {NormalForm::nfc, NormalForm::nfd, NormalForm::nfkc, NormalForm::nfkd}) {
    std::u32string pieces;
    std::size_t begin = 0;
    while (begin < s.size()) {
      std::size_t end = begin + 1;
      while (end < s.size() && !has_boundary_before(s[end], form)) ++end;
      pieces += normalize(std::u32string_view(s).substr(begin, end - begin), form);
      begin = end;
    }
    EXPECT_EQ(pieces, normalize(s, form));
    EXPECT_TRUE(is_normalized(normalize(s, form), form));
  }
  EXPECT_EQ(normalize(U"e\u0301", NormalForm::nfc), U"\u00e9");
  EXPECT_EQ(normalize(U"\ufb01", NormalForm::nfkc), U"fi");
}

std::vector<std::string> split_on_dash(hf::SplitBehavior behavior) {
  const hf::AlignedText text = hf::aligned_from_utf8(U"the-final--countdown");
  std::vector<hf::MatchSpan> spans;
  std::size_t previous = 0;
  for (std::size_t i = 0; i < text.chars.size(); ++i) {
    if (text.chars[i] != U'-') continue;
    if (previous < i) spans.push_back({previous, i, false});
    spans.push_back({i, i + 1, true});
    previous = i + 1;
  }
  spans.push_back({previous, text.chars.size(), false});
  std::vector<hf::AlignedText> pieces;
  hf::split_by_spans(text, spans, behavior, pieces);
  std::vector<std::string> out;
  for (const hf::AlignedText& piece : pieces) out.push_back(piece.utf8());
  return out;
}

TEST(HfSplit, BehavioursAsTokenizersDocumentsThem) {
  using B = hf::SplitBehavior;
  using V = std::vector<std::string>;
  EXPECT_EQ(split_on_dash(B::removed), (V{"the", "final", "countdown"}));
  EXPECT_EQ(split_on_dash(B::isolated), (V{"the", "-", "final", "-", "-", "countdown"}));
  EXPECT_EQ(split_on_dash(B::merged_with_previous), (V{"the-", "final-", "-", "countdown"}));
  EXPECT_EQ(split_on_dash(B::merged_with_next), (V{"the", "-final", "-", "-countdown"}));
  EXPECT_EQ(split_on_dash(B::contiguous), (V{"the", "-", "final", "--", "countdown"}));
}

TEST(HfSplit, SlicesKeepTheirOrigins) {
  const hf::AlignedText text = hf::aligned_from_utf8(U"\u00e9t\u732b!");  // 2 + 1 + 3 + 1 bytes
  EXPECT_EQ(text.origins, (std::vector<std::uint32_t>{0, 2, 3, 6}));
  const hf::AlignedText tail = text.slice(2, 4);
  EXPECT_EQ(tail.base, 3u);
  EXPECT_EQ(tail.utf8(), "\u732b!");
}

}  // namespace
}  // namespace vlbench::text
