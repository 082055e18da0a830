// Re-ranked queries: dense top-N from the index, re-scored by MaxSim, against a direct
// implementation (uneven lengths, negative dot products, padding that must not be read).
#include "serve/serve_test_util.hpp"
#include "test_util.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace vlbench::testing {
namespace {

using nlohmann::json;

constexpr std::int64_t kN = 80;
constexpr std::int64_t kD = 12;
constexpr std::int64_t kTMax = 7;
constexpr std::int64_t kTokD = 6;

std::shared_ptr<MultiVectorSet> make_docs(std::uint64_t seed) {
  SplitMix64 rng(seed);
  auto docs = std::make_shared<MultiVectorSet>();
  docs->n = kN;
  docs->t_max = kTMax;
  docs->d = kTokD;
  docs->tokens.resize(kN * kTMax * kTokD);
  docs->lengths.resize(kN);
  for (std::int64_t i = 0; i < kN; ++i) {
    docs->lengths[i] = static_cast<std::int32_t>(1 + rng.below(kTMax));
    for (std::int64_t t = 0; t < kTMax; ++t) {
      for (std::int64_t j = 0; j < kTokD; ++j) {
        // Padding holds large values: reading it would change every score.
        docs->tokens[(i * kTMax + t) * kTokD + j] =
            t < docs->lengths[i] ? static_cast<float>(rng.normal()) : 50.0f;
      }
    }
  }
  return docs;
}

// Direct MaxSim: Σ over query tokens of the max over the document's real tokens.
double direct_maxsim(const std::vector<float>& q, const MultiVectorSet& docs, std::int64_t row) {
  double total = 0;
  for (std::size_t i = 0; i < q.size() / kTokD; ++i) {
    double best = -std::numeric_limits<double>::infinity();
    for (std::int64_t t = 0; t < docs.lengths[row]; ++t) {
      double dot = 0;
      for (std::int64_t j = 0; j < kTokD; ++j) {
        dot += static_cast<double>(q[i * kTokD + j]) * docs.item(row)[t * kTokD + j];
      }
      best = std::max(best, dot);
    }
    total += best;
  }
  return total;
}

TEST(RerankServeTest, TopDepthIsRescoredByMaxSim) {
  const std::vector<float> gallery = unit_rows(kN, kD, 21);
  const std::vector<float> queries = unit_rows(4, kD, 22);
  const auto docs = make_docs(23);
  ServeOptions options;
  options.threads = 2;
  options.rerank_docs = std::make_shared<const TokenStore>(store_tokens(*docs, TokenStorage::f32));
  options.rerank_depth = 20;
  RunningServer server(flat_index(gallery, kD), options);
  auto cli = server.client();
  SplitMix64 rng(24);
  for (std::int64_t q = 0; q < 4; ++q) {
    SCOPED_TRACE(q);
    const float* query = queries.data() + q * kD;
    std::vector<float> tokens(static_cast<std::size_t>((2 + q) * kTokD));
    for (float& x : tokens) x = static_cast<float>(rng.normal());
    json request = embedding_body(query, kD, 5);
    json rows = json::array();
    for (std::int64_t t = 0; t < 2 + q; ++t) {
      rows.push_back(
          std::vector<float>(tokens.begin() + t * kTokD, tokens.begin() + (t + 1) * kTokD));
    }
    request["query_tokens"] = rows;
    auto res = post_json(cli, request.dump());
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    const json body = json::parse(res->body);

    // Reference: dense top 20, re-scored directly, best 5 by MaxSim (ties: lower row).
    std::vector<std::int64_t> candidates = brute_force_top_k(gallery, kD, query, 20);
    std::vector<double> score(kN);
    for (const std::int64_t c : candidates) score[c] = direct_maxsim(tokens, *docs, c);
    std::stable_sort(candidates.begin(), candidates.end(), [&](std::int64_t a, std::int64_t b) {
      return score[a] > score[b] || (score[a] == score[b] && a < b);
    });
    candidates.resize(5);
    EXPECT_EQ(body.at("ids").get<std::vector<std::int64_t>>(), candidates);
    const auto scores = body.at("scores").get<std::vector<double>>();
    const auto dense = body.at("dense_scores").get<std::vector<double>>();
    ASSERT_EQ(scores.size(), 5u);
    ASSERT_EQ(dense.size(), 5u);
    for (std::size_t r = 0; r < 5; ++r) {
      EXPECT_NEAR(scores[r], score[candidates[r]], 1e-4);
      double dot = 0;
      for (std::int64_t j = 0; j < kD; ++j) dot += gallery[candidates[r] * kD + j] * query[j];
      EXPECT_NEAR(dense[r], dot, 1e-5);
    }
    EXPECT_GT(body.at("timings_ms").at("rerank").get<double>(), 0.0);
  }

  // Without query_tokens the same server answers a plain dense query.
  auto res = post_json(cli, embedding_body(queries.data(), kD, 30).dump());
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  EXPECT_EQ(json::parse(res->body).at("ids").get<std::vector<std::int64_t>>(),
            brute_force_top_k(gallery, kD, queries.data(), 30));

  // k above the depth, and tokens of the wrong dimension.
  json request = embedding_body(queries.data(), kD, 21);
  request["query_tokens"] = json::array({std::vector<float>(kTokD, 1.0f)});
  res = post_json(cli, request.dump());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_NE(res->body.find("exceeds the re-ranking depth 20"), std::string::npos) << res->body;
  request["k"] = 3;
  request["query_tokens"] = json::array({std::vector<float>(kTokD + 1, 1.0f)});
  res = post_json(cli, request.dump());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_NE(res->body.find("query_tokens[0]: expected an array of 6 numbers"), std::string::npos)
      << res->body;
}

TEST(RerankServeTest, CompactTokenStorageScoresItsDecodedTokens) {
  // int8 page tokens: the served MaxSim scores are those of the decoded (code · scale) tokens,
  // and differ from float32's.
  const std::vector<float> gallery = unit_rows(kN, kD, 21);
  const std::vector<float> query = unit_rows(1, kD, 22);
  const auto docs = make_docs(23);
  const auto store = std::make_shared<const TokenStore>(store_tokens(*docs, TokenStorage::int8));
  const MultiVectorSet decoded = decode_tokens(*store);
  ServeOptions options;
  options.rerank_docs = store;
  options.rerank_depth = 30;
  RunningServer server(flat_index(gallery, kD), options);
  auto cli = server.client();
  auto health = cli.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(json::parse(health->body).at("rerank_token_storage"), "int8");

  SplitMix64 rng(25);
  std::vector<float> tokens(static_cast<std::size_t>(3 * kTokD));
  for (float& x : tokens) x = static_cast<float>(rng.normal());
  json request = embedding_body(query.data(), kD, 30);
  json rows = json::array();
  for (std::int64_t t = 0; t < 3; ++t) {
    rows.push_back(std::vector<float>(tokens.begin() + t * kTokD, tokens.begin() + (t + 1) * kTokD));
  }
  request["query_tokens"] = rows;
  auto res = post_json(cli, request.dump());
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json body = json::parse(res->body);
  const auto ids = body.at("ids").get<std::vector<std::int64_t>>();
  const auto scores = body.at("scores").get<std::vector<double>>();
  ASSERT_EQ(ids.size(), 30u);
  double max_change = 0;
  for (std::size_t r = 0; r < ids.size(); ++r) {
    EXPECT_NEAR(scores[r], direct_maxsim(tokens, decoded, ids[r]), 1e-4);
    max_change = std::max(max_change, std::abs(scores[r] - direct_maxsim(tokens, *docs, ids[r])));
    if (r > 0) {
      EXPECT_GE(scores[r - 1], scores[r]);
    }
  }
  EXPECT_GT(max_change, 1e-4);  // the int8 storage is what was scored
}

TEST(RerankServeTest, DocsMustCoverTheGallery) {
  const std::vector<float> gallery = unit_rows(kN - 1, kD, 21);
  ServeOptions options;
  options.rerank_docs =
      std::make_shared<const TokenStore>(store_tokens(*make_docs(23), TokenStorage::f32));
  expect_error([&] { SearchServer(flat_index(gallery, kD), options); },
               {"--rerank-image-tokens", "80 items", "79 vectors"});
}

}  // namespace
}  // namespace vlbench::testing
