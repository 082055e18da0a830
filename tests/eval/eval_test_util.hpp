// Small datasets and embeddings built by hand for the eval tests.
#pragma once

#include <vlbench/core/npy.hpp>
#include <vlbench/data/dataset.hpp>

#include <initializer_list>
#include <vector>

namespace vlbench::testing {

// A retrieval dataset whose image i has captions_per_image[i] captions, in gallery order.
inline Dataset make_dataset(std::initializer_list<int> captions_per_image) {
  Dataset d;
  d.kind = "jsonl";
  d.split = "all";
  d.annotation_path = "constructed.jsonl";
  d.image_caption_begin.push_back(0);
  int image = 0;
  for (int n : captions_per_image) {
    d.image_paths.push_back("img" + std::to_string(image) + ".jpg");
    d.image_ids.push_back(std::to_string(image));
    for (int c = 0; c < n; ++c) {
      d.captions.push_back("caption " + std::to_string(c) + " of image " + std::to_string(image));
      d.caption_image.push_back(image);
    }
    d.image_caption_begin.push_back(static_cast<std::int32_t>(d.captions.size()));
    ++image;
  }
  return d;
}

inline MatrixF32 make_matrix(std::int64_t cols, std::initializer_list<float> values) {
  MatrixF32 m;
  m.cols = cols;
  m.values = values;
  m.rows = static_cast<std::int64_t>(m.values.size()) / cols;
  return m;
}

}  // namespace vlbench::testing
