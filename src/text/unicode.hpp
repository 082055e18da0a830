// Unicode helpers shared by the tokenizers: the case mappings, character classes and
// normalisation forms that Python (transformers' slow tokenizers, CLIP's reference) and Rust
// (Hugging Face `tokenizers`) apply, computed with ICU.
#pragma once

#include <string>
#include <string_view>

namespace vlbench::text {

// Python's str.lower() of a whole string: full lower-case mappings (U+0130 -> "i\u0307") and
// the final-sigma rule (U+03A3 -> U+03C2 at the end of a word), no locale.
std::u32string lower_python(std::u32string_view s);

// Appends the lower-case form of one code point taken on its own: the full mapping with no
// context, so U+03A3 always becomes U+03C3. This is Python's str.lower() applied one
// character at a time (transformers' slow tokenizers with do_lower_case) and Rust's
// char::to_lowercase (the Lowercase normalizer of `tokenizers`).
void append_lower_char(char32_t c, std::u32string& out);

// The Unicode White_Space property: Rust's char::is_whitespace and regex `\s`.
bool is_white_space(char32_t c);

// Rust regex `\w` (Unicode): Alphabetic, Mark, Decimal_Number, Connector_Punctuation or
// Join_Control.
bool is_word_char(char32_t c);

enum class NormalForm { nfc, nfd, nfkc, nfkd };

// True when normalize(s, form) would return s unchanged.
bool is_normalized(std::u32string_view s, NormalForm form);
// True when normalising never reaches across the start of `c`: for any s, t with
// has_boundary_before(t[0]), normalize(s + t) == normalize(s) + normalize(t).
bool has_boundary_before(char32_t c, NormalForm form);
std::u32string normalize(std::u32string_view s, NormalForm form);

}  // namespace vlbench::text
