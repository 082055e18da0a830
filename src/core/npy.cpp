// .npy reading and writing. Format reference: numpy/lib/format.py.
//
// File layout: "\x93NUMPY", major, minor, header length (u16 for 1.0, u32 for 2.0/3.0,
// little endian), then the header, a Python dict literal such as
// "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" padded with spaces and ending
// in '\n', then the raw array data.
#include <vlbench/core/npy.hpp>

#include <vlbench/core/atomic_file.hpp>
#include <vlbench/core/error.hpp>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace vlbench {

namespace {

constexpr std::string_view kMagic = "\x93NUMPY";
constexpr std::size_t kAlign = 64;             // NumPy's ARRAY_ALIGN: data offset multiple
constexpr std::size_t kGrowthAxisDigits = 21;  // NumPy's GROWTH_AXIS_MAX_DIGITS
constexpr int kMaxNesting = 32;                // deeper literals are not a plain array header

struct Descr {
  std::string_view text;
  DType dtype;
};
// The descr each dtype is written with; reading also accepts '|' and '<' interchangeably.
constexpr Descr kDescrs[] = {
    {"<f8", DType::f64}, {"<f4", DType::f32}, {"<f2", DType::f16},
    {"<i8", DType::i64}, {"<i4", DType::i32}, {"<i2", DType::i16},
    {"|i1", DType::i8},  {"|u1", DType::u8},  {"|b1", DType::boolean},
};

std::string shape_string(const std::vector<std::int64_t>& shape) {
  // Python's tuple repr: "()", "(5,)", "(2, 3)".
  if (shape.size() == 1) return fmt::format("({},)", shape[0]);
  return fmt::format("({})", fmt::join(shape, ", "));
}

// A value of the small Python literal subset that .npy headers use.
struct PyValue {
  enum class Kind { string, boolean, none, integer, sequence } kind = Kind::none;
  std::string text;
  bool flag = false;
  std::int64_t integer = 0;
  std::vector<PyValue> items;
};

// Recursive-descent parser for "{'key': value, ...}" with strings, True/False/None,
// integers and tuples/lists; any key order, optional trailing comma, free whitespace.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::filesystem::path& path)
      : text_(text), path_(path) {}

  std::vector<std::pair<std::string, PyValue>> parse_dict() {
    std::vector<std::pair<std::string, PyValue>> entries;
    skip_space();
    expect('{');
    skip_space();
    while (peek() != '}') {
      if (peek() != '\'' && peek() != '"') error("a quoted key or '}'");
      std::string key = parse_string();
      skip_space();
      expect(':');
      entries.emplace_back(std::move(key), parse_value(0));
      skip_space();
      if (peek() == ',') {
        ++pos_;
        skip_space();
      } else if (peek() != '}') {
        error("',' or '}'");
      }
    }
    ++pos_;
    skip_space();
    if (pos_ != text_.size()) error("only padding after the closing '}'");
    return entries;
  }

