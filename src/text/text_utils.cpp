#include "vlbench/text/text_utils.hpp"

#include "text/unicode.hpp"
#include "text/utf8.hpp"

namespace vlbench {

std::string python_lower(std::string_view utf8) {
  const std::u32string lowered = text::lower_python(text::decode_utf8(utf8, "text to lower-case"));
  std::string out;
  out.reserve(utf8.size());
  for (char32_t c : lowered) text::append_utf8(c, out);
  return out;
}

}  // namespace vlbench
