// Embedding matrices as evaluation reads them.
#pragma once

#include <vlbench/core/npy.hpp>

#include <filesystem>
#include <string_view>

namespace vlbench {

// Reads a 2-d float32/float16 .npy ([n × d]) and returns its rows scaled to unit length
// (cosine similarity = dot product). Errors name the file and the first bad row: NaN or Inf
// values, an all-zero row, rank other than 2, another dtype, d == 0. `role` ("image
// embeddings", "text embeddings") leads the message.
MatrixF32 load_unit_embeddings(const std::filesystem::path& path, std::string_view role);

// Scales every row of `m` to unit length in place, with the same checks (named by `what`).
void normalize_rows(MatrixF32& m, std::string_view what);

}  // namespace vlbench
