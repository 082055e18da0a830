// Helpers shared by the dataset readers: JSON syntax errors reported as FILE:LINE:COLUMN, and
// typed field access whose errors name the file, the entry and the field.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

namespace vlbench::data {

struct TextPosition {
  std::size_t line = 1;    // 1-based
  std::size_t column = 1;  // 1-based, in bytes
};

// Position of the byte at 0-based `index` of `text`; an index past the end is the end.
TextPosition text_position(std::string_view text, std::size_t index);

// The reason part of a nlohmann parse error, without its "[json.exception...] parse error at
// line L, column C: " prefix (which counts from the start of whatever was parsed).
std::string parse_error_reason(const nlohmann::json::exception& error);

// Throws Error "PATH:LINE:COLUMN: invalid JSON: REASON". `byte` is nlohmann's 1-based count of
// bytes read when the error happened (parse_error::byte); `text` is what was parsed and starts
// at line `first_line` of the file.
[[noreturn]] void fail_json_syntax(const std::filesystem::path& path, std::string_view text,
                                   std::size_t byte, const std::string& reason,
                                   std::size_t first_line = 1);

// JSON Lines: calls `visit(value, line_number)` for every line of `text` that is not blank, in
// order. Syntax errors throw Error naming `path` and the line.
void for_each_json_line(const std::filesystem::path& path, std::string_view text,
                        const std::function<void(nlohmann::json&, std::size_t)>& visit);

// "a string", "a number", "a list", "an object", "true/false", "null".
std::string json_type_name(const nlohmann::json& value);

// Typed access to field `name` of `object`. `where` names the entry for error messages, e.g.
// "/d/dataset_coco.json: images[12] (cocoid 391895)" or "/d/examples.jsonl:7". Errors:
// "WHERE: expected a JSON object, got a list", "WHERE: field 'NAME' missing",
// "WHERE: field 'NAME' must be a string, got a number".
void require_object(const nlohmann::json& value, const std::string& where);
const nlohmann::json& require_field(const nlohmann::json& object, std::string_view name,
                                    const std::string& where);
std::string require_string(const nlohmann::json& object, std::string_view name,
                           const std::string& where);
std::int64_t require_integer(const nlohmann::json& object, std::string_view name,
                             const std::string& where);
const nlohmann::json& require_array(const nlohmann::json& object, std::string_view name,
                                    const std::string& where);

// An identifier field that may be written as an integer or as a string ("391895" either way);
// Error if it is neither.
std::string require_id(const nlohmann::json& object, std::string_view name,
                       const std::string& where);

}  // namespace vlbench::data
