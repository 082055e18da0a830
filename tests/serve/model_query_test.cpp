// Text and image queries through a generated tiny CLIP checkpoint: the server's results equal
// those of the embedding the `embed` path (tokenize / decode + preprocess, encode) produces.
#include "serve/serve_test_util.hpp"
#include "test_util.hpp"

#include <vlbench/models/clip.hpp>
#include <vlbench/models/random_clip.hpp>
#include <vlbench/text/clip_tokenizer.hpp>
#include <vlbench/vision/image.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>

namespace vlbench::testing {
namespace {

using nlohmann::json;

constexpr std::int64_t kN = 64;
constexpr std::int64_t kD = 32;  // the tiny model's projection_dim

std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string base64(const std::string& bytes) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    std::uint32_t v = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 2]);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? alphabet[(v >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? alphabet[v & 63] : '=';
  }
  return out;
}

// Standard base64 decoding, written independently of the server's.
std::string serve_test_decode_base64(const std::string& text) {
  std::string out;
  std::uint32_t group = 0;
  int bits = 0;
  for (const char c : text) {
    if (c == '=') break;
    const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    group = (group << 6) | static_cast<std::uint32_t>(std::strchr(alphabet, c) - alphabet);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((group >> bits) & 0xff));
    }
  }
  return out;
}

class ModelQueryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    write_random_clip(model_dir(), "tiny", 5, repo_path("data/tokenizers/clip"));
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::filesystem::path model_dir() { return *dir_ / "clip-tiny"; }

  ModelQueryTest() : gallery_(unit_rows(kN, kD, 11)) {}

  // The `embed` path: tokenize + encode_texts (unnormalized).
  static std::vector<float> embed_text(const std::string& text) {
    const ClipModel model = ClipModel::load(model_dir());
    const ClipTokenizer tokenizer = ClipTokenizer::from_directory(model_dir());
    std::vector<float> out(kD);
    model.encode_texts({tokenizer.encode(text, model.config().max_position_embeddings)},
                       out.data());
    return out;
  }
  // The `embed --image-list` path: decode file + preprocess + encode_images (unnormalized).
  static std::vector<float> embed_image(const std::filesystem::path& path,
                                        const DecodeOptions& decode = {}) {
    const ClipModel model = ClipModel::load(model_dir());
    const PreprocessConfig config = read_preprocess_config(model_dir());
    std::vector<float> pixels(3 * config.output_height() * config.output_width());
    preprocess(decode_image_native(path, decode), config, pixels.data());
    std::vector<float> out(kD);
    model.encode_images(pixels.data(), 1, out.data());
    return out;
  }

  ServeOptions options() const {
    ServeOptions o;
    o.threads = 2;
    o.model_dir = model_dir();
    o.model_threads = 1;
    return o;
  }

  static json search(httplib::Client& cli, const json& request) {
    auto res = post_json(cli, request.dump());
    EXPECT_TRUE(res);
    if (!res) return {};
    EXPECT_EQ(res->status, 200) << res->body;
    return json::parse(res->body);
  }

  static TempDir* dir_;
  std::vector<float> gallery_;
};

TempDir* ModelQueryTest::dir_ = nullptr;

TEST_F(ModelQueryTest, TextQueryEqualsSearchingTheEmbedPathsEmbedding) {
  RunningServer server(flat_index(gallery_, kD), options());
  auto cli = server.client();
  for (const std::string text : {"a red square and a yellow triangle", "a dog", ""}) {
    SCOPED_TRACE(text);
    const json by_text = search(cli, {{"text", text}, {"k", 8}});
    const std::vector<float> e = embed_text(text);
    const json by_embedding = search(cli, {{"embedding", e}, {"k", 8}});
    EXPECT_EQ(by_text.at("ids"), by_embedding.at("ids"));
    EXPECT_EQ(by_text.at("ids").get<std::vector<std::int64_t>>(),
              brute_force_top_k(gallery_, kD, e.data(), 8));
    const auto a = by_text.at("scores").get<std::vector<double>>();
    const auto b = by_embedding.at("scores").get<std::vector<double>>();
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t r = 0; r < a.size(); ++r) EXPECT_NEAR(a[r], b[r], 1e-6);
    EXPECT_GT(by_text.at("timings_ms").at("encode").get<double>(), 0.0);
  }
}

