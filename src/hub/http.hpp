// A small HTTP client over libcurl for the Hub: one request at a time, the final response's
// status and headers, the body to memory or to a sink.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace vlbench::hub {

struct HttpResponse {
  long status = 0;
  // The final response's headers, names in lower case (a repeated header keeps its last value).
  std::map<std::string, std::string> headers;
  // A 3xx response's Location as an absolute URL (a relative one resolved against the request).
  std::string redirect_url;
  // The body when the request has no sink, or the start of an error body (>= 300).
  std::string body;

  std::string header(const std::string& lower_name) const;
};

struct HttpRequest {
  std::string method = "GET";  // "GET" or "HEAD"
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  bool follow_redirects = false;
  int connect_timeout_s = 30;
  int stall_timeout_s = 60;  // no byte for this long: the transfer is given up
  // A 2xx body goes here instead of HttpResponse::body: on_start with the status and headers
  // before the first byte, then on_body per chunk. Either may throw (the exception is
  // rethrown from http_request once curl has stopped).
  std::function<void(const HttpResponse& head)> on_start;
  std::function<void(const char* bytes, std::size_t n)> on_body;
};

// A transfer that failed below HTTP: no connection, a timeout, a body cut short. `cut` says
// whether it was cut after it started (the caller may resume it).
struct TransportFailure {
  bool failed = false;
  bool cut = false;
  std::string message;  // curl's reason, with the URL
};

// Performs `request`. HTTP statuses (4xx, 5xx) are returned, not thrown; a transport failure
// is returned in `failure` (when given, else thrown as vlbench::Error).
HttpResponse http_request(const HttpRequest& request, TransportFailure* failure = nullptr);

// Percent-encodes a repository path for a URL ('/' kept), as huggingface_hub's quote().
std::string url_quote_path(const std::string& path);
// Percent-encodes one URL component ('/' encoded too).
std::string url_quote_component(const std::string& text);

}  // namespace vlbench::hub
