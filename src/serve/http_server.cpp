#include "serve/http_server.hpp"

#include <vlbench/core/error.hpp>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <fmt/format.h>

#include <array>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>
#include <vector>

#include <sys/socket.h>

namespace vlbench::serve {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr std::chrono::milliseconds kLingerTimeout{1000};
constexpr std::size_t kLingerBytes = 64u << 20;

// Worker threads behind a bounded FIFO of jobs.
class WorkQueue {
 public:
  WorkQueue(int workers, int capacity, Metrics& metrics)
      : capacity_(static_cast<std::size_t>(capacity)), metrics_(metrics) {
    for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { work(); });
  }
  ~WorkQueue() { shutdown(); }

  // False (and `job` untouched) when the queue is full or shut down.
  bool try_push(std::function<void()>& job) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (closed_ || jobs_.size() >= capacity_) return false;
      jobs_.push_back(std::move(job));
      metrics_.set_queue_depth(static_cast<std::int64_t>(jobs_.size()));
    }
    ready_.notify_one();
    return true;
  }

  // Runs the jobs already queued, then joins the workers. Idempotent.
  void shutdown() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      closed_ = true;
    }
    ready_.notify_all();
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  void work() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_.wait(lock, [this] { return closed_ || !jobs_.empty(); });
        if (jobs_.empty()) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
        metrics_.set_queue_depth(static_cast<std::int64_t>(jobs_.size()));
      }
      job();
    }
  }

  std::size_t capacity_;
  Metrics& metrics_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> jobs_;
  bool closed_ = false;
  std::vector<std::thread> threads_;
};

HttpResponse handle_safely(HttpService& service, const HttpRequest& request) {
  try {
    return service.handle(request);
  } catch (const std::exception& e) {
    return error_response(500, fmt::format("internal error: {}", e.what()));
  } catch (...) {
    return error_response(500, "internal error");
  }
}

bool is_http_parse_error(const beast::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

class Connection;

}  // namespace

struct HttpServer::Impl {
  Impl(HttpService& s, Metrics& m, HttpServerOptions o)
      : service(s), metrics(m), options(std::move(o)) {}

  HttpService& service;
  Metrics& metrics;
  HttpServerOptions options;
  // Touched on the I/O thread only. Declared before the io_context, so that connections its
  // destructor releases can still deregister.
  std::unordered_set<Connection*> connections;
  bool draining = false;

  asio::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  asio::steady_timer accept_retry{ioc};
  asio::steady_timer drain_timer{ioc};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> keep_running;
  std::unique_ptr<WorkQueue> queue;

  std::mutex state_mutex;
  bool stop_requested = false;
  bool running = false;
  int port = -1;

  void accept();
  void reject(tcp::socket& socket);
  void begin_drain();
  void connection_gone();
};

namespace {

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using Impl = HttpServer::Impl;

  Connection(tcp::socket socket, Impl& server) : stream_(std::move(socket)), server_(server) {
    server_.connections.insert(this);
    server_.metrics.connection_opened();
  }
  ~Connection() {
    close("client");  // a no-op when already closed with a reason
    server_.connections.erase(this);
    server_.connection_gone();
  }

  void start() { read_header(); }

  // Drain: a connection without a request in progress goes now.
  void close_if_idle() {
    if (state_ == State::reading || state_ == State::lingering) close("drain");
  }
  void close(const char* reason) {
    if (closed_) return;
    closed_ = true;
    server_.metrics.connection_closed(reason);
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

 private:
  enum class State { reading, working, writing, lingering };

  void read_header() {
    state_ = State::reading;
    parser_.emplace();
    configure_parser(*parser_, server_.options.limits);
    stream_.expires_after(server_.options.header_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              self->on_header(ec);
                            });
  }

  void on_header(const beast::error_code& ec) {
    if (ec) return on_read_error(ec);
    if (std::optional<HttpResponse> refused = check_header(*parser_)) {
      label_ = server_.service.endpoint_label(target_path());
      return reply(std::move(*refused), false);
    }
    if (parser_->is_done()) return dispatch();
    if (expects_continue(*parser_)) {
      out_ = "HTTP/1.1 100 Continue\r\n\r\n";
      stream_.expires_after(server_.options.write_timeout);
      asio::async_write(stream_, asio::buffer(out_),
                        [self = shared_from_this()](beast::error_code ec, std::size_t) {
                          if (ec) return self->close(ec == beast::error::timeout ? "write_timeout"
                                                                                 : "client");
                          self->read_body();
                        });
      return;
    }
    read_body();
  }

