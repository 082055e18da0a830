#include "serve/http.hpp"

#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <iterator>

namespace vlbench::serve {

namespace http = boost::beast::http;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<std::string_view> HttpRequest::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return std::nullopt;
}

HttpResponse error_response(int status, std::string_view message) {
  HttpResponse response;
  response.status = status;
  response.body = nlohmann::json{{"error", std::string(message)}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
  return response;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

std::string serialize_response(const HttpResponse& response, bool keep_alive) {
  std::string out;
  out.reserve(160 + response.body.size());
  auto it = std::back_inserter(out);
  fmt::format_to(it, "HTTP/1.1 {} {}\r\n", response.status, reason_phrase(response.status));
  fmt::format_to(it, "Content-Type: {}\r\nContent-Length: {}\r\nConnection: {}\r\n",
                 response.content_type, response.body.size(), keep_alive ? "keep-alive" : "close");
  for (const auto& [name, value] : response.headers) fmt::format_to(it, "{}: {}\r\n", name, value);
  out += "\r\n";
  out += response.body;
  return out;
}

void configure_parser(RequestParser& parser, const ParserLimits& limits) {
  parser.header_limit(limits.max_header_bytes);
  parser.body_limit(limits.max_body_bytes);
}

HttpResponse parse_error_response(const boost::beast::error_code& ec, const ParserLimits& limits) {
  if (ec == http::error::header_limit) {
    return error_response(431, fmt::format("request line and headers exceed {} bytes",
                                           limits.max_header_bytes));
  }
  if (ec == http::error::body_limit) {
    return error_response(413, fmt::format("request body exceeds the limit of {} bytes "
                                           "(--max-body-bytes)",
                                           limits.max_body_bytes));
  }
  if (ec == http::error::bad_content_length) {
    return error_response(400, "invalid or conflicting Content-Length");
  }
  if (ec == http::error::bad_transfer_encoding) {
    return error_response(400, "invalid Transfer-Encoding (given twice, or with Content-Length)");
  }
  return error_response(400, fmt::format("malformed HTTP request ({})", ec.message()));
}

std::optional<HttpResponse> check_header(const RequestParser& parser) {
  const auto& message = parser.get();
  if (message.version() != 11 && message.version() != 10) {
    return error_response(505, "only HTTP/1.0 and HTTP/1.1 are served");
  }
  const auto target = message.target();
  if (target.empty() || target.front() != '/') {
    return error_response(400, "request target must be an absolute path ('/...')");
  }
  int content_lengths = 0;
  int transfer_encodings = 0;
  std::string_view transfer_encoding;
  std::optional<std::string_view> expect;
  for (const auto& field : message) {
    const auto name = field.name_string();
    const std::string_view key(name.data(), name.size());
    const std::string_view value(field.value().data(), field.value().size());
    if (iequals(key, "content-length")) {
      ++content_lengths;
      const std::string_view digits = trim(value);
      if (digits.empty() || !std::all_of(digits.begin(), digits.end(), [](char c) {
            return c >= '0' && c <= '9';
          })) {
        return error_response(400, "invalid Content-Length (expected one decimal number)");
      }
    }
    if (iequals(key, "transfer-encoding")) {
      ++transfer_encodings;
      transfer_encoding = value;
    }
    if (iequals(key, "expect")) expect = value;
  }
  if (content_lengths > 1) return error_response(400, "Content-Length given more than once");
  if (transfer_encodings > 0 && content_lengths > 0) {
    return error_response(400, "Transfer-Encoding together with Content-Length");
  }
  if (transfer_encodings > 1) return error_response(400, "Transfer-Encoding given more than once");
  if (transfer_encodings == 1 && !iequals(trim(transfer_encoding), "chunked")) {
    return error_response(501, fmt::format("Transfer-Encoding '{}' is not supported (only "
                                           "'chunked')",
                                           transfer_encoding));
  }
  if (expect && !iequals(trim(*expect), "100-continue")) {
    return error_response(417, "Expect: only 100-continue is supported");
  }
  return std::nullopt;
}

bool expects_continue(const RequestParser& parser) {
  const auto& message = parser.get();
  const auto it = message.find(http::field::expect);
  if (it == message.end()) return false;
  return iequals(trim(std::string_view(it->value().data(), it->value().size())), "100-continue");
}

HttpRequest take_request(RequestParser& parser) {
  http::request<http::string_body> message = parser.release();
  HttpRequest request;
  request.method = std::string(message.method_string());
  const std::string_view target(message.target().data(), message.target().size());
  const auto q = target.find('?');
  request.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) request.query = std::string(target.substr(q + 1));
  for (const auto& field : message) {
    request.headers.emplace_back(lower(std::string_view(field.name_string().data(),
                                                        field.name_string().size())),
                                 std::string(field.value()));
  }
  request.body = std::move(message.body());
  return request;
}

}  // namespace vlbench::serve