 private:
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }

  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' ||
                                   text_[pos_] == '\t' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  void expect(char c) {
    if (peek() != c) error(fmt::format("'{}'", c));
    ++pos_;
  }

  [[noreturn]] void error(std::string_view expected) const {
    fail("{}: malformed .npy header: expected {} at character {}", path_.string(), expected, pos_);
  }

  std::string parse_string() {
    const char quote = text_[pos_++];
    std::string out;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) ++pos_;  // keep the escaped char
      out.push_back(text_[pos_++]);
    }
    if (pos_ >= text_.size()) error("a closing quote");
    ++pos_;
    return out;
  }

  PyValue parse_value(int depth) {
    if (depth > kMaxNesting) error("a less deeply nested value");
    skip_space();
    PyValue value;
    const char c = peek();
    if (c == '\'' || c == '"') {
      value.kind = PyValue::Kind::string;
      value.text = parse_string();
    } else if (c == '(' || c == '[') {
      const char close = c == '(' ? ')' : ']';
      value.kind = PyValue::Kind::sequence;
      ++pos_;
      skip_space();
      while (peek() != close) {
        value.items.push_back(parse_value(depth + 1));
        skip_space();
        if (peek() == ',') {
          ++pos_;
          skip_space();
        } else if (peek() != close) {
          error(fmt::format("',' or '{}'", close));
        }
      }
      ++pos_;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      value.kind = PyValue::Kind::integer;
      value.integer = parse_integer();
    } else {
      const std::size_t start = pos_;
      while (pos_ < text_.size() && std::isalpha(static_cast<unsigned char>(text_[pos_]))) ++pos_;
      const std::string_view word = text_.substr(start, pos_ - start);
      if (word == "True" || word == "False") {
        value.kind = PyValue::Kind::boolean;
        value.flag = word == "True";
      } else if (word == "None") {
        value.kind = PyValue::Kind::none;
      } else {
        pos_ = start;
        error("a string, number, tuple, True, False or None");
      }
    }
    return value;
  }

  std::int64_t parse_integer() {
    const bool negative = peek() == '-';
    if (negative) ++pos_;
    if (!(peek() >= '0' && peek() <= '9')) error("a digit");
    std::int64_t magnitude = 0;
    while (peek() >= '0' && peek() <= '9') {
      const int digit = peek() - '0';
      if (__builtin_mul_overflow(magnitude, 10, &magnitude) ||
          __builtin_add_overflow(magnitude, digit, &magnitude)) {
        error("an integer that fits in 64 bits");
      }
      ++pos_;
    }
    if (peek() == 'L') ++pos_;  // Python 2 long literal, as in files written by Python 2
    return negative ? -magnitude : magnitude;
  }

  std::string_view text_;
  const std::filesystem::path& path_;
  std::size_t pos_ = 0;
};

DType dtype_from_descr(const std::string& descr, const std::filesystem::path& path) {
  if (!descr.empty() && descr[0] == '>') {
    fail(
        "{}: big-endian arrays ('{}') are not supported; save with "
        "arr.astype(arr.dtype.newbyteorder('<'))",
        path.string(), descr);
  }
  if (descr.size() == 3 && (descr[0] == '<' || descr[0] == '|')) {
    for (const Descr& known : kDescrs) {
      if (known.text.substr(1) == std::string_view(descr).substr(1)) return known.dtype;
    }
  }
  fail("{}: unsupported dtype '{}' (supported: <f8 <f4 <f2 <i8 <i4 <i2 |i1 |u1 |b1)", path.string(),
       descr);
}

std::string_view descr_of(DType dtype) {
  for (const Descr& known : kDescrs) {
    if (known.dtype == dtype) return known.text;
  }
  return {};
}

// numel × itemsize with overflow checks; nullopt when it does not fit in int64.
std::optional<std::int64_t> byte_count(const std::vector<std::int64_t>& shape, DType dtype) {
  std::int64_t count = static_cast<std::int64_t>(dtype_size(dtype));
  for (const std::int64_t dim : shape) {
    if (__builtin_mul_overflow(count, dim, &count)) return std::nullopt;
  }
  return count;
}

std::uint32_t read_le(const std::byte* bytes, int n) {
  std::uint32_t value = 0;
  for (int i = n - 1; i >= 0; --i) value = (value << 8) | std::to_integer<std::uint32_t>(bytes[i]);
  return value;
}

// The whole preamble NumPy writes: magic, version, header length, dict, padding, '\n'.
std::string header_bytes(DType dtype, const std::vector<std::int64_t>& shape) {
  std::string dict = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
                                 descr_of(dtype), shape_string(shape));
  // NumPy >= 1.23 leaves room for the first axis to grow to 21 digits in place.
  if (!shape.empty()) {
    dict.append(kGrowthAxisDigits - fmt::format("{}", shape[0]).size(), ' ');
  }
  for (const int major : {1, 2}) {
    const std::size_t prefix = kMagic.size() + 2 + (major == 1 ? 2 : 4);
    const std::size_t unpadded = dict.size() + 1;                   // + '\n'
    const std::size_t pad = kAlign - (prefix + unpadded) % kAlign;  // 64 when aligned: NumPy's
    const std::size_t header_len = unpadded + pad;
    if (major == 1 && header_len > 0xffff) continue;  // needs the u32 length of version 2.0
    std::string out(kMagic);
    out.push_back(static_cast<char>(major));
    out.push_back('\0');
    for (int i = 0; i < (major == 1 ? 2 : 4); ++i) {
      out.push_back(static_cast<char>((header_len >> (8 * i)) & 0xff));
    }
    out += dict;
    out.append(pad, ' ');
    out.push_back('\n');
    return out;
  }
  VLB_ASSERT(false && "a .npy header longer than 4 GiB");
  return {};
}

}  // namespace

