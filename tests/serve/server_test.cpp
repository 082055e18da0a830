// The search server on loopback: results against brute force, every kind of bad request
// (each followed by a good one), /healthz, /metrics counts, concurrent clients.
#include "serve/serve_test_util.hpp"
#include "test_util.hpp"

#include <vlbench/serve/server.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <regex>
#include <sstream>

namespace vlbench::testing {
namespace {

using nlohmann::json;

constexpr std::int64_t kN = 300;
constexpr std::int64_t kD = 16;

class ServerTest : public ::testing::Test {
 protected:
  ServerTest() : gallery_(unit_rows(kN, kD, 7)), queries_(unit_rows(40, kD, 8)) {
    for (std::int64_t i = 0; i < kN; ++i) paths_.push_back("img/" + std::to_string(i) + ".jpg");
  }
  ServeOptions options() const {
    ServeOptions o;
    o.threads = 4;
    o.max_k = 50;
    o.max_body_bytes = 4096;
    o.paths = paths_;
    return o;
  }
  const float* query(std::int64_t q) const { return queries_.data() + q * kD; }

  // A good query, checked against brute force: the server still works.
  void expect_good_query(httplib::Client& cli, std::int64_t q, std::int64_t k = 10) {
    auto res = post_json(cli, embedding_body(query(q), kD, k).dump());
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    const json body = json::parse(res->body);
    EXPECT_EQ(body.at("ids").get<std::vector<std::int64_t>>(),
              brute_force_top_k(gallery_, kD, query(q), k));
  }

