#include "text/utf8.hpp"

#include "vlbench/core/error.hpp"

namespace vlbench::text {
namespace {

[[noreturn]] void invalid(std::string_view what, std::string_view bytes, std::size_t offset,
                          const char* reason) {
  fail("{}: invalid UTF-8 at byte {} (0x{:02X}): {}", what, offset,
       static_cast<unsigned>(static_cast<unsigned char>(bytes[offset])), reason);
}

}  // namespace

std::u32string decode_utf8(std::string_view bytes, std::string_view what) {
  std::u32string out;
  out.reserve(bytes.size());
  std::size_t i = 0;
  const std::size_t n = bytes.size();
  while (i < n) {
    const auto b0 = static_cast<unsigned char>(bytes[i]);
    if (b0 < 0x80) {
      out.push_back(b0);
      ++i;
      continue;
    }
    int length = 0;
    char32_t c = 0;
    // Allowed range of the second byte, per the Unicode standard's table 3-7.
    unsigned char lo = 0x80, hi = 0xBF;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      length = 2;
      c = b0 & 0x1F;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      length = 3;
      c = b0 & 0x0F;
      if (b0 == 0xE0) lo = 0xA0;  // overlong
      if (b0 == 0xED) hi = 0x9F;  // surrogates
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      length = 4;
      c = b0 & 0x07;
      if (b0 == 0xF0) lo = 0x90;  // overlong
      if (b0 == 0xF4) hi = 0x8F;  // past U+10FFFF
    } else if (b0 >= 0x80 && b0 <= 0xBF) {
      invalid(what, bytes, i, "continuation byte without a lead byte");
    } else {
      invalid(what, bytes, i, "byte never valid in UTF-8");
    }
    for (int k = 1; k < length; ++k) {
      if (i + k >= n) invalid(what, bytes, i, "sequence cut short by the end of the text");
      const auto b = static_cast<unsigned char>(bytes[i + k]);
      const unsigned char min = k == 1 ? lo : 0x80;
      const unsigned char max = k == 1 ? hi : 0xBF;
      if (b < min || b > max) {
        invalid(what, bytes, i + k,
                b >= 0x80 && b <= 0xBF ? "overlong form, surrogate or value past U+10FFFF"
                                       : "expected a continuation byte");
      }
      c = (c << 6) | (b & 0x3F);
    }
    out.push_back(c);
    i += static_cast<std::size_t>(length);
  }
  return out;
}

void append_utf8(char32_t c, std::string& out) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

}  // namespace vlbench::text