std::int64_t NpyArray::numel() const {
  std::int64_t n = 1;
  for (const std::int64_t dim : shape) n *= dim;  // checked against the file size on read
  return n;
}

namespace {

// NumPy writes a transposed (column-major) array with 'fortran_order': True. Copies it into an
// owned C-order buffer: element (i0, ..., in) sits at sum(i_k * fortran_stride_k).
void to_c_order(NpyArray& array) {
  const std::size_t rank = array.shape.size();
  const std::size_t element = dtype_size(array.dtype);
  std::vector<std::int64_t> strides(rank);  // Fortran strides, in elements
  std::int64_t stride = 1;
  for (std::size_t k = 0; k < rank; ++k) {
    strides[k] = stride;
    stride *= array.shape[k];
  }
  const auto n = static_cast<std::size_t>(array.numel());
  array.owned.resize(n * element);
  std::vector<std::int64_t> index(rank, 0);
  std::int64_t source = 0;
  for (std::size_t c = 0; c < n; ++c) {
    std::memcpy(array.owned.data() + c * element,
                array.data + static_cast<std::size_t>(source) * element, element);
    for (std::size_t k = rank; k-- > 0;) {  // odometer over the C-order index
      source += strides[k];
      if (++index[k] < array.shape[k]) break;
      source -= strides[k] * array.shape[k];
      index[k] = 0;
    }
  }
  array.data = array.owned.data();
}

}  // namespace

NpyArray read_npy(const std::filesystem::path& path) {
  NpyArray array;
  array.file = MappedFile(path);
  const std::byte* bytes = array.file.data();
  const std::size_t size = array.file.size();
  const std::string name = path.string();

  if (size < 10 || std::memcmp(bytes, kMagic.data(), kMagic.size()) != 0) {
    fail("{}: not a .npy file (missing the \\x93NUMPY magic)", name);
  }
  const int major = std::to_integer<int>(bytes[6]);
  const int minor = std::to_integer<int>(bytes[7]);
  if (major < 1 || major > 3) {
    fail("{}: unsupported .npy format version {}.{} (expected 1.0, 2.0 or 3.0)", name, major,
         minor);
  }
  const std::size_t prefix = major == 1 ? 10 : 12;
  if (size < prefix) fail("{}: truncated .npy header", name);
  const std::size_t header_len = read_le(bytes + 8, major == 1 ? 2 : 4);
  if (header_len > size - prefix) {
    fail("{}: truncated .npy header: it declares {} bytes, the file has {} after the preamble",
         name, header_len, size - prefix);
  }

  const std::string_view header(reinterpret_cast<const char*>(bytes + prefix), header_len);
  const PyValue* descr = nullptr;
  const PyValue* fortran_order = nullptr;
  const PyValue* shape = nullptr;
  const auto entries = HeaderParser(header, path).parse_dict();
  for (const auto& [key, value] : entries) {
    const PyValue** slot = key == "descr"           ? &descr
                           : key == "fortran_order" ? &fortran_order
                           : key == "shape"         ? &shape
                                                    : nullptr;
    if (slot == nullptr) fail("{}: unexpected key '{}' in the .npy header", name, key);
    if (*slot != nullptr) fail("{}: duplicate key '{}' in the .npy header", name, key);
    *slot = &value;
  }
  for (const auto& [key, slot] :
       {std::pair{"descr", descr}, std::pair{"fortran_order", fortran_order},
        std::pair{"shape", shape}}) {
    if (slot == nullptr) fail("{}: the .npy header has no '{}' key", name, key);
  }

  if (descr->kind != PyValue::Kind::string) {
    fail("{}: structured or non-string 'descr' is not supported (expected e.g. '<f4')", name);
  }
  array.dtype = dtype_from_descr(descr->text, path);
  if (fortran_order->kind != PyValue::Kind::boolean) {
    fail("{}: 'fortran_order' must be True or False", name);
  }
  if (shape->kind != PyValue::Kind::sequence) fail("{}: 'shape' must be a tuple", name);
  for (const PyValue& dim : shape->items) {
    if (dim.kind != PyValue::Kind::integer || dim.integer < 0) {
      fail("{}: 'shape' must hold non-negative integers", name);
    }
    array.shape.push_back(dim.integer);
  }

  const std::size_t data_offset = prefix + header_len;
  const std::size_t available = size - data_offset;
  const auto needed = byte_count(array.shape, array.dtype);
  if (!needed) {
    fail("{}: shape {} of {} is too large (byte count overflows)", name, shape_string(array.shape),
         dtype_name(array.dtype));
  }
  if (static_cast<std::uint64_t>(*needed) != available) {
    fail("{}: expected {} bytes of data for shape {} of {}, found {} after the header{}", name,
         *needed, shape_string(array.shape), dtype_name(array.dtype), available,
         static_cast<std::uint64_t>(*needed) > available ? " (truncated)" : "");
  }
  array.data = bytes + data_offset;
  if (fortran_order->flag && array.shape.size() > 1) to_c_order(array);
  return array;
}

