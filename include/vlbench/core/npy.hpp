// NumPy .npy files (format versions 1.0, 2.0, 3.0), C order only.
//
// Reading memory-maps the file. Supported dtypes on read: <f4, <f2, <f8, <i8, <i4, <i2, |i1,
// |u1, |b1 ('<' or '|' byte order; '>' is rejected). Fortran-order arrays, object arrays,
// structured dtypes and truncated data are rejected with an Error naming the file and what
// was expected.
#pragma once

#include <vlbench/core/dtype.hpp>
#include <vlbench/core/mapped_file.hpp>

#include <cstdint>
#include <filesystem>
#include <vector>

namespace vlbench {

struct NpyArray {
  DType dtype = DType::f32;
  std::vector<std::int64_t> shape;  // empty for a 0-d array
  const std::byte* data = nullptr;  // C order, little endian: into `file`, or into `owned`
  MappedFile file;                  // for a Fortran-order file, transposed into C order
  std::vector<std::byte> owned;

  std::int64_t numel() const;
};

NpyArray read_npy(const std::filesystem::path& path);

// A dense row-major float32 matrix that owns its storage: rows × cols.
struct MatrixF32 {
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  std::vector<float> values;  // rows * cols

  float* row(std::int64_t i) { return values.data() + i * cols; }
  const float* row(std::int64_t i) const { return values.data() + i * cols; }
};

// Reads a 2-d float32 or float16 .npy into float32. Any other dtype or rank is an Error
// ("<path>: expected a 2-d float32 or float16 array, got ...").
MatrixF32 read_npy_matrix_f32(const std::filesystem::path& path);

// Writes a C-order array (format 1.0, or 2.0 when the header needs it). Atomic: the data
// goes to a temporary file in the same folder that is renamed over `path` at the end, so a
// failure never leaves a partial file. Supported dtypes: all of DType except bf16 (NumPy has
// no bfloat16).
void write_npy(const std::filesystem::path& path, DType dtype,
               const std::vector<std::int64_t>& shape, const void* data);

}  // namespace vlbench
