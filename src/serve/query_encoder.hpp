// A CLIP checkpoint turned into a query encoder: caption or image file bytes -> unit-length
// embedding (projection_dim floats), exactly as `vlbench embed` computes it, then normalized.
#pragma once

#include <vlbench/models/clip.hpp>
#include <vlbench/text/clip_tokenizer.hpp>
#include <vlbench/vision/image.hpp>

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

namespace vlbench::serve {

class QueryEncoder {
 public:
  // Loads DIR's config, weights, tokenizer and preprocessor config. Errors name the file; a
  // preprocessor output size other than the model's image_size is an Error.
  QueryEncoder(const std::filesystem::path& model_dir, int threads);

  std::int64_t dim() const { return model_.embed_dim(); }

  // Thread-safe: tokenizing, decoding and preprocessing run in the caller's thread, the
  // model's forward pass under a mutex (ClipModel allows one caller at a time).
  // Problems with the input (invalid UTF-8, an undecodable image) are Errors.
  std::vector<float> encode_text(const std::string& text) const;
  std::vector<float> encode_image(const std::string& file_bytes) const;

 private:
  ClipModel model_;
  ClipTokenizer tokenizer_;
  PreprocessConfig preprocess_;
  mutable std::mutex model_mutex_;
};

}  // namespace vlbench::serve
