// The endpoints of `vlbench serve` (server.hpp documents them) as an HttpService, independent
// of the transport: the front end (http_server.hpp) and the HTTP fuzz target call it.
#pragma once

#include "serve/http_server.hpp"
#include "serve/metrics.hpp"
#include "serve/query_encoder.hpp"

#include <vlbench/index/vector_index.hpp>
#include <vlbench/serve/server.hpp>

#include <memory>

namespace vlbench::serve {

// `options` (already checked by SearchServer) and `metrics` must outlive the service;
// `encoder` may be null (embedding queries only); `rerank_encoder` (a multi-vector model, or
// null) turns text queries into query tokens for re-ranking.
std::unique_ptr<HttpService> make_search_api(std::shared_ptr<const VectorIndex> index,
                                             const ServeOptions& options,
                                             std::unique_ptr<QueryEncoder> encoder,
                                             std::unique_ptr<QueryEncoder> rerank_encoder,
                                             Metrics& metrics);

}  // namespace vlbench::serve
