// Request parsing pieces on their own: base64 (RFC 4648 test vectors), form fields, the
// gallery paths file.
#include "serve/request.hpp"
#include "test_util.hpp"

#include <vlbench/serve/server.hpp>

#include <gtest/gtest.h>

#include <cmath>

namespace vlbench::testing {
namespace {

TEST(Base64Test, Rfc4648Vectors) {
  EXPECT_EQ(serve::decode_base64("Zg==", "f"), "f");
  EXPECT_EQ(serve::decode_base64("Zm8=", "f"), "fo");
  EXPECT_EQ(serve::decode_base64("Zm9v", "f"), "foo");
  EXPECT_EQ(serve::decode_base64("Zm9vYg==", "f"), "foob");
  EXPECT_EQ(serve::decode_base64("Zm9vYmE=", "f"), "fooba");
  EXPECT_EQ(serve::decode_base64("Zm9vYmFy", "f"), "foobar");
  EXPECT_EQ(serve::decode_base64("Zm9v\r\nYmFy\n", "f"), "foobar");
  // All 256 byte values: "/+" and high bits survive.
  EXPECT_EQ(serve::decode_base64("//79", "f"), std::string("\xff\xfe\xfd"));
}

TEST(Base64Test, ErrorsNameTheFieldAndOffset) {
  expect_error([] { serve::decode_base64("Zm9v!mFy", "image_base64"); },
               {"image_base64", "invalid base64 character at offset 4"});
  expect_error([] { serve::decode_base64("Zg=a", "image_base64"); },
               {"image_base64", "data after '=' padding at offset 3"});
  expect_error([] { serve::decode_base64("Z===", "image_base64"); },
               {"image_base64", "misplaced '=' at offset 1"});
  expect_error([] { serve::decode_base64("Zg==Zg==", "image_base64"); },
               {"image_base64", "data after '=' padding at offset 4"});
  expect_error([] { serve::decode_base64("Zm9vY", "image_base64"); },
               {"image_base64", "5 base64 characters", "multiple of 4"});
  expect_error([] { serve::decode_base64("", "image_base64"); }, {"image_base64", "empty"});
}

TEST(RequestTest, FormKIsValidated) {
  serve::RequestLimits limits;
  limits.dim = 4;
  limits.max_k = 20;
  const auto request = serve::parse_form_request(std::string("bytes"), std::string("7"), limits);
  EXPECT_EQ(request.kind, serve::SearchRequest::Kind::image);
  EXPECT_EQ(request.image_bytes, "bytes");
  EXPECT_EQ(request.k, 7);
  EXPECT_EQ(serve::parse_form_request(std::string("b"), std::nullopt, limits).k, 10);
  for (const char* bad : {"0", "21", "x", "5x", "", "-1"}) {
    expect_error([&] { serve::parse_form_request(std::string("b"), std::string(bad), limits); },
                 {"k: expected an integer in [1, 20]"});
  }
  expect_error([&] { serve::parse_form_request(std::nullopt, std::string("3"), limits); },
               {"file field 'image'"});
}

TEST(RequestTest, JsonDefaultsAndNormalization) {
  serve::RequestLimits limits;
  limits.dim = 2;
  limits.max_k = 5;
  const auto request = serve::parse_json_request("{\"embedding\": [3, 4]}", limits);
  EXPECT_EQ(request.k, 5);  // min(10, max_k)
  EXPECT_FLOAT_EQ(request.embedding[0], 0.6f);
  EXPECT_FLOAT_EQ(request.embedding[1], 0.8f);
  limits.token_dim = 3;
  const auto tokens = serve::parse_json_request(
      "{\"text\": \"a\", \"k\": 2, \"query_tokens\": [[1, 2, 3], [-4, 5, -6]]}", limits);
  EXPECT_EQ(tokens.kind, serve::SearchRequest::Kind::text);
  EXPECT_EQ(tokens.n_query_tokens, 2);
  EXPECT_EQ(tokens.query_tokens, (std::vector<float>{1, 2, 3, -4, 5, -6}));
  expect_error(
      [&] { serve::parse_json_request("{\"text\": \"a\", \"query_tokens\": []}", limits); },
      {"query_tokens: expected a non-empty array"});
  expect_error(
      [&] { serve::parse_json_request("{\"text\": \"a\", \"query_tokens\": [[1, 2]]}", limits); },
      {"query_tokens[0]: expected an array of 3 numbers"});
  expect_error(
      [&] {
        serve::parse_json_request("{\"text\": \"a\", \"query_tokens\": [[1, 2, null]]}", limits);
      },
      {"query_tokens[0][2]: expected a number, got null"});
}

TEST(GalleryPathsTest, ReadsOnePathPerRow) {
  TempDir dir;
  write_text(dir / "paths.txt", "a.jpg\r\nsub/b c.png\nc.jpg");
  EXPECT_EQ(read_gallery_paths(dir / "paths.txt", 3),
            (std::vector<std::string>{"a.jpg", "sub/b c.png", "c.jpg"}));
  expect_error([&] { read_gallery_paths(dir / "paths.txt", 4); }, {"paths.txt", "3 paths", "(4)"});
  write_text(dir / "gap.txt", "a.jpg\n\nc.jpg\n");
  expect_error([&] { read_gallery_paths(dir / "gap.txt", 3); }, {"gap.txt:2", "empty line"});
  expect_error([&] { read_gallery_paths(dir / "missing.txt", 3); }, {"missing.txt", "cannot open"});
}

}  // namespace
}  // namespace vlbench::testing
