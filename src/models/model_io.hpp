// Loading and caption plumbing shared by the model families (internal to the models module):
// the backend a load runs on, a tensor loader that counts parameters and finds unused tensors,
// the caption-id checks and the token + position embedding of the text towers.
#pragma once

#include <vlbench/kernels/backend.hpp>
#include <vlbench/models/checkpoint.hpp>
#include <vlbench/vision/image.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "models/encoder.hpp"

namespace vlbench {

// The backend `name` with `threads`; an Error naming `dir` when it cannot run `compute`.
std::unique_ptr<Backend> make_model_backend(const std::filesystem::path& dir,
                                            const std::string& name, ComputeType compute,
                                            int threads);

// One checkpoint's tensors as float32, each checked against its expected shape and recorded.
class WeightLoader {
 public:
  explicit WeightLoader(const std::filesystem::path& dir);

  std::vector<float> load(const std::string& name, const std::vector<std::int64_t>& shape);
  // `load` as a LoadTensor, for load_encoder_layers; valid while this loader lives.
  LoadTensor function();
  // The checkpoint's tensor `name` (its dtype and shape), nullptr when absent; not counted as
  // loaded.
  const TensorRef* find(const std::string& name) const { return checkpoint_.find(name); }
  // Elements of every tensor loaded so far.
  std::int64_t parameter_count() const { return parameter_count_; }
  // An Error naming the first tensor of the checkpoint that was not loaded (position_ids
  // buffers excepted), as "not part of a `architecture` with this config".
  void expect_all_used(std::string_view architecture) const;
  // Before loading: an Error when a name of `expected` is not in the checkpoint, listing side
  // by side ("expected | found" pairs, each column sorted, at most 40) the expected names it
  // lacks and its names that were not expected, so a renamed tensor shows beside its new name:
  // a checkpoint whose names differ from a family's table is then a one-line fix of the table.
  void expect_names(const std::vector<std::string>& expected, std::string_view architecture) const;

 private:
  Checkpoint checkpoint_;
  std::set<std::string> used_;
  std::int64_t parameter_count_ = 0;
};

// DIR/preprocessor_config.json, checked to give the size × size pixels the model's config.json
// declares (an Error naming the file and both sizes otherwise).
PreprocessConfig read_square_preprocess_config(const std::filesystem::path& dir, int size);

// Every caption has 1 to max_positions ids, each in [0, vocab_size); else an Error naming the
// caption's index and what was expected.
void check_caption_ids(const std::vector<std::vector<std::int32_t>>& ids,
                       std::int64_t max_positions, std::int64_t vocab_size);

// host [members · seq_len, d] = token_table[id] + positions[t] for position t of each member
// caption (ids[members[s]]); past a caption's end its last id repeats (the caller's padding).
void embed_tokens(const std::vector<std::vector<std::int32_t>>& ids,
                  const std::vector<std::size_t>& members, std::int64_t seq_len,
                  const std::vector<float>& token_table, const std::vector<float>& positions,
                  std::int64_t d, std::vector<float>& host);

// out[members[s] · width ..] = rows[s · width ..]: a group's results back in caption order.
void scatter_rows(const float* rows, const std::vector<std::size_t>& members, std::int64_t width,
                  float* out);

}  // namespace vlbench
