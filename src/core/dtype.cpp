#include <vlbench/core/dtype.hpp>

#include <vlbench/core/error.hpp>

#include <bit>
#include <cmath>

namespace vlbench {

std::size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::f64:
      return 8;
    case DType::f32:
      return 4;
    case DType::f16:
      return 2;
    case DType::bf16:
      return 2;
    case DType::i64:
      return 8;
    case DType::i32:
      return 4;
    case DType::i16:
      return 2;
    case DType::i8:
      return 1;
    case DType::u8:
      return 1;
    case DType::boolean:
      return 1;
  }
  VLB_ASSERT(false && "unknown DType");
  return 0;
}

std::string_view dtype_name(DType dtype) {
  switch (dtype) {
    case DType::f64:
      return "f64";
    case DType::f32:
      return "f32";
    case DType::f16:
      return "f16";
    case DType::bf16:
      return "bf16";
    case DType::i64:
      return "i64";
    case DType::i32:
      return "i32";
    case DType::i16:
      return "i16";
    case DType::i8:
      return "i8";
    case DType::u8:
      return "u8";
    case DType::boolean:
      return "bool";
  }
  VLB_ASSERT(false && "unknown DType");
  return {};
}

// binary16: 1 sign, 5 exponent (bias 15), 10 mantissa bits.
float f16_to_f32(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exponent = (h >> 10) & 0x1fu;
  const std::uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0x1f) {
    // Inf or NaN; the NaN payload moves to the top of the f32 mantissa.
    return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));
  }
  if (exponent == 0) {
    // Zero or subnormal: mantissa × 2^-24, exactly representable in f32.
    const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  // Normal: rebias the exponent (127 - 15 = 112) and widen the mantissa.
  return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

std::uint16_t f32_to_f16(float f) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(f);
  const auto sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000u);
  const std::uint32_t magnitude = bits & 0x7fffffffu;

  if (magnitude > 0x7f800000u) {
    // NaN: keep the top payload bits and force the quiet bit so the result stays a NaN.
    return static_cast<std::uint16_t>(sign | 0x7e00u | ((magnitude >> 13) & 0x3ffu));
  }
  if (magnitude >= 0x38800000u) {
    // At least 2^-14, the smallest normal f16 (f32 infinity lands here too). Rebias the
    // exponent, then round the 23-bit mantissa to 10 bits, ties to even; a carry out of the
    // mantissa correctly bumps the exponent, and anything past 65504 becomes infinity.
    const std::uint32_t rebased = magnitude - (112u << 23);
    const std::uint32_t rounded = (rebased + 0xfffu + ((rebased >> 13) & 1u)) >> 13;
    if (rounded >= 0x7c00u) return static_cast<std::uint16_t>(sign | 0x7c00u);
    return static_cast<std::uint16_t>(sign | rounded);
  }
  // Subnormal f16 (or zero): the result is round(|f| × 2^24) as an integer, ties to even.
  // |f| = m × 2^(e - 150) with the implicit bit in m, so |f| × 2^24 = m >> (126 - e).
  const int exponent = static_cast<int>(magnitude >> 23);
  if (exponent < 102) return sign;  // below 2^-25: rounds to zero (2^-25 itself is a tie to 0)
  const std::uint32_t m = (magnitude & 0x7fffffu) | 0x800000u;
  const int shift = 126 - exponent;  // 14..24
  std::uint32_t q = m >> shift;
  const std::uint32_t remainder = m & ((1u << shift) - 1u);
  const std::uint32_t half = 1u << (shift - 1);
  if (remainder > half || (remainder == half && (q & 1u))) ++q;  // 0x400 = smallest normal
  return static_cast<std::uint16_t>(sign | q);
}

// bfloat16 is the top half of a binary32.
float bf16_to_f32(std::uint16_t h) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(h) << 16);
}

std::uint16_t f32_to_bf16(float f) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(f);
  if ((bits & 0x7fffffffu) > 0x7f800000u) {
    // NaN: truncate and force the quiet bit (truncation alone could yield infinity).
    return static_cast<std::uint16_t>((bits >> 16) | 0x0040u);
  }
  // Round to nearest even on the dropped 16 bits; overflow carries into infinity as it should.
  const std::uint32_t rounded = bits + 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<std::uint16_t>(rounded >> 16);
}

}  // namespace vlbench
