#include <vlbench/serve/server.hpp>

#include "serve/metrics.hpp"
#include "serve/query_encoder.hpp"
#include "serve/request.hpp"
#include "serve/rerank.hpp"

#include <vlbench/core/error.hpp>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include <sys/socket.h>

namespace vlbench {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// Bounded label set for the request counter.
std::string endpoint_label(const std::string& path) {
  if (path == "/v1/search" || path == "/healthz" || path == "/metrics") return path;
  return "other";
}

std::string dump(const json& value) {
  // Replace rather than throw on invalid UTF-8 (an error message may quote request bytes).
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

void reply_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(dump(body), "application/json");
}

void reply_error(httplib::Response& res, int status, const std::string& message) {
  reply_json(res, status, json{{"error", message}});
}

// Counts a request as in flight for the lifetime of the object.
class InFlight {
 public:
  explicit InFlight(serve::Metrics& metrics) : metrics_(metrics) { metrics_.begin_request(); }
  ~InFlight() { metrics_.end_request(); }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;

 private:
  serve::Metrics& metrics_;
};

// Reads a request body through httplib's ContentReader under our own size limit. httplib 0.11
// enforces set_payload_max_length only on bodies with a Content-Length (for those over it the
// reader fails with status 413 before handing over a byte); chunked or length-less bodies, and
// the inflated size of compressed bodies, are bounded here. Bytes past the limit are read on and
// dropped, up to kDrainBytes more, so that the client is still reading when the 413 comes (closing
// a socket with unread data resets the connection and loses the response); past that, reading stops
// and the connection is dropped.
class BodyReader {
 public:
  static constexpr std::size_t kDrainBytes = 64u << 20;

  explicit BodyReader(std::size_t limit) : limit_(limit) {}

  bool read(const httplib::ContentReader& reader) {
    return reader([this](const char* data, std::size_t n) { return take(data, n, text_); });
  }

  // multipart/form-data: each part's content under its name; a repeated name is an error.
  bool read_multipart(const httplib::ContentReader& reader) {
    std::string* current = nullptr;
    return reader(
        [&](const httplib::MultipartFormData& part) {
          if (fields_.count(part.name) != 0) {
            repeated_ = part.name;
            return false;
          }
          current = &fields_[part.name];
          return true;
        },
        [&](const char* data, std::size_t n) {
          return current != nullptr && take(data, n, *current);
        });
  }

  const std::string& text() const { return text_; }
  std::optional<std::string> field(const std::string& name) const {
    const auto it = fields_.find(name);
    if (it == fields_.end()) return std::nullopt;
    return it->second;
  }
  bool too_large() const { return total_ > limit_; }
  const std::string& repeated_field() const { return repeated_; }

 private:
  bool take(const char* data, std::size_t n, std::string& into) {
    total_ += n;
    if (total_ <= limit_) {
      into.append(data, n);
      return true;
    }
    into.clear();
    return total_ <= limit_ + kDrainBytes;
  }

  std::size_t limit_;
  std::size_t total_ = 0;
  std::string text_;
  std::map<std::string, std::string> fields_;
  std::string repeated_;
};

std::string body_limit_message(std::size_t limit) {
  return fmt::format("request body exceeds the limit of {} bytes (--max-body-bytes)", limit);
}

// A body that could not be read: too large, a repeated form field, or what httplib reports
// (413 from Content-Length, 415 for a Content-Encoding it cannot decode, 400 otherwise).
void reply_body_error(httplib::Response& res, const BodyReader& body, std::size_t limit) {
  if (body.too_large() || res.status == 413) {
    reply_error(res, 413, body_limit_message(limit));
  } else if (!body.repeated_field().empty()) {
    reply_error(res, 400,
                fmt::format("multipart form: field '{}' given twice", body.repeated_field()));
  } else if (res.status == 415) {
    reply_error(res, 415, "unsupported Content-Encoding (send the body uncompressed)");
  } else {
    reply_error(res, 400,
                "malformed request body (bad chunked encoding, multipart form or "
                "compressed data)");
  }
}

}  // namespace

