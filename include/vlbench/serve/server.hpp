// `vlbench serve`: an HTTP/1.1 JSON search and embedding API over one saved vector index.
//
// Endpoints
//   POST /v1/search   one query, k nearest gallery rows. The body is either JSON
//                     (Content-Type anything but multipart) with exactly one query field:
//                       {"embedding": [d numbers], "k": 10}   no model needed
//                       {"text": "a caption", "k": 10}        needs ServeOptions::model_dir
//                       {"image_base64": "<base64 JPEG/PNG>", "k": 10}   needs the model
//                     or multipart/form-data with a file field "image" (JPEG/PNG bytes) and an
//                     optional text field "k" (needs the model).
//                     "k" is optional (default min(10, max_k)); it must be an integer in
//                     [1, max_k]. With re-ranking loaded (ServeOptions::rerank_docs), a JSON
//                     query may add "query_tokens": [[d_tok numbers], ...] (the query's
//                     multi-vector embedding, one row per token): the dense top rerank_depth
//                     rows are re-scored by MaxSim (index/maxsim.hpp) and the best k of them
//                     returned; k must then be <= rerank_depth.
//                     Query embeddings (given, or encoded by the model) are scaled to unit
//                     length before the search, so `scores` are cosine similarities (MaxSim
//                     sums when re-ranked).
//                     200 response: {"ids": [...], "scores": [...],
//                       "dense_scores": [...] (re-ranked queries only: the first-stage scores),
//                       "paths": [...] (only when gallery paths are known),
//                       "timings_ms": {"encode", "search", "rerank", "total"}}
//                     ids are gallery row numbers, best first; fewer than k when the index
//                     finds fewer (never -1 entries). A stage that did not run reports 0.
//   POST /v1/embeddings  OpenAI's embeddings API (needs the model): {"model": NAME, "input":
//                     "text" | ["text", ...] | "data:image/...;base64,..."} (serve/request.hpp)
//                     -> {"object": "list", "data": [{"object": "embedding", "index": i,
//                     "embedding": [unit-length floats] or base64 float32}], "model": NAME,
//                     "usage": {"prompt_tokens", "total_tokens"}} (tokens of the text inputs
//                     as the model encodes them; images count 0). NAME is the model's name or
//                     its folder's name; another is 404. Errors here have OpenAI's shape:
//                     {"error": {"message", "type", "param", "code"}}.
//   GET /healthz      200 {"status": "ok", "index_type", "size", "dim", "model": bool,
//                       "rerank": bool}
//   GET /metrics      Prometheus text exposition (version 0.0.4):
//                       vlbench_http_requests_total{endpoint, code}  counter, every response
//                         (endpoint is "/v1/search", "/v1/embeddings", "/healthz", "/metrics"
//                         or "other"), including the 4xx/503 the front end sends itself;
//                       vlbench_stage_seconds{stage} histogram (_bucket/_sum/_count) of
//                         successful searches: "encode" (text/image queries only), "search",
//                         "rerank" (re-ranked queries only), "total" (whole handler);
//                       vlbench_index_vectors, vlbench_in_flight_requests,
//                       vlbench_queued_requests, vlbench_http_connections_open gauges;
//                       vlbench_http_connections_opened_total and
//                       vlbench_http_connections_closed_total{reason} counters (opened =
//                       closed summed over reasons + open).
//                     A request's own response is counted before its bytes are sent, so a
//                     client that has read a response sees it counted in the next scrape.
//
// Errors: every 4xx/5xx response has a JSON body {"error": "one line"}. 400: malformed JSON,
// a missing / unknown / mistyped field, k out of range, wrong embedding dimension, non-finite
// or all-zero embedding, bad base64, an undecodable image, text/image without a model,
// query_tokens without re-ranking data, a malformed multipart body or a field given twice,
// malformed HTTP, conflicting / repeated / invalid Content-Length, Transfer-Encoding with
// Content-Length; 404: unknown path; 405: wrong method; 413: body over max_body_bytes, or an
// image declaring more than max_image_pixels; 415: any Content-Encoding (send bodies
// uncompressed); 431: headers over 16 KiB; 501: a Transfer-Encoding other than chunked; 503
// with Retry-After: the request queue is full, or too many connections; 500: an internal
// failure (a bug). A handler never lets an exception escape: the server keeps serving.
//
// Concurrency and limits (serve/http_server.hpp): one I/O thread holds every connection;
// complete requests wait in a queue of `queue` entries for `threads` workers (health and
// metrics are answered on the I/O thread). Idle, slow and pipelining clients cost a socket
// and a timer, not a worker. Deadlines: headers within header_timeout_s (which also ends idle
// keep-alive connections), the body within body_timeout_s. stop() drains: requests in
// progress are answered (within drain_timeout_s), then run() returns.
//
// Thread safety: the index is only searched (const), the model's encode calls are serialized
// by a mutex, metrics are guarded by their own mutex. stop() may be called from any thread.
#pragma once

