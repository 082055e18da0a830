// Helpers shared by the model-family tests: golden token ids and encoding through the
// EmbeddingModel interface.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <vector>

#include "vlbench/core/npy.hpp"
#include "vlbench/models/model.hpp"

namespace vlbench::testing {

// The rows of an int64 [n, T] ids .npy (padding included).
inline std::vector<std::vector<std::int32_t>> read_ids(const std::filesystem::path& path) {
  const NpyArray array = read_npy(path);
  EXPECT_EQ(array.dtype, DType::i64) << path;
  EXPECT_EQ(array.shape.size(), 2u) << path;
  std::vector<std::vector<std::int32_t>> ids(static_cast<std::size_t>(array.shape[0]));
  for (std::int64_t r = 0; r < array.shape[0]; ++r) {
    for (std::int64_t c = 0; c < array.shape[1]; ++c) {
      std::int64_t v = 0;
      std::memcpy(&v, array.data + (r * array.shape[1] + c) * 8, 8);
      ids[static_cast<std::size_t>(r)].push_back(static_cast<std::int32_t>(v));
    }
  }
  return ids;
}

// Images first .. first + n of `pixels` (n × 3 × S × S each) -> n × embed_dim.
inline std::vector<float> encode_images(const EmbeddingModel& model,
                                        const std::vector<float>& pixels, std::int64_t first,
                                        std::int64_t n) {
  const std::int64_t per_image = 3 * std::int64_t{model.image_size()} * model.image_size();
  std::vector<float> out(static_cast<std::size_t>(n * model.embed_dim()));
  model.encode_images(pixels.data() + first * per_image, n, out.data());
  return out;
}

// Single-vector captions -> ids.size() × embed_dim.
inline std::vector<float> encode_texts(const EmbeddingModel& model,
                                       const std::vector<std::vector<std::int32_t>>& ids) {
  std::vector<float> out(ids.size() * static_cast<std::size_t>(model.embed_dim()));
  model.encode_texts(ids, out.data());
  return out;
}

}  // namespace vlbench::testing