  std::vector<float> gallery_, queries_;
  std::vector<std::string> paths_;
};

TEST_F(ServerTest, EmbeddingQueryReturnsBruteForceTopK) {
  RunningServer server(flat_index(gallery_, kD), options());
  auto cli = server.client();
  for (std::int64_t q = 0; q < 5; ++q) {
    const std::int64_t k = 1 + q * 7;
    auto res = post_json(cli, embedding_body(query(q), kD, k).dump());
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
    const json body = json::parse(res->body);
    const auto ids = body.at("ids").get<std::vector<std::int64_t>>();
    const auto scores = body.at("scores").get<std::vector<double>>();
    const auto paths = body.at("paths").get<std::vector<std::string>>();
    const auto expected = brute_force_top_k(gallery_, kD, query(q), k);
    ASSERT_EQ(ids, expected);
    ASSERT_EQ(scores.size(), ids.size());
    ASSERT_EQ(paths.size(), ids.size());
    for (std::size_t r = 0; r < ids.size(); ++r) {
      double dot = 0;
      for (std::int64_t j = 0; j < kD; ++j) dot += gallery_[ids[r] * kD + j] * query(q)[j];
      EXPECT_NEAR(scores[r], dot, 1e-5);
      EXPECT_EQ(paths[r], paths_[ids[r]]);
    }
    EXPECT_FALSE(body.contains("dense_scores"));
    const json& t = body.at("timings_ms");
    EXPECT_EQ(t.at("encode").get<double>(), 0.0);
    EXPECT_EQ(t.at("rerank").get<double>(), 0.0);
    EXPECT_GT(t.at("search").get<double>(), 0.0);
    EXPECT_GE(t.at("total").get<double>(), t.at("search").get<double>());
  }
}

TEST_F(ServerTest, UnnormalizedEmbeddingIsScaledAndKAboveSizeReturnsAll) {
  ServeOptions o = options();
  o.max_k = 1000;
  const std::vector<float> small(gallery_.begin(), gallery_.begin() + 5 * kD);
  o.paths.resize(5);
  RunningServer server(flat_index(small, kD), o);
  auto cli = server.client();
  std::vector<float> scaled(query(0), query(0) + kD);
  for (float& x : scaled) x *= 37.0f;
  auto res = post_json(cli, embedding_body(scaled.data(), kD, 20).dump());
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json body = json::parse(res->body);
  EXPECT_EQ(body.at("ids").get<std::vector<std::int64_t>>(),
            brute_force_top_k(small, kD, query(0), 5));
  const auto scores = body.at("scores").get<std::vector<double>>();
  for (const double s : scores) EXPECT_LE(std::abs(s), 1.0 + 1e-6);  // cosines
}

struct BadCase {
  std::string name;
  std::string body;
  int status;
  std::string message_part;
};

TEST_F(ServerTest, EveryBadRequestGetsJson4xxAndAGoodOneStillWorks) {
  RunningServer server(flat_index(gallery_, kD), options());
  auto cli = server.client();
  const std::string e = json(std::vector<float>(query(0), query(0) + kD)).dump();
  const std::vector<BadCase> cases = {
      {"malformed JSON", "{\"k\": 5", 400, "malformed JSON"},
      {"not an object", "[1, 2]", 400, "expected a JSON object"},
      {"empty body", "", 400, "malformed JSON"},
      {"no query field", "{\"k\": 5}", 400, "exactly one of"},
      {"two query fields", "{\"embedding\": " + e + ", \"text\": \"x\"}", 400, "exactly one of"},
      {"unknown field", "{\"embedding\": " + e + ", \"kk\": 3}", 400, "unknown field 'kk'"},
      {"k string", "{\"embedding\": " + e + ", \"k\": \"5\"}", 400, "k: expected an integer"},
      {"k float", "{\"embedding\": " + e + ", \"k\": 2.5}", 400, "k: expected an integer"},
      {"k zero", "{\"embedding\": " + e + ", \"k\": 0}", 400, "in [1, 50], got 0"},
      {"k negative", "{\"embedding\": " + e + ", \"k\": -3}", 400, "got -3"},
      {"k above max", "{\"embedding\": " + e + ", \"k\": 51}", 400, "in [1, 50], got 51"},
      {"embedding not array", "{\"embedding\": 1.5}", 400, "embedding: expected an array"},
      {"embedding short", "{\"embedding\": [0.1, 0.2, 0.3]}", 400,
       "expected 16 numbers (the index dimension), got 3"},
      {"embedding item string", "{\"embedding\": [1,2,3,\"x\",5,6,7,8,9,10,11,12,13,14,15,16]}",
       400, "embedding[3]: expected a number"},
      {"embedding overflow", "{\"embedding\": [1e39,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]}", 400,
       "embedding[0]: not a finite float32"},
      {"embedding zeros", "{\"embedding\": [0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}", 400, "all zeros"},
      {"text without model", "{\"text\": \"a dog\"}", 400, "no model"},
      {"text not a string", "{\"text\": 3}", 400, "text: expected a string"},
      {"bad base64", "{\"image_base64\": \"ab$d\"}", 400,
       "image_base64: invalid base64 character at offset 2"},
      {"base64 length", "{\"image_base64\": \"abcde\"}", 400, "not a multiple of 4"},
      {"image without model", "{\"image_base64\": \"aGVsbG8=\"}", 400, "no model"},
      {"query_tokens without rerank", "{\"embedding\": " + e + ", \"query_tokens\": [[1]]}", 400,
       "no re-ranking data"},
      {"body over the limit",
       "{\"embedding\": " + e + ", \"pad\": \"" + std::string(5000, 'x') + "\"}", 413,
       "exceeds the limit of 4096 bytes"},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.name);
    auto res = post_json(cli, c.body);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, c.status) << res->body;
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
    const json body = json::parse(res->body);
    const std::string message = body.at("error").get<std::string>();
    EXPECT_NE(message.find(c.message_part), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    expect_good_query(cli, 1);
  }

