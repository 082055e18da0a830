// multipart/form-data bodies (RFC 7578) of POST /v1/search, split into named fields. Strict:
// anything malformed is an Error (the server answers 400) naming what was wrong.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace vlbench::serve {

// The boundary of a Content-Type value "multipart/form-data; boundary=..." (quoted or not);
// nullopt for any other media type. multipart/form-data without a valid boundary (1 to 70
// characters) is an Error.
std::optional<std::string> multipart_boundary(std::string_view content_type);

// Field name -> content. Each part needs a Content-Disposition "form-data" with a name; a
// name given twice, more than 64 parts, a missing closing delimiter or a malformed part
// header is an Error.
std::map<std::string, std::string> parse_multipart_form(std::string_view body,
                                                        std::string_view boundary);

}  // namespace vlbench::serve
