#include "serve/query_encoder.hpp"

#include "serve/request.hpp"

#include <vlbench/core/error.hpp>
#include <vlbench/vision/image.hpp>

#include <cstdint>
#include <span>

namespace vlbench::serve {

namespace {

std::unique_ptr<EmbeddingModel> load(const std::filesystem::path& dir, int threads,
                                     bool multi_vector, const std::filesystem::path& base) {
  ModelLoadOptions options;
  options.threads = threads;
  if (std::filesystem::exists(dir / "adapter_config.json")) options.base = base;
  std::unique_ptr<EmbeddingModel> model = load_model(dir, options);
  if (!multi_vector && model->output_kind() != OutputKind::single_vector) {
    fail("{}: a {} model gives several vectors per query; the server's dense search needs one "
         "(a late-interaction model goes to --rerank-model)",
         dir.string(), model->family());
  }
  if (multi_vector && model->output_kind() != OutputKind::multi_vector) {
    fail("{}: a {} model gives one vector per query; --rerank-model needs a multi-vector "
         "(late interaction) model such as ColPali",
         dir.string(), model->family());
  }
  model->preprocess_config();  // read (and checked) now, not on the first image query
  return model;
}

}  // namespace

QueryEncoder::QueryEncoder(const std::filesystem::path& model_dir, int threads,
                           DecodeOptions decode, bool multi_vector,
                           const std::filesystem::path& base)
    : model_(load(model_dir, threads, multi_vector, base)),
      decode_(decode),
      folder_name_(std::filesystem::absolute(model_dir).lexically_normal().filename().string()) {
  if (folder_name_.empty()) {  // "dir/" normalizes to a trailing empty name
    folder_name_ = std::filesystem::absolute(model_dir).lexically_normal().parent_path().filename().string();
  }
}

std::vector<float> QueryEncoder::encode_text(const std::string& text,
                                             std::int64_t* n_tokens) const {
  const std::vector<std::vector<std::int32_t>> ids = model_->tokenize({text});
  if (n_tokens != nullptr) *n_tokens = static_cast<std::int64_t>(ids.at(0).size());
  std::vector<float> out(static_cast<std::size_t>(dim()));
  {
    std::lock_guard<std::mutex> lock(model_mutex_);
    model_->encode_texts(ids, out.data());
  }
  normalize_or_fail(out, "text embedding");
  return out;
}

std::vector<float> QueryEncoder::encode_text_tokens(const std::string& text,
                                                   std::int64_t* n_tokens) const {
  const std::vector<std::vector<std::int32_t>> ids = model_->tokenize({text});
  const std::int64_t rows = model_->text_vectors(ids.at(0));
  std::vector<float> out(static_cast<std::size_t>(rows * dim()));
  {
    std::lock_guard<std::mutex> lock(model_mutex_);
    model_->encode_texts(ids, out.data());
  }
  *n_tokens = rows;
  return out;
}

std::vector<float> QueryEncoder::encode_image(const std::string& file_bytes) const {
  // In the file's own mode: the model's config says where it turns RGB.
  const Image8 image = decode_image_native_bytes(
      std::span(reinterpret_cast<const std::uint8_t*>(file_bytes.data()), file_bytes.size()),
      "image", decode_);
  const PreprocessConfig& config = model_->preprocess_config();
  std::vector<float> pixels(3 * static_cast<std::size_t>(config.output_height()) *
                            static_cast<std::size_t>(config.output_width()));
  preprocess(image, config, pixels.data());
  std::vector<float> out(static_cast<std::size_t>(dim()));
  {
    std::lock_guard<std::mutex> lock(model_mutex_);
    model_->encode_images(pixels.data(), 1, out.data());
  }
  normalize_or_fail(out, "image embedding");
  return out;
}

}  // namespace vlbench::serve
