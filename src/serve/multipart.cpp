#include "serve/multipart.hpp"

#include <vlbench/core/error.hpp>

#include <algorithm>
#include <cctype>
#include <vector>

namespace vlbench::serve {

namespace {

constexpr std::size_t kMaxParts = 64;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// "; key=value; key="quoted \" value"" parameters after a media type or disposition type.
// Keys lower-cased. A malformed quoted string is an Error naming `what`.
std::map<std::string, std::string> parse_parameters(std::string_view s, std::string_view what) {
  std::map<std::string, std::string> params;
  std::size_t i = 0;
  while (i < s.size()) {
    if (s[i] == ';' || s[i] == ' ' || s[i] == '\t') {
      ++i;
      continue;
    }
    const std::size_t eq = s.find('=', i);
    const std::size_t semi = s.find(';', i);
    if (eq == std::string_view::npos || (semi != std::string_view::npos && semi < eq)) {
      // A bare token (no value): skip it.
      i = semi == std::string_view::npos ? s.size() : semi;
      continue;
    }
    const std::string key = lower(trim(s.substr(i, eq - i)));
    i = eq + 1;
    std::string value;
    if (i < s.size() && s[i] == '"') {
      ++i;
      bool closed = false;
      while (i < s.size()) {
        const char c = s[i++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c == '\\' && i < s.size()) {
          value += s[i++];
        } else {
          value += c;
        }
      }
      if (!closed) fail("{}: unterminated quoted parameter '{}'", what, key);
    } else {
      const std::size_t end = std::min(s.find(';', i), s.size());
      value = std::string(trim(s.substr(i, end - i)));
      i = end;
    }
    params[key] = std::move(value);
  }
  return params;
}

}  // namespace

std::optional<std::string> multipart_boundary(std::string_view content_type) {
  const std::size_t semi = content_type.find(';');
  const std::string type = lower(trim(content_type.substr(0, semi)));
  if (type != "multipart/form-data") return std::nullopt;
  const auto params = parse_parameters(
      semi == std::string_view::npos ? std::string_view() : content_type.substr(semi + 1),
      "Content-Type");
  const auto it = params.find("boundary");
  if (it == params.end() || it->second.empty() || it->second.size() > 70) {
    fail("Content-Type multipart/form-data: expected a boundary of 1 to 70 characters");
  }
  return it->second;
}

std::map<std::string, std::string> parse_multipart_form(std::string_view body,
                                                        std::string_view boundary) {
  const std::string delimiter = "--" + std::string(boundary);
  const std::string next_delimiter = "\r\n" + delimiter;
  // The first delimiter: at the very start, or after a preamble ending in CRLF.
  std::size_t pos;
  if (body.substr(0, delimiter.size()) == delimiter) {
    pos = delimiter.size();
  } else {
    const std::size_t found = body.find(next_delimiter);
    if (found == std::string_view::npos) fail("multipart form: no boundary delimiter in the body");
    pos = found + next_delimiter.size();
  }
  std::map<std::string, std::string> fields;
  for (std::size_t parts = 0;; ++parts) {
    // After a delimiter: "--" ends the body; else optional padding, then CRLF.
    if (body.substr(pos, 2) == "--") return fields;
    while (pos < body.size() && (body[pos] == ' ' || body[pos] == '\t')) ++pos;
    if (body.substr(pos, 2) != "\r\n") fail("multipart form: expected CRLF after a boundary");
    pos += 2;
    if (parts == kMaxParts) fail("multipart form: more than {} parts", kMaxParts);

    const std::size_t header_end = body.find("\r\n\r\n", pos);
    std::string_view headers;
    std::size_t content_start;
    if (body.substr(pos, 2) == "\r\n") {  // a part without headers
      content_start = pos + 2;
    } else if (header_end == std::string_view::npos) {
      fail("multipart form: part {} has no end of headers", parts + 1);
    } else {
      headers = body.substr(pos, header_end - pos);
      content_start = header_end + 4;
    }
    std::optional<std::string> name;
    std::size_t line_start = 0;
    while (line_start < headers.size()) {
      const std::size_t line_end = std::min(headers.find("\r\n", line_start), headers.size());
      const std::string_view line = headers.substr(line_start, line_end - line_start);
      line_start = line_end + 2;
      const std::size_t colon = line.find(':');
      if (colon == std::string_view::npos) {
        fail("multipart form: part {}: malformed header line", parts + 1);
      }
      if (lower(trim(line.substr(0, colon))) != "content-disposition") continue;
      const std::string_view value = line.substr(colon + 1);
      const std::size_t semi = value.find(';');
      if (lower(trim(value.substr(0, semi))) != "form-data") {
        fail("multipart form: part {}: Content-Disposition must be form-data", parts + 1);
      }
      const auto params = parse_parameters(
          semi == std::string_view::npos ? std::string_view() : value.substr(semi + 1),
          "Content-Disposition");
      const auto it = params.find("name");
      if (it != params.end()) name = it->second;
    }
    if (!name) fail("multipart form: part {} has no Content-Disposition name", parts + 1);

    const std::size_t content_end = body.find(next_delimiter, content_start);
    if (content_end == std::string_view::npos) {
      fail("multipart form: part '{}' has no closing boundary", *name);
    }
    if (!fields.emplace(*name, std::string(body.substr(content_start, content_end - content_start)))
             .second) {
      fail("multipart form: field '{}' given twice", *name);
    }
    pos = content_end + next_delimiter.size();
  }
}

}  // namespace vlbench::serve
