// .safetensors: an 8-byte little-endian header length N, N bytes of JSON mapping each tensor
// name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the data
// section that follows the header), an optional "__metadata__" string map, then the data.
#include <vlbench/core/safetensors.hpp>

#include <vlbench/core/error.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>

namespace vlbench {

namespace {

using nlohmann::json;

constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;  // the reference implementation's cap

std::optional<DType> dtype_from_name(std::string_view name) {
  if (name == "F64") return DType::f64;
  if (name == "F32") return DType::f32;
  if (name == "F16") return DType::f16;
  if (name == "BF16") return DType::bf16;
  if (name == "I64") return DType::i64;
  if (name == "I32") return DType::i32;
  if (name == "I16") return DType::i16;
  if (name == "I8") return DType::i8;
  if (name == "U8") return DType::u8;
  if (name == "BOOL") return DType::boolean;
  return std::nullopt;
}

// A JSON number that is a whole number >= 0 and fits in int64 (shape dims and offsets).
std::optional<std::int64_t> non_negative_int(const json& value) {
  if (value.is_number_unsigned()) {
    const auto v = value.get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return std::nullopt;
    }
    return static_cast<std::int64_t>(v);
  }
  if (value.is_number_integer() && value.get<std::int64_t>() >= 0) {
    return value.get<std::int64_t>();
  }
  return std::nullopt;
}

// One validated header entry; begin/end are relative to the data section.
struct Entry {
  TensorInfo info;
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
};

Entry parse_entry(const std::string& file, const std::string& name, const json& value,
                  std::uint64_t data_len) {
  Entry entry;
  entry.info.name = name;
  if (!value.is_object()) fail("{}: tensor '{}': header entry is not a JSON object", file, name);

  const auto dtype_it = value.find("dtype");
  if (dtype_it == value.end() || !dtype_it->is_string()) {
    fail("{}: tensor '{}': missing string field \"dtype\"", file, name);
  }
  const auto dtype = dtype_from_name(dtype_it->get<std::string>());
  if (!dtype) {
    fail(
        "{}: tensor '{}': unknown dtype \"{}\" (expected F64, F32, F16, BF16, I64, I32, I16, "
        "I8, U8 or BOOL)",
        file, name, dtype_it->get<std::string>());
  }
  entry.info.dtype = *dtype;

  const auto shape_it = value.find("shape");
  if (shape_it == value.end() || !shape_it->is_array()) {
    fail("{}: tensor '{}': missing array field \"shape\"", file, name);
  }
  for (const json& dim : *shape_it) {
    const auto d = non_negative_int(dim);
    if (!d) {
      fail("{}: tensor '{}': shape {} must hold non-negative integers", file, name,
           shape_it->dump());
    }
    entry.info.shape.push_back(*d);
  }

  const auto offsets_it = value.find("data_offsets");
  std::optional<std::int64_t> begin, end;
  if (offsets_it != value.end() && offsets_it->is_array() && offsets_it->size() == 2) {
    begin = non_negative_int((*offsets_it)[0]);
    end = non_negative_int((*offsets_it)[1]);
  }
  if (!begin || !end) {
    fail("{}: tensor '{}': \"data_offsets\" must be [begin, end] with non-negative integers", file,
         name);
  }
  entry.begin = static_cast<std::uint64_t>(*begin);
  entry.end = static_cast<std::uint64_t>(*end);
  if (entry.begin > entry.end) {
    fail("{}: tensor '{}': data_offsets [{}, {}] end before they begin", file, name, entry.begin,
         entry.end);
  }
  if (entry.end > data_len) {
    fail(
        "{}: tensor '{}': data_offsets [{}, {}] run past the end of the data section "
        "({} bytes)",
        file, name, entry.begin, entry.end, data_len);
  }

  // numel × element size, overflow-checked: huge dims must not wrap around to a small size.
  std::uint64_t nbytes = dtype_size(*dtype);
  for (const std::int64_t dim : entry.info.shape) {
    if (__builtin_mul_overflow(nbytes, static_cast<std::uint64_t>(dim), &nbytes)) {
      fail("{}: tensor '{}': shape {} of {} overflows a 64-bit byte count", file, name,
           shape_it->dump(), dtype_name(*dtype));
    }
  }
  if (nbytes != entry.end - entry.begin) {
    fail("{}: tensor '{}': shape {} of {} needs {} bytes, data_offsets [{}, {}] hold {}", file,
         name, shape_it->dump(), dtype_name(*dtype), nbytes, entry.begin, entry.end,
         entry.end - entry.begin);
  }
  entry.info.nbytes = static_cast<std::size_t>(nbytes);
  return entry;
}

}  // namespace

