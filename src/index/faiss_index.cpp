// The approximate indexes, on faiss 1.7 (CPU): hnsw = IndexHNSWFlat, ivf-flat = IndexIVFFlat,
// ivf-pq = IndexIVFPQ, all with METRIC_INNER_PRODUCT. Scores are dot products, larger is
// better: IVF-PQ's are dot products with the PQ-reconstructed vectors; HNSW's returned
// candidates are re-scored with exact_score against the stored vectors, so they equal flat's.
// (faiss 1.7.3's inner-product HNSW was measured against an L2 graph on the same unit
// vectors, which ranks identically: recall@10 0.999-1.000 for both at efSearch 64 on the
// 20k × 64 clustered test data, so faiss is used as is, no hnswlib.)
//
// faiss parallelises with OpenMP over the queries of a search (and inside add/train). The
// thread count is set with omp_set_num_threads for the calling thread only and restored after
// the call, so concurrent searches with different counts do not disturb each other. Search
// parameters (efSearch, nprobe) are passed per call (SearchParametersHNSW / IVF), never by
// mutating the faiss index, so const search() is safe from several threads. Each query's
// search is independent of the others, so results do not depend on the thread count; rows
// are finally re-sorted by (score desc, id asc) so equal scores come in a fixed order.
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/index_io.h>
#include <faiss/invlists/InvertedLists.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "index/index_impl.hpp"
#include "vlbench/core/error.hpp"
#include "vlbench/index/exact_rank.hpp"

namespace vlbench {
namespace {

constexpr std::int64_t kMaxSearchParam = std::int64_t{1} << 24;

// Sets the OpenMP thread count of the calling thread for the object's lifetime.
class OmpThreads {
 public:
  explicit OmpThreads(int threads) : previous_(omp_get_max_threads()) {
    omp_set_num_threads(threads > 0 ? threads : omp_get_num_procs());
  }
  ~OmpThreads() { omp_set_num_threads(previous_); }
  OmpThreads(const OmpThreads&) = delete;
  OmpThreads& operator=(const OmpThreads&) = delete;

 private:
  int previous_;
};

// A faiss message as one line.
std::string one_line(const char* message) {
  std::string text = message;
  std::replace(text.begin(), text.end(), '\n', ' ');
  return text;
}

// faiss's n × k labels/distances into a SearchResult: missing results (label -1) get score
// -infinity, and each row is ordered by (score desc, id asc).
SearchResult to_result(std::int64_t n, std::int64_t k,
                       const std::vector<faiss::Index::idx_t>& labels,
                       const std::vector<float>& distances) {
  SearchResult result;
  result.n = n;
  result.k = k;
  result.ids.resize(static_cast<std::size_t>(n * k));
  result.scores.resize(static_cast<std::size_t>(n * k));
  std::vector<std::int64_t> order(static_cast<std::size_t>(k));
  for (std::int64_t q = 0; q < n; ++q) {
    const faiss::Index::idx_t* l = labels.data() + q * k;
    const float* s = distances.data() + q * k;
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
      if ((l[a] < 0) != (l[b] < 0)) return l[b] < 0;  // missing results last
      if (l[a] < 0) return a < b;
      if (s[a] != s[b]) return s[a] > s[b];
      return l[a] < l[b];
    });
    for (std::int64_t i = 0; i < k; ++i) {
      const std::int64_t from = order[static_cast<std::size_t>(i)];
      const bool missing = l[from] < 0;
      result.ids[static_cast<std::size_t>(q * k + i)] = missing ? -1 : l[from];
      result.scores[static_cast<std::size_t>(q * k + i)] =
          missing ? -std::numeric_limits<float>::infinity() : s[from];
    }
  }
  return result;
}

void check_search_args(std::int64_t n, const float* queries, std::int64_t k) {
  VLB_ASSERT(n >= 0 && (n == 0 || queries != nullptr));
  if (k < 1) fail("search: expected k >= 1, got {}", k);
}

SearchResult empty_result(std::int64_t n, std::int64_t k) {
  return to_result(n, k, std::vector<faiss::Index::idx_t>(static_cast<std::size_t>(n * k), -1),
                   std::vector<float>(static_cast<std::size_t>(n * k), 0.0f));
}

std::int64_t inverted_lists_bytes(const faiss::IndexIVF& ivf) {
  std::int64_t bytes = 0;
  for (std::size_t list = 0; list < ivf.nlist; ++list) {
    // codes plus one 64-bit id per vector
    bytes += static_cast<std::int64_t>(ivf.invlists->list_size(list) *
                                       (ivf.code_size + sizeof(faiss::Index::idx_t)));
  }
  return bytes + static_cast<std::int64_t>(ivf.quantizer->ntotal * ivf.d * sizeof(float));
}

