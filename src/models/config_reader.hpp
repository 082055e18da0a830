// Reading a checkpoint's config.json: typed fields with transformers' defaults for the keys a
// file leaves out, and errors that name the file and the dotted field. Internal to models.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace vlbench {

struct ConfigReader {
  using Json = nlohmann::json;
  std::string file;  // the path, for messages

  // The JSON object in `path` (an Error naming the file when missing, invalid or not an object).
  static Json read_object(const std::filesystem::path& path, const char* what);

  // The object at `key` of `parent` (an empty one when absent).
  Json object(const Json& parent, const std::string& key) const;
  // A positive integer, or `fallback` when absent. `where` is the field's dotted name.
  int positive_int(const Json& parent, const std::string& key, const std::string& where,
                   int fallback) const;
  // A non-negative integer (token ids), or `fallback` when absent.
  int token_id(const Json& parent, const std::string& key, const std::string& where,
               int fallback) const;
  std::string string(const Json& parent, const std::string& key, const std::string& where,
                     const std::string& fallback) const;
  double positive_number(const Json& parent, const std::string& key, const std::string& where,
                         double fallback) const;
  bool boolean(const Json& parent, const std::string& key, const std::string& where,
               bool fallback) const;
  // hidden_act: one of quick_gelu, gelu, gelu_pytorch_tanh (an Error otherwise).
  std::string activation(const Json& parent, const std::string& key, const std::string& where,
                         const std::string& fallback) const;
};

}  // namespace vlbench
