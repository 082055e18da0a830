// im2col for a ViT's patch embedding (a Conv2d with kernel = stride = patch): internal.
#pragma once

#include <algorithm>
#include <cstdint>

namespace vlbench {

// pixels: n × channels × side × side (channel-major images). Writes, for image i and patch
// (gy, gx) of the grid = side / patch patches per side (a remainder of side % patch pixels
// is dropped, as a "valid" convolution does), the row
//   rows[(i · tokens_per_image + first_slot + gy · grid + gx) · (channels · patch²) ...]
// in (channel, ky, kx) order: the conv weight's flattening. Other rows are left alone.
inline void im2col_patches(const float* pixels, std::int64_t n, std::int64_t channels,
                           std::int64_t side, std::int64_t patch, std::int64_t tokens_per_image,
                           std::int64_t first_slot, float* rows) {
  const std::int64_t grid = side / patch;
  const std::int64_t k = channels * patch * patch;
  for (std::int64_t img = 0; img < n; ++img) {
    const float* image = pixels + img * channels * side * side;  // [C, H, W]
    for (std::int64_t gy = 0; gy < grid; ++gy) {
      for (std::int64_t gx = 0; gx < grid; ++gx) {
        float* row = rows + (img * tokens_per_image + first_slot + gy * grid + gx) * k;
        for (std::int64_t c = 0; c < channels; ++c) {
          for (std::int64_t ky = 0; ky < patch; ++ky) {
            const float* src = image + (c * side + gy * patch + ky) * side + gx * patch;
            std::copy_n(src, patch, row + (c * patch + ky) * patch);
          }
        }
      }
    }
  }
}

}  // namespace vlbench
