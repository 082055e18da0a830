// The softmax of one row, shared by softmax_rows and the attention (internal).
#pragma once

#include <cstdint>

namespace vlbench {

// x[j] = softmax(scale · x)[j] for j < n, in place (n >= 1): the row maximum is subtracted
// before the exponential, which is exp_vectorizable (vec_math.hpp).
void scaled_softmax_row(float* x, std::int64_t n, float scale);

}  // namespace vlbench
