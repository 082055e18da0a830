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
  // Loads DIR's config, weights, tokenizer and preprocessor config (`base`: the base of a PEFT
  // adapter folder, ModelLoadOptions::base). Errors name the file; a model of the other output
  // kind (`multi_vector` false: one vector per item, for the dense search; true: a
  // late-interaction model for re-ranking), or a preprocessor output size other than the
  // model's image size, is an Error.
  // Image queries are decoded with `decode`: declaring more than decode.max_pixels pixels is
  // ImageTooLarge (0: no limit); decode.exif_orientation rotates them first.
  QueryEncoder(const std::filesystem::path& model_dir, int threads, DecodeOptions decode = {},
               bool multi_vector = false, const std::filesystem::path& base = {});

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
  // A multi-vector model's query tokens: n_tokens × dim(), unit rows, every scored token.
  std::vector<float> encode_text_tokens(const std::string& text, std::int64_t* n_tokens) const;

 private:
  std::unique_ptr<EmbeddingModel> model_;
  DecodeOptions decode_;
  std::string folder_name_;
  mutable std::mutex model_mutex_;
};

}  // namespace vlbench::serve