TEST_F(ModelQueryTest, ImageUploadAndBase64EqualTheEmbedPath) {
  RunningServer server(flat_index(gallery_, kD), options());
  auto cli = server.client();
  const auto image = repo_path("data/jsonl-mini/images/red_square_yellow_triangle.jpg");
  const std::string bytes = read_bytes(image);
  ASSERT_GT(bytes.size(), 100u);
  const std::vector<float> e = embed_image(image);
  const json by_embedding = search(cli, {{"embedding", e}, {"k", 6}});
  EXPECT_EQ(by_embedding.at("ids").get<std::vector<std::int64_t>>(),
            brute_force_top_k(gallery_, kD, e.data(), 6));

  const json by_base64 = search(cli, {{"image_base64", base64(bytes)}, {"k", 6}});
  EXPECT_EQ(by_base64.at("ids"), by_embedding.at("ids"));

  auto res = cli.Post(
      "/v1/search",
      httplib::MultipartFormDataItems{{"image", bytes, "q.jpg", "image/jpeg"}, {"k", "6", "", ""}});
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json by_upload = json::parse(res->body);
  EXPECT_EQ(by_upload.at("ids"), by_embedding.at("ids"));
  const auto a = by_upload.at("scores").get<std::vector<double>>();
  const auto b = by_embedding.at("scores").get<std::vector<double>>();
  for (std::size_t r = 0; r < a.size(); ++r) EXPECT_NEAR(a[r], b[r], 1e-6);
}

// ServeOptions::exif_orientation (--exif-orientation): image queries are rotated by their EXIF
// Orientation first, as the gallery was encoded; off by default, they stay as stored.
TEST_F(ModelQueryTest, ExifOrientationRotatesImageQueriesOnlyWhenAsked) {
  const auto image = test_data("images/jpeg/orient6.jpg");  // stored sideways, tag 6
  const std::string url = "data:image/jpeg;base64," + base64(read_bytes(image));
  DecodeOptions rotate;
  rotate.exif_orientation = true;
  const std::vector<float> as_stored = embed_image(image);
  const std::vector<float> rotated = embed_image(image, rotate);
  ASSERT_GT(max_abs_diff(as_stored, rotated), 1e-3);
  for (const bool exif : {false, true}) {
    SCOPED_TRACE(exif);
    ServeOptions o = options();
    o.exif_orientation = exif;
    RunningServer server(flat_index(gallery_, kD), o);
    auto cli = server.client();
    auto res = cli.Post("/v1/embeddings", json{{"model", "clip-tiny"}, {"input", url}}.dump(),
                        "application/json");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    const auto got =
        json::parse(res->body).at("data").at(0).at("embedding").get<std::vector<float>>();
    std::vector<float> expected = exif ? rotated : as_stored;
    double norm = 0;
    for (const float x : expected) norm += static_cast<double>(x) * x;
    for (float& x : expected) x = static_cast<float>(x / std::sqrt(norm));
    ASSERT_EQ(got.size(), expected.size());
    for (std::size_t j = 0; j < got.size(); ++j) EXPECT_NEAR(got[j], expected[j], 1e-6) << j;
    const json by_image = search(cli, {{"image_base64", base64(read_bytes(image))}, {"k", 5}});
    EXPECT_EQ(by_image.at("ids").get<std::vector<std::int64_t>>(),
              brute_force_top_k(gallery_, kD, expected.data(), 5));
  }
}