  // Multipart without the "image" field, and an image without a model.
  {
    auto res = cli.Post("/v1/search", httplib::MultipartFormDataItems{{"k", "5", "", ""}});
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400);
    EXPECT_NE(json::parse(res->body).at("error").get<std::string>().find("file field 'image'"),
              std::string::npos);
    expect_good_query(cli, 2);
    res = cli.Post("/v1/search",
                   httplib::MultipartFormDataItems{{"image", "xyz", "a.jpg", "image/jpeg"}});
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400);
    EXPECT_NE(res->body.find("no model"), std::string::npos) << res->body;
    expect_good_query(cli, 2);
  }
  // Chunked bodies (which httplib 0.11 does not bound itself): a small one is served, one over
  // the limit gets 413.
  const auto chunked = [&](const std::string& body) {
    return cli.Post(
        "/v1/search",
        [body](std::size_t offset, httplib::DataSink& sink) {
          if (offset < body.size()) {
            sink.write(body.data() + offset, std::min<std::size_t>(1000, body.size() - offset));
          } else {
            sink.done();
          }
          return true;
        },
        "application/json");
  };
  {
    auto res = chunked(embedding_body(query(4), kD, 3).dump());
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << res->body;
    EXPECT_EQ(json::parse(res->body).at("ids").get<std::vector<std::int64_t>>(),
              brute_force_top_k(gallery_, kD, query(4), 3));
    res = chunked(std::string(20000, ' '));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 413);
    EXPECT_NE(json::parse(res->body).at("error").get<std::string>().find("exceeds the limit"),
              std::string::npos);
    expect_good_query(cli, 2);
  }
  // A body that is not the gzip it claims to be.
  {
    auto res = cli.Post("/v1/search", httplib::Headers{{"Content-Encoding", "gzip"}}, "xyz",
                        "application/json");
    ASSERT_TRUE(res);
    EXPECT_TRUE(res->status == 400 || res->status == 415) << res->status;
    EXPECT_TRUE(json::parse(res->body).contains("error"));
    expect_good_query(cli, 2);
  }
  // The embeddings endpoint needs a model; its errors have OpenAI's shape.
  {
    auto res = cli.Post("/v1/embeddings", R"({"model": "m", "input": "a dog"})",
                        "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400);
    const json error = json::parse(res->body).at("error");
    EXPECT_NE(error.at("message").get<std::string>().find("no model"), std::string::npos);
    EXPECT_EQ(error.at("type"), "invalid_request_error");
    res = cli.Get("/v1/embeddings");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 405);
    expect_good_query(cli, 3);
  }
  // Unknown path, wrong methods.
  {
    auto res = cli.Get("/v2/nothing");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 404);
    EXPECT_NE(json::parse(res->body).at("error").get<std::string>().find("GET /v2/nothing"),
              std::string::npos);
    res = cli.Get("/v1/search");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 405);
    EXPECT_EQ(res->get_header_value("Allow"), "POST");
    EXPECT_TRUE(json::parse(res->body).contains("error"));
    res = cli.Post("/healthz", "{}", "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 405);
    expect_good_query(cli, 3);
  }
}

