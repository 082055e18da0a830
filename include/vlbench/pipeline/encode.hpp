// Encoding a dataset with a model: images decoded and preprocessed on a thread pool while
// the encoder runs (two batches in flight), captions tokenized and encoded, with the speed
// of each stage measured.
#pragma once

#include <vlbench/core/npy.hpp>
#include <vlbench/data/dataset.hpp>
#include <vlbench/index/maxsim.hpp>
#include <vlbench/models/model.hpp>
#include <vlbench/vision/image.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace vlbench {

struct EncodeOptions {
  int batch = 32;
  int threads = 0;               // decode/preprocess workers (<= 0: all cores)
  bool skip_bad_images = false;  // else the first undecodable image is an Error
  // Images declaring more pixels are bad images (DecodeOptions::max_pixels; 0: no limit).
  std::int64_t max_image_pixels = kPillowMaxImagePixels;
  // Apply each image's EXIF orientation first (DecodeOptions::exif_orientation).
  bool exif_orientation = false;
  bool progress = false;  // items/s and ETA on stderr
};

struct EncodeSpeed {
  // Images/s of encode_images alone on preprocessed pixels in memory (the last batch,
  // re-encoded 3 times after the pipeline; median).
  double image_encode_per_s = 0.0;
  // Images/s from files: decode + preprocess + encode, overlapped, over the whole gallery.
  double end_to_end_images_per_s = 0.0;
  // Captions/s: tokenize + encode over every caption.
  double text_encode_per_s = 0.0;
  double image_seconds = 0.0;
  double text_seconds = 0.0;
  std::int64_t peak_rss_bytes = 0;  // of the process, at the end
};

struct EncodedDataset {
  // Single-vector models: images / texts; multi-vector models (output_kind multi_vector):
  // image_tokens / text_tokens, and images / texts are 0 × d.
  MatrixF32 images;  // n_images × d, projected, unnormalized, gallery order
  MatrixF32 texts;   // n_captions × d
  MultiVectorSet image_tokens;  // n_images items of image_vectors() L2-normalized tokens
  MultiVectorSet text_tokens;   // n_captions items of text_vectors(ids) tokens
  bool multi_vector() const { return image_tokens.n > 0 || text_tokens.n > 0; }
  // Images that could not be decoded (skip_bad_images): their rows are left zero, and
  // drop_images() removes them with their captions before evaluation.
  std::vector<std::int32_t> bad_images;
  std::vector<std::string> bad_image_errors;
  EncodeSpeed speed;
};

// Images through model.preprocess_config() and encode_images; captions through
// model.tokenize() in batches of options.batch in dataset order (so a padding that depends on
// the batch, TextPadding::longest, sees the same batches at any thread count), then
// encode_texts in batches of similar length.
EncodedDataset encode_dataset(const EmbeddingModel& model, const Dataset& dataset,
                              const EncodeOptions& options);

// The dataset and embeddings without the listed images and their captions.
void drop_images(Dataset& dataset, EncodedDataset& encoded);

}  // namespace vlbench
