#include "text/json_file.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace vlbench::text {

namespace fs = std::filesystem;
using nlohmann::json;

std::string read_text_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open for reading", path.string());
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) fail("{}: read error", path.string());
  return std::move(buffer).str();
}

json parse_json_text(const std::string& text, const fs::path& path) {
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    // e.byte: 1-based offset of the byte where parsing failed.
    const auto end = std::min<std::size_t>(e.byte == 0 ? 0 : e.byte - 1, text.size());
    const auto line = 1 + std::count(text.begin(), text.begin() + static_cast<long>(end), '\n');
    fail("{}:{}: malformed JSON ({})", path.string(), line, e.what());
  } catch (const json::exception& e) {  // e.g. a number too large for any JSON number type
    fail("{}: malformed JSON ({})", path.string(), e.what());
  }
}

std::string json_excerpt(const json& value) {
  std::string s = value.dump(-1, ' ', false, json::error_handler_t::replace);
  constexpr std::size_t kMax = 80;
  if (s.size() > kMax) s = s.substr(0, kMax) + "...";
  return s;
}

std::string JsonNode::where() const {
  return path_.empty() ? *file_ : *file_ + ": " + path_;
}

bool JsonNode::has(std::string_view key) const {
  if (!value_->is_object()) return false;
  const auto it = value_->find(key);
  return it != value_->end() && !it->is_null();
}

JsonNode JsonNode::at(std::string_view key) const {
  expect_object();
  const auto it = value_->find(key);
  if (it == value_->end()) fail("missing \"{}\"", key);
  return JsonNode(*it, *file_, path_.empty() ? std::string(key) : path_ + "." + std::string(key));
}

std::optional<JsonNode> JsonNode::find(std::string_view key) const {
  expect_object();
  const auto it = value_->find(key);
  if (it == value_->end() || it->is_null()) return std::nullopt;
  return JsonNode(*it, *file_, path_.empty() ? std::string(key) : path_ + "." + std::string(key));
}

std::size_t JsonNode::size() const {
  expect_array();
  return value_->size();
}

JsonNode JsonNode::operator[](std::size_t i) const {
  expect_array();
  VLB_ASSERT(i < value_->size());
  return JsonNode((*value_)[i], *file_, fmt::format("{}[{}]", path_, i));
}

void JsonNode::expect_object() const {
  if (!value_->is_object()) fail("expected a JSON object, got {}", json_excerpt(*value_));
}

void JsonNode::expect_array() const {
  if (!value_->is_array()) fail("expected a JSON array, got {}", json_excerpt(*value_));
}

std::string JsonNode::as_string() const {
  if (!value_->is_string()) fail("expected a string, got {}", json_excerpt(*value_));
  return value_->get<std::string>();
}

bool JsonNode::as_bool() const {
  if (!value_->is_boolean()) fail("expected true or false, got {}", json_excerpt(*value_));
  return value_->get<bool>();
}

std::int64_t JsonNode::as_int() const {
  if (!value_->is_number_integer()) fail("expected an integer, got {}", json_excerpt(*value_));
  return value_->get<std::int64_t>();
}

double JsonNode::as_number() const {
  if (!value_->is_number()) fail("expected a number, got {}", json_excerpt(*value_));
  return value_->get<double>();
}

bool JsonNode::get_bool(std::string_view key, bool fallback) const {
  const auto node = find(key);
  return node ? node->as_bool() : fallback;
}

std::optional<std::string> JsonNode::get_string(std::string_view key) const {
  const auto node = find(key);
  if (!node) return std::nullopt;
  return node->as_string();
}

}  // namespace vlbench::text
