// Embedding quantization: int8 (per-vector symmetric scale) and binary (sign bits).
//
// int8: row r is stored as codes q[r, j] = round_half_even(x[r, j] / scale_r), scale_r =
// max_j |x[r, j]| / 127 (an all-zero row gets scale 0 and codes 0), so |q| <= 127. The score
// of two quantized rows is scale_a · scale_b · Σ_j q_a[j] q_b[j] (the integer sum is exact in
// int32 for d < 133,000); dequantized values are q · scale.
// binary: bit j of row r is 1 when x[r, j] > 0. Packed 8 per byte, bit j in byte j / 8 at
// position j % 8 (least significant first), rows padded to whole bytes with zero bits. The
// score of two rows is the dot product of their ±1 vectors: d - 2 · hamming(a, b); the
// dequantized value of a bit is +1 or -1 (cosine ranking of ±1 vectors equals that score's
// ranking, as every ±1 vector has length sqrt(d)).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vlbench {

enum class Quantization { none, int8, binary };

// "none" | "int8" | "binary"; anything else is an Error listing them.
Quantization parse_quantization(const std::string& name);
std::string quantization_name(Quantization q);

struct Int8Matrix {
  std::int64_t rows = 0;
  std::int64_t d = 0;
  std::vector<std::int8_t> codes;  // rows × d
  std::vector<float> scales;       // rows
};

struct BinaryMatrix {
  std::int64_t rows = 0;
  std::int64_t d = 0;                 // bits per row
  std::int64_t bytes_per_row = 0;     // (d + 7) / 8
  std::vector<std::uint8_t> bits;     // rows × bytes_per_row
};

// x: rows × d float32, row-major.
Int8Matrix quantize_int8(const float* x, std::int64_t rows, std::int64_t d);
BinaryMatrix quantize_binary(const float* x, std::int64_t rows, std::int64_t d);

// Exact scores as defined above (double, so equal inputs give equal scores on every CPU).
double int8_score(const Int8Matrix& a, std::int64_t row_a, const Int8Matrix& b,
                  std::int64_t row_b);
std::int64_t binary_score(const BinaryMatrix& a, std::int64_t row_a, const BinaryMatrix& b,
                          std::int64_t row_b);

// Replaces every row of x (rows × d, in place) by its dequantized value under `q` (none: no
// change). Ranking the dequantized rows by exact dot product (index/exact_rank.hpp) gives the
// order of the quantized scores above up to the float32 rounding of q · scale (relative
// 2^-24; exact for binary), which is how evaluation measures quantization.
void quantize_dequantize(Quantization q, float* x, std::int64_t rows, std::int64_t d);

}  // namespace vlbench