std::vector<std::string> read_gallery_paths(const std::filesystem::path& file,
                                            std::int64_t n_gallery) {
  std::ifstream in(file, std::ios::binary);
  if (!in) fail("{}: cannot open the gallery paths file", file.string());
  std::vector<std::string> paths;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) {
      fail("{}:{}: empty line (expected one image path per gallery row)", file.string(),
           paths.size() + 1);
    }
    paths.push_back(std::move(line));
  }
  if (static_cast<std::int64_t>(paths.size()) != n_gallery) {
    fail("{}: {} paths, expected one per gallery row ({})", file.string(), paths.size(), n_gallery);
  }
  return paths;
}

struct SearchServer::Impl {
  std::shared_ptr<const VectorIndex> index;
  ServeOptions options;
  serve::RequestLimits limits;
  std::unique_ptr<serve::QueryEncoder> encoder;
  serve::Metrics metrics{{"encode", "search", "rerank", "total"}};
  httplib::Server http;
  int port = -1;
  int listen_socket = -1;  // the listening socket's descriptor, seen by the options callback

  // run()/stop() hand-over: stop() before run() must make run() return at once, and stop()
  // while run() is starting must wait until httplib is listening (its stop() is a no-op
  // before that).
  std::mutex state_mutex;
  bool stop_requested = false;
  bool run_started = false;
  bool run_finished = false;

  void setup_routes();
  void handle_search(const httplib::Request& req, httplib::Response& res,
                     const httplib::ContentReader& reader);
  json search(const serve::SearchRequest& request, Clock::time_point start);
};

void SearchServer::Impl::setup_routes() {
  http.Post("/v1/search",
            [this](const httplib::Request& req, httplib::Response& res,
                   const httplib::ContentReader& reader) { handle_search(req, res, reader); });
  http.Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
    reply_json(res, 200,
               json{{"status", "ok"},
                    {"index_type", index->type()},
                    {"size", index->size()},
                    {"dim", index->dim()},
                    {"model", encoder != nullptr},
                    {"rerank", options.rerank_docs != nullptr}});
  });
  http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.status = 200;
    res.set_content(metrics.render(index->size()), "text/plain; version=0.0.4");
  });
  // The wrong method on a known path: 405 rather than httplib's 404.
  const auto not_allowed = [](const char* allowed) {
    return [allowed](const httplib::Request& req, httplib::Response& res) {
      res.set_header("Allow", allowed);
      reply_error(res, 405,
                  fmt::format("{} {}: method not allowed (use {})", req.method, req.path, allowed));
    };
  };
  http.Get("/v1/search", not_allowed("POST"));
  http.Put("/v1/search", not_allowed("POST"));
  http.Delete("/v1/search", not_allowed("POST"));
  http.Post("/healthz", not_allowed("GET"));
  http.Post("/metrics", not_allowed("GET"));

  // Responses httplib produces itself (404, 413, malformed HTTP) get a JSON body too; ours
  // already have one and pass through.
  http.set_error_handler(httplib::Server::HandlerWithResponse(
      [this](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        std::string message;
        if (res.status == 413) {
          message = body_limit_message(options.max_body_bytes);
        } else if (res.status == 404) {
          message = fmt::format(
              "{} {}: no such endpoint (POST /v1/search, GET /healthz, "
              "GET /metrics)",
              req.method, req.path);
        } else if (res.status == 400) {
          message = "malformed HTTP request or multipart body";
        } else {
          message = fmt::format("HTTP status {}", res.status);
        }
        reply_error(res, res.status, message);
        return httplib::Server::HandlerResponse::Handled;
      }));
  // A last line of defence: handle_search catches everything itself.
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res,
                                std::exception_ptr) { reply_error(res, 500, "internal error"); });
  // Runs for every response before its bytes are written: a client that has read a response
  // finds it counted.
  http.set_post_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    metrics.count_request(endpoint_label(req.path), res.status);
  });
}

