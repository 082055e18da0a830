// A checkpoint turned into a query encoder: caption or image file bytes -> unit-length
// embedding (embed_dim floats), exactly as `vlbench embed` computes it, then normalized.
// Any model family of the registry (models/model.hpp).
#pragma once

#include <vlbench/models/model.hpp>
#include <vlbench/vision/image.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace vlbench::serve {

class QueryEncoder {
 public:
  // Loads DIR's config, weights, tokenizer and preprocessor config. Errors name the file; a
  // model with several vectors per item, or a preprocessor output size other than the model's
  // image size, is an Error.
  // Image queries declaring more than max_image_pixels pixels are ImageTooLarge (0: no limit).
  QueryEncoder(const std::filesystem::path& model_dir, int threads,
               std::int64_t max_image_pixels = kPillowMaxImagePixels);

  std::int64_t dim() const { return model_->embed_dim(); }
  // The model's name (EmbeddingModel::name) and its checkpoint folder's name.
  std::string name() const { return model_->name(); }
  const std::string& folder_name() const { return folder_name_; }

  // Thread-safe: tokenizing, decoding and preprocessing run in the caller's thread, the
  // model's forward pass under a mutex (a model allows one encoding caller at a time).
  // Problems with the input (invalid UTF-8, an undecodable image) are Errors.
  // `n_tokens` (optional) receives the length of the token sequence encoded.
  std::vector<float> encode_text(const std::string& text, std::int64_t* n_tokens = nullptr) const;
  std::vector<float> encode_image(const std::string& file_bytes) const;

 private:
  std::unique_ptr<EmbeddingModel> model_;
  std::int64_t max_image_pixels_;
  std::string folder_name_;
  mutable std::mutex model_mutex_;
};

}  // namespace vlbench::serve
