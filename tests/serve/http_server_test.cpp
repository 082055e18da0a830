// The event-driven HTTP front end (serve/http_server.hpp) with a service whose requests can be
// held: pipelining in order, request smuggling and invalid lengths refused at once, idle and
// slow connections that cost no worker, load shedding with 503 + Retry-After, connection and
// keep-alive limits, deadlines, and draining on stop().
#include "serve/raw_http.hpp"

#include "serve/http_server.hpp"
#include "serve/metrics.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace vlbench::testing {
namespace {

using namespace std::chrono_literals;
using serve::HttpRequest;
using serve::HttpResponse;

// "/slow" waits until the gate opens; "/throw" throws; "/cheap" runs on the I/O thread;
// anything else echoes "METHOD PATH BODY".
class GateService final : public serve::HttpService {
 public:
  HttpResponse handle(const HttpRequest& request) override {
    if (request.path == "/slow") {
      std::unique_lock<std::mutex> lock(mutex_);
      ++started_;
      changed_.notify_all();
      changed_.wait(lock, [this] { return open_; });
    }
    if (request.path == "/throw") throw std::runtime_error("boom");
    HttpResponse response;
    response.content_type = "text/plain";
    response.body = request.method + " " + request.path + " " + request.body;
    return response;
  }
  bool cheap(const HttpRequest& request) const override { return request.path == "/cheap"; }
  std::string endpoint_label(std::string_view path) const override {
    return path == "/slow" || path == "/echo" || path == "/cheap" ? std::string(path) : "other";
  }

  void open() {
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }
  bool wait_started(int n, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return started_ >= n; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool open_ = false;
  int started_ = 0;
};

serve::HttpServerOptions quick_options() {
  serve::HttpServerOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.workers = 2;
  o.queue_capacity = 8;
  o.header_timeout = 2000ms;
  o.body_timeout = 2000ms;
  o.drain_timeout = 3000ms;
  o.limits.max_body_bytes = 1000;
  return o;
}

class RunningFrontEnd {
 public:
  explicit RunningFrontEnd(serve::HttpServerOptions options = quick_options())
      : server_(service, metrics, std::move(options)) {
    port_ = server_.bind();
    thread_ = std::thread([this] {
      server_.run();
      returned = true;
    });
  }
  ~RunningFrontEnd() {
    service.open();
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }
  void stop() { server_.stop(); }
  std::string scrape() const { return metrics.render(0); }

  GateService service;
  serve::Metrics metrics{{}};
  std::atomic<bool> returned{false};

