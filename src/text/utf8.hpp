// UTF-8 <-> code points, strict: overlong forms, surrogates and values past U+10FFFF are
// rejected, as Python's bytes.decode("utf-8") rejects them.
#pragma once

#include <string>
#include <string_view>

namespace vlbench::text {

// Decodes `bytes` to code points. Invalid input throws Error
// "<what>: invalid UTF-8 at byte <offset> (0x<byte>): <reason>".
std::u32string decode_utf8(std::string_view bytes, std::string_view what);

// Appends the UTF-8 form of `c` (a Unicode scalar value) to `out`.
void append_utf8(char32_t c, std::string& out);

}  // namespace vlbench::text