TEST_F(ModelQueryTest, UndecodableImagesAre400AndTheServerKeepsServing) {
  RunningServer server(flat_index(gallery_, kD), options());
  auto cli = server.client();
  const std::string truncated =
      read_bytes(repo_path("data/jsonl-mini/images/red_square_yellow_triangle.jpg")).substr(0, 40);
  for (const std::string& bytes : {std::string("hello, not an image"), truncated}) {
    auto res = post_json(cli, json{{"image_base64", base64(bytes)}}.dump());
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400) << res->body;
    const std::string message = json::parse(res->body).at("error").get<std::string>();
    EXPECT_NE(message.find("image"), std::string::npos) << message;
    res = cli.Post("/v1/search",
                   httplib::MultipartFormDataItems{{"image", bytes, "x.png", "image/png"}});
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400) << res->body;
    const json good = search(cli, {{"text", "a blue diamond"}, {"k", 3}});
    EXPECT_EQ(good.at("ids").size(), 3u);
  }
  // Invalid UTF-8 cannot reach the tokenizer: the JSON parser rejects it.
  auto res = post_json(cli, std::string("{\"text\": \"\xff\xfe\"}"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400) << res->body;
  EXPECT_TRUE(json::parse(res->body).contains("error"));

  res = cli.Get("/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(json::parse(res->body).at("model"), true);
}

// A decompression bomb (a few hundred bytes declaring 30000 x 30000) is refused from its
// header: 413 naming the limit, and the server keeps serving.
TEST_F(ModelQueryTest, ImageBombsAre413AndTheServerKeepsServing) {
  RunningServer server(flat_index(gallery_, kD), options());
  auto cli = server.client();
  const std::string bomb = png_declaring(30000, 30000);
  ASSERT_LT(bomb.size(), 4096u);
  for (int round = 0; round < 2; ++round) {
    auto res = post_json(cli, json{{"image_base64", base64(bomb)}, {"k", 3}}.dump());
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 413) << res->body;
    const std::string message = json::parse(res->body).at("error").get<std::string>();
    EXPECT_NE(message.find("30000x30000"), std::string::npos) << message;
    EXPECT_NE(message.find("over the limit of 89478485"), std::string::npos) << message;
    res = cli.Post("/v1/search",
                   httplib::MultipartFormDataItems{{"image", bomb, "b.png", "image/png"}});
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 413) << res->body;
    const json good = search(cli, {{"text", "a blue diamond"}, {"k", 3}});
    EXPECT_EQ(good.at("ids").size(), 3u);
  }
  // The limit is the server's option: an ordinary photo over a tiny limit is refused too.
  ServeOptions tight = options();
  tight.max_image_pixels = 100;
  RunningServer strict(flat_index(gallery_, kD), tight);
  auto strict_cli = strict.client();
  const std::string photo =
      read_bytes(repo_path("data/jsonl-mini/images/red_square_yellow_triangle.jpg"));
  auto res = post_json(strict_cli, json{{"image_base64", base64(photo)}}.dump());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413) << res->body;
  EXPECT_NE(res->body.find("over the limit of 100"), std::string::npos) << res->body;
}

