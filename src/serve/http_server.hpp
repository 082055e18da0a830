// The event-driven HTTP/1.1 front end of `vlbench serve` (Boost.Beast over Boost.Asio).
//
// One I/O thread owns every socket: accepting, reading, parsing (http.hpp) and writing. An
// idle or slow connection costs a file descriptor, a parser and a timer there, never a worker.
// A complete request is handed to the service:
//   - cheap requests (HttpService::cheap: health and metrics) are answered on the I/O thread;
//   - the others go through a bounded queue to `workers` threads; when the queue is full the
//     request is answered at once with 503 and "Retry-After: 1" (load shedding).
// Each connection handles one request at a time, so pipelined requests are answered in the
// order they came.
//
// Deadlines, per connection: the request line and headers must arrive within header_timeout
// of the server being ready for them (this also ends idle keep-alive connections), the body
// within body_timeout, a reply must be taken by the client within write_timeout; a connection
// past a deadline is closed. A connection serves at most max_requests_per_connection requests.
// Over max_connections, a new connection gets a 503 and is closed. Parse errors and header
// rule violations (http.hpp) get their 4xx/5xx at once and the connection is closed, after
// a short lingering read so that the client sees the reply.
//
// stop() (any thread): stops accepting, closes connections that have no request in progress,
// lets requests in progress finish and be written, and makes run() return once every
// connection is gone, or after drain_timeout at the latest.
#pragma once

#include "serve/http.hpp"
#include "serve/metrics.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace vlbench::serve {

class HttpService {
 public:
  virtual ~HttpService() = default;
  // The reply to a complete request. Must not throw (an exception becomes a 500).
  virtual HttpResponse handle(const HttpRequest& request) = 0;
  // True for requests answered on the I/O thread (must be quick and never block).
  virtual bool cheap(const HttpRequest& request) const = 0;
  // The metrics label of a path (a bounded set; "other" for unknown paths).
  virtual std::string endpoint_label(std::string_view path) const = 0;
};

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port
  int workers = 4;
  int queue_capacity = 64;  // complete requests waiting for a worker
  int max_connections = 4096;
  int max_requests_per_connection = 1000;
  std::chrono::milliseconds header_timeout{5000};
  std::chrono::milliseconds body_timeout{30000};
  std::chrono::milliseconds write_timeout{10000};
  std::chrono::milliseconds drain_timeout{10000};
  ParserLimits limits;
};

class HttpServer {
 public:
  // Checks the options (Errors name them). `service` and `metrics` must outlive the server.
  HttpServer(HttpService& service, Metrics& metrics, HttpServerOptions options);
  ~HttpServer();  // stops, waits for the workers
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens (backlog SOMAXCONN); returns the port. An Error names host and port.
  int bind();
  // Serves until stop() has drained; returns afterwards. bind() first.
  void run();
  // Idempotent, any thread (not async-signal-safe). Before run(): run() returns at once.
  void stop();

  struct Impl;  // public so that the .cpp's connection class can name it

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace vlbench::serve
