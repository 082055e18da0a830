// Reading the JSON files of a checkpoint, with errors that name the file, and the JSON path of
// a value inside it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "vlbench/core/error.hpp"

namespace vlbench::text {

// The bytes of a file; Error "<path>: cannot open for reading" / "<path>: read error".
std::string read_text_file(const std::filesystem::path& path);

// Parses `text` read from `path`; Error "<path>:<line>: malformed JSON (...)".
nlohmann::json parse_json_text(const std::string& text, const std::filesystem::path& path);

// A value inside a parsed JSON document together with where it is ("<file>: model.merges[3]"),
// so every error names the file and the JSON path and says what was expected. Cheap to copy;
// refers to the document and to `file`, which must outlive it.
class JsonNode {
 public:
  JsonNode(const nlohmann::json& value, const std::string& file, std::string path = {})
      : value_(&value), file_(&file), path_(std::move(path)) {}

  const nlohmann::json& value() const { return *value_; }
  const std::string& path() const { return path_; }
  const std::string& file() const { return *file_; }
  // "<file>: <path>" (or "<file>" at the root).
  std::string where() const;

  bool is_null() const { return value_->is_null(); }
  // Present and not null.
  bool has(std::string_view key) const;
  // A required member (Error when absent; null is returned as a null node).
  JsonNode at(std::string_view key) const;
  // A member that may be absent or null.
  std::optional<JsonNode> find(std::string_view key) const;
  // Array access; the node must be an array.
  std::size_t size() const;
  JsonNode operator[](std::size_t i) const;

  void expect_object() const;
  void expect_array() const;
  std::string as_string() const;
  bool as_bool() const;
  std::int64_t as_int() const;
  double as_number() const;
  // Optional members with a default for absent or null.
  bool get_bool(std::string_view key, bool fallback) const;
  std::optional<std::string> get_string(std::string_view key) const;

  // Throws Error "<file>: <path>: <message>".
  template <typename... Args>
  [[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) const {
    vlbench::fail("{}: {}", where(), fmt::format(format, std::forward<Args>(args)...));
  }

 private:
  const nlohmann::json* value_;
  const std::string* file_;
  std::string path_;
};

// A short rendering of a JSON value for error messages (long values are cut).
std::string json_excerpt(const nlohmann::json& value);

}  // namespace vlbench::text
