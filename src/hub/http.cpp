// The Hub's HTTP client over libcurl (http.hpp).
#include "hub/http.hpp"

#include <vlbench/core/error.hpp>

#include <curl/curl.h>

#include <cctype>
#include <exception>
#include <memory>

namespace vlbench::hub {

namespace {

constexpr std::size_t kMaxErrorBody = 64 << 10;

void ensure_curl_initialized() {
  static const CURLcode code = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (code != CURLE_OK) fail("libcurl cannot start: {}", curl_easy_strerror(code));
}

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string trim(const std::string& text) {
  std::size_t first = 0, last = text.size();
  while (first < last && std::isspace(static_cast<unsigned char>(text[first]))) ++first;
  while (last > first && std::isspace(static_cast<unsigned char>(text[last - 1]))) --last;
  return text.substr(first, last - first);
}

// What the callbacks share with http_request.
struct Transfer {
  CURL* curl = nullptr;
  const HttpRequest* request = nullptr;
  HttpResponse response;
  bool started = false;
  std::exception_ptr error;
};

extern "C" size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::string line(data, size * count);
  if (line.rfind("HTTP/", 0) == 0) {
    transfer->response.headers.clear();  // a new response (after a redirect or a 100)
  } else if (const std::size_t colon = line.find(':'); colon != std::string::npos) {
    transfer->response.headers[lower(trim(line.substr(0, colon)))] = trim(line.substr(colon + 1));
  }
  return size * count;
}

extern "C" size_t on_write(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  try {
    if (!transfer->started) {
      transfer->started = true;
      curl_easy_getinfo(transfer->curl, CURLINFO_RESPONSE_CODE, &transfer->response.status);
      if (transfer->response.status < 300 && transfer->request->on_start) {
        transfer->request->on_start(transfer->response);
      }
    }
    if (transfer->response.status < 300 && transfer->request->on_body) {
      transfer->request->on_body(data, n);
    } else if (transfer->response.body.size() < kMaxErrorBody ||
               (transfer->response.status < 300 && !transfer->request->on_body)) {
      transfer->response.body.append(data, n);
    }
  } catch (...) {
    transfer->error = std::current_exception();
    return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
  }
  return n;
}

}  // namespace

std::string HttpResponse::header(const std::string& lower_name) const {
  const auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

HttpResponse http_request(const HttpRequest& request, TransportFailure* failure) {
  ensure_curl_initialized();
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
  if (!curl) fail("libcurl: cannot create a transfer for {}", request.url);
  struct curl_slist* header_list = nullptr;
  for (const std::string& header : request.headers) {
    header_list = curl_slist_append(header_list, header.c_str());
  }
  std::unique_ptr<struct curl_slist, decltype(&curl_slist_free_all)> headers(header_list,
                                                                             &curl_slist_free_all);
  Transfer transfer;
  transfer.curl = curl.get();
  transfer.request = &request;
  char error_text[CURL_ERROR_SIZE] = {};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_text);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "vlbench (libcurl)");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, static_cast<long>(request.connect_timeout_s));
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, static_cast<long>(request.stall_timeout_s));
  // Custom headers (Authorization) are not sent to another host after a redirect (curl's
  // default since 7.58; said here so it never changes).
  curl_easy_setopt(c, CURLOPT_UNRESTRICTED_AUTH, 0L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, request.follow_redirects ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  if (request.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (request.method != "GET") {
    fail("http_request: unsupported method {}", request.method);
  }
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &transfer);

  const CURLcode code = curl_easy_perform(c);
  if (transfer.error) std::rethrow_exception(transfer.error);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &transfer.response.status);
  char* redirect = nullptr;
  if (curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &redirect) == CURLE_OK && redirect != nullptr) {
    transfer.response.redirect_url = redirect;
  }
  if (code != CURLE_OK) {
    TransportFailure local;
    TransportFailure& f = failure != nullptr ? *failure : local;
    f.failed = true;
    f.cut = transfer.started || code == CURLE_PARTIAL_FILE;
    f.message = fmt::format("{}: {}", request.url,
                            error_text[0] != '\0' ? error_text : curl_easy_strerror(code));
    if (failure == nullptr) fail("{}", f.message);
  }
  return transfer.response;
}

std::string url_quote_component(const std::string& text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string url_quote_path(const std::string& path) {
  std::string out;
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = path.find('/', start);
    out += url_quote_component(path.substr(start, slash - start));
    if (slash == std::string::npos) break;
    out.push_back('/');
    start = slash + 1;
  }
  return out;
}

}  // namespace vlbench::hub
