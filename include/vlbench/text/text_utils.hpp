// Text helpers for callers of the tokenizers.
#pragma once

#include <string>
#include <string_view>

namespace vlbench {

// Python's str.lower() of UTF-8 text, returned as UTF-8: full Unicode lower-case mappings
// (U+0130 'İ' -> "i\u0307", so the result can be longer than the input) and the final-sigma
// rule ("ΟΔΟΣ" -> "οδος"), no locale, no case folding ('ß' stays). SigLIP 2 checkpoints expect
// their captions lower-cased this way by the caller before HfTokenizer::encode.
// Invalid UTF-8 is an Error ("text to lower-case: invalid UTF-8 at byte N ...").
std::string python_lower(std::string_view utf8);

}  // namespace vlbench
