// A server with a re-ranking model (ColPali, ../shared/fixtures/colpali-tiny): a text query is
// encoded by the dense model for stage 1 and by ColPali into query tokens for MaxSim over the
// stored page tokens, the same result as sending those tokens in the request.
#include "serve/serve_test_util.hpp"
#include "test_util.hpp"

#include <vlbench/models/model.hpp>
#include <vlbench/models/random_clip.hpp>

#include <gtest/gtest.h>

namespace vlbench::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr std::int64_t kN = 40;
constexpr std::int64_t kD = 32;  // the tiny CLIP's projection_dim
constexpr std::int64_t kTMax = 11, kTokD = 128;

std::shared_ptr<MultiVectorSet> page_tokens(std::uint64_t seed) {
  SplitMix64 rng(seed);
  auto docs = std::make_shared<MultiVectorSet>();
  docs->n = kN;
  docs->t_max = kTMax;
  docs->d = kTokD;
  docs->tokens.resize(kN * kTMax * kTokD);
  docs->lengths.assign(kN, static_cast<std::int32_t>(kTMax));
  for (float& v : docs->tokens) v = static_cast<float>(rng.normal());
  return docs;
}

class RerankModelServe : public ::testing::Test {
 protected:
  void SetUp() override {
    colpali_ = fs::path(VLBENCH_SHARED_FIXTURES) / "colpali-tiny";
    if (!fs::exists(colpali_)) GTEST_SKIP() << "no fixture at " << colpali_;
    write_random_clip(dir_ / "clip", "tiny", 5, repo_path("data/tokenizers/clip"));
  }
  ServeOptions options() const {
    ServeOptions o;
    o.threads = 2;
    o.model_dir = dir_ / "clip";
    o.model_threads = 1;
    o.rerank_docs = std::make_shared<const TokenStore>(store_tokens(*docs_, TokenStorage::f32));
    o.rerank_depth = 15;
    o.rerank_model_dir = colpali_ / "adapter";
    o.model_base = colpali_ / "base";
    return o;
  }
  TempDir dir_;
  fs::path colpali_;
  std::shared_ptr<MultiVectorSet> docs_ = page_tokens(3);
  std::vector<float> gallery_ = unit_rows(kN, kD, 4);
};

TEST_F(RerankModelServe, TextQueriesAreRerankedWithTheModelsQueryTokens) {
  RunningServer server(flat_index(gallery_, kD), options());
  auto cli = server.client();
  ModelLoadOptions load;
  load.base = colpali_ / "base";
  const auto colpali = load_model(colpali_ / "adapter", load);
  for (const std::string text : {"a red circle", "What is the revenue in 2023?"}) {
    SCOPED_TRACE(text);
    const auto ids = colpali->tokenize({text});
    std::vector<float> tokens(static_cast<std::size_t>(ids[0].size() * kTokD));
    colpali->encode_texts(ids, tokens.data());
    json query_tokens = json::array();
    for (std::size_t t = 0; t < ids[0].size(); ++t) {
      query_tokens.push_back(std::vector<float>(tokens.begin() + t * kTokD,
                                                tokens.begin() + (t + 1) * kTokD));
    }
    auto automatic = post_json(cli, json{{"text", text}, {"k", 5}}.dump());
    auto given = post_json(cli, json{{"text", text}, {"k", 5}, {"query_tokens", query_tokens}}.dump());
    ASSERT_TRUE(automatic && given);
    ASSERT_EQ(automatic->status, 200) << automatic->body;
    ASSERT_EQ(given->status, 200) << given->body;
    const json a = json::parse(automatic->body), g = json::parse(given->body);
    EXPECT_EQ(a.at("ids"), g.at("ids"));
    const auto sa = a.at("scores").get<std::vector<double>>();
    const auto sg = g.at("scores").get<std::vector<double>>();
    ASSERT_EQ(sa.size(), 5u);
    for (std::size_t i = 0; i < sa.size(); ++i) EXPECT_NEAR(sa[i], sg[i], 1e-4);
    EXPECT_TRUE(a.contains("dense_scores"));
    EXPECT_GT(a.at("timings_ms").at("rerank").get<double>(), 0.0);
  }
  auto health = cli.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(json::parse(health->body).at("rerank_model"), true);
}

TEST_F(RerankModelServe, MisconfiguredRerankModelsAreErrors) {
  ServeOptions o = options();
  o.rerank_docs = nullptr;
  expect_error([&] { SearchServer(flat_index(gallery_, kD), o); },
               {"--rerank-model", "--rerank-image-tokens"});
  o = options();
  o.rerank_model_dir = dir_ / "clip";  // one vector per query
  expect_error([&] { SearchServer(flat_index(gallery_, kD), o); },
               {"clip", "multi-vector"});
  o = options();
  o.model_dir.clear();
  expect_error([&] { SearchServer(flat_index(gallery_, kD), o); }, {"--rerank-model", "--model"});
  o = options();
  auto narrow = std::make_shared<MultiVectorSet>(*docs_);
  narrow->d = 64;
  narrow->tokens.resize(kN * kTMax * 64);
  o.rerank_docs = std::make_shared<const TokenStore>(store_tokens(*narrow, TokenStorage::f32));
  expect_error([&] { SearchServer(flat_index(gallery_, kD), o); }, {"128 dimensions", "64"});
}

}  // namespace
}  // namespace vlbench::testing
