// save_index / load_index: a folder with index.json plus the index type's payload files.
//
// index.json: {"format": "vlbench.index", "version": 1, "type", "dim", "size", "params":
// {name: value}, "gallery_sha256", "payload": {file name: byte size}}. The byte sizes catch a
// truncated or replaced payload file before its reader sees it.
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <system_error>

#include "index/index_impl.hpp"
#include "vlbench/core/atomic_file.hpp"
#include "vlbench/core/error.hpp"
#include "vlbench/core/hash.hpp"
#include "vlbench/index/vector_index.hpp"

namespace vlbench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kFormat = "vlbench.index";
// 2: payload entries carry their SHA-256 ({"bytes", "sha256"}); 1: byte sizes only.
constexpr std::int64_t kVersion = 2;

const json& field(const json& doc, const fs::path& path, const char* name) {
  const auto it = doc.find(name);
  if (it == doc.end()) fail("{}: missing field '{}'", path.string(), name);
  return *it;
}

std::int64_t int_field(const json& doc, const fs::path& path, const char* name,
                       std::int64_t min_value) {
  const json& value = field(doc, path, name);
  if (!value.is_number_integer() || value.get<std::int64_t>() < min_value) {
    fail("{}: field '{}': expected an integer >= {}, got {}", path.string(), name, min_value,
         value.dump());
  }
  return value.get<std::int64_t>();
}

std::string string_field(const json& doc, const fs::path& path, const char* name) {
  const json& value = field(doc, path, name);
  if (!value.is_string()) {
    fail("{}: field '{}': expected a string, got {}", path.string(), name, value.dump());
  }
  return value.get<std::string>();
}

}  // namespace

namespace {

bool holds_index(const fs::path& dir) {
  return fs::exists(dir / "index.json");
}

}  // namespace

void save_index(const VectorIndex& index, const fs::path& dir, const std::string& gallery_sha256) {
  AtomicDirectory folder(dir, "a saved index", holds_index);
  const fs::path& temp = folder.temp_path();
  try {
    index.save_payload(temp);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {  // faiss write errors
    fail("{}: writing the index payload failed: {}", dir.string(), e.what());
  }

  json payload = json::object();
  for (const auto& entry : fs::directory_iterator(temp)) {
    payload[entry.path().filename().string()] = {
        {"bytes", static_cast<std::int64_t>(entry.file_size())},
        {"sha256", sha256_file(entry.path())}};
  }
  json params = json::object();
  for (const auto& [name, value] : index.params()) params[name] = value;
  const json doc = {{"format", kFormat},
                    {"version", kVersion},
                    {"type", index.type()},
                    {"dim", index.dim()},
                    {"size", index.size()},
                    {"params", params},
                    {"gallery_sha256", gallery_sha256},
                    {"payload", payload}};
  write_file_atomic(temp / "index.json", doc.dump(2) + "\n");

  folder.commit();
}

LoadedIndex load_index(const fs::path& dir, bool verify) {
  const fs::path path = dir / "index.json";
  if (!fs::is_regular_file(path))
    fail("{}: file not found (expected a saved index)", path.string());
  json doc;
  try {
    doc = json::parse(read_file(path));
  } catch (const json::exception& e) {
    fail("{}: expected JSON: {}", path.string(), e.what());
  }
  if (!doc.is_object()) fail("{}: expected a JSON object", path.string());
  const std::string format = string_field(doc, path, "format");
  if (format != kFormat) {
    fail("{}: field 'format': expected '{}', got '{}'", path.string(), kFormat, format);
  }
  const std::int64_t version = int_field(doc, path, "version", 1);
  if (version > kVersion) {
    fail("{}: field 'version': expected {} or older, got {} (written by a newer vlbench)",
         path.string(), kVersion, version);
  }
  const std::string type = string_field(doc, path, "type");
  const std::vector<std::string> types = index_types();
  if (std::find(types.begin(), types.end(), type) == types.end()) {
    fail("{}: field 'type': expected one of {}, got '{}'", path.string(), fmt::join(types, ", "),
         type);
  }
  const std::int64_t dim = int_field(doc, path, "dim", 1);
  const std::int64_t size = int_field(doc, path, "size", 0);
  const json& params_json = field(doc, path, "params");
  if (!params_json.is_object()) {
    fail("{}: field 'params': expected an object, got {}", path.string(), params_json.dump());
  }
  IndexParams params;
  for (const auto& [name, value] : params_json.items()) {
    if (!value.is_string()) {
      fail("{}: field 'params.{}': expected a string, got {}", path.string(), name, value.dump());
    }
    params[name] = value.get<std::string>();
  }
  LoadedIndex loaded;
  loaded.gallery_sha256 = string_field(doc, path, "gallery_sha256");
  const json& payload = field(doc, path, "payload");
  if (!payload.is_object()) {
    fail("{}: field 'payload': expected an object, got {}", path.string(), payload.dump());
  }
  for (const auto& [name, entry] : payload.items()) {
    // Format 1: {name: bytes}; format 2: {name: {"bytes": n, "sha256": hex}}.
    const bool hashed = version >= 2;
    const json* bytes =
        hashed ? (entry.is_object() && entry.contains("bytes") ? &entry["bytes"] : nullptr)
               : &entry;
    const bool named =
        !name.empty() && name.find('/') == std::string::npos && name != "." && name != "..";
    if (!named || bytes == nullptr || !bytes->is_number_integer() ||
        (hashed && !(entry.contains("sha256") && entry["sha256"].is_string()))) {
      fail("{}: field 'payload.{}': expected a file name and its {}", path.string(), name,
           hashed ? "{\"bytes\": size, \"sha256\": hex}" : "byte size");
    }
    const fs::path file = dir / name;
    std::error_code ec;
    const auto actual = fs::file_size(file, ec);
    if (ec) fail("{}: cannot read: {}", file.string(), ec.message());
    if (static_cast<std::int64_t>(actual) != bytes->get<std::int64_t>()) {
      fail("{}: expected {} bytes (from index.json), got {} (truncated or replaced)", file.string(),
           bytes->get<std::int64_t>(), actual);
    }
    if (!verify) continue;
    if (!hashed) {
      fail(
          "{}: index format 1 carries no content hashes, so {} cannot be verified: rebuild the "
          "index, or pass --no-verify to trust it",
          path.string(), file.string());
    }
    const std::string expected = entry["sha256"].get<std::string>();
    const std::string got = sha256_file(file);
    if (got != expected) {
      fail(
          "{}: SHA-256 {} does not match index.json's {}: the file is damaged or replaced, and is "
          "not read (faiss trusts its input)",
          file.string(), got, expected);
    }
  }
  try {
    loaded.index = is_flat_type(type) ? load_flat_payload(dir, type, dim, size, params)
                                      : load_faiss_payload(dir, type, dim, size, params);
  } catch (const Error& e) {
    // Parameter errors come from index.json's params.
    const std::string message = e.what();
    if (message.rfind("index parameter", 0) == 0) fail("{}: {}", path.string(), message);
    throw;
  }
  VLB_ASSERT(loaded.index->size() == size && loaded.index->dim() == dim);
  return loaded;
}

}  // namespace vlbench