 private:
  serve::HttpServer server_;
  int port_ = -1;
  std::thread thread_;
};

double metric(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return 0;
}

// The value of `series` once it reaches `expected` (the server counts a closed connection
// just after the client sees it close), or its value after two seconds.
double await_metric(const RunningFrontEnd& server, const std::string& series, double expected) {
  double value = 0;
  for (int i = 0; i < 100; ++i) {
    value = metric(server.scrape(), series);
    if (value == expected) break;
    std::this_thread::sleep_for(20ms);
  }
  return value;
}

TEST(HttpFrontEnd, PipelinedRequestsAreAnsweredInOrder) {
  RunningFrontEnd server;
  RawClient client(server.port());
  ASSERT_TRUE(client.connected());
  std::string burst;
  for (int i = 0; i < 6; ++i) {
    burst += i % 3 == 2 ? http_get("/cheap") : http_post("/echo", "body" + std::to_string(i));
  }
  // A chunked one last: de-chunked before the service sees it.
  burst +=
      "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
  ASSERT_TRUE(client.send(burst));
  for (int i = 0; i < 6; ++i) {
    const auto reply = client.read_reply();
    ASSERT_TRUE(reply) << "reply " << i;
    EXPECT_EQ(reply->status, 200);
    EXPECT_EQ(reply->body, i % 3 == 2 ? "GET /cheap " : "POST /echo body" + std::to_string(i));
    EXPECT_EQ(reply->header("connection"), "keep-alive");
  }
  const auto chunked = client.read_reply();
  ASSERT_TRUE(chunked);
  EXPECT_EQ(chunked->body, "POST /echo abcde");
}

struct BadRequest {
  std::string name;
  std::string bytes;
  int status;
  std::string message_part;
};

TEST(HttpFrontEnd, SmugglingPatternsAndInvalidLengthsAreRefusedAtOnce) {
  RunningFrontEnd server;
  const std::string h = "POST /echo HTTP/1.1\r\nHost: t\r\n";
  const std::vector<BadRequest> cases = {
      {"conflicting Content-Length", h + "Content-Length: 3\r\nContent-Length: 5\r\n\r\nabc", 400,
       "Content-Length"},
      {"repeated equal Content-Length", h + "Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
       400, "Content-Length given more than once"},
      {"Content-Length list", h + "Content-Length: 3, 3\r\n\r\nabc", 400, "Content-Length"},
      {"Content-Length then Transfer-Encoding",
       h + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400,
       "Transfer-Encoding"},
      {"Transfer-Encoding then Content-Length",
       h + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n", 400,
       "Content-Length"},
      {"negative Content-Length", h + "Content-Length: -5\r\n\r\n", 400, "Content-Length"},
      {"2^64 Content-Length", h + "Content-Length: 18446744073709551616\r\n\r\n", 400,
       "Content-Length"},
      {"non-numeric Content-Length", h + "Content-Length: 12abc\r\n\r\n", 400, "Content-Length"},
      {"Content-Length over the body limit", h + "Content-Length: 1000000000000\r\n\r\n", 413,
       "exceeds the limit of 1000 bytes"},
      {"unsupported Transfer-Encoding", h + "Transfer-Encoding: gzip\r\n\r\n", 501, "gzip"},
      {"NUL bytes", std::string(4096, '\0'), 400, "malformed HTTP request"},
      {"absolute-form target", "GET http://x/echo HTTP/1.1\r\nHost: t\r\n\r\n", 400,
       "absolute path"},
      {"HTTP/2.0 request line", "GET /echo HTTP/2.0\r\nHost: t\r\n\r\n", 400, "version"},
      {"headers over 16 KiB", h + "X-Pad: " + std::string(20000, 'a') + "\r\n\r\n", 431,
       "exceed"},
      {"unknown Expect", h + "Content-Length: 1\r\nExpect: something\r\n\r\nx", 417, "Expect"},
      {"bad chunk size", h + "Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400,
       "malformed HTTP request"},
  };
  for (const BadRequest& c : cases) {
    SCOPED_TRACE(c.name);
    RawClient client(server.port());
    ASSERT_TRUE(client.connected());
    const auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(client.send(c.bytes));
    const auto reply = client.read_reply(1500ms);
    ASSERT_TRUE(reply);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1000ms);  // not after a read timeout
    EXPECT_EQ(reply->status, c.status) << reply->body;
    EXPECT_NE(reply->body.find(c.message_part), std::string::npos) << reply->body;
    EXPECT_EQ(reply->header("connection"), "close");
    EXPECT_TRUE(client.closed_within(2000ms));
  }
  // The server still serves.
  RawClient good(server.port());
  ASSERT_TRUE(good.send(http_post("/echo", "ok")));
  const auto reply = good.read_reply();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->body, "POST /echo ok");
  const std::string m = server.scrape();
  EXPECT_EQ(metric(m, "vlbench_http_requests_total{endpoint=\"/echo\",code=\"400\"}") +
                metric(m, "vlbench_http_requests_total{endpoint=\"other\",code=\"400\"}"),
            12);
}

