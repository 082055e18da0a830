// A raw TCP client for the HTTP front-end tests: send exact bytes (pipelined requests,
// smuggling patterns, garbage, a byte at a time) and read replies as the server wrote them.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace vlbench::testing {

struct RawReply {
  int status = 0;
  std::string headers;  // the header block, lower-cased names not applied
  std::string body;
  std::optional<std::string> header(std::string_view name) const {
    // Case-insensitive search of "\r\nName: value".
    std::string lower_headers = headers, lower_name(name);
    for (auto& c : lower_headers) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (auto& c : lower_name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const std::size_t at = lower_headers.find("\r\n" + lower_name + ":");
    if (at == std::string::npos) return std::nullopt;
    std::size_t start = at + 3 + lower_name.size();
    while (start < headers.size() && headers[start] == ' ') ++start;
    const std::size_t end = headers.find("\r\n", start);
    return headers.substr(start, end - start);
  }
};

class RawClient {
 public:
  explicit RawClient(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    const int yes = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
  }
  ~RawClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return connected_; }

  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Reads one reply (Content-Length framed); nullopt on close or after `timeout`.
  std::optional<RawReply> read_reply(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::size_t header_end;
    while ((header_end = pending_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill(deadline)) return std::nullopt;
    }
    RawReply reply;
    reply.headers = pending_.substr(0, header_end + 2);
    if (reply.headers.rfind("HTTP/1.1 ", 0) != 0) return std::nullopt;
    reply.status = std::atoi(reply.headers.c_str() + 9);
    const std::size_t length = std::stoul(reply.header("content-length").value_or("0"));
    while (pending_.size() < header_end + 4 + length) {
      if (!fill(deadline)) return std::nullopt;
    }
    reply.body = pending_.substr(header_end + 4, length);
    pending_.erase(0, header_end + 4 + length);
    return reply;
  }

  // True when the server closes the connection (EOF or reset) within `timeout`, with no
  // further bytes.
  bool closed_within(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(0, left.count()))) <= 0) {
        return false;
      }
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) return true;
      pending_.append(buf, static_cast<std::size_t>(n));
    }
  }

 private:
  bool fill(std::chrono::steady_clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buf[65536];
    const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) return false;
    pending_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string pending_;
};

inline std::string http_post(std::string_view path, std::string_view body,
                             std::string_view extra_headers = "") {
  return std::string("POST ") + std::string(path) + " HTTP/1.1\r\nHost: t\r\nContent-Type: " +
         "application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
         std::string(extra_headers) + "\r\n" + std::string(body);
}

inline std::string http_get(std::string_view path) {
  return std::string("GET ") + std::string(path) + " HTTP/1.1\r\nHost: t\r\n\r\n";
}

}  // namespace vlbench::testing
