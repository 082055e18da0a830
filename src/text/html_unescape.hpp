// Python's html.unescape, code point for code point (CPython 3.11 Lib/html/__init__.py):
// the character references matched by
//   &(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)
// left to right, numeric ones decoded with Python's invalid-code rules, named ones looked up in
// the HTML5 table (with or without ';' as the table allows), else the longest known prefix.
#pragma once

#include <string>
#include <string_view>

namespace vlbench::text {

std::u32string html_unescape(std::u32string_view s);

}  // namespace vlbench::text