  void read_body() {
    stream_.expires_after(server_.options.body_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec) return self->on_read_error(ec);
                       self->dispatch();
                     });
  }

  void on_read_error(const beast::error_code& ec) {
    if (ec == beast::error::timeout) {
      return close(parser_->got_some() || buffer_.size() > 0 ? "read_timeout" : "idle_timeout");
    }
    if (ec == asio::error::operation_aborted) return close("drain");
    if (is_http_parse_error(ec)) {
      label_ = server_.service.endpoint_label(target_path());  // "other" before the target
      return reply(parse_error_response(ec, server_.options.limits), false);
    }
    close("client");  // end of stream, reset, a message cut short
  }

  std::string target_path() const {
    const auto target = parser_->get().target();
    const std::string_view t(target.data(), target.size());
    return std::string(t.substr(0, t.find('?')));
  }

  void dispatch() {
    stream_.expires_never();
    ++served_;
    const bool keep_alive = parser_->get().keep_alive() &&
                            served_ < server_.options.max_requests_per_connection;
    HttpRequest request = take_request(*parser_);
    label_ = server_.service.endpoint_label(request.path);
    state_ = State::working;
    if (server_.service.cheap(request)) {
      return reply(handle_safely(server_.service, request), keep_alive);
    }
    std::function<void()> job = [self = shared_from_this(), request = std::move(request),
                                 keep_alive]() mutable {
      HttpResponse response = handle_safely(self->server_.service, request);
      Impl& server = self->server_;
      asio::post(server.ioc, [self = std::move(self), response = std::move(response),
                              keep_alive]() mutable { self->reply(std::move(response), keep_alive); });
    };
    if (!server_.queue->try_push(job)) {
      HttpResponse busy = error_response(503, "server busy: every worker is taken and the "
                                              "request queue is full; retry later");
      busy.headers.emplace_back("Retry-After", "1");
      reply(std::move(busy), keep_alive);
    }
  }

  // Counts and writes a reply; then the next request, or a lingering close.
  void reply(HttpResponse response, bool keep_alive) {
    if (closed_) return;  // force-closed while a worker had the request
    keep_alive = keep_alive && !server_.draining;
    server_.metrics.count_request(label_, response.status);
    out_ = serialize_response(response, keep_alive);
    state_ = State::writing;
    stream_.expires_after(server_.options.write_timeout);
    asio::async_write(stream_, asio::buffer(out_),
                      [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
                        if (ec) {
                          return self->close(ec == beast::error::timeout ? "write_timeout"
                                                                         : "client");
                        }
                        if (keep_alive && !self->server_.draining) return self->read_header();
                        self->linger();
                      });
  }

  // After a final reply: stop sending, read and drop what the client still sends (so that
  // closing does not reset the connection before the client has read the reply), for a
  // bounded time and number of bytes.
  void linger() {
    state_ = State::lingering;
    out_.clear();
    out_.shrink_to_fit();
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(kLingerTimeout);
    linger_read();
  }
  void linger_read() {
    stream_.async_read_some(asio::buffer(drain_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->lingered_ += n;
                              if (ec || self->lingered_ > kLingerBytes) {
                                return self->close("served");
                              }
                              self->linger_read();
                            });
  }

  beast::tcp_stream stream_;
  Impl& server_;
  beast::flat_buffer buffer_;
  std::optional<RequestParser> parser_;
  State state_ = State::reading;
  bool closed_ = false;
  int served_ = 0;
  std::string label_ = "other";
  std::string out_;
  std::array<char, 8192> drain_{};
  std::size_t lingered_ = 0;
};

}  // namespace

void HttpServer::Impl::accept() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (!acceptor.is_open() || draining) return;
    if (ec) {
      // Out of descriptors or memory: wait a little rather than spin.
      accept_retry.expires_after(std::chrono::milliseconds(50));
      accept_retry.async_wait([this](beast::error_code wait_ec) {
        if (!wait_ec && !draining) accept();
      });
      return;
    }
    if (static_cast<int>(connections.size()) >= options.max_connections) {
      reject(socket);
    } else {
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      std::make_shared<Connection>(std::move(socket), *this)->start();
    }
    accept();
  });
}

