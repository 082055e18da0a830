// The integer kernels behind quantize.hpp's scores, shared by int8_score / binary_score and
// the flat-int8 / flat-binary indexes. Defined in quantize.cpp, one clone per ISA level.
#pragma once

#include <cstdint>

namespace vlbench {

// Σ a[j]·b[j] over int8 codes; exact in int32 (|sum| <= 127² · d, d < 133,000).
std::int32_t dot_int8(const std::int8_t* a, const std::int8_t* b, std::int64_t d);

// Number of differing bits of two packed rows of `bytes` bytes (padding bits are zero in both
// rows, so they never count).
std::int64_t hamming(const std::uint8_t* a, const std::uint8_t* b, std::int64_t bytes);

}  // namespace vlbench
