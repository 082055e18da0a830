#include "data/json_file.hpp"

#include "vlbench/core/error.hpp"

#include <algorithm>

namespace vlbench::data {

using nlohmann::json;

TextPosition text_position(std::string_view text, std::size_t index) {
  index = std::min(index, text.size());
  std::string_view before = text.substr(0, index);
  TextPosition position;
  position.line = 1 + static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n'));
  std::size_t last_newline = before.rfind('\n');
  position.column = last_newline == std::string_view::npos ? index + 1 : index - last_newline;
  return position;
}

std::string parse_error_reason(const json::exception& error) {
  std::string_view message = error.what();
  if (message.rfind("[json.exception.", 0) == 0) {
    std::size_t end = message.find("] ");
    if (end != std::string_view::npos) message.remove_prefix(end + 2);
  }
  if (message.rfind("parse error", 0) == 0) {
    std::size_t colon = message.find(": ");
    if (colon != std::string_view::npos) message.remove_prefix(colon + 2);
  }
  return std::string(message);
}

void fail_json_syntax(const std::filesystem::path& path, std::string_view text, std::size_t byte,
                      const std::string& reason, std::size_t first_line) {
  // nlohmann counts bytes read, so the offending byte is at index byte - 1.
  TextPosition position = text_position(text, byte == 0 ? 0 : byte - 1);
  fail("{}:{}:{}: invalid JSON: {}", path.string(), first_line + position.line - 1, position.column,
       reason);
}

void for_each_json_line(const std::filesystem::path& path, std::string_view text,
                        const std::function<void(json&, std::size_t)>& visit) {
  std::size_t line_number = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    json value;
    try {
      value = json::parse(line);
    } catch (const json::parse_error& error) {
      fail_json_syntax(path, line, error.byte, parse_error_reason(error), line_number);
    } catch (const json::exception& error) {  // e.g. a number too large to represent
      fail("{}:{}: malformed JSON: {}", path.string(), line_number, parse_error_reason(error));
    }
    visit(value, line_number);
  }
}

std::string json_type_name(const json& value) {
  switch (value.type()) {
    case json::value_t::string:
      return "a string";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return "a number";
    case json::value_t::array:
      return "a list";
    case json::value_t::object:
      return "an object";
    case json::value_t::boolean:
      return "true/false";
    case json::value_t::null:
      return "null";
    default:
      return "binary data";
  }
}

void require_object(const json& value, const std::string& where) {
  if (!value.is_object()) fail("{}: expected a JSON object, got {}", where, json_type_name(value));
}

const json& require_field(const json& object, std::string_view name, const std::string& where) {
  require_object(object, where);
  auto it = object.find(name);
  if (it == object.end()) fail("{}: field '{}' missing", where, name);
  return *it;
}

std::string require_string(const json& object, std::string_view name, const std::string& where) {
  const json& value = require_field(object, name, where);
  if (!value.is_string()) {
    fail("{}: field '{}' must be a string, got {}", where, name, json_type_name(value));
  }
  return value.get<std::string>();
}

std::int64_t require_integer(const json& object, std::string_view name, const std::string& where) {
  const json& value = require_field(object, name, where);
  if (value.is_number_unsigned() &&
      value.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
    fail("{}: field '{}' is too large", where, name);
  }
  if (!value.is_number_integer()) {
    fail("{}: field '{}' must be an integer, got {}", where, name, json_type_name(value));
  }
  return value.get<std::int64_t>();
}

const json& require_array(const json& object, std::string_view name, const std::string& where) {
  const json& value = require_field(object, name, where);
  if (!value.is_array()) {
    fail("{}: field '{}' must be a list, got {}", where, name, json_type_name(value));
  }
  return value;
}

std::string require_id(const json& object, std::string_view name, const std::string& where) {
  const json& value = require_field(object, name, where);
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_unsigned()) return std::to_string(value.get<std::uint64_t>());
  if (value.is_number_integer()) return std::to_string(value.get<std::int64_t>());
  fail("{}: field '{}' must be an integer or a string, got {}", where, name, json_type_name(value));
}

}  // namespace vlbench::data
