// Internals shared by the vector index implementations (vector_index.hpp): the per-family
// factories and payload loaders, parameter parsing, and the bounded top-k selection.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "vlbench/index/vector_index.hpp"

namespace vlbench {

// Parses params[name] as an integer in [min_value, max_value]; `fallback` when absent.
// Error: "index parameter NAME: expected an integer in [MIN, MAX], got 'VALUE'".
std::int64_t int_param(const IndexParams& params, const std::string& name, std::int64_t fallback,
                       std::int64_t min_value, std::int64_t max_value);
// Error when params holds a name not in `known` (names the type and the known names).
void check_param_names(const std::string& type, const IndexParams& params,
                       const std::vector<std::string>& known);

// Threads for a search call: threads <= 0 means all cores, never more than n_queries.
int resolve_search_threads(int threads, std::int64_t n_queries);

// flat, flat-int8, flat-binary (flat_index.cpp).
std::unique_ptr<VectorIndex> make_flat_index(const std::string& type, std::int64_t dim,
                                             const IndexParams& params);
// hnsw, ivf-flat, ivf-pq (faiss_index.cpp).
std::unique_ptr<VectorIndex> make_faiss_index(const std::string& type, std::int64_t dim,
                                              const IndexParams& params);
bool is_flat_type(const std::string& type);

// Rebuild an index from the payload save_payload wrote into `dir`; index.json said `type`,
// `dim`, `size` and `params`. Errors name the payload file and what disagrees.
std::unique_ptr<VectorIndex> load_flat_payload(const std::filesystem::path& dir,
                                               const std::string& type, std::int64_t dim,
                                               std::int64_t size, const IndexParams& params);
std::unique_ptr<VectorIndex> load_faiss_payload(const std::filesystem::path& dir,
                                                const std::string& type, std::int64_t dim,
                                                std::int64_t size, const IndexParams& params);

// The k best (score, id) pairs seen so far, ordered by score descending then id ascending.
// Scores are doubles so exact integer / double scores compare exactly.
class TopK {
 public:
  explicit TopK(std::int64_t k) : k_(k) { heap_.reserve(static_cast<std::size_t>(k)); }

  // True when (score, id) would enter the current top k.
  bool accepts(double score, std::int64_t id) const {
    if (static_cast<std::int64_t>(heap_.size()) < k_) return true;
    const Entry& worst = heap_.front();
    return score > worst.score || (score == worst.score && id < worst.id);
  }
  void push(double score, std::int64_t id);
  // Writes the best-first ids/scores into k-long rows (tail: id -1, score -infinity) and
  // empties the selection.
  void flush(std::int64_t* ids, float* scores);

 private:
  struct Entry {
    double score;
    std::int64_t id;
  };
  // Heap with the worst entry at the front: "a before b" in best-first order means a is
  // better, so the heap comparator is "a better than b".
  static bool better(const Entry& a, const Entry& b) {
    return a.score > b.score || (a.score == b.score && a.id < b.id);
  }
  std::int64_t k_;
  std::vector<Entry> heap_;
};

}  // namespace vlbench
