// int8 (per-row symmetric scale) and binary (sign bit) quantization; definitions in
// quantize.hpp.
#include "vlbench/index/quantize.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

#include "index/quantized_dot.hpp"
#include "kernels/cpu/isa_clones.hpp"
#include "vlbench/core/error.hpp"

namespace vlbench {
namespace {

// Non-finite values have no code; the caller's data is wrong (no file is known here, so the
// message names the row and column).
void check_finite(const char* what, const float* x, std::int64_t rows, std::int64_t d) {
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t j = 0; j < d; ++j) {
      if (!std::isfinite(x[r * d + j])) {
        fail("{}: row {}, column {}: expected a finite value, got {}", what, r, j, x[r * d + j]);
      }
    }
  }
}

}  // namespace

Quantization parse_quantization(const std::string& name) {
  if (name == "none") return Quantization::none;
  if (name == "int8") return Quantization::int8;
  if (name == "binary") return Quantization::binary;
  fail("quantization: expected one of none, int8, binary, got '{}'", name);
}

std::string quantization_name(Quantization q) {
  switch (q) {
    case Quantization::none:
      return "none";
    case Quantization::int8:
      return "int8";
    case Quantization::binary:
      return "binary";
  }
  VLB_ASSERT(false);
  return {};
}

Int8Matrix quantize_int8(const float* x, std::int64_t rows, std::int64_t d) {
  VLB_ASSERT(rows >= 0 && d >= 0 && (rows == 0 || d == 0 || x != nullptr));
  check_finite("quantize_int8", x, rows, d);
  Int8Matrix m;
  m.rows = rows;
  m.d = d;
  m.codes.assign(static_cast<std::size_t>(rows * d), 0);
  m.scales.assign(static_cast<std::size_t>(rows), 0.0f);
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * d;
    float max_abs = 0.0f;
    for (std::int64_t j = 0; j < d; ++j) max_abs = std::max(max_abs, std::fabs(row[j]));
    if (max_abs == 0.0f) continue;  // scale 0, codes 0
    // The division is done in double with scale = max_abs / 127 in double: |x / scale| then
    // never exceeds 127 (the max element divides to exactly 127) and a tiny max_abs whose
    // float scale would underflow still gets codes. std::nearbyint rounds half to even in the
    // default rounding mode.
    const double scale = static_cast<double>(max_abs) / 127.0;
    std::int8_t* codes = m.codes.data() + r * d;
    for (std::int64_t j = 0; j < d; ++j) {
      const double q = std::nearbyint(static_cast<double>(row[j]) / scale);
      VLB_ASSERT(q >= -127.0 && q <= 127.0);
      codes[j] = static_cast<std::int8_t>(q);
    }
    m.scales[static_cast<std::size_t>(r)] = static_cast<float>(scale);
  }
  return m;
}

BinaryMatrix quantize_binary(const float* x, std::int64_t rows, std::int64_t d) {
  VLB_ASSERT(rows >= 0 && d >= 0 && (rows == 0 || d == 0 || x != nullptr));
  check_finite("quantize_binary", x, rows, d);
  BinaryMatrix m;
  m.rows = rows;
  m.d = d;
  m.bytes_per_row = (d + 7) / 8;
  m.bits.assign(static_cast<std::size_t>(rows * m.bytes_per_row), 0);
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * d;
    std::uint8_t* bits = m.bits.data() + r * m.bytes_per_row;
    for (std::int64_t j = 0; j < d; ++j) {
      if (row[j] > 0.0f) bits[j / 8] |= static_cast<std::uint8_t>(1u << (j % 8));
    }
  }
  return m;
}

VLBENCH_ISA_CLONES
std::int32_t dot_int8(const std::int8_t* a, const std::int8_t* b, std::int64_t d) {
  std::int32_t sum = 0;
  for (std::int64_t j = 0; j < d; ++j) {
    sum += static_cast<std::int32_t>(a[j]) * static_cast<std::int32_t>(b[j]);
  }
  return sum;
}

VLBENCH_ISA_CLONES
std::int64_t hamming(const std::uint8_t* a, const std::uint8_t* b, std::int64_t bytes) {
  std::int64_t count = 0;
  std::int64_t i = 0;
  for (; i + 8 <= bytes; i += 8) {  // eight bytes at a time
    std::uint64_t wa, wb;
    std::memcpy(&wa, a + i, 8);
    std::memcpy(&wb, b + i, 8);
    count += std::popcount(wa ^ wb);
  }
  for (; i < bytes; ++i) count += std::popcount(static_cast<unsigned>(a[i] ^ b[i]));
  return count;
}

double int8_score(const Int8Matrix& a, std::int64_t row_a, const Int8Matrix& b,
                  std::int64_t row_b) {
  VLB_ASSERT(a.d == b.d);
  VLB_ASSERT(row_a >= 0 && row_a < a.rows && row_b >= 0 && row_b < b.rows);
  const std::int32_t sum =
      dot_int8(a.codes.data() + row_a * a.d, b.codes.data() + row_b * b.d, a.d);
  return static_cast<double>(a.scales[static_cast<std::size_t>(row_a)]) *
         static_cast<double>(b.scales[static_cast<std::size_t>(row_b)]) * static_cast<double>(sum);
}

std::int64_t binary_score(const BinaryMatrix& a, std::int64_t row_a, const BinaryMatrix& b,
                          std::int64_t row_b) {
  VLB_ASSERT(a.d == b.d && a.bytes_per_row == b.bytes_per_row);
  VLB_ASSERT(row_a >= 0 && row_a < a.rows && row_b >= 0 && row_b < b.rows);
  return a.d - 2 * hamming(a.bits.data() + row_a * a.bytes_per_row,
                           b.bits.data() + row_b * b.bytes_per_row, a.bytes_per_row);
}

void quantize_dequantize(Quantization q, float* x, std::int64_t rows, std::int64_t d) {
  switch (q) {
    case Quantization::none:
      return;
    case Quantization::int8: {
      const Int8Matrix m = quantize_int8(x, rows, d);
      for (std::int64_t r = 0; r < rows; ++r) {
        const float scale = m.scales[static_cast<std::size_t>(r)];
        for (std::int64_t j = 0; j < d; ++j) {
          x[r * d + j] = static_cast<float>(m.codes[static_cast<std::size_t>(r * d + j)]) * scale;
        }
      }
      return;
    }
    case Quantization::binary: {
      check_finite("quantize_binary", x, rows, d);
      for (std::int64_t i = 0; i < rows * d; ++i) x[i] = x[i] > 0.0f ? 1.0f : -1.0f;
      return;
    }
  }
}

}  // namespace vlbench