void SearchServer::Impl::handle_search(const httplib::Request& req, httplib::Response& res,
                                       const httplib::ContentReader& reader) {
  const Clock::time_point start = Clock::now();
  InFlight in_flight(metrics);
  try {
    BodyReader body(options.max_body_bytes);
    const bool multipart = req.is_multipart_form_data();
    const bool complete = multipart ? body.read_multipart(reader) : body.read(reader);
    if (!complete || body.too_large()) {
      reply_body_error(res, body, options.max_body_bytes);
      return;
    }
    serve::SearchRequest request;
    if (multipart) {
      request = serve::parse_form_request(body.field("image"), body.field("k"), limits);
    } else {
      request = serve::parse_json_request(body.text(), limits);
    }
    reply_json(res, 200, search(request, start));
  } catch (const ImageTooLarge& e) {
    reply_error(res, 413, e.what());
  } catch (const Error& e) {
    reply_error(res, 400, e.what());
  } catch (const std::exception& e) {
    reply_error(res, 500, fmt::format("internal error: {}", e.what()));
  } catch (...) {
    reply_error(res, 500, "internal error");
  }
}

json SearchServer::Impl::search(const serve::SearchRequest& request, Clock::time_point start) {
  using Kind = serve::SearchRequest::Kind;
  const bool rerank = !request.query_tokens.empty();
  if (rerank && request.k > options.rerank_depth) {
    fail("k: {} exceeds the re-ranking depth {} (--rerank-depth)", request.k, options.rerank_depth);
  }
  if (request.kind != Kind::embedding && !encoder) {
    fail("{}: this server has no model (start it with --model); send \"embedding\" instead",
         request.kind == Kind::text ? "text" : "image");
  }

  const Clock::time_point encode_start = Clock::now();
  std::vector<float> encoded;
  if (request.kind == Kind::text) encoded = encoder->encode_text(request.text);
  if (request.kind == Kind::image) encoded = encoder->encode_image(request.image_bytes);
  const std::vector<float>& query = request.kind == Kind::embedding ? request.embedding : encoded;
  const Clock::time_point search_start = Clock::now();

  // Re-ranking takes the dense top rerank_depth (no more than the gallery holds).
  const std::int64_t k_dense =
      rerank ? std::max<std::int64_t>(1, std::min(options.rerank_depth, index->size())) : request.k;
  const SearchResult found = index->search(1, query.data(), k_dense, options.search_threads);
  std::vector<std::int64_t> ids;
  std::vector<float> dense_scores;
  for (std::int64_t j = 0; j < found.k; ++j) {
    if (found.ids[j] < 0) continue;  // the index found fewer than k
    ids.push_back(found.ids[j]);
    dense_scores.push_back(found.scores[j]);
  }
  const Clock::time_point rerank_start = Clock::now();

  json body;
  if (rerank) {
    const serve::RankedList ranked =
        serve::rerank_candidates(request.query_tokens.data(), request.n_query_tokens,
                                 *options.rerank_docs, ids, dense_scores, request.k);
    ids = ranked.ids;
    body["scores"] = ranked.scores;
    body["dense_scores"] = ranked.dense_scores;
  } else {
    body["scores"] = dense_scores;
  }
  body["ids"] = ids;
  if (!options.paths.empty()) {
    json paths = json::array();
    for (const std::int64_t id : ids) paths.push_back(options.paths[static_cast<std::size_t>(id)]);
    body["paths"] = std::move(paths);
  }
  const Clock::time_point end = Clock::now();

  const double encode_s = seconds_between(encode_start, search_start);
  const double search_s = seconds_between(search_start, rerank_start);
  const double rerank_s = seconds_between(rerank_start, end);
  const double total_s = seconds_between(start, end);
  body["timings_ms"] = {{"encode", request.kind == Kind::embedding ? 0.0 : encode_s * 1e3},
                        {"search", search_s * 1e3},
                        {"rerank", rerank ? rerank_s * 1e3 : 0.0},
                        {"total", total_s * 1e3}};
  if (request.kind != Kind::embedding) metrics.observe("encode", encode_s);
  metrics.observe("search", search_s);
  if (rerank) metrics.observe("rerank", rerank_s);
  metrics.observe("total", total_s);
  return body;
}

