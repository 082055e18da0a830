#include "serve/query_encoder.hpp"

#include "serve/request.hpp"

#include <vlbench/core/error.hpp>

#include <cstdint>
#include <span>

namespace vlbench::serve {

namespace {

ClipModel load_model(const std::filesystem::path& dir, int threads) {
  ClipLoadOptions options;
  options.threads = threads;
  return ClipModel::load(dir, options);
}

}  // namespace

QueryEncoder::QueryEncoder(const std::filesystem::path& model_dir, int threads)
    : model_(load_model(model_dir, threads)),
      tokenizer_(ClipTokenizer::from_directory(model_dir)),
      preprocess_(read_preprocess_config(model_dir)) {
  const int size = model_.config().image_size;
  if (preprocess_.output_height() != size || preprocess_.output_width() != size) {
    fail("{}: preprocessor_config.json gives {}x{} pixels, config.json's image_size is {}",
         model_dir.string(), preprocess_.output_height(), preprocess_.output_width(), size);
  }
}

std::vector<float> QueryEncoder::encode_text(const std::string& text) const {
  const std::vector<std::vector<std::int32_t>> ids = {
      tokenizer_.encode(text, model_.config().max_position_embeddings)};
  std::vector<float> out(static_cast<std::size_t>(dim()));
  {
    std::lock_guard<std::mutex> lock(model_mutex_);
    model_.encode_texts(ids, out.data());
  }
  normalize_or_fail(out, "text embedding");
  return out;
}

std::vector<float> QueryEncoder::encode_image(const std::string& file_bytes) const {
  const ImageRgb8 image = decode_image_bytes(
      std::span(reinterpret_cast<const std::uint8_t*>(file_bytes.data()), file_bytes.size()),
      "image");
  std::vector<float> pixels(3 * static_cast<std::size_t>(preprocess_.output_height()) *
                            static_cast<std::size_t>(preprocess_.output_width()));
  preprocess(image, preprocess_, pixels.data());
  std::vector<float> out(static_cast<std::size_t>(dim()));
  {
    std::lock_guard<std::mutex> lock(model_mutex_);
    model_.encode_images(pixels.data(), 1, out.data());
  }
  normalize_or_fail(out, "image embedding");
  return out;
}

}  // namespace vlbench::serve
