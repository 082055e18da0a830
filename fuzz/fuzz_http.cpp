// HTTP request handling, from the bytes a client sends to the replies the server would write:
// the same parser configuration, header rules (serve/http.hpp) and endpoints
// (serve/search_api.hpp) as `vlbench serve`, over a real flat index, driven the way a
// connection drives them — requests one after another (pipelining), 100-continue, a reply
// that closes the connection ending the exchange. Each reply must be well-formed HTTP with a
// JSON or metrics body.
#include "fuzz_util.hpp"

#include "serve/http.hpp"
#include "serve/metrics.hpp"
#include "serve/search_api.hpp"

#include <vlbench/core/random.hpp>
#include <vlbench/index/vector_index.hpp>
#include <vlbench/serve/server.hpp>

#include <boost/asio/buffer.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <set>

namespace {

using namespace vlbench;
namespace http = boost::beast::http;

struct Service {
  Service() {
    constexpr std::int64_t n = 40, d = 8;
    SplitMix64 rng(3);
    std::vector<float> x(n * d);
    for (float& v : x) v = static_cast<float>(rng.normal());
    std::shared_ptr<VectorIndex> index = make_index("flat", d);
    index->add(n, x.data());
    options.max_k = 20;
    options.max_body_bytes = 1 << 16;
    api = serve::make_search_api(index, options, nullptr, nullptr, metrics);
    limits.max_body_bytes = options.max_body_bytes;
    limits.max_header_bytes = 4096;
  }
  ServeOptions options;
  serve::Metrics metrics{{"encode", "search", "rerank", "total"}};
  std::unique_ptr<serve::HttpService> api;
  serve::ParserLimits limits;
};

void check_reply(const serve::HttpResponse& reply) {
  static const std::set<int> known = {200, 400, 404, 405, 413, 415, 417, 431, 500, 501, 503, 505};
  if (known.count(reply.status) == 0) {
    std::fprintf(stderr, "unexpected status %d\n", reply.status);
    std::abort();
  }
  if (reply.status == 500) {
    std::fprintf(stderr, "a 500 (a bug): %s\n", reply.body.c_str());
    std::abort();
  }
  if (reply.content_type == "application/json" &&
      nlohmann::json::parse(reply.body, nullptr, false).is_discarded()) {
    std::fprintf(stderr, "reply body is not JSON: %s\n", reply.body.c_str());
    std::abort();
  }
  const std::string wire = serve::serialize_response(reply, true);
  if (wire.rfind("HTTP/1.1 ", 0) != 0) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Service service;
  std::string_view input = fuzz::as_text(data, size);
  for (int request = 0; request < 64 && !input.empty(); ++request) {
    serve::RequestParser parser;
    serve::configure_parser(parser, service.limits);
    boost::beast::error_code ec;
    bool checked = false;
    // Feed what is left, as a connection's buffer would, until the message is complete.
    while (!parser.is_done()) {
      const std::size_t used = parser.put(boost::asio::buffer(input.data(), input.size()), ec);
      input.remove_prefix(used);
      if (ec == http::error::need_more && used > 0 && !input.empty()) {
        ec = {};
        continue;
      }
      // Every byte left was offered: needing more means the client stopped mid-message.
      if (ec == http::error::need_more) return 0;
      if (ec) {
        check_reply(serve::parse_error_response(ec, service.limits));
        return 0;  // a parse error closes the connection
      }
      if (parser.is_header_done() && !checked) {
        checked = true;
        if (auto refused = serve::check_header(parser)) {
          check_reply(*refused);
          return 0;
        }
        serve::expects_continue(parser);
      }
      if (used == 0 && !parser.is_done()) return 0;  // no progress
    }
    if (!checked) {
      if (auto refused = serve::check_header(parser)) {
        check_reply(*refused);
        return 0;
      }
    }
    const bool keep_alive = parser.get().keep_alive();
    const serve::HttpRequest parsed = serve::take_request(parser);
    check_reply(service.api->handle(parsed));
    if (!keep_alive) return 0;
  }
  return 0;
}