SafetensorsFile::SafetensorsFile(const std::filesystem::path& path) : file_(path) {
  const std::string name = path.string();
  const std::uint64_t size = file_.size();
  if (size < 8) fail("{}: too small for a safetensors file ({} bytes)", name, size);

  std::uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) {
    header_len = (header_len << 8) | std::to_integer<std::uint64_t>(file_.data()[i]);
  }
  if (header_len > size - 8) {
    fail("{}: header length {} points past the end of the file ({} bytes)", name, header_len, size);
  }
  if (header_len > kMaxHeaderBytes) {
    fail("{}: header length {} exceeds the {}-byte limit", name, header_len, kMaxHeaderBytes);
  }
  const std::uint64_t data_start = 8 + header_len;
  const std::uint64_t data_len = size - data_start;

  const auto* header_begin = reinterpret_cast<const char*>(file_.data() + 8);
  json header;
  try {
    header = json::parse(header_begin, header_begin + header_len);
  } catch (const json::parse_error& e) {
    fail("{}: header is not valid JSON (error at byte {} of the header)", name, e.byte);
  } catch (const json::exception& e) {  // e.g. a number too large for any JSON number type
    fail("{}: header is not valid JSON ({})", name, e.what());
  }
  if (!header.is_object()) fail("{}: header is not a JSON object", name);

  std::vector<Entry> entries;
  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) fail("{}: \"__metadata__\" is not a JSON object", name);
      for (const auto& [meta_key, meta_value] : value.items()) {
        if (!meta_value.is_string()) {
          fail("{}: \"__metadata__\" entry '{}' is not a string", name, meta_key);
        }
        metadata_.emplace(meta_key, meta_value.get<std::string>());
      }
      continue;
    }
    entries.push_back(parse_entry(name, key, value, data_len));
  }

  // The format requires the tensors to tile the data section exactly: sorted by offset, the
  // first begins at 0, each begins where the previous ends, the last ends at the file's end.
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::uint64_t expected = 0;
  const Entry* previous = nullptr;
  for (const Entry& entry : entries) {
    if (entry.begin < expected) {
      fail("{}: tensor '{}' (bytes [{}, {})) overlaps tensor '{}' (bytes [{}, {}))", name,
           entry.info.name, entry.begin, entry.end, previous->info.name, previous->begin,
           previous->end);
    }
    if (entry.begin > expected) {
      if (previous == nullptr) {
        fail(
            "{}: tensor '{}' begins at byte {} of the data section, expected 0 (unused bytes "
            "before it)",
            name, entry.info.name, entry.begin);
      }
      fail("{}: {} unused bytes between tensor '{}' (ends at {}) and tensor '{}' (begins at {})",
           name, entry.begin - expected, previous->info.name, expected, entry.info.name,
           entry.begin);
    }
    expected = entry.end;
    previous = &entry;
  }
  if (expected != data_len) {
    if (previous == nullptr) {
      fail("{}: the header lists no tensors but the data section holds {} bytes", name, data_len);
    }
    fail(
        "{}: tensor '{}' ends at byte {} but the data section holds {} bytes (unused bytes at "
        "the end)",
        name, previous->info.name, expected, data_len);
  }

  tensors_.reserve(entries.size());
  for (Entry& entry : entries) {
    entry.info.offset = static_cast<std::size_t>(data_start + entry.begin);
    tensors_.push_back(std::move(entry.info));
  }
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
  for (const TensorInfo& tensor : tensors_) {
    if (tensor.name == name) return &tensor;
  }
  return nullptr;
}

const TensorInfo& SafetensorsFile::at(const std::string& name) const {
  const TensorInfo* tensor = find(name);
  if (tensor == nullptr) fail("{}: no tensor named {}", path().string(), name);
  return *tensor;
}

}  // namespace vlbench
