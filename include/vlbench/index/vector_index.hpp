// Vector search indexes behind one interface (faiss-style): exact flat search, its int8 and
// binary quantized variants, and the approximate HNSW, IVF-Flat and IVF-PQ indexes.
//
// Similarity is the inner product; callers pass unit vectors (cosine = dot product). Exact
// `flat` search is the ground truth every other type is measured against (index_bench.hpp).
//
// Types (make_index's `type`) and their parameters (IndexParams; names are case-sensitive):
//   flat         exact fp32 inner product                               (no parameters)
//   flat-int8    exact search over int8-quantized vectors (quantize.hpp) (no parameters)
//   flat-binary  exact search over sign bits, score = d - 2·hamming      (no parameters)
//   hnsw         M (16), efConstruction (200); search time: efSearch (64)
//   ivf-flat     nlist (sqrt(n) rounded, at least 1); search time: nprobe (8)
//   ivf-pq       nlist, m (PQ sub-quantizers, must divide d; default: the largest divisor
//                of d that is at most min(d/8, 64)),
//                nbits (8); search time: nprobe (8)
// A parameter the type does not know, a non-numeric value, or one out of range is an Error
// naming the parameter and what was expected. Search-time parameters may be given at build
// time (they are saved as defaults) and overridden with set_search_param before search.
//
// Thread safety: search() may be called from several threads at once once no add/set call
// runs; add() and set_search_param() need exclusive access.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace vlbench {

// Parameter name -> value as written on the command line ("M" -> "32").
using IndexParams = std::map<std::string, std::string>;

// Result of a k-nearest-neighbour search of n queries.
// ids: n × k gallery row numbers, best first; scores: n × k matching similarities.
// When the index holds fewer than k vectors (or an approximate index finds fewer), the tail
// of a row has id -1 and score -infinity.
// Ties (equal scores) are ordered by the lower gallery row first for the flat types.
struct SearchResult {
  std::int64_t n = 0;
  std::int64_t k = 0;
  std::vector<std::int64_t> ids;
  std::vector<float> scores;
};

class VectorIndex {
 public:
  virtual ~VectorIndex() = default;

  virtual std::string type() const = 0;  // one of index_types()
  virtual std::int64_t dim() const = 0;
  virtual std::int64_t size() const = 0;  // vectors added so far
  // Effective parameters, defaults filled in (saved with the index, printed by benchmarks).
  virtual IndexParams params() const = 0;

  // Adds n vectors (x: n × dim, row-major, unit length); they get rows size() .. size()+n-1.
  // IVF types train their coarse quantizer (and PQ codebooks) on the first add; that add
  // must bring at least max(nlist, 2^nbits) vectors, else an Error says how many are needed.
  virtual void add(std::int64_t n, const float* x) = 0;

  // Changes a search-time parameter (efSearch, nprobe). Unknown names are an Error.
  virtual void set_search_param(const std::string& name, const std::string& value) = 0;

  // queries: n × dim, row-major. k >= 1. Uses up to `threads` threads over the queries
  // (<= 0: all cores); results do not depend on the thread count.
  virtual SearchResult search(std::int64_t n, const float* queries, std::int64_t k,
                              int threads = 0) const = 0;

  // Bytes the index holds in memory for its vectors and structure (not counting the input).
  virtual std::int64_t memory_bytes() const = 0;

  // Writes the index's own payload into `dir` (which exists). Used by save_index.
  virtual void save_payload(const std::filesystem::path& dir) const = 0;
};

// The type names make_index accepts, in the order above.
std::vector<std::string> index_types();

// An empty index. Unknown type: Error listing index_types(). dim must be > 0.
std::unique_ptr<VectorIndex> make_index(const std::string& type, std::int64_t dim,
                                        const IndexParams& params = {});

// Saves `index` to directory `dir` (created; written to a temporary sibling and renamed, so a
// failed save leaves nothing behind): `index.json` (format "vlbench.index", version, type,
// dim, size, params, gallery_sha256) plus the payload. `gallery_sha256` is the content hash
// of the embeddings the index was built from (core/hash.hpp), recorded for provenance.
void save_index(const VectorIndex& index, const std::filesystem::path& dir,
                const std::string& gallery_sha256);

struct LoadedIndex {
  std::unique_ptr<VectorIndex> index;
  std::string gallery_sha256;
};

// Loads a saved index. A missing or damaged index.json, another format name or a newer
// version, a payload that is truncated or disagrees with index.json (type, dim, size) is an
// Error naming the file and what was expected. With `verify` (the default) every payload
// file's SHA-256 is checked against index.json before any of its bytes reach faiss, whose
// readers trust their input (a damaged file can crash them or silently change results);
// verify=false skips the hashing for a trusted multi-GB index (sizes are still checked).
// Format 1 folders carry no hashes: loading one needs verify=false.
LoadedIndex load_index(const std::filesystem::path& dir, bool verify = true);

}  // namespace vlbench
