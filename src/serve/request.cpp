#include "serve/request.hpp"

#include <vlbench/core/error.hpp>

#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>

namespace vlbench::serve {

namespace {

using nlohmann::json;

std::int64_t parse_k_json(const json& value, const RequestLimits& limits) {
  if (value.is_number_unsigned()) {
    const auto k = value.get<std::uint64_t>();
    if (k >= 1 && k <= static_cast<std::uint64_t>(limits.max_k)) {
      return static_cast<std::int64_t>(k);
    }
    fail("k: expected an integer in [1, {}], got {}", limits.max_k, k);
  }
  if (value.is_number_integer()) {
    fail("k: expected an integer in [1, {}], got {}", limits.max_k, value.get<std::int64_t>());
  }
  fail("k: expected an integer in [1, {}], got {}", limits.max_k, value.type_name());
}

std::vector<float> parse_vector(const json& value, std::int64_t expected, std::string_view field) {
  if (!value.is_array())
    fail("{}: expected an array of {} numbers, got {}", field, expected, value.type_name());
  if (static_cast<std::int64_t>(value.size()) != expected) {
    fail("{}: expected {} numbers (the index dimension), got {}", field, expected, value.size());
  }
  std::vector<float> out(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (!value[i].is_number()) {
      fail("{}[{}]: expected a number, got {}", field, i, value[i].type_name());
    }
    out[i] = static_cast<float>(value[i].get<double>());
    if (!std::isfinite(out[i])) fail("{}[{}]: not a finite float32", field, i);
  }
  return out;
}

void parse_query_tokens(const json& value, const RequestLimits& limits, SearchRequest* request) {
  if (limits.token_dim == 0) {
    fail("query_tokens: this server has no re-ranking data (start it with --rerank-image-tokens)");
  }
  if (!value.is_array() || value.empty()) {
    fail("query_tokens: expected a non-empty array of token vectors of {} numbers",
         limits.token_dim);
  }
  request->n_query_tokens = static_cast<std::int64_t>(value.size());
  request->query_tokens.reserve(value.size() * static_cast<std::size_t>(limits.token_dim));
  for (std::size_t t = 0; t < value.size(); ++t) {
    if (!value[t].is_array() || static_cast<std::int64_t>(value[t].size()) != limits.token_dim) {
      fail("query_tokens[{}]: expected an array of {} numbers (the token dimension)", t,
           limits.token_dim);
    }
    for (std::size_t j = 0; j < value[t].size(); ++j) {
      const json& x = value[t][j];
      if (!x.is_number())
        fail("query_tokens[{}][{}]: expected a number, got {}", t, j, x.type_name());
      const auto f = static_cast<float>(x.get<double>());
      if (!std::isfinite(f)) fail("query_tokens[{}][{}]: not a finite float32", t, j);
      request->query_tokens.push_back(f);
    }
  }
}

}  // namespace

std::int64_t default_k(const RequestLimits& limits) {
  return std::min<std::int64_t>(10, limits.max_k);
}

SearchRequest parse_json_request(std::string_view body, const RequestLimits& limits) {
  json doc;
  try {
    doc = json::parse(body.begin(), body.end());
  } catch (const json::exception& e) {
    fail("request body: malformed JSON ({})", e.what());
  }
  if (!doc.is_object()) fail("request body: expected a JSON object, got {}", doc.type_name());
  SearchRequest request;
  request.k = default_k(limits);
  int n_queries = 0;
  for (const auto& [key, value] : doc.items()) {
    if (key == "k") {
      request.k = parse_k_json(value, limits);
    } else if (key == "embedding") {
      ++n_queries;
      request.kind = SearchRequest::Kind::embedding;
      request.embedding = parse_vector(value, limits.dim, "embedding");
      normalize_or_fail(request.embedding, "embedding");
    } else if (key == "text") {
      ++n_queries;
      if (!value.is_string()) fail("text: expected a string, got {}", value.type_name());
      request.kind = SearchRequest::Kind::text;
      request.text = value.get<std::string>();
    } else if (key == "image_base64") {
      ++n_queries;
      if (!value.is_string()) fail("image_base64: expected a string, got {}", value.type_name());
      request.kind = SearchRequest::Kind::image;
      request.image_bytes = decode_base64(value.get_ref<const std::string&>(), "image_base64");
    } else if (key == "query_tokens") {
      parse_query_tokens(value, limits, &request);
    } else {
      fail(
          "request body: unknown field '{}' (expected embedding, text, image_base64, k, "
          "query_tokens)",
          key);
    }
  }
  if (n_queries != 1) {
    fail("request body: expected exactly one of 'embedding', 'text', 'image_base64', got {}",
         n_queries);
  }
  return request;
}

SearchRequest parse_form_request(const std::optional<std::string>& image,
                                 const std::optional<std::string>& k, const RequestLimits& limits) {
  if (!image) fail("multipart form: expected a file field 'image'");
  SearchRequest request;
  request.kind = SearchRequest::Kind::image;
  request.image_bytes = *image;
  request.k = default_k(limits);
  if (k) {
    std::int64_t value = 0;
    const char* end = k->data() + k->size();
    const auto [ptr, ec] = std::from_chars(k->data(), end, value);
    if (ec != std::errc() || ptr != end || value < 1 || value > limits.max_k) {
      fail("k: expected an integer in [1, {}], got '{}'", limits.max_k, *k);
    }
    request.k = value;
  }
  return request;
}

namespace {

EmbeddingsRequest::Input parse_embedding_input(const json& value, const std::string& field) {
  if (!value.is_string()) {
    if (value.is_number_integer() || value.is_array()) {
      fail("{}: token-id inputs are not supported (send the text)", field);
    }
    fail("{}: expected a string, got {}", field, value.type_name());
  }
  const std::string& text = value.get_ref<const std::string&>();
  if (text.empty()) fail("{}: empty", field);
  EmbeddingsRequest::Input input;
  constexpr std::string_view kDataUrl = "data:image/";
  if (text.compare(0, kDataUrl.size(), kDataUrl) == 0) {
    const std::size_t comma = text.find(',');
    const std::string_view meta = std::string_view(text).substr(0, comma);
    if (comma == std::string::npos || meta.size() < 7 ||
        meta.substr(meta.size() - 7) != ";base64") {
      fail("{}: an image data URL must be data:image/<type>;base64,<data>", field);
    }
    input.image = true;
    input.data = decode_base64(std::string_view(text).substr(comma + 1), field);
  } else {
    input.data = text;
  }
  return input;
}

}  // namespace

EmbeddingsRequest parse_embeddings_request(std::string_view body) {
  json doc;
  try {
    doc = json::parse(body.begin(), body.end());
  } catch (const json::exception& e) {
    fail("request body: malformed JSON ({})", e.what());
  }
  if (!doc.is_object()) fail("request body: expected a JSON object, got {}", doc.type_name());
  EmbeddingsRequest request;
  bool has_model = false;
  bool has_input = false;
  for (const auto& [key, value] : doc.items()) {
    if (key == "model") {
      if (!value.is_string()) fail("model: expected a string, got {}", value.type_name());
      request.model = value.get<std::string>();
      has_model = true;
    } else if (key == "input") {
      has_input = true;
      if (value.is_array()) {
        if (value.empty()) fail("input: empty array");
        if (value.size() > kMaxEmbeddingInputs) {
          fail("input: {} items, at most {} per request", value.size(), kMaxEmbeddingInputs);
        }
        for (std::size_t i = 0; i < value.size(); ++i) {
          request.inputs.push_back(parse_embedding_input(value[i], fmt::format("input[{}]", i)));
        }
      } else {
        request.inputs.push_back(parse_embedding_input(value, "input"));
      }
    } else if (key == "encoding_format") {
      if (value == "float") {
        request.base64_output = false;
      } else if (value == "base64") {
        request.base64_output = true;
      } else {
        fail("encoding_format: expected \"float\" or \"base64\", got {}", value.dump());
      }
    } else if (key == "dimensions") {
      if (!value.is_number_integer()) {
        fail("dimensions: expected an integer, got {}", value.type_name());
      }
      request.dimensions = value.get<std::int64_t>();
    } else if (key == "user") {
      if (!value.is_string()) fail("user: expected a string, got {}", value.type_name());
    } else {
      fail(
          "request body: unknown field '{}' (expected model, input, encoding_format, "
          "dimensions, user)",
          key);
    }
  }
  if (!has_model) fail("request body: missing field 'model'");
  if (!has_input) fail("request body: missing field 'input'");
  return request;
}

std::string encode_base64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t g = (static_cast<std::uint8_t>(bytes[i]) << 16) |
                            (static_cast<std::uint8_t>(bytes[i + 1]) << 8) |
                            static_cast<std::uint8_t>(bytes[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(kAlphabet[(g >> s) & 63]);
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t g = static_cast<std::uint8_t>(bytes[i]) << 16;
    if (rest == 2) g |= static_cast<std::uint8_t>(bytes[i + 1]) << 8;
    out.push_back(kAlphabet[(g >> 18) & 63]);
    out.push_back(kAlphabet[(g >> 12) & 63]);
    out.push_back(rest == 2 ? kAlphabet[(g >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::string decode_base64(std::string_view text, std::string_view field) {
  std::array<int, 256> value{};
  value.fill(-1);
  const std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (std::size_t i = 0; i < alphabet.size(); ++i) {
    value[static_cast<unsigned char>(alphabet[i])] = static_cast<int>(i);
  }
  std::string out;
  out.reserve(text.size() / 4 * 3);
  std::uint32_t group = 0;  // up to 4 sextets
  int in_group = 0;
  int padding = 0;
  std::size_t symbols = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\r' || c == '\n') continue;
    ++symbols;
    if (c == '=') {
      // '=' only closes the last group: "xx==" or "xxx=".
      if (in_group < 2) fail("{}: misplaced '=' at offset {}", field, i);
      ++padding;
      ++in_group;
      group <<= 6;
    } else {
      if (padding > 0) fail("{}: data after '=' padding at offset {}", field, i);
      if (value[c] < 0) fail("{}: invalid base64 character at offset {}", field, i);
      group = (group << 6) | static_cast<std::uint32_t>(value[c]);
      ++in_group;
    }
    if (in_group == 4) {
      const int bytes = 3 - padding;
      for (int b = 0; b < bytes; ++b) {
        out.push_back(static_cast<char>((group >> (16 - 8 * b)) & 0xff));
      }
      group = 0;
      in_group = 0;
      if (padding > 0) {
        // Nothing but line breaks may follow the padded final group.
        for (std::size_t j = i + 1; j < text.size(); ++j) {
          if (text[j] != '\r' && text[j] != '\n') {
            fail("{}: data after '=' padding at offset {}", field, j);
          }
        }
        break;
      }
    }
  }
  if (in_group != 0) {
    fail("{}: {} base64 characters is not a multiple of 4 (padding with '=' is required)", field,
         symbols);
  }
  if (out.empty()) fail("{}: empty", field);
  return out;
}

void normalize_or_fail(std::vector<float>& v, std::string_view field) {
  double sum = 0;
  for (const float x : v) {
    if (!std::isfinite(x)) fail("{}: contains a non-finite value", field);
    sum += static_cast<double>(x) * x;
  }
  if (sum == 0) fail("{}: all zeros (cannot be scaled to unit length)", field);
  const double scale = 1.0 / std::sqrt(sum);
  for (float& x : v) x = static_cast<float>(x * scale);
}

}  // namespace vlbench::serve