class HnswIndex final : public VectorIndex {
 public:
  HnswIndex(std::int64_t dim, const IndexParams& params) : d_(dim) {
    check_param_names("hnsw", params, {"M", "efConstruction", "efSearch"});
    m_ = int_param(params, "M", 16, 2, 512);
    ef_construction_ = int_param(params, "efConstruction", 200, 1, kMaxSearchParam);
    ef_search_ = int_param(params, "efSearch", 64, 1, kMaxSearchParam);
    index_ = std::make_unique<faiss::IndexHNSWFlat>(static_cast<int>(dim), static_cast<int>(m_),
                                                    faiss::METRIC_INNER_PRODUCT);
    index_->hnsw.efConstruction = static_cast<int>(ef_construction_);
    index_->hnsw.efSearch = static_cast<int>(ef_search_);
  }

  // Takes a loaded faiss index (checked by the caller).
  HnswIndex(std::int64_t dim, const IndexParams& params,
            std::unique_ptr<faiss::IndexHNSWFlat> index)
      : HnswIndex(dim, params) {
    index_ = std::move(index);
  }

  std::string type() const override { return "hnsw"; }
  std::int64_t dim() const override { return d_; }
  std::int64_t size() const override { return index_->ntotal; }
  IndexParams params() const override {
    return {{"M", std::to_string(m_)},
            {"efConstruction", std::to_string(ef_construction_)},
            {"efSearch", std::to_string(ef_search_)}};
  }
  const faiss::IndexHNSWFlat& faiss_index() const { return *index_; }

  void add(std::int64_t n, const float* x) override {
    VLB_ASSERT(n >= 0 && (n == 0 || x != nullptr));
    if (n == 0) return;
    OmpThreads threads(0);
    index_->add(n, x);
  }

  void set_search_param(const std::string& name, const std::string& value) override {
    if (name != "efSearch") {
      fail("index parameter {}: unknown search-time parameter for type hnsw (expected efSearch)",
           name);
    }
    ef_search_ = int_param({{name, value}}, name, ef_search_, 1, kMaxSearchParam);
    // faiss 1.7.3 sizes part of its search from the index's own efSearch, whatever the
    // per-call parameters say: a value above the build-time one was silently capped.
    index_->hnsw.efSearch = static_cast<int>(ef_search_);
  }

  SearchResult search(std::int64_t n, const float* queries, std::int64_t k,
                      int threads) const override {
    check_search_args(n, queries, k);
    if (n == 0 || size() == 0) return empty_result(n, k);
    faiss::SearchParametersHNSW search_params;
    search_params.efSearch = static_cast<int>(ef_search_);
    std::vector<faiss::Index::idx_t> labels(static_cast<std::size_t>(n * k));
    std::vector<float> distances(static_cast<std::size_t>(n * k));
    OmpThreads omp_threads(resolve_search_threads(threads, n));
    index_->search(n, queries, k, distances.data(), labels.data(), &search_params);
    // faiss's float dot products -> exact ones (exact_score) with the stored vectors.
    const float* stored = static_cast<const faiss::IndexFlat*>(index_->storage)->get_xb();
    for (std::int64_t i = 0; i < n * k; ++i) {
      const faiss::Index::idx_t id = labels[static_cast<std::size_t>(i)];
      if (id >= 0) {
        distances[static_cast<std::size_t>(i)] =
            static_cast<float>(exact_score(queries + (i / k) * d_, stored + id * d_, d_));
      }
    }
    return to_result(n, k, labels, distances);
  }

  std::int64_t memory_bytes() const override {
    const faiss::HNSW& hnsw = index_->hnsw;
    return static_cast<std::int64_t>(index_->ntotal * d_ * sizeof(float) +
                                     hnsw.neighbors.size() * sizeof(faiss::HNSW::storage_idx_t) +
                                     hnsw.offsets.size() * sizeof(std::size_t) +
                                     hnsw.levels.size() * sizeof(int));
  }

  void save_payload(const std::filesystem::path& dir) const override {
    faiss::write_index(index_.get(), (dir / "index.faiss").c_str());
  }

 private:
  std::int64_t d_;
  std::int64_t m_, ef_construction_, ef_search_;
  std::unique_ptr<faiss::IndexHNSWFlat> index_;
};

