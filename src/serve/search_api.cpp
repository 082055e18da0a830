#include "serve/search_api.hpp"

#include "serve/multipart.hpp"
#include "serve/request.hpp"
#include "serve/rerank.hpp"

#include <vlbench/core/error.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <optional>

namespace vlbench::serve {


namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

std::string dump(const json& value) {
  // Replace rather than throw on invalid UTF-8 (an error message may quote request bytes).
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

HttpResponse json_response(int status, const json& body) {
  HttpResponse response;
  response.status = status;
  response.body = dump(body);
  return response;
}

// OpenAI's error shape, for /v1/embeddings.
HttpResponse openai_error(int status, const std::string& message) {
  const char* type = status == 404   ? "not_found_error"
                     : status < 500 ? "invalid_request_error"
                                    : "server_error";
  return json_response(status, json{{"error",
                                     {{"message", message},
                                      {"type", type},
                                      {"param", nullptr},
                                      {"code", nullptr}}}});
}

// Counts a request as in flight for the lifetime of the object.
class InFlight {
 public:
  explicit InFlight(Metrics& metrics) : metrics_(metrics) { metrics_.begin_request(); }
  ~InFlight() { metrics_.end_request(); }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;

 private:
  Metrics& metrics_;
};

struct Route {
  const char* path;
  const char* method;
};
constexpr Route kRoutes[] = {{"/v1/search", "POST"},
                             {"/v1/embeddings", "POST"},
                             {"/healthz", "GET"},
                             {"/metrics", "GET"}};

}  // namespace

namespace {

class SearchApi final : public HttpService {
 public:
  SearchApi(std::shared_ptr<const VectorIndex> index, const ServeOptions& options,
            std::unique_ptr<QueryEncoder> encoder, std::unique_ptr<QueryEncoder> rerank_encoder,
            Metrics& metrics)
      : index_(std::move(index)), options_(options), encoder_(std::move(encoder)),
        rerank_encoder_(std::move(rerank_encoder)), metrics_(metrics) {
    limits_.dim = index_->dim();
    limits_.max_k = options_.max_k;
    limits_.token_dim = options_.rerank_docs ? options_.rerank_docs->d : 0;
  }

  HttpResponse handle(const HttpRequest& request) override {
    const Route* route = nullptr;
    for (const Route& r : kRoutes) {
      if (request.path == r.path) route = &r;
    }
    if (route == nullptr) {
      return error_response(
          404, fmt::format("{} {}: no such endpoint (POST /v1/search, POST /v1/embeddings, "
                           "GET /healthz, GET /metrics)",
                           request.method, request.path));
    }
    if (request.method != route->method) {
      HttpResponse response = error_response(
          405, fmt::format("{} {}: method not allowed (use {})", request.method, request.path,
                           route->method));
      response.headers.emplace_back("Allow", route->method);
      return response;
    }
    if (request.path == "/healthz") {
      return json_response(200, json{{"status", "ok"},
                                     {"index_type", index_->type()},
                                     {"size", index_->size()},
                                     {"dim", index_->dim()},
                                     {"model", encoder_ != nullptr},
                                     {"rerank", options_.rerank_docs != nullptr},
                                     {"rerank_token_storage",
                                      options_.rerank_docs
                                          ? json(token_storage_name(options_.rerank_docs->storage))
                                          : json(nullptr)},
                                     {"rerank_model", rerank_encoder_ != nullptr}});
    }
    if (request.path == "/metrics") {
      HttpResponse response;
      response.content_type = "text/plain; version=0.0.4";
      response.body = metrics_.render(index_->size());
      return response;
    }
    InFlight in_flight(metrics_);
    if (request.path == "/v1/embeddings") return embeddings(request);
    return search(request);
  }

  bool cheap(const HttpRequest& request) const override {
    return request.method == "GET" && (request.path == "/healthz" || request.path == "/metrics");
  }

  std::string endpoint_label(std::string_view path) const override {
    for (const Route& r : kRoutes) {
      if (path == r.path) return r.path;
    }
    return "other";
  }

 private:
  static std::optional<HttpResponse> refuse_encoding(const HttpRequest& request) {
    const auto encoding = request.header("content-encoding");
    if (encoding && *encoding != "identity") {
      return error_response(
          415, fmt::format("unsupported Content-Encoding '{}' (send the body uncompressed)",
                           *encoding));
    }
    return std::nullopt;
  }

  HttpResponse search(const HttpRequest& request) {
    const Clock::time_point start = Clock::now();
    if (auto refused = refuse_encoding(request)) return *refused;
    try {
      SearchRequest query;
      const std::optional<std::string> boundary =
          multipart_boundary(request.header("content-type").value_or(""));
      if (boundary) {
        const auto fields = parse_multipart_form(request.body, *boundary);
        const auto field = [&](const char* name) -> std::optional<std::string> {
          const auto it = fields.find(name);
          if (it == fields.end()) return std::nullopt;
          return it->second;
        };
        query = parse_form_request(field("image"), field("k"), limits_);
      } else {
        query = parse_json_request(request.body, limits_);
      }
      return json_response(200, run_search(query, start));
    } catch (const ImageTooLarge& e) {
      return error_response(413, e.what());
    } catch (const Error& e) {
      return error_response(400, e.what());
    } catch (const std::bad_alloc&) {
      return error_response(503, "out of memory handling this request; retry later");
    } catch (const std::exception& e) {
      return error_response(500, fmt::format("internal error: {}", e.what()));
    }
  }

