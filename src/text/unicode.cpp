#include "text/unicode.hpp"

#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/ustring.h>

#include <algorithm>

#include "vlbench/core/error.hpp"

namespace vlbench::text {
namespace {

icu::UnicodeString to_icu(std::u32string_view s) {
  return icu::UnicodeString::fromUTF32(reinterpret_cast<const UChar32*>(s.data()),
                                       static_cast<int32_t>(s.size()));
}

void append_from_icu(const icu::UnicodeString& s, std::u32string& out) {
  for (int32_t i = 0; i < s.length();) {
    const UChar32 c = s.char32At(i);
    out.push_back(static_cast<char32_t>(c));
    i += U16_LENGTH(c);
  }
}

const icu::Normalizer2* normalizer(NormalForm form) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* n = nullptr;
  switch (form) {
    case NormalForm::nfc:
      n = icu::Normalizer2::getNFCInstance(status);
      break;
    case NormalForm::nfd:
      n = icu::Normalizer2::getNFDInstance(status);
      break;
    case NormalForm::nfkc:
      n = icu::Normalizer2::getNFKCInstance(status);
      break;
    case NormalForm::nfkd:
      n = icu::Normalizer2::getNFKDInstance(status);
      break;
  }
  VLB_ASSERT(U_SUCCESS(status) && n != nullptr);
  return n;
}

}  // namespace

std::u32string lower_python(std::u32string_view s) {
  if (std::all_of(s.begin(), s.end(), [](char32_t c) { return c < 0x80; })) {
    std::u32string out(s);
    for (char32_t& c : out) {
      if (c >= U'A' && c <= U'Z') c += U'a' - U'A';
    }
    return out;
  }
  // ICU's root-locale lower-casing is Python's mapping, final sigma included.
  icu::UnicodeString u = to_icu(s);
  u.toLower(icu::Locale::getRoot());
  std::u32string out;
  out.reserve(s.size());
  append_from_icu(u, out);
  return out;
}

void append_lower_char(char32_t c, std::u32string& out) {
  if (c < 0x80) {
    out.push_back(c >= U'A' && c <= U'Z' ? c + (U'a' - U'A') : c);
    return;
  }
  UChar src[2];
  int32_t src_length = 0;
  U16_APPEND_UNSAFE(src, src_length, static_cast<UChar32>(c));
  UChar dest[8];  // full mappings are at most 3 code points
  UErrorCode status = U_ZERO_ERROR;
  // A lone code point has no casing context, so the final-sigma rule never fires ("" = root).
  const int32_t n = u_strToLower(dest, 8, src, src_length, "", &status);
  VLB_ASSERT(U_SUCCESS(status) && n <= 8);
  for (int32_t i = 0; i < n;) {
    UChar32 d;
    U16_NEXT(dest, i, n, d);
    out.push_back(static_cast<char32_t>(d));
  }
}

bool is_white_space(char32_t c) {
  return u_isUWhiteSpace(static_cast<UChar32>(c));
}

bool is_word_char(char32_t c) {
  const auto u = static_cast<UChar32>(c);
  const auto mask = U_GET_GC_MASK(u);
  return u_hasBinaryProperty(u, UCHAR_ALPHABETIC) ||
         (mask & (U_GC_M_MASK | U_GC_ND_MASK | U_GC_PC_MASK)) != 0 ||
         u_hasBinaryProperty(u, UCHAR_JOIN_CONTROL);
}

bool is_normalized(std::u32string_view s, NormalForm form) {
  UErrorCode status = U_ZERO_ERROR;
  const bool yes = normalizer(form)->isNormalized(to_icu(s), status);
  VLB_ASSERT(U_SUCCESS(status));
  return yes;
}

bool has_boundary_before(char32_t c, NormalForm form) {
  return normalizer(form)->hasBoundaryBefore(static_cast<UChar32>(c));
}

std::u32string normalize(std::u32string_view s, NormalForm form) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::UnicodeString normalized = normalizer(form)->normalize(to_icu(s), status);
  VLB_ASSERT(U_SUCCESS(status));
  std::u32string out;
  out.reserve(s.size());
  append_from_icu(normalized, out);
  return out;
}

}  // namespace vlbench::text
