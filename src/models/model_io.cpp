#include "models/model_io.hpp"

#include <vlbench/core/error.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace vlbench {

std::unique_ptr<Backend> make_model_backend(const std::filesystem::path& dir,
                                            const std::string& name, ComputeType compute,
                                            int threads) {
  BackendOptions options;
  options.threads = threads;
  std::unique_ptr<Backend> backend = make_backend(name, options);
  if (!backend->supports(compute)) {
    fail("{}: compute type {} is not supported by the {} backend of this build (supported: fp32)",
         dir.string(), compute_type_name(compute), backend->name());
  }
  return backend;
}

WeightLoader::WeightLoader(const std::filesystem::path& dir) : checkpoint_(Checkpoint::open(dir)) {}

std::vector<float> WeightLoader::load(const std::string& name,
                                      const std::vector<std::int64_t>& shape) {
  std::vector<float> values = checkpoint_.load_f32(name, shape);
  checkpoint_.release(name);  // the float32 copy is all the model keeps
  used_.insert(name);
  parameter_count_ += static_cast<std::int64_t>(values.size());
  return values;
}

LoadTensor WeightLoader::function() {
  return [this](const std::string& name, const std::vector<std::int64_t>& shape) {
    return load(name, shape);
  };
}

void WeightLoader::expect_all_used(std::string_view architecture) const {
  constexpr std::string_view kPositionIds = ".position_ids";  // buffers, not parameters
  for (const TensorRef& tensor : checkpoint_.tensors()) {
    if (used_.count(tensor.name) != 0 || tensor.name.ends_with(kPositionIds)) continue;
    fail("{}: unknown tensor '{}' in the checkpoint (not part of a {} with this config)",
         checkpoint_.dir().string(), tensor.name, architecture);
  }
}

void WeightLoader::expect_names(const std::vector<std::string>& expected,
                                std::string_view architecture) const {
  const std::set<std::string> wanted(expected.begin(), expected.end());
  std::vector<std::string> missing, unexpected;
  for (const std::string& name : wanted) {
    if (checkpoint_.find(name) == nullptr) missing.push_back(name);
  }
  if (missing.empty()) return;
  for (const TensorRef& tensor : checkpoint_.tensors()) {
    if (wanted.count(tensor.name) == 0) unexpected.push_back(tensor.name);
  }
  // One line (errors are one line): "expected | found" pairs in sorted order.
  constexpr std::size_t kRows = 40;
  const std::size_t rows = std::max(missing.size(), unexpected.size());
  std::string table;
  for (std::size_t r = 0; r < std::min(rows, kRows); ++r) {
    table += fmt::format("{}{} | {}", r == 0 ? "" : "; ", r < missing.size() ? missing[r] : "-",
                         r < unexpected.size() ? unexpected[r] : "-");
  }
  if (rows > kRows) table += fmt::format("; ... {} more", rows - kRows);
  fail(
      "{}: {} of the {} tensors of a {} are not in the checkpoint (its tensor names differ); "
      "expected | in the checkpoint, not expected: {}",
      checkpoint_.dir().string(), missing.size(), wanted.size(), architecture, table);
}

PreprocessConfig read_square_preprocess_config(const std::filesystem::path& dir, int size) {
  PreprocessConfig config = read_preprocess_config(dir);
  if (config.output_height() != size || config.output_width() != size) {
    fail("{}: preprocessing gives {}x{} pixels but config.json's image_size is {}",
         (dir / "preprocessor_config.json").string(), config.output_height(), config.output_width(),
         size);
  }
  return config;
}

void check_caption_ids(const std::vector<std::vector<std::int32_t>>& ids,
                       std::int64_t max_positions, std::int64_t vocab_size) {
  for (std::size_t c = 0; c < ids.size(); ++c) {
    const std::vector<std::int32_t>& caption = ids[c];
    const auto length = static_cast<std::int64_t>(caption.size());
    if (length == 0 || length > max_positions) {
      fail("caption {}: expected 1 to {} token ids (max_position_embeddings), got {}", c,
           max_positions, length);
    }
    for (std::int64_t t = 0; t < length; ++t) {
      if (caption[t] < 0 || caption[t] >= vocab_size) {
        fail("caption {}: token id {} at position {} is outside the vocabulary [0, {})", c,
             caption[t], t, vocab_size);
      }
    }
  }
}

void embed_tokens(const std::vector<std::vector<std::int32_t>>& ids,
                  const std::vector<std::size_t>& members, std::int64_t seq_len,
                  const std::vector<float>& token_table, const std::vector<float>& positions,
                  std::int64_t d, std::vector<float>& host) {
  const auto n = static_cast<std::int64_t>(members.size());
  host.resize(static_cast<std::size_t>(n * seq_len * d));
  for (std::int64_t s = 0; s < n; ++s) {
    const std::vector<std::int32_t>& caption = ids[members[static_cast<std::size_t>(s)]];
    const auto length = static_cast<std::int64_t>(caption.size());
    for (std::int64_t t = 0; t < seq_len; ++t) {
      const std::int32_t id = caption[static_cast<std::size_t>(std::min(t, length - 1))];
      const float* token = token_table.data() + std::int64_t{id} * d;
      const float* position = positions.data() + t * d;
      float* dst = host.data() + (s * seq_len + t) * d;
      for (std::int64_t i = 0; i < d; ++i) dst[i] = token[i] + position[i];
    }
  }
}

void scatter_rows(const float* rows, const std::vector<std::size_t>& members, std::int64_t width,
                  float* out) {
  for (std::size_t s = 0; s < members.size(); ++s) {
    std::copy_n(rows + static_cast<std::int64_t>(s) * width, width,
                out + static_cast<std::int64_t>(members[s]) * width);
  }
}

}  // namespace vlbench
