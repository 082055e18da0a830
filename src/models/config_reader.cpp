#include "models/config_reader.hpp"

#include <fstream>
#include <limits>
#include <sstream>

#include "vlbench/core/error.hpp"

namespace vlbench {

ConfigReader::Json ConfigReader::read_object(const std::filesystem::path& path, const char* what) {
  std::ifstream stream(path, std::ios::binary);
  if (!stream) fail("{}: cannot open {}", path.string(), what);
  std::stringstream contents;
  contents << stream.rdbuf();
  Json root;
  try {
    root = Json::parse(contents.str());
  } catch (const Json::exception& e) {  // syntax, or a number too large to represent
    fail("{}: not valid JSON ({})", path.string(), e.what());
  }
  if (!root.is_object()) fail("{}: expected a JSON object at the top level", path.string());
  return root;
}

ConfigReader::Json ConfigReader::object(const Json& parent, const std::string& key) const {
  if (!parent.contains(key) || parent.at(key).is_null()) return Json::object();
  const Json& value = parent.at(key);
  if (!value.is_object()) {
    fail("{}: field '{}': expected an object, got {}", file, key, value.dump());
  }
  return value;
}

int ConfigReader::positive_int(const Json& parent, const std::string& key, const std::string& where,
                               int fallback, int max) const {
  if (!parent.contains(key) || parent.at(key).is_null()) return fallback;
  const Json& value = parent.at(key);
  if (!value.is_number_integer() || value.get<std::int64_t>() <= 0 ||
      value.get<std::int64_t>() > std::numeric_limits<int>::max()) {
    fail("{}: field '{}': expected a positive integer, got {}", file, where, value.dump());
  }
  if (value.get<std::int64_t>() > max) {
    fail("{}: field '{}': {} is implausibly large (at most {})", file, where, value.dump(), max);
  }
  return value.get<int>();
}

int ConfigReader::token_id(const Json& parent, const std::string& key, const std::string& where,
                           int fallback) const {
  if (!parent.contains(key) || parent.at(key).is_null()) return fallback;
  const Json& value = parent.at(key);
  if (!value.is_number_integer() || value.get<std::int64_t>() < 0 ||
      value.get<std::int64_t>() > std::numeric_limits<int>::max()) {
    fail("{}: field '{}': expected a token id (integer >= 0), got {}", file, where, value.dump());
  }
  return value.get<int>();
}

std::string ConfigReader::string(const Json& parent, const std::string& key,
                                 const std::string& where, const std::string& fallback) const {
  if (!parent.contains(key) || parent.at(key).is_null()) return fallback;
  const Json& value = parent.at(key);
  if (!value.is_string()) {
    fail("{}: field '{}': expected a string, got {}", file, where, value.dump());
  }
  return value.get<std::string>();
}

double ConfigReader::positive_number(const Json& parent, const std::string& key,
                                     const std::string& where, double fallback) const {
  if (!parent.contains(key) || parent.at(key).is_null()) return fallback;
  const Json& value = parent.at(key);
  if (!value.is_number() || !(value.get<double>() > 0.0)) {
    fail("{}: field '{}': expected a positive number, got {}", file, where, value.dump());
  }
  return value.get<double>();
}

bool ConfigReader::boolean(const Json& parent, const std::string& key, const std::string& where,
                           bool fallback) const {
  if (!parent.contains(key) || parent.at(key).is_null()) return fallback;
  const Json& value = parent.at(key);
  if (!value.is_boolean()) {
    fail("{}: field '{}': expected true or false, got {}", file, where, value.dump());
  }
  return value.get<bool>();
}

std::string ConfigReader::activation(const Json& parent, const std::string& key,
                                     const std::string& where, const std::string& fallback) const {
  const std::string act = string(parent, key, where, fallback);
  if (act != "quick_gelu" && act != "gelu" && act != "gelu_pytorch_tanh") {
    fail(
        "{}: field '{}': unsupported activation '{}' (supported: quick_gelu, gelu, "
        "gelu_pytorch_tanh)",
        file, where, act);
  }
  return act;
}

}  // namespace vlbench