SearchServer::SearchServer(std::shared_ptr<const VectorIndex> index, ServeOptions options)
    : impl_(std::make_unique<Impl>()) {
  VLB_ASSERT(index != nullptr);
  if (options.threads < 1) fail("--threads: expected at least 1, got {}", options.threads);
  if (options.max_k < 1) fail("--max-k: expected at least 1, got {}", options.max_k);
  if (options.max_body_bytes < 1) fail("--max-body-bytes: expected at least 1");
  if (options.port < 0 || options.port > 65535) {
    fail("--port: expected 0..65535, got {}", options.port);
  }
  if (options.read_timeout_s < 1) {
    fail("read timeout: expected at least 1 s, got {}", options.read_timeout_s);
  }
  if (!options.paths.empty() && static_cast<std::int64_t>(options.paths.size()) != index->size()) {
    fail("gallery paths: {} paths for an index of {} vectors", options.paths.size(), index->size());
  }
  if (options.rerank_docs) {
    if (options.rerank_docs->n != index->size()) {
      fail("--rerank-image-tokens: {} items for an index of {} vectors", options.rerank_docs->n,
           index->size());
    }
    if (options.rerank_depth < 1) {
      fail("--rerank-depth: expected at least 1, got {}", options.rerank_depth);
    }
  }
  Impl& impl = *impl_;
  impl.limits.dim = index->dim();
  impl.limits.max_k = options.max_k;
  impl.limits.token_dim = options.rerank_docs ? options.rerank_docs->d : 0;
  if (!options.model_dir.empty()) {
    impl.encoder = std::make_unique<serve::QueryEncoder>(options.model_dir, options.model_threads,
                                                         options.max_image_pixels);
    if (impl.encoder->dim() != index->dim()) {
      fail("{}: the model's embeddings have {} dimensions, the index {}",
           options.model_dir.string(), impl.encoder->dim(), index->dim());
    }
  }
  impl.index = std::move(index);
  impl.options = std::move(options);

  const auto threads = static_cast<std::size_t>(impl.options.threads);
  impl.http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  impl.http.set_payload_max_length(impl.options.max_body_bytes);
  impl.http.set_read_timeout(impl.options.read_timeout_s, 0);
  impl.http.set_keep_alive_max_count(100);
  impl.http.set_keep_alive_timeout(5);
  // Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm and
  // the peer's delayed ACK add about 40 ms to every response on a kept-alive connection.
  impl.http.set_tcp_nodelay(true);
  // httplib listens with a backlog of 5: a burst of new connections overflows it and the
  // dropped SYNs cost the clients a 1 s retransmission. bind() raises it on the socket seen
  // here. The callback replaces httplib's default options, which set SO_REUSEPORT and so let
  // a second server bind a port in use; SO_REUSEADDR only allows rebinding past TIME_WAIT.
  impl.http.set_socket_options([&impl](socket_t sock) {
    const int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    impl.listen_socket = sock;
  });
  impl.setup_routes();
}

SearchServer::~SearchServer() {
  stop();
}

int SearchServer::bind() {
  Impl& impl = *impl_;
  VLB_ASSERT(impl.port < 0);
  if (impl.options.port == 0) {
    impl.port = impl.http.bind_to_any_port(impl.options.host);
  } else if (impl.http.bind_to_port(impl.options.host, impl.options.port)) {
    impl.port = impl.options.port;
  }
  if (impl.port <= 0) {
    impl.port = -1;
    fail("--host {} --port {}: cannot bind (address in use, or not an address of this machine)",
         impl.options.host, impl.options.port);
  }
  // Listening again on a listening socket only changes its backlog.
  if (impl.listen_socket >= 0) ::listen(impl.listen_socket, SOMAXCONN);
  return impl.port;
}

void SearchServer::run() {
  Impl& impl = *impl_;
  VLB_ASSERT(impl.port > 0);
  {
    std::lock_guard<std::mutex> lock(impl.state_mutex);
    if (impl.stop_requested) return;
    impl.run_started = true;
  }
  impl.http.listen_after_bind();
  std::lock_guard<std::mutex> lock(impl.state_mutex);
  impl.run_finished = true;
}

void SearchServer::stop() {
  Impl& impl = *impl_;
  {
    std::lock_guard<std::mutex> lock(impl.state_mutex);
    impl.stop_requested = true;
    if (!impl.run_started) return;
  }
  // run() has begun: wait until httplib is listening (or run() has already returned).
  for (;;) {
    if (impl.http.is_running()) {
      impl.http.stop();
      return;
    }
    {
      std::lock_guard<std::mutex> lock(impl.state_mutex);
      if (impl.run_finished) return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

int SearchServer::port() const {
  return impl_->port;
}

}  // namespace vlbench