MatrixF32 read_npy_matrix_f32(const std::filesystem::path& path) {
  const NpyArray array = read_npy(path);
  if (array.shape.size() != 2 || (array.dtype != DType::f32 && array.dtype != DType::f16)) {
    fail("{}: expected a 2-d float32 or float16 array, got a {}-d {} array of shape {}",
         path.string(), array.shape.size(), dtype_name(array.dtype), shape_string(array.shape));
  }
  MatrixF32 matrix;
  matrix.rows = array.shape[0];
  matrix.cols = array.shape[1];
  const auto n = static_cast<std::size_t>(array.numel());
  matrix.values.resize(n);
  if (n == 0) return matrix;
  // memcpy, not casts: the data offset need not be aligned for the element type.
  if (array.dtype == DType::f32) {
    std::memcpy(matrix.values.data(), array.data, n * sizeof(float));
  } else {
    for (std::size_t i = 0; i < n; ++i) {
      std::uint16_t half;
      std::memcpy(&half, array.data + 2 * i, sizeof half);
      matrix.values[i] = f16_to_f32(half);
    }
  }
  return matrix;
}

void write_npy(const std::filesystem::path& path, DType dtype,
               const std::vector<std::int64_t>& shape, const void* data) {
  const std::string name = path.string();
  if (dtype == DType::bf16) fail("{}: cannot write bf16 to .npy (NumPy has no bfloat16)", name);
  for (const std::int64_t dim : shape) {
    if (dim < 0) fail("{}: cannot write shape {}: negative dimension", name, shape_string(shape));
  }
  const auto nbytes = byte_count(shape, dtype);
  if (!nbytes) fail("{}: cannot write shape {}: byte count overflows", name, shape_string(shape));
  VLB_ASSERT(data != nullptr || *nbytes == 0);

  const std::string header = header_bytes(dtype, shape);
  AtomicFile file(path);
  const std::string temp = file.temp_path().string();
  std::FILE* out = std::fopen(temp.c_str(), "wb");
  if (out == nullptr) fail("cannot create {}: {}", temp, std::strerror(errno));
  const bool written = std::fwrite(header.data(), 1, header.size(), out) == header.size() &&
                       (*nbytes == 0 || std::fwrite(data, 1, static_cast<std::size_t>(*nbytes),
                                                    out) == static_cast<std::size_t>(*nbytes));
  const int saved = errno;
  if (std::fclose(out) != 0 || !written) {
    fail("cannot write {}: {}", temp, std::strerror(written ? errno : saved));
  }
  file.commit();
}

}  // namespace vlbench
