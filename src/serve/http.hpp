// The HTTP/1.1 wire rules of `vlbench serve`, apart from sockets: what a request is once its
// bytes are parsed, what a reply is, how a parser is configured, which header combinations
// are refused, and how a reply is written out. The event-driven front end (http_server.hpp)
// and the HTTP fuzz target (fuzz/) both go through these functions, so the fuzzer exercises
// exactly the server's parsing path.
#pragma once

#include <boost/beast/http.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vlbench::serve {

struct HttpRequest {
  std::string method;  // as sent ("GET", "POST", ...)
  std::string path;    // the target before '?'
  std::string query;   // after '?', without it (may be empty)
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, in order
  std::string body;    // de-chunked

  // The first header named `name` (lower case), if any.
  std::optional<std::string_view> header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (Allow, Retry-After)
};

// A JSON error reply: {"error": message} (invalid UTF-8 in the message is replaced).
HttpResponse error_response(int status, std::string_view message);

// The reason phrase of a status code ("Bad Request"; "Unknown" for codes not listed).
std::string_view reason_phrase(int status);

// The reply as bytes: status line, Content-Type, Content-Length, Connection (keep-alive or
// close), the extra headers, the body. HTTP/1.1 status line whatever the request's version.
std::string serialize_response(const HttpResponse& response, bool keep_alive);

using RequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;

struct ParserLimits {
  std::uint32_t max_header_bytes = 16u << 10;  // request line + headers
  std::uint64_t max_body_bytes = 16u << 20;    // de-chunked body
};

// Applies the limits to a fresh parser (a parser serves one request).
void configure_parser(RequestParser& parser, const ParserLimits& limits);

// The reply for a parse error (Beast's error codes): 431 for oversized headers, 413 for a body
// over the limit, 400 for everything else (the message names what was wrong). The connection
// is closed after it: the byte stream cannot be trusted to resynchronize.
HttpResponse parse_error_response(const boost::beast::error_code& ec, const ParserLimits& limits);

// Header rules checked once the header is complete, before any body byte is read; a reply
// means: send it and close. Refused: more than one Content-Length line (even equal ones: a
// request-smuggling pattern), Transfer-Encoding together with Content-Length, any
// Transfer-Encoding other than exactly "chunked" (501), a request target not starting with
// '/', and an Expect other than 100-continue (417). HTTP/1.0 and 1.1 only (505).
std::optional<HttpResponse> check_header(const RequestParser& parser);

// Whether the header asks for "100 Continue" before the body is sent.
bool expects_continue(const RequestParser& parser);

// The complete message as an HttpRequest (the parser's body is moved out).
HttpRequest take_request(RequestParser& parser);

}  // namespace vlbench::serve