// Sample value of a metric line `name{labels} value` (-1 when absent).
double metric_value(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

TEST_F(ServerTest, HealthzAndMetricsCountRequests) {
  RunningServer server(flat_index(gallery_, kD), options());
  auto cli = server.client();
  auto res = cli.Get("/healthz");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  const json health = json::parse(res->body);
  EXPECT_EQ(health.at("status"), "ok");
  EXPECT_EQ(health.at("index_type"), "flat");
  EXPECT_EQ(health.at("size"), kN);
  EXPECT_EQ(health.at("dim"), kD);
  EXPECT_EQ(health.at("model"), false);
  EXPECT_EQ(health.at("rerank"), false);

  for (int q = 0; q < 3; ++q) expect_good_query(cli, q);
  for (int i = 0; i < 2; ++i) EXPECT_EQ(post_json(cli, "{")->status, 400);
  EXPECT_EQ(cli.Get("/nope")->status, 404);
  EXPECT_EQ(post_json(cli, std::string(5000, ' '))->status, 413);

  res = cli.Get("/metrics");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; version=0.0.4");
  const std::string& m = res->body;
  auto requests = [&](const char* endpoint, int code) {
    return metric_value(m, fmt::format("vlbench_http_requests_total{{endpoint=\"{}\",code=\"{}\"}}",
                                       endpoint, code));
  };
  EXPECT_EQ(requests("/v1/search", 200), 3);
  EXPECT_EQ(requests("/v1/search", 400), 2);
  EXPECT_EQ(requests("/v1/search", 413), 1);
  EXPECT_EQ(requests("other", 404), 1);
  EXPECT_EQ(requests("/healthz", 200), 1);
  EXPECT_EQ(requests("/metrics", 200), -1);  // this scrape is counted after it is rendered
  EXPECT_NE(m.find("# TYPE vlbench_http_requests_total counter\n"), std::string::npos);
  EXPECT_NE(m.find("# TYPE vlbench_stage_seconds histogram\n"), std::string::npos);
  EXPECT_EQ(metric_value(m, "vlbench_index_vectors"), kN);
  EXPECT_EQ(metric_value(m, "vlbench_in_flight_requests"), 0);

  for (const char* stage : {"search", "total", "encode", "rerank"}) {
    SCOPED_TRACE(stage);
    const double expected = std::string(stage) == "search" || std::string(stage) == "total" ? 3 : 0;
    const std::string labels = fmt::format("{{stage=\"{}\"", stage);
    EXPECT_EQ(metric_value(m, "vlbench_stage_seconds_count" + labels + "}"), expected);
    EXPECT_EQ(metric_value(m, "vlbench_stage_seconds_bucket" + labels + ",le=\"+Inf\"}"), expected);
    const double sum = metric_value(m, "vlbench_stage_seconds_sum" + labels + "}");
    if (expected > 0)
      EXPECT_GT(sum, 0);
    else
      EXPECT_EQ(sum, 0);
    // Buckets are cumulative: non-decreasing in le.
    const std::regex bucket("vlbench_stage_seconds_bucket\\{stage=\"" + std::string(stage) +
                            "\",le=\"([^\"]+)\"\\} (\\d+)");
    double previous = 0;
    int n_buckets = 0;
    for (auto it = std::sregex_iterator(m.begin(), m.end(), bucket); it != std::sregex_iterator();
         ++it, ++n_buckets) {
      const double count = std::stod((*it)[2]);
      EXPECT_GE(count, previous);
      previous = count;
    }
    EXPECT_EQ(n_buckets, 17);
  }

  res = cli.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(
      metric_value(res->body, "vlbench_http_requests_total{endpoint=\"/metrics\",code=\"200\"}"),
      1);
}

TEST_F(ServerTest, ConcurrentClientsAllGetTheirOwnResults) {
  RunningServer server(flat_index(gallery_, kD), options());
  constexpr int kClients = 8;
  constexpr int kPerClient = 20;
  std::atomic<int> good{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      httplib::Client cli = server.client();
      cli.set_keep_alive(c % 2 == 0);  // half reuse one connection, half reconnect
      for (int r = 0; r < kPerClient; ++r) {
        const std::int64_t q = (c * kPerClient + r) % 40;
        auto res =
            cli.Post("/v1/search", embedding_body(query(q), kD, 5).dump(), "application/json");
        if (res && res->status == 200 &&
            json::parse(res->body).at("ids").get<std::vector<std::int64_t>>() ==
                brute_force_top_k(gallery_, kD, query(q), 5)) {
          ++good;
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(good.load(), kClients * kPerClient);
  auto cli = server.client();
  auto res = cli.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(
      metric_value(res->body, "vlbench_http_requests_total{endpoint=\"/v1/search\",code=\"200\"}"),
      kClients * kPerClient);
}

TEST_F(ServerTest, StopBeforeRunReturnsAtOnce) {
  SearchServer server(flat_index(gallery_, kD), [&] {
    ServeOptions o = options();
    o.port = 0;
    return o;
  }());
  EXPECT_GT(server.bind(), 0);
  server.stop();
  server.run();  // returns immediately
}

TEST_F(ServerTest, OptionsAreChecked) {
  auto index = flat_index(gallery_, kD);
  ServeOptions o = options();
  o.threads = 0;
  expect_error([&] { SearchServer(index, o); }, {"--threads", "got 0"});
  o = options();
  o.max_k = 0;
  expect_error([&] { SearchServer(index, o); }, {"--max-k"});
  o = options();
  o.paths.pop_back();
  expect_error([&] { SearchServer(index, o); }, {"gallery paths", "299 paths", "300 vectors"});
  o = options();
  o.port = 0;
  o.host = "192.0.2.1";  // TEST-NET-1: never an address of this machine
  SearchServer server(index, o);
  expect_error([&] { server.bind(); }, {"--host 192.0.2.1", "cannot bind"});
  // A port in use cannot be bound twice.
  o.host = "127.0.0.1";
  SearchServer first(index, o);
  o.port = first.bind();
  SearchServer second(index, o);
  expect_error([&] { second.bind(); }, {fmt::format("--port {}", o.port), "cannot bind"});
  first.stop();
}

}  // namespace
}  // namespace vlbench::testing
