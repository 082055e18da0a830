// Request parsing pieces on their own: base64 (RFC 4648 test vectors), form fields, the
// gallery paths file.
#include "serve/multipart.hpp"
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

TEST(Base64Test, EncodeRfc4648VectorsAndRoundTrip) {
  EXPECT_EQ(serve::encode_base64(""), "");
  EXPECT_EQ(serve::encode_base64("f"), "Zg==");
  EXPECT_EQ(serve::encode_base64("fo"), "Zm8=");
  EXPECT_EQ(serve::encode_base64("foo"), "Zm9v");
  EXPECT_EQ(serve::encode_base64("foob"), "Zm9vYg==");
  EXPECT_EQ(serve::encode_base64("fooba"), "Zm9vYmE=");
  EXPECT_EQ(serve::encode_base64("foobar"), "Zm9vYmFy");
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  EXPECT_EQ(serve::decode_base64(serve::encode_base64(all), "x"), all);
}

TEST(MultipartTest, BoundaryFromContentType) {
  EXPECT_EQ(serve::multipart_boundary("application/json"), std::nullopt);
  EXPECT_EQ(serve::multipart_boundary("multipart/form-data; boundary=abc"), "abc");
  EXPECT_EQ(serve::multipart_boundary("Multipart/Form-Data;boundary=\"a b;c\"; x=y"), "a b;c");
  expect_error([] { serve::multipart_boundary("multipart/form-data"); }, {"boundary"});
  expect_error([] { serve::multipart_boundary("multipart/form-data; boundary=" + std::string(71, 'a')); },
               {"1 to 70 characters"});
}

TEST(MultipartTest, SplitsFieldsAsRfc7578Writes) {
  // As curl -F writes it: a preamble-free body, CRLF line ends, a binary part.
  const std::string image("\x89PNG\r\n--not-the-boundary\0\xff", 24);
  const std::string body = "--XyZ\r\nContent-Disposition: form-data; name=\"image\"; "
                           "filename=\"q.png\"\r\nContent-Type: image/png\r\n\r\n" +
                           image + "\r\n--XyZ\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\n"
                           "5\r\n--XyZ--\r\n";
  const auto fields = serve::parse_multipart_form(body, "XyZ");
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(fields.at("image"), image);
  EXPECT_EQ(fields.at("k"), "5");
  // A preamble before the first delimiter is skipped.
  EXPECT_EQ(serve::parse_multipart_form("junk\r\n" + body, "XyZ").at("k"), "5");
}

TEST(MultipartTest, MalformedBodiesAreErrors) {
  const std::string part = "--b\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\n5\r\n";
  expect_error([&] { serve::parse_multipart_form("no delimiter", "b"); }, {"no boundary"});
  expect_error([&] { serve::parse_multipart_form(part, "b"); }, {"'k' has no closing boundary"});
  expect_error([&] { serve::parse_multipart_form(part + part + "--b--", "b"); },
               {"field 'k' given twice"});
  expect_error([&] { serve::parse_multipart_form("--b\r\nX-A: 1\r\n\r\nv\r\n--b--", "b"); },
               {"no Content-Disposition name"});
  expect_error([&] { serve::parse_multipart_form("--b\r\nContent-Disposition: attachment; name=k\r\n\r\nv\r\n--b--", "b"); },
               {"must be form-data"});
  expect_error([&] { serve::parse_multipart_form("--b\r\nContent-Disposition: form-data; name=\"k\r\n\r\nv\r\n--b--", "b"); },
               {"unterminated"});
  expect_error([&] { serve::parse_multipart_form("--bxx", "b"); }, {"CRLF after a boundary"});
  std::string many;
  for (int i = 0; i < 65; ++i) {
    many += "--b\r\nContent-Disposition: form-data; name=\"f" + std::to_string(i) + "\"\r\n\r\nv\r\n";
  }
  expect_error([&] { serve::parse_multipart_form(many + "--b--", "b"); }, {"more than 64 parts"});
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
