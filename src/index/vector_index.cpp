// The index registry (make_index), parameter parsing and the top-k selection shared by the
// index types.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <thread>

#include "index/index_impl.hpp"
#include "vlbench/core/error.hpp"
#include "vlbench/index/vector_index.hpp"

namespace vlbench {

std::vector<std::string> index_types() {
  return {"flat", "flat-int8", "flat-binary", "hnsw", "ivf-flat", "ivf-pq"};
}

bool is_flat_type(const std::string& type) {
  return type == "flat" || type == "flat-int8" || type == "flat-binary";
}

std::unique_ptr<VectorIndex> make_index(const std::string& type, std::int64_t dim,
                                        const IndexParams& params) {
  const std::vector<std::string> types = index_types();
  if (std::find(types.begin(), types.end(), type) == types.end()) {
    fail("index type: expected one of {}, got '{}'", fmt::join(types, ", "), type);
  }
  if (dim <= 0) fail("index dimension: expected > 0, got {}", dim);
  if (is_flat_type(type)) return make_flat_index(type, dim, params);
  return make_faiss_index(type, dim, params);
}

std::int64_t int_param(const IndexParams& params, const std::string& name, std::int64_t fallback,
                       std::int64_t min_value, std::int64_t max_value) {
  const auto it = params.find(name);
  if (it == params.end()) return fallback;
  const std::string& text = it->second;
  std::int64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || value < min_value || value > max_value) {
    fail("index parameter {}: expected an integer in [{}, {}], got '{}'", name, min_value,
         max_value, text);
  }
  return value;
}

void check_param_names(const std::string& type, const IndexParams& params,
                       const std::vector<std::string>& known) {
  for (const auto& [name, value] : params) {
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      if (known.empty()) {
        fail("index parameter {}: type {} takes no parameters", name, type);
      }
      fail("index parameter {}: unknown for type {} (expected one of {})", name, type,
           fmt::join(known, ", "));
    }
  }
}

int resolve_search_threads(int threads, std::int64_t n_queries) {
  std::int64_t n = threads > 0 ? threads : std::max(1u, std::thread::hardware_concurrency());
  n = std::min<std::int64_t>(n, std::max<std::int64_t>(n_queries, 1));
  return static_cast<int>(n);
}

void TopK::push(double score, std::int64_t id) {
  if (static_cast<std::int64_t>(heap_.size()) < k_) {
    heap_.push_back({score, id});
    std::push_heap(heap_.begin(), heap_.end(), better);
    return;
  }
  if (!accepts(score, id)) return;
  std::pop_heap(heap_.begin(), heap_.end(), better);
  heap_.back() = {score, id};
  std::push_heap(heap_.begin(), heap_.end(), better);
}

void TopK::flush(std::int64_t* ids, float* scores) {
  std::sort_heap(heap_.begin(), heap_.end(), better);  // best first
  std::int64_t i = 0;
  for (; i < static_cast<std::int64_t>(heap_.size()); ++i) {
    ids[i] = heap_[static_cast<std::size_t>(i)].id;
    scores[i] = static_cast<float>(heap_[static_cast<std::size_t>(i)].score);
  }
  for (; i < k_; ++i) {
    ids[i] = -1;
    scores[i] = -std::numeric_limits<float>::infinity();
  }
  heap_.clear();
}

}  // namespace vlbench
