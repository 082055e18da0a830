// Character classes as the Rust crates under `tokenizers` 0.22 define them. Those crates carry
// their own Unicode tables, frozen at old versions, so a character assigned since then has no
// class there, and a few older ones keep a category that Unicode has changed since:
//   unicode_categories 0.1 (BertNormalizer, BertPreTokenizer): Unicode 8.0;
//   unicode-normalization-alignments 0.1 (StripAccents' is_combining_mark): Unicode 9.0.
// Computed with ICU (the current general category, limited by u_charAge) plus those changes.
// tests/fixtures/text/bert_char_classes.json pins every code point to the real library.
#pragma once

namespace vlbench::text::hf {

// Cc, Cf or Co in Unicode 8.0, except \t \n \r: what BertNormalizer's clean_text removes
// (together with U+0000 and U+FFFD). Not Cn or Cs.
bool is_bert_control(char32_t c);

// What BertNormalizer's clean_text turns into ' ': \t, \n, \r and White_Space (Rust's
// char::is_whitespace), when not removed as a control character first.
bool is_bert_whitespace(char32_t c);

// ASCII punctuation (the 32 of Rust's is_ascii_punctuation, '$' '+' '<' ... included) or a P*
// category in Unicode 8.0: what BertPreTokenizer isolates.
bool is_bert_punctuation(char32_t c);

// Mn in Unicode 8.0: what BertNormalizer's strip_accents removes after NFD.
bool is_bert_nonspacing_mark(char32_t c);

// The CJK ideograph blocks of BertNormalizer's handle_chinese_chars (not kana, not Hangul, and
// not every CJK extension: the library's own ranges).
bool is_bert_chinese_char(char32_t c);

// Mn, Mc or Me in Unicode 9.0: what the StripAccents normalizer removes.
bool is_combining_mark_unicode9(char32_t c);

}  // namespace vlbench::text::hf
