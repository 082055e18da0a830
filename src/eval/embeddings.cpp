#include <vlbench/core/error.hpp>
#include <vlbench/eval/embeddings.hpp>

#include <cmath>

namespace vlbench {

void normalize_rows(MatrixF32& m, std::string_view what) {
  if (m.cols <= 0) fail("{}: embedding dimension is 0, expected at least 1", what);
  for (std::int64_t i = 0; i < m.rows; ++i) {
    float* row = m.row(i);
    double sum_sq = 0.0;
    for (std::int64_t j = 0; j < m.cols; ++j) {
      if (!std::isfinite(row[j])) {
        fail("{}: row {} column {} is {}, expected finite values", what, i, j, row[j]);
      }
      sum_sq += static_cast<double>(row[j]) * row[j];
    }
    if (sum_sq == 0.0) fail("{}: row {} is all zeros, expected a non-zero embedding", what, i);
    const double inv_norm = 1.0 / std::sqrt(sum_sq);
    for (std::int64_t j = 0; j < m.cols; ++j) row[j] = static_cast<float>(row[j] * inv_norm);
  }
}

MatrixF32 load_unit_embeddings(const std::filesystem::path& path, std::string_view role) {
  MatrixF32 m;
  try {
    m = read_npy_matrix_f32(path);
  } catch (const Error& e) {
    fail("{}: {}", role, e.what());
  }
  normalize_rows(m, fmt::format("{} {}", role, path.string()));
  return m;
}

}  // namespace vlbench
