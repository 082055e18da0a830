// Element types shared by .npy, .safetensors and tensors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace vlbench {

enum class DType { f64, f32, f16, bf16, i64, i32, i16, i8, u8, boolean };

// Bytes per element.
std::size_t dtype_size(DType dtype);
// "f32", "f16", "bf16", "i64", ... (the names used in messages and results).
std::string_view dtype_name(DType dtype);

// Exact IEEE binary16 / bfloat16 <-> binary32 conversions (round to nearest even on the
// way down; NaN stays NaN). Portable code, no ISA assumptions.
float f16_to_f32(std::uint16_t h);
std::uint16_t f32_to_f16(float f);
float bf16_to_f32(std::uint16_t h);
std::uint16_t f32_to_bf16(float f);

}  // namespace vlbench