#include <vlbench/index/maxsim.hpp>
#include <vlbench/index/vector_index.hpp>
#include <vlbench/vision/image.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace vlbench {

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: the system picks a free port (SearchServer::port() tells which)
  int threads = 4;  // worker threads = the most requests handled at once (>= 1)
  int queue = 64;   // complete requests waiting for a worker; beyond: 503 (>= 1)
  int max_connections = 4096;              // beyond: 503 and close
  std::size_t max_body_bytes = 16u << 20;  // larger request bodies get 413
  std::int64_t max_k = 1000;               // k must lie in [1, max_k]
  double header_timeout_s = 5;  // request line + headers (and keep-alive idle) deadline
  double body_timeout_s = 30;   // body deadline, from the end of the headers
  double drain_timeout_s = 10;  // stop(): the longest wait for requests in progress
  int search_threads = 1;  // threads of one index.search call (concurrency comes from workers)

  // A model checkpoint directory (any family) for text and image queries; empty: embedding
  // queries only. Its embedding dim must equal the index's dim.
  std::filesystem::path model_dir;
  int model_threads = 0;  // ModelLoadOptions::threads (<= 0: all cores)
  // An image query declaring more pixels gets 413 (DecodeOptions::max_pixels; 0: no limit).
  std::int64_t max_image_pixels = kPillowMaxImagePixels;
  // Image queries are rotated / mirrored by their EXIF orientation first
  // (DecodeOptions::exif_orientation), as the gallery was encoded with --exif-orientation.
  bool exif_orientation = false;

  // Gallery row -> image path, returned as "paths"; empty, or exactly index.size() entries.
  std::vector<std::string> paths;

  // Late-interaction documents for re-ranking (one item per gallery row, n == index.size());
  // null: no re-ranking. Kept as f32, bf16, int8 or binary tokens (maxsim.hpp's TokenStore).
  // rerank_depth: dense candidates re-scored per query (>= 1).
  std::shared_ptr<const TokenStore> rerank_docs;
  std::int64_t rerank_depth = 100;
  // A multi-vector model (ColPali) that encodes text queries into query tokens, so a text
  // query is re-ranked without "query_tokens" in the request; needs rerank_docs of its
  // token dimension. Empty: query tokens come only from requests.
  std::filesystem::path rerank_model_dir;
  // The base checkpoint of model_dir / rerank_model_dir when either is a PEFT adapter folder.
  std::filesystem::path model_base;
};

// Reads a gallery paths file: one path per line (UTF-8, '\n' or "\r\n" line ends, a final
// newline optional), line i naming gallery row i. An unreadable file, an empty line, or a line
// count other than `n_gallery` is an Error naming the file (and line).
std::vector<std::string> read_gallery_paths(const std::filesystem::path& file,
                                            std::int64_t n_gallery);

class SearchServer {
 public:
  // Checks the options against the index (threads, limits, dims, paths and rerank counts;
  // Errors name the option) and loads the model when model_dir is set. Nothing is bound
  // yet. The server shares ownership of the index (searched const, never modified).
  SearchServer(std::shared_ptr<const VectorIndex> index, ServeOptions options);
  ~SearchServer();  // stops and waits for the workers
  SearchServer(const SearchServer&) = delete;
  SearchServer& operator=(const SearchServer&) = delete;

  // Binds host:port and starts listening (connections queue until run()). Returns the bound
  // port. An address that cannot be bound is an Error naming host and port.
  int bind();
  // Serves until stop() has drained; returns afterwards. bind() first.
  void run();
  // Stops accepting, answers requests in progress (drain_timeout_s at most), closes the
  // rest, and makes run() return. Idempotent, any thread; not async-signal-safe (the CLI
  // calls it from a thread that waits for the signal).
  void stop();

  int port() const;  // the bound port (after bind())

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vlbench