void HttpServer::Impl::reject(tcp::socket& socket) {
  static const std::string busy = serialize_response(
      error_response(503, "server busy: too many open connections; retry later"), false);
  metrics.connection_opened();
  metrics.count_request("other", 503);
  // One non-blocking send of a short reply into an empty socket buffer; then close.
  ::send(socket.native_handle(), busy.data(), busy.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  beast::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
  metrics.connection_closed("limit");
}

void HttpServer::Impl::begin_drain() {
  if (draining) return;
  draining = true;
  beast::error_code ignored;
  acceptor.close(ignored);
  accept_retry.cancel();
  // Copy: closing may not erase (destruction comes later), but keep iteration safe anyway.
  const std::vector<Connection*> open(connections.begin(), connections.end());
  for (Connection* c : open) c->close_if_idle();
  drain_timer.expires_after(options.drain_timeout);
  drain_timer.async_wait([this](beast::error_code ec) {
    if (ec) return;  // cancelled: drained in time
    const std::vector<Connection*> left(connections.begin(), connections.end());
    for (Connection* c : left) c->close("drain_timeout");
    keep_running.reset();
  });
  connection_gone();
}

void HttpServer::Impl::connection_gone() {
  if (draining && connections.empty()) {
    drain_timer.cancel();
    keep_running.reset();
  }
}

HttpServer::HttpServer(HttpService& service, Metrics& metrics, HttpServerOptions options) {
  if (options.workers < 1) fail("--threads: expected at least 1, got {}", options.workers);
  if (options.queue_capacity < 1) {
    fail("--queue: expected at least 1, got {}", options.queue_capacity);
  }
  if (options.max_connections < 1) {
    fail("--max-connections: expected at least 1, got {}", options.max_connections);
  }
  if (options.max_requests_per_connection < 1) {
    fail("requests per connection: expected at least 1, got {}",
         options.max_requests_per_connection);
  }
  if (options.port < 0 || options.port > 65535) {
    fail("--port: expected 0..65535, got {}", options.port);
  }
  using std::chrono::milliseconds;
  for (const auto& [name, value] :
       {std::pair{"header timeout", options.header_timeout},
        std::pair{"body timeout", options.body_timeout},
        std::pair{"write timeout", options.write_timeout},
        std::pair{"drain timeout", options.drain_timeout}}) {
    if (value < milliseconds(1)) fail("{}: expected at least 1 ms, got {} ms", name, value.count());
  }
  if (options.limits.max_body_bytes < 1) fail("--max-body-bytes: expected at least 1");
  impl_ = std::make_unique<Impl>(service, metrics, std::move(options));
}

HttpServer::~HttpServer() {
  stop();
  if (impl_->queue) impl_->queue->shutdown();
}

int HttpServer::bind() {
  Impl& impl = *impl_;
  VLB_ASSERT(impl.port < 0);
  beast::error_code ec;
  const auto address = asio::ip::make_address(impl.options.host, ec);
  if (ec) fail("--host {}: not an IP address", impl.options.host);
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(impl.options.port));
  impl.acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl.acceptor.bind(endpoint, ec);
  if (!ec) impl.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    beast::error_code ignored;
    impl.acceptor.close(ignored);
    fail("--host {} --port {}: cannot bind ({})", impl.options.host, impl.options.port,
         ec.message());
  }
  impl.port = impl.acceptor.local_endpoint().port();
  return impl.port;
}

void HttpServer::run() {
  Impl& impl = *impl_;
  VLB_ASSERT(impl.port > 0);
  {
    std::lock_guard<std::mutex> lock(impl.state_mutex);
    if (impl.stop_requested) return;
    impl.running = true;
  }
  impl.queue = std::make_unique<WorkQueue>(impl.options.workers, impl.options.queue_capacity,
                                           impl.metrics);
  impl.keep_running.emplace(impl.ioc.get_executor());
  impl.accept();
  impl.ioc.run();
  // Replies that workers finish now find their connections closed; run what they posted so
  // that every connection is released here, not in the io_context's destructor.
  impl.queue->shutdown();
  impl.ioc.restart();
  impl.ioc.run();
}

void HttpServer::stop() {
  Impl& impl = *impl_;
  std::lock_guard<std::mutex> lock(impl.state_mutex);
  if (impl.stop_requested) return;
  impl.stop_requested = true;
  if (impl.running) asio::post(impl.ioc, [&impl] { impl.begin_drain(); });
}

}  // namespace vlbench::serve