// POST /v1/embeddings as OpenAI's clients call it: texts, an image data URL, float and base64
// output; each embedding equals the `embed` path's, scaled to unit length.
TEST_F(ModelQueryTest, OpenAiEmbeddingsEndpointEqualsTheEmbedPath) {
  RunningServer server(flat_index(gallery_, kD), options());
  auto cli = server.client();
  const auto unit = [](std::vector<float> v) {
    double s = 0;
    for (const float x : v) s += static_cast<double>(x) * x;
    for (float& x : v) x = static_cast<float>(x / std::sqrt(s));
    return v;
  };
  const auto image = repo_path("data/jsonl-mini/images/red_square_yellow_triangle.jpg");
  const std::vector<std::vector<float>> expected = {
      unit(embed_text("a dog")), unit(embed_image(image)), unit(embed_text("two red squares"))};
  const json input = {"a dog", "data:image/jpeg;base64," + base64(read_bytes(image)),
                      "two red squares"};
  for (const std::string format : {"float", "base64"}) {
    SCOPED_TRACE(format);
    auto res = cli.Post("/v1/embeddings",
                        json{{"model", "clip-tiny"}, {"input", input}, {"encoding_format", format}}
                            .dump(),
                        "application/json");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    const json body = json::parse(res->body);
    EXPECT_EQ(body.at("object"), "list");
    EXPECT_EQ(body.at("model"), "clip-tiny");
    ASSERT_EQ(body.at("data").size(), 3u);
    // Tokens of the two texts as the model encodes them, <|startoftext|> and <|endoftext|>
    // included: "a dog" is 4, "two red squares" 5; the image counts none.
    EXPECT_EQ(body.at("usage").at("prompt_tokens"), 9);
    EXPECT_EQ(body.at("usage").at("total_tokens"), 9);
    for (std::size_t i = 0; i < 3; ++i) {
      const json& item = body.at("data").at(i);
      EXPECT_EQ(item.at("object"), "embedding");
      EXPECT_EQ(item.at("index"), i);
      std::vector<float> got;
      if (format == "float") {
        got = item.at("embedding").get<std::vector<float>>();
      } else {
        const std::string bytes =
            serve_test_decode_base64(item.at("embedding").get<std::string>());
        got.resize(bytes.size() / sizeof(float));
        std::memcpy(got.data(), bytes.data(), got.size() * sizeof(float));
      }
      ASSERT_EQ(got.size(), static_cast<std::size_t>(kD));
      for (std::int64_t j = 0; j < kD; ++j) EXPECT_NEAR(got[j], expected[i][j], 1e-6) << i;
    }
  }
  // A single string input; the model may be named by its folder or by its name.
  auto res = cli.Post("/v1/embeddings", json{{"model", "clip-tiny"}, {"input", "a dog"}}.dump(),
                      "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(json::parse(res->body).at("data").size(), 1u);

  struct Bad {
    json body;
    int status;
    std::string message_part;
  };
  const std::vector<Bad> bad = {
      {{{"model", "gpt-4"}, {"input", "x"}}, 404, "model 'gpt-4' is not served"},
      {{{"input", "x"}}, 400, "missing field 'model'"},
      {{{"model", "clip-tiny"}}, 400, "missing field 'input'"},
      {{{"model", "clip-tiny"}, {"input", json::array()}}, 400, "input: empty array"},
      {{{"model", "clip-tiny"}, {"input", {1, 2, 3}}}, 400, "token-id inputs"},
      {{{"model", "clip-tiny"}, {"input", ""}}, 400, "input: empty"},
      {{{"model", "clip-tiny"}, {"input", "x"}, {"dimensions", 8}}, 400, "gives 32, got 8"},
      {{{"model", "clip-tiny"}, {"input", "x"}, {"encoding_format", "int8"}}, 400,
       "encoding_format"},
      {{{"model", "clip-tiny"}, {"input", "x"}, {"temperature", 1}}, 400, "unknown field"},
      {{{"model", "clip-tiny"}, {"input", "data:image/png,abc"}}, 400, "data URL"},
      {{{"model", "clip-tiny"}, {"input", "data:image/png;base64," + base64(png_declaring(30000, 30000))}},
       413, "over the limit"},
  };
  for (const Bad& b : bad) {
    SCOPED_TRACE(b.body.dump().substr(0, 80));
    res = cli.Post("/v1/embeddings", b.body.dump(), "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, b.status) << res->body;
    const json error = json::parse(res->body).at("error");
    EXPECT_NE(error.at("message").get<std::string>().find(b.message_part), std::string::npos)
        << res->body;
    EXPECT_TRUE(error.contains("type"));
  }
}

TEST_F(ModelQueryTest, ModelDimensionMustMatchTheIndex) {
  const std::vector<float> other = unit_rows(10, 16, 3);
  expect_error([&] { SearchServer(flat_index(other, 16), options()); },
               {"clip-tiny", "32 dimensions", "the index 16"});
}

}  // namespace
}  // namespace vlbench::testing