// ivf-flat and ivf-pq. The faiss index is made on the first add, as nlist's default depends
// on the number of vectors that add brings (the training set).
class IvfIndex final : public VectorIndex {
 public:
  IvfIndex(std::string type, std::int64_t dim, const IndexParams& params)
      : type_(std::move(type)), d_(dim) {
    pq_ = type_ == "ivf-pq";
    if (pq_) {
      check_param_names(type_, params, {"nlist", "m", "nbits", "nprobe"});
    } else {
      check_param_names(type_, params, {"nlist", "nprobe"});
    }
    nlist_ = int_param(params, "nlist", 0, 1, kMaxSearchParam);
    nprobe_ = int_param(params, "nprobe", 8, 1, kMaxSearchParam);
    if (pq_) {
      // Default: d/8 capped to 64, lowered to the nearest divisor of d.
      std::int64_t m = std::clamp<std::int64_t>(dim / 8, 1, 64);
      while (dim % m != 0) --m;
      m_ = int_param(params, "m", m, 1, dim);
      if (dim % m_ != 0) {
        fail("index parameter m: expected a divisor of the dimension {}, got {}", dim, m_);
      }
      nbits_ = int_param(params, "nbits", 8, 1, 16);
    }
  }

  // Takes a loaded faiss index (checked by the caller).
  IvfIndex(std::string type, std::int64_t dim, const IndexParams& params,
           std::unique_ptr<faiss::IndexIVF> index)
      : IvfIndex(std::move(type), dim, params) {
    index_ = std::move(index);
    nlist_ = static_cast<std::int64_t>(index_->nlist);
  }

  std::string type() const override { return type_; }
  std::int64_t dim() const override { return d_; }
  std::int64_t size() const override { return index_ ? index_->ntotal : 0; }
  IndexParams params() const override {
    IndexParams p = {{"nprobe", std::to_string(nprobe_)}};
    if (nlist_ > 0) p["nlist"] = std::to_string(nlist_);
    if (pq_) {
      p["m"] = std::to_string(m_);
      p["nbits"] = std::to_string(nbits_);
    }
    return p;
  }

  void add(std::int64_t n, const float* x) override {
    VLB_ASSERT(n >= 0 && (n == 0 || x != nullptr));
    if (n == 0) return;
    // Training and adding spend their time in BLAS (k-means, coarse assignment), which runs
    // its own threads: idle OpenMP workers spinning beside them took 70% of the CPU in a
    // profile of a 20k × 64 IVF-PQ build, so faiss's OpenMP loops run on this thread only.
    OmpThreads threads(1);
    if (!index_) train(n, x);
    index_->add(n, x);
  }

  void set_search_param(const std::string& name, const std::string& value) override {
    if (name != "nprobe") {
      fail("index parameter {}: unknown search-time parameter for type {} (expected nprobe)", name,
           type_);
    }
    nprobe_ = int_param({{name, value}}, name, nprobe_, 1, kMaxSearchParam);
  }

  SearchResult search(std::int64_t n, const float* queries, std::int64_t k,
                      int threads) const override {
    check_search_args(n, queries, k);
    if (n == 0 || size() == 0) return empty_result(n, k);
    faiss::SearchParametersIVF search_params;
    search_params.nprobe = static_cast<std::size_t>(std::min(nprobe_, nlist_));
    std::vector<faiss::Index::idx_t> labels(static_cast<std::size_t>(n * k));
    std::vector<float> distances(static_cast<std::size_t>(n * k));
    OmpThreads omp_threads(resolve_search_threads(threads, n));
    index_->search(n, queries, k, distances.data(), labels.data(), &search_params);
    return to_result(n, k, labels, distances);
  }

  std::int64_t memory_bytes() const override {
    if (!index_) return 0;
    std::int64_t bytes = inverted_lists_bytes(*index_);
    if (pq_) {
      const auto& ivfpq = static_cast<const faiss::IndexIVFPQ&>(*index_);
      bytes += static_cast<std::int64_t>(
          (ivfpq.pq.centroids.size() + ivfpq.precomputed_table.size()) * sizeof(float));
    }
    return bytes;
  }

  void save_payload(const std::filesystem::path& dir) const override {
    if (!index_) {
      fail("{}: cannot save an empty {} index (it is trained on its first add)", dir.string(),
           type_);
    }
    faiss::write_index(index_.get(), (dir / "index.faiss").c_str());
  }

 private:
  // Makes and trains the faiss index on the first add's n vectors.
  void train(std::int64_t n, const float* x) {
    if (nlist_ == 0) {
      nlist_ = std::max<std::int64_t>(1, std::llround(std::sqrt(static_cast<double>(n))));
    }
    const std::int64_t needed = std::max(nlist_, pq_ ? std::int64_t{1} << nbits_ : 0);
    if (n < needed) {
      if (pq_) {
        fail(
            "{}: training needs at least max(nlist = {}, 2^nbits = {}) = {} vectors in the "
            "first add, got {}",
            type_, nlist_, std::int64_t{1} << nbits_, needed, n);
      }
      fail("{}: training needs at least nlist = {} vectors in the first add, got {}", type_, nlist_,
           n);
    }
    auto quantizer = std::make_unique<faiss::IndexFlatIP>(static_cast<faiss::Index::idx_t>(d_));
    std::unique_ptr<faiss::IndexIVF> index;
    if (pq_) {
      index = std::make_unique<faiss::IndexIVFPQ>(
          quantizer.get(), static_cast<std::size_t>(d_), static_cast<std::size_t>(nlist_),
          static_cast<std::size_t>(m_), static_cast<std::size_t>(nbits_),
          faiss::METRIC_INNER_PRODUCT);
    } else {
      index = std::make_unique<faiss::IndexIVFFlat>(quantizer.get(), static_cast<std::size_t>(d_),
                                                    static_cast<std::size_t>(nlist_),
                                                    faiss::METRIC_INNER_PRODUCT);
    }
    index->own_fields = true;
    quantizer.release();  // owned by `index` now
    index->train(n, x);
    index_ = std::move(index);
  }