TEST(HttpFrontEnd, IdleAndSlowConnectionsHoldNoWorker) {
  serve::HttpServerOptions o = quick_options();
  o.workers = 1;
  o.header_timeout = 500ms;
  RunningFrontEnd server(o);
  std::vector<std::unique_ptr<RawClient>> idle;
  for (int i = 0; i < 200; ++i) {
    idle.push_back(std::make_unique<RawClient>(server.port()));
    ASSERT_TRUE(idle.back()->connected());
  }
  // Slowloris: headers begun, never finished.
  std::vector<std::unique_ptr<RawClient>> slow;
  for (int i = 0; i < 20; ++i) {
    slow.push_back(std::make_unique<RawClient>(server.port()));
    ASSERT_TRUE(slow.back()->send("POST /echo HTTP/1.1\r\nHost: t\r\nX-A: "));
  }
  for (int r = 0; r < 5; ++r) {
    RawClient good(server.port());
    const auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(good.send(http_post("/echo", "fast")));
    const auto reply = good.read_reply(2000ms);
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->body, "POST /echo fast");
    EXPECT_LT(std::chrono::steady_clock::now() - start, 300ms);
  }
  // Past the header deadline every idle and slow connection is closed by the server.
  for (auto& c : slow) EXPECT_TRUE(c->closed_within(3000ms));
  for (auto& c : idle) EXPECT_TRUE(c->closed_within(3000ms));
  EXPECT_EQ(await_metric(server, "vlbench_http_connections_closed_total{reason=\"idle_timeout\"}",
                         200),
            200);
  EXPECT_EQ(await_metric(server, "vlbench_http_connections_closed_total{reason=\"read_timeout\"}",
                         20),
            20);
}

TEST(HttpFrontEnd, BodyDeadlineClosesATricklingUpload) {
  serve::HttpServerOptions o = quick_options();
  o.body_timeout = 300ms;
  RunningFrontEnd server(o);
  RawClient client(server.port());
  ASSERT_TRUE(client.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nab"));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(client.closed_within(3000ms));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2000ms);
}

TEST(HttpFrontEnd, FullQueueShedsLoadWith503AndRetryAfter) {
  serve::HttpServerOptions o = quick_options();
  o.workers = 1;
  o.queue_capacity = 1;
  RunningFrontEnd server(o);
  RawClient a(server.port()), b(server.port()), c(server.port()), d(server.port());
  ASSERT_TRUE(a.send(http_post("/slow", "a")));
  ASSERT_TRUE(server.service.wait_started(1));  // the worker is taken
  ASSERT_TRUE(b.send(http_post("/slow", "b")));  // waits in the queue
  std::this_thread::sleep_for(100ms);
  ASSERT_TRUE(c.send(http_post("/echo", "c")));
  const auto shed = c.read_reply(1000ms);
  ASSERT_TRUE(shed);
  EXPECT_EQ(shed->status, 503);
  EXPECT_EQ(shed->header("retry-after"), "1");
  EXPECT_NE(shed->body.find("queue is full"), std::string::npos);
  EXPECT_EQ(shed->header("connection"), "keep-alive");  // the request was read whole
  // Cheap requests are answered on the I/O thread while every worker is busy.
  ASSERT_TRUE(d.send(http_get("/cheap")));
  const auto cheap = d.read_reply(1000ms);
  ASSERT_TRUE(cheap);
  EXPECT_EQ(cheap->status, 200);
  server.service.open();
  const auto ra = a.read_reply(), rb = b.read_reply();
  ASSERT_TRUE(ra && rb);
  EXPECT_EQ(ra->body, "POST /slow a");
  EXPECT_EQ(rb->body, "POST /slow b");
  // The shed connection still works.
  ASSERT_TRUE(c.send(http_post("/echo", "again")));
  const auto rc = c.read_reply();
  ASSERT_TRUE(rc);
  EXPECT_EQ(rc->body, "POST /echo again");
}

TEST(HttpFrontEnd, ConnectionAndKeepAliveLimits) {
  serve::HttpServerOptions o = quick_options();
  o.max_connections = 3;
  o.max_requests_per_connection = 2;
  RunningFrontEnd server(o);
  {
    std::vector<std::unique_ptr<RawClient>> held;
    for (int i = 0; i < 3; ++i) held.push_back(std::make_unique<RawClient>(server.port()));
    std::this_thread::sleep_for(100ms);  // accepted
    RawClient extra(server.port());
    const auto reply = extra.read_reply(1000ms);
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 503);
    EXPECT_NE(reply->body.find("too many open connections"), std::string::npos);
    EXPECT_TRUE(extra.closed_within(1000ms));
  }
  std::this_thread::sleep_for(200ms);  // the server sees the three close
  RawClient client(server.port());
  ASSERT_TRUE(client.send(http_post("/echo", "1") + http_post("/echo", "2") +
                          http_post("/echo", "3")));
  const auto r1 = client.read_reply(), r2 = client.read_reply();
  ASSERT_TRUE(r1 && r2);
  EXPECT_EQ(r1->header("connection"), "keep-alive");
  EXPECT_EQ(r2->header("connection"), "close");
  EXPECT_TRUE(client.closed_within(2000ms));  // the third is not answered on this connection
  const std::string m = server.scrape();
  EXPECT_EQ(metric(m, "vlbench_http_connections_closed_total{reason=\"limit\"}"), 1);
}