  HttpResponse embeddings(const HttpRequest& request) {
    if (auto refused = refuse_encoding(request)) {
      return openai_error(415, json::parse(refused->body).at("error").get<std::string>());
    }
    try {
      const EmbeddingsRequest parsed = parse_embeddings_request(request.body);
      if (!encoder_) {
        return openai_error(400, "this server has no model (start it with --model)");
      }
      if (parsed.model != encoder_->name() && parsed.model != encoder_->folder_name()) {
        return openai_error(404, fmt::format("model '{}' is not served here (this server serves "
                                             "'{}')",
                                             parsed.model, encoder_->name()));
      }
      if (parsed.dimensions && *parsed.dimensions != encoder_->dim()) {
        return openai_error(400, fmt::format("dimensions: this model gives {}, got {}",
                                             encoder_->dim(), *parsed.dimensions));
      }
      json data = json::array();
      std::int64_t tokens = 0;
      for (std::size_t i = 0; i < parsed.inputs.size(); ++i) {
        const auto& input = parsed.inputs[i];
        std::vector<float> embedding;
        if (input.image) {
          embedding = encoder_->encode_image(input.data);
        } else {
          std::int64_t n = 0;
          embedding = encoder_->encode_text(input.data, &n);
          tokens += n;
        }
        json item{{"object", "embedding"}, {"index", i}};
        if (parsed.base64_output) {
          // Little-endian float32, as OpenAI's clients decode it (x86-64 and AArch64 are LE).
          std::string bytes(embedding.size() * sizeof(float), '\0');
          std::memcpy(bytes.data(), embedding.data(), bytes.size());
          item["embedding"] = encode_base64(bytes);
        } else {
          item["embedding"] = std::move(embedding);
        }
        data.push_back(std::move(item));
      }
      return json_response(200, json{{"object", "list"},
                                     {"data", std::move(data)},
                                     {"model", parsed.model},
                                     {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}});
    } catch (const ImageTooLarge& e) {
      return openai_error(413, e.what());
    } catch (const Error& e) {
      return openai_error(400, e.what());
    } catch (const std::bad_alloc&) {
      return openai_error(503, "out of memory handling this request; retry later");
    } catch (const std::exception& e) {
      return openai_error(500, fmt::format("internal error: {}", e.what()));
    }
  }

  json run_search(const SearchRequest& request, Clock::time_point start);

  std::shared_ptr<const VectorIndex> index_;
  const ServeOptions& options_;
  std::unique_ptr<QueryEncoder> encoder_;
  std::unique_ptr<QueryEncoder> rerank_encoder_;
  Metrics& metrics_;
  RequestLimits limits_;
};

json SearchApi::run_search(const SearchRequest& request, Clock::time_point start) {
  using Kind = SearchRequest::Kind;
  // A text query is re-ranked by the re-ranking model's tokens of it, unless it brings its own.
  const bool model_tokens =
      rerank_encoder_ != nullptr && request.kind == Kind::text && request.query_tokens.empty();
  const bool rerank = !request.query_tokens.empty() || model_tokens;
  if (rerank && request.k > options_.rerank_depth) {
    fail("k: {} exceeds the re-ranking depth {} (--rerank-depth)", request.k, options_.rerank_depth);
  }
  if (request.kind != Kind::embedding && !encoder_) {
    fail("{}: this server has no model (start it with --model); send \"embedding\" instead",
         request.kind == Kind::text ? "text" : "image");
  }

  const Clock::time_point encode_start = Clock::now();
  std::vector<float> encoded;
  if (request.kind == Kind::text) encoded = encoder_->encode_text(request.text);
  if (request.kind == Kind::image) encoded = encoder_->encode_image(request.image_bytes);
  std::vector<float> own_tokens;
  std::int64_t n_own_tokens = 0;
  if (model_tokens) own_tokens = rerank_encoder_->encode_text_tokens(request.text, &n_own_tokens);
  const float* query_tokens = model_tokens ? own_tokens.data() : request.query_tokens.data();
  const std::int64_t n_query_tokens = model_tokens ? n_own_tokens : request.n_query_tokens;
  const std::vector<float>& query = request.kind == Kind::embedding ? request.embedding : encoded;
  const Clock::time_point search_start = Clock::now();

  // Re-ranking takes the dense top rerank_depth (no more than the gallery holds).
  const std::int64_t k_dense =
      rerank ? std::max<std::int64_t>(1, std::min(options_.rerank_depth, index_->size())) : request.k;
  const SearchResult found = index_->search(1, query.data(), k_dense, options_.search_threads);
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
    const RankedList ranked =
        rerank_candidates(query_tokens, n_query_tokens, *options_.rerank_docs, ids, dense_scores,
                          request.k);
    ids = ranked.ids;
    body["scores"] = ranked.scores;
    body["dense_scores"] = ranked.dense_scores;
  } else {
    body["scores"] = dense_scores;
  }
  body["ids"] = ids;
  if (!options_.paths.empty()) {
    json paths = json::array();
    for (const std::int64_t id : ids) paths.push_back(options_.paths[static_cast<std::size_t>(id)]);
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
  if (request.kind != Kind::embedding) metrics_.observe("encode", encode_s);
  metrics_.observe("search", search_s);
  if (rerank) metrics_.observe("rerank", rerank_s);
  metrics_.observe("total", total_s);
  return body;
}

}  // namespace

std::unique_ptr<HttpService> make_search_api(std::shared_ptr<const VectorIndex> index,
                                             const ServeOptions& options,
                                             std::unique_ptr<QueryEncoder> encoder,
                                             std::unique_ptr<QueryEncoder> rerank_encoder,
                                             Metrics& metrics) {
  return std::make_unique<SearchApi>(std::move(index), options, std::move(encoder),
                                     std::move(rerank_encoder), metrics);
}

}  // namespace vlbench::serve
