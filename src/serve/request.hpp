// Parsing and validation of POST /v1/search bodies. Every problem with the request is a
// vlbench::Error with a one-line message naming the field (the server answers it with 400).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vlbench::serve {

struct RequestLimits {
  std::int64_t dim = 0;        // index dimension: length of "embedding"
  std::int64_t max_k = 1000;   // k in [1, max_k]
  std::int64_t token_dim = 0;  // re-ranking token dimension; 0: "query_tokens" is refused
};

struct SearchRequest {
  enum class Kind { embedding, text, image };
  Kind kind = Kind::embedding;
  std::vector<float> embedding;  // kind == embedding: dim values, scaled to unit length
  std::string text;              // kind == text: UTF-8
  std::string image_bytes;       // kind == image: the encoded JPEG/PNG file
  std::int64_t k = 10;
  // Re-ranking query, n_query_tokens × token_dim row-major; empty when not given.
  std::vector<float> query_tokens;
  std::int64_t n_query_tokens = 0;
};

// The default k when a request gives none.
std::int64_t default_k(const RequestLimits& limits);

// A JSON body: an object with exactly one of "embedding", "text", "image_base64", optional
// "k" and "query_tokens"; any other key is an Error.
SearchRequest parse_json_request(std::string_view body, const RequestLimits& limits);

// A multipart/form-data body already split into fields: `image` the file field's bytes
// (nullopt when absent), `k` the text field (nullopt when absent).
SearchRequest parse_form_request(const std::optional<std::string>& image,
                                 const std::optional<std::string>& k, const RequestLimits& limits);

// POST /v1/embeddings (OpenAI's embeddings API): {"model": "...", "input": "text" |
// ["text", ...] | "data:image/png;base64,..." (an image data URL, alone or in the array),
// optional "encoding_format": "float" (default) | "base64" (little-endian float32 bytes),
// "dimensions" (must equal the model's), "user" (ignored)}. Token-id inputs, an empty input,
// more than kMaxEmbeddingInputs inputs or any other field is an Error naming it.
inline constexpr std::size_t kMaxEmbeddingInputs = 2048;
struct EmbeddingsRequest {
  struct Input {
    bool image = false;
    std::string data;  // UTF-8 text, or the image file's bytes
  };
  std::string model;
  std::vector<Input> inputs;
  bool base64_output = false;
  std::optional<std::int64_t> dimensions;
};
EmbeddingsRequest parse_embeddings_request(std::string_view body);

// Standard base64 with '=' padding (the inverse of decode_base64).
std::string encode_base64(std::string_view bytes);

// Standard base64 (RFC 4648, '+' '/', '=' padding required to a multiple of 4 characters;
// '\r' and '\n' are skipped). Anything else is an Error naming `field` and the offset.
std::string decode_base64(std::string_view text, std::string_view field);

// Scales `v` to unit length in place. Non-finite values or a zero vector are an Error
// naming `field`.
void normalize_or_fail(std::vector<float>& v, std::string_view field);

}  // namespace vlbench::serve