TEST(HttpFrontEnd, ExpectContinueAndHandlerExceptions) {
  RunningFrontEnd server;
  RawClient client(server.port());
  ASSERT_TRUE(client.send(
      "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  const auto go_on = client.read_reply(1000ms);
  ASSERT_TRUE(go_on);
  EXPECT_EQ(go_on->status, 100);
  ASSERT_TRUE(client.send("hello"));
  const auto reply = client.read_reply();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->body, "POST /echo hello");
  ASSERT_TRUE(client.send(http_post("/throw", "")));
  const auto failed = client.read_reply();
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->status, 500);
  EXPECT_NE(failed->body.find("boom"), std::string::npos);
}

TEST(HttpFrontEnd, StopDrainsRequestsInProgressAndClosesIdleOnes) {
  RunningFrontEnd server;
  RawClient busy(server.port()), idle(server.port());
  ASSERT_TRUE(busy.send(http_post("/slow", "in flight")));
  ASSERT_TRUE(server.service.wait_started(1));
  server.stop();
  EXPECT_TRUE(idle.closed_within(1000ms));
  EXPECT_FALSE(server.returned.load());  // still answering `busy`
  server.service.open();
  const auto reply = busy.read_reply();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->body, "POST /slow in flight");
  EXPECT_EQ(reply->header("connection"), "close");
  for (int i = 0; i < 100 && !server.returned; ++i) std::this_thread::sleep_for(20ms);
  EXPECT_TRUE(server.returned.load());
  RawClient late(server.port());
  EXPECT_FALSE(late.connected() && late.send(http_get("/cheap")) && late.read_reply(500ms));
}

TEST(HttpFrontEnd, DrainTimeoutClosesWhatIsLeft) {
  serve::HttpServerOptions o = quick_options();
  o.drain_timeout = 300ms;
  RunningFrontEnd server(o);
  RawClient stuck(server.port());
  ASSERT_TRUE(stuck.send(http_post("/slow", "never")));
  ASSERT_TRUE(server.service.wait_started(1));
  const auto start = std::chrono::steady_clock::now();
  server.stop();
  EXPECT_TRUE(stuck.closed_within(2000ms));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms);
  server.service.open();  // let the worker finish so run() can join it
  for (int i = 0; i < 100 && !server.returned; ++i) std::this_thread::sleep_for(20ms);
  EXPECT_TRUE(server.returned.load());
  EXPECT_EQ(metric(server.scrape(),
                   "vlbench_http_connections_closed_total{reason=\"drain_timeout\"}"),
            1);
}

TEST(HttpFrontEnd, ConnectionCountsAddUp) {
  RunningFrontEnd server;
  {
    RawClient a(server.port()), b(server.port());
    ASSERT_TRUE(a.send(http_post("/echo", "x")));
    ASSERT_TRUE(a.read_reply());
    ASSERT_TRUE(b.send(std::string(100, '\0')));
    ASSERT_TRUE(b.read_reply());
  }
  RawClient open(server.port());
  ASSERT_TRUE(open.send(http_get("/cheap")));
  ASSERT_TRUE(open.read_reply());
  std::this_thread::sleep_for(200ms);
  const std::string m = server.scrape();
  double closed = 0;
  for (const char* reason : {"served", "client", "idle_timeout", "read_timeout", "limit"}) {
    closed += metric(m, std::string("vlbench_http_connections_closed_total{reason=\"") + reason +
                            "\"}");
  }
  EXPECT_EQ(metric(m, "vlbench_http_connections_opened_total"), 3);
  EXPECT_EQ(closed, 2);
  EXPECT_EQ(metric(m, "vlbench_http_connections_open"), 1);
}

}  // namespace
}  // namespace vlbench::testing
