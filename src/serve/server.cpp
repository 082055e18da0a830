#include <vlbench/serve/server.hpp>

#include "serve/http_server.hpp"
#include "serve/metrics.hpp"
#include "serve/query_encoder.hpp"
#include "serve/search_api.hpp"

#include <vlbench/core/error.hpp>

#include <chrono>
#include <fstream>

namespace vlbench {

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
  ServeOptions options;
  serve::Metrics metrics{{"encode", "search", "rerank", "total"}};
  std::unique_ptr<serve::HttpService> api;
  std::unique_ptr<serve::HttpServer> http;
  int port = -1;
};

SearchServer::SearchServer(std::shared_ptr<const VectorIndex> index, ServeOptions options)
{
  VLB_ASSERT(index != nullptr);
  if (options.threads < 1) fail("--threads: expected at least 1, got {}", options.threads);
  if (options.max_k < 1) fail("--max-k: expected at least 1, got {}", options.max_k);
  if (options.max_body_bytes < 1) fail("--max-body-bytes: expected at least 1");
  if (options.port < 0 || options.port > 65535) {
    fail("--port: expected 0..65535, got {}", options.port);
  }
  for (const auto& [name, value] : {std::pair{"header timeout", options.header_timeout_s},
                                    std::pair{"body timeout", options.body_timeout_s},
                                    std::pair{"drain timeout", options.drain_timeout_s}}) {
    if (!(value >= 0.001 && value <= 86400)) {
      fail("{}: expected 0.001 to 86400 s, got {}", name, value);
    }
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
  impl_ = std::make_unique<Impl>();
  DecodeOptions decode_options;
  decode_options.max_pixels = options.max_image_pixels;
  decode_options.exif_orientation = options.exif_orientation;
  std::unique_ptr<serve::QueryEncoder> encoder;
  if (!options.model_dir.empty()) {
    encoder = std::make_unique<serve::QueryEncoder>(options.model_dir, options.model_threads,
                                                    decode_options, false, options.model_base);
    if (encoder->dim() != index->dim()) {
      fail("{}: the model's embeddings have {} dimensions, the index {}",
           options.model_dir.string(), encoder->dim(), index->dim());
    }
  }
  std::unique_ptr<serve::QueryEncoder> rerank_encoder;
  if (!options.rerank_model_dir.empty()) {
    if (!options.rerank_docs) {
      fail("--rerank-model {}: needs the gallery's page tokens (--rerank-image-tokens, "
           "--rerank-image-lengths, from `vlbench encode` or `embed` with that model)",
           options.rerank_model_dir.string());
    }
    if (!encoder) {
      fail("--rerank-model {}: needs --model (the dense model of stage 1) to encode the query",
           options.rerank_model_dir.string());
    }
    rerank_encoder = std::make_unique<serve::QueryEncoder>(
        options.rerank_model_dir, options.model_threads, decode_options, true, options.model_base);
    if (rerank_encoder->dim() != options.rerank_docs->d) {
      fail("{}: the re-ranking model's tokens have {} dimensions, --rerank-image-tokens {}",
           options.rerank_model_dir.string(), rerank_encoder->dim(), options.rerank_docs->d);
    }
  }
  impl_->options = std::move(options);
  const ServeOptions& o = impl_->options;
  impl_->api = serve::make_search_api(std::move(index), o, std::move(encoder),
                                      std::move(rerank_encoder), impl_->metrics);

  const auto ms = [](double seconds) {
    return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000 + 0.5));
  };
  serve::HttpServerOptions http;
  http.host = o.host;
  http.port = o.port;
  http.workers = o.threads;
  http.queue_capacity = o.queue;
  http.max_connections = o.max_connections;
  http.header_timeout = ms(o.header_timeout_s);
  http.body_timeout = ms(o.body_timeout_s);
  http.drain_timeout = ms(o.drain_timeout_s);
  http.limits.max_body_bytes = o.max_body_bytes;
  impl_->http = std::make_unique<serve::HttpServer>(*impl_->api, impl_->metrics, http);
}

SearchServer::~SearchServer() = default;

int SearchServer::bind() {
  impl_->port = impl_->http->bind();
  return impl_->port;
}

void SearchServer::run() {
  impl_->http->run();
}

void SearchServer::stop() {
  impl_->http->stop();
}

int SearchServer::port() const {
  return impl_->port;
}

}  // namespace vlbench