  std::string type_;
  std::int64_t d_;
  bool pq_ = false;
  std::int64_t nlist_ = 0;  // 0 until known (from params or the first add)
  std::int64_t nprobe_ = 8;
  std::int64_t m_ = 0, nbits_ = 0;  // ivf-pq only
  std::unique_ptr<faiss::IndexIVF> index_;
};

}  // namespace

std::unique_ptr<VectorIndex> make_faiss_index(const std::string& type, std::int64_t dim,
                                              const IndexParams& params) {
  if (type == "hnsw") return std::make_unique<HnswIndex>(dim, params);
  VLB_ASSERT(type == "ivf-flat" || type == "ivf-pq");
  return std::make_unique<IvfIndex>(type, dim, params);
}

std::unique_ptr<VectorIndex> load_faiss_payload(const std::filesystem::path& dir,
                                                const std::string& type, std::int64_t dim,
                                                std::int64_t size, const IndexParams& params) {
  const std::filesystem::path path = dir / "index.faiss";
  if (!std::filesystem::is_regular_file(path)) fail("{}: file not found", path.string());
  std::unique_ptr<faiss::Index> loaded;
  try {
    loaded.reset(faiss::read_index(path.c_str()));
  } catch (const std::exception& e) {
    fail("{}: expected a faiss {} index, reading failed: {}", path.string(), type,
         one_line(e.what()));
  }
  if (loaded->d != dim || loaded->ntotal != size) {
    fail("{}: expected dim {} and {} vectors (from index.json), got dim {} and {} vectors",
         path.string(), dim, size, loaded->d, loaded->ntotal);
  }
  if (loaded->metric_type != faiss::METRIC_INNER_PRODUCT) {
    fail("{}: expected a faiss inner-product index (type {})", path.string(), type);
  }
  if (type == "hnsw") {
    auto* hnsw = dynamic_cast<faiss::IndexHNSWFlat*>(loaded.get());
    if (hnsw == nullptr) fail("{}: expected a faiss IndexHNSWFlat (type hnsw)", path.string());
    loaded.release();
    auto index =
        std::make_unique<HnswIndex>(dim, params, std::unique_ptr<faiss::IndexHNSWFlat>(hnsw));
    const IndexParams p = index->params();
    if (std::to_string(index->faiss_index().hnsw.nb_neighbors(1)) != p.at("M")) {
      fail("{}: expected M = {} (from index.json), got {}", path.string(), p.at("M"),
           index->faiss_index().hnsw.nb_neighbors(1));
    }
    return index;
  }
  const bool pq = type == "ivf-pq";
  auto* ivf = pq ? dynamic_cast<faiss::IndexIVF*>(dynamic_cast<faiss::IndexIVFPQ*>(loaded.get()))
                 : dynamic_cast<faiss::IndexIVF*>(dynamic_cast<faiss::IndexIVFFlat*>(loaded.get()));
  if (ivf == nullptr) {
    fail("{}: expected a faiss {} (type {})", path.string(), pq ? "IndexIVFPQ" : "IndexIVFFlat",
         type);
  }
  const auto expect = [&](const char* name, std::int64_t actual) {
    const auto it = params.find(name);
    if (it == params.end() || it->second != std::to_string(actual)) {
      fail("{}: expected {} = {} (from index.json), got {}", path.string(), name,
           it == params.end() ? "(missing)" : it->second, actual);
    }
  };
  expect("nlist", static_cast<std::int64_t>(ivf->nlist));
  if (pq) {
    const auto* ivfpq = static_cast<const faiss::IndexIVFPQ*>(ivf);
    expect("m", static_cast<std::int64_t>(ivfpq->pq.M));
    expect("nbits", static_cast<std::int64_t>(ivfpq->pq.nbits));
  }
  loaded.release();
  return std::make_unique<IvfIndex>(type, dim, params, std::unique_ptr<faiss::IndexIVF>(ivf));
}

}  // namespace vlbench
