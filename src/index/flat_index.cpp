// Exact search: flat (fp32), flat-int8 and flat-binary.
//
// flat: one float32 GEMM per block of queries against the whole gallery gives float scores L
// within a proven bound e of the exact scores C (exact_score: float products summed in
// double, rank_row.hpp). The k-th largest L, L_k, bounds the answer: the true top k all have
// C >= L_k - e, hence L >= L_k - 2e. Only those candidates get C computed, and the top k by
// (C desc, row asc) is returned with scores float(C). So results are the exact top k of C
// with ties by lower row, identical for any GEMM backend, thread count or block size.
// flat-int8 / flat-binary: queries are quantized like the gallery and scored exactly by the
// quantize.hpp scores (integer sums), one query per task.
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <queue>

#include "index/index_impl.hpp"
#include "index/quantized_dot.hpp"
#include "index/rank_row.hpp"
#include "kernels/cpu/isa_clones.hpp"
#include "vlbench/core/error.hpp"
#include "vlbench/core/npy.hpp"
#include "vlbench/core/thread_pool.hpp"
#include "vlbench/index/exact_rank.hpp"
#include "vlbench/index/quantize.hpp"
#include "vlbench/kernels/gemm.hpp"

namespace vlbench {
namespace {

// Upper bound on one block of float scores (rows × n_gallery × 4 bytes); at least one row.
// Small enough that first-touch page faults stay cheap, large enough for GEMM efficiency
// (100+ rows for galleries up to ~20k).
constexpr std::int64_t kBlockBytes = std::int64_t{8} << 20;

// Runs fn(q) for q in [0, n) on `pool` (nullptr: on this thread).
void for_each_query(std::int64_t n, ThreadPool* pool, const std::function<void(std::int64_t)>& fn) {
  if (pool == nullptr || n <= 1) {
    for (std::int64_t q = 0; q < n; ++q) fn(q);
    return;
  }
  pool->parallel_for(
      n,
      [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t q = begin; q < end; ++q) fn(q);
      },
      std::max<std::int64_t>(1, n / (4 * pool->size())));
}

// A pool for a search of n queries, or nullptr when one thread does.
std::unique_ptr<ThreadPool> make_pool(int threads, std::int64_t n) {
  const int n_threads = resolve_search_threads(threads, n);
  return n_threads > 1 ? std::make_unique<ThreadPool>(n_threads) : nullptr;
}

SearchResult empty_result(std::int64_t n, std::int64_t k) {
  SearchResult result;
  result.n = n;
  result.k = k;
  result.ids.assign(static_cast<std::size_t>(n * k), -1);
  result.scores.assign(static_cast<std::size_t>(n * k), -std::numeric_limits<float>::infinity());
  return result;
}

void check_search_args(std::int64_t n, const float* queries, std::int64_t k) {
  VLB_ASSERT(n >= 0 && (n == 0 || queries != nullptr));
  if (k < 1) fail("search: expected k >= 1, got {}", k);
}

[[noreturn]] void no_search_params(const std::string& type, const std::string& name) {
  fail("index parameter {}: type {} has no search-time parameters", name, type);
}

void check_payload_shape(const std::filesystem::path& path, const NpyArray& array, DType dtype,
                         const std::vector<std::int64_t>& shape) {
  if (array.dtype != dtype || array.shape != shape) {
    fail("{}: expected a {} array of shape [{}] (from index.json), got {} [{}]", path.string(),
         dtype_name(dtype), fmt::join(shape, ", "), dtype_name(array.dtype),
         fmt::join(array.shape, ", "));
  }
}

class FlatIndex final : public VectorIndex {
 public:
  explicit FlatIndex(std::int64_t dim) : d_(dim) {}

  std::string type() const override { return "flat"; }
  std::int64_t dim() const override { return d_; }
  std::int64_t size() const override { return n_; }
  IndexParams params() const override { return {}; }

  void add(std::int64_t n, const float* x) override {
    VLB_ASSERT(n >= 0 && (n == 0 || x != nullptr));
    data_.insert(data_.end(), x, x + n * d_);
    for (std::int64_t i = 0; i < n; ++i) max_norm_ = std::max(max_norm_, norm(x + i * d_, d_));
    n_ += n;
  }

  void set_search_param(const std::string& name, const std::string&) override {
    no_search_params(type(), name);
  }

  SearchResult search(std::int64_t n, const float* queries, std::int64_t k,
                      int threads) const override {
    check_search_args(n, queries, k);
    SearchResult result = empty_result(n, k);
    if (n == 0 || n_ == 0) return result;
    const std::unique_ptr<Gemm> gemm = make_gemm(default_gemm_backend());
    gemm->set_threads(threads);
    const std::unique_ptr<ThreadPool> pool = make_pool(threads, n);
    const std::int64_t block_rows =
        std::clamp<std::int64_t>(kBlockBytes / (n_ * std::int64_t{4}), 1, n);
    // Left uninitialized: the GEMM writes all of it.
    const auto block =
        std::make_unique_for_overwrite<float[]>(static_cast<std::size_t>(block_rows * n_));
    for (std::int64_t begin = 0; begin < n; begin += block_rows) {
      const std::int64_t rows = std::min(block_rows, n - begin);
      // block[r, j] = queries[begin + r] · data_[j]  -> [rows, n_]
      gemm->gemm_nt(rows, n_, d_, queries + begin * d_, d_, data_.data(), d_, block.get(), n_);
      for_each_query(rows, pool.get(), [&](std::int64_t r) {
        const std::int64_t q = begin + r;
        select_row(block.get() + r * n_, queries + q * d_, k, result.ids.data() + q * k,
                   result.scores.data() + q * k);
      });
    }
    return result;
  }

  std::int64_t memory_bytes() const override {
    return static_cast<std::int64_t>(data_.size() * sizeof(float));
  }

  void save_payload(const std::filesystem::path& dir) const override {
    write_npy(dir / "vectors.npy", DType::f32, {n_, d_}, data_.data());
  }

 private:
  // One query's top k from its float scores `approx` (n_ long); see the file comment.
  void select_row(const float* approx, const float* query, std::int64_t k, std::int64_t* ids,
                  float* scores) const {
    const std::int64_t kk = std::min(k, n_);
    // The kk largest float scores (min-heap: smallest on top).
    std::priority_queue<float, std::vector<float>, std::greater<float>> largest;
    for (std::int64_t j = 0; j < n_; ++j) {
      if (static_cast<std::int64_t>(largest.size()) < kk) {
        largest.push(approx[j]);
      } else if (approx[j] > largest.top()) {
        largest.pop();
        largest.push(approx[j]);
      }
    }
    const double bound = score_error_bound(norm(query, d_), max_norm_, d_);
    const double threshold = static_cast<double>(largest.top()) - 2 * bound;
    TopK top(k);
    for (std::int64_t j = 0; j < n_; ++j) {
      if (static_cast<double>(approx[j]) >= threshold) {
        top.push(exact_score(query, data_.data() + j * d_, d_), j);
      }
    }
    top.flush(ids, scores);
  }

  std::int64_t d_;
  std::int64_t n_ = 0;
  std::vector<float> data_;  // n_ × d_
  double max_norm_ = 0;      // largest gallery row norm, for the score error bound
};

class FlatInt8Index final : public VectorIndex {
 public:
  explicit FlatInt8Index(std::int64_t dim) { gallery_.d = dim; }

  std::string type() const override { return "flat-int8"; }
  std::int64_t dim() const override { return gallery_.d; }
  std::int64_t size() const override { return gallery_.rows; }
  IndexParams params() const override { return {}; }

  void add(std::int64_t n, const float* x) override {
    VLB_ASSERT(n >= 0 && (n == 0 || x != nullptr));
    append(quantize_int8(x, n, gallery_.d));
  }

  void append(const Int8Matrix& m) {
    VLB_ASSERT(m.d == gallery_.d);
    gallery_.codes.insert(gallery_.codes.end(), m.codes.begin(), m.codes.end());
    gallery_.scales.insert(gallery_.scales.end(), m.scales.begin(), m.scales.end());
    gallery_.rows += m.rows;
  }

  void set_search_param(const std::string& name, const std::string&) override {
    no_search_params(type(), name);
  }

  SearchResult search(std::int64_t n, const float* queries, std::int64_t k,
                      int threads) const override {
    check_search_args(n, queries, k);
    SearchResult result = empty_result(n, k);
    if (n == 0 || gallery_.rows == 0) return result;
    const std::int64_t d = gallery_.d;
    const Int8Matrix q8 = quantize_int8(queries, n, d);
    for_each_query(n, make_pool(threads, n).get(), [&](std::int64_t q) {
      TopK top(k);
      const std::int8_t* qc = q8.codes.data() + q * d;
      const double qs = q8.scales[static_cast<std::size_t>(q)];
      for (std::int64_t j = 0; j < gallery_.rows; ++j) {
        // The quantize.hpp score int8_score(q8, q, gallery_, j), inlined.
        const double score = qs *
                             static_cast<double>(gallery_.scales[static_cast<std::size_t>(j)]) *
                             static_cast<double>(dot_int8(qc, gallery_.codes.data() + j * d, d));
        if (top.accepts(score, j)) top.push(score, j);
      }
      top.flush(result.ids.data() + q * k, result.scores.data() + q * k);
    });
    return result;
  }

  std::int64_t memory_bytes() const override {
    return static_cast<std::int64_t>(gallery_.codes.size() + gallery_.scales.size() * 4);
  }

  void save_payload(const std::filesystem::path& dir) const override {
    write_npy(dir / "codes.npy", DType::i8, {gallery_.rows, gallery_.d}, gallery_.codes.data());
    write_npy(dir / "scales.npy", DType::f32, {gallery_.rows}, gallery_.scales.data());
  }

 private:
  Int8Matrix gallery_;
};

class FlatBinaryIndex final : public VectorIndex {
 public:
  explicit FlatBinaryIndex(std::int64_t dim) {
    gallery_.d = dim;
    gallery_.bytes_per_row = (dim + 7) / 8;
  }

  std::string type() const override { return "flat-binary"; }
  std::int64_t dim() const override { return gallery_.d; }
  std::int64_t size() const override { return gallery_.rows; }
  IndexParams params() const override { return {}; }

  void add(std::int64_t n, const float* x) override {
    VLB_ASSERT(n >= 0 && (n == 0 || x != nullptr));
    append(quantize_binary(x, n, gallery_.d));
  }

  void append(const BinaryMatrix& m) {
    VLB_ASSERT(m.d == gallery_.d && m.bytes_per_row == gallery_.bytes_per_row);
    gallery_.bits.insert(gallery_.bits.end(), m.bits.begin(), m.bits.end());
    gallery_.rows += m.rows;
  }

  void set_search_param(const std::string& name, const std::string&) override {
    no_search_params(type(), name);
  }

  SearchResult search(std::int64_t n, const float* queries, std::int64_t k,
                      int threads) const override {
    check_search_args(n, queries, k);
    SearchResult result = empty_result(n, k);
    if (n == 0 || gallery_.rows == 0) return result;
    const std::int64_t bytes = gallery_.bytes_per_row;
    const BinaryMatrix qb = quantize_binary(queries, n, gallery_.d);
    for_each_query(n, make_pool(threads, n).get(), [&](std::int64_t q) {
      TopK top(k);
      const std::uint8_t* qbits = qb.bits.data() + q * bytes;
      for (std::int64_t j = 0; j < gallery_.rows; ++j) {
        // binary_score: d - 2 · hamming.
        const auto score = static_cast<double>(
            gallery_.d - 2 * hamming(qbits, gallery_.bits.data() + j * bytes, bytes));
        if (top.accepts(score, j)) top.push(score, j);
      }
      top.flush(result.ids.data() + q * k, result.scores.data() + q * k);
    });
    return result;
  }

  std::int64_t memory_bytes() const override {
    return static_cast<std::int64_t>(gallery_.bits.size());
  }

  void save_payload(const std::filesystem::path& dir) const override {
    write_npy(dir / "bits.npy", DType::u8, {gallery_.rows, gallery_.bytes_per_row},
              gallery_.bits.data());
  }

 private:
  BinaryMatrix gallery_;
};

}  // namespace

std::unique_ptr<VectorIndex> make_flat_index(const std::string& type, std::int64_t dim,
                                             const IndexParams& params) {
  check_param_names(type, params, {});
  if (type == "flat") return std::make_unique<FlatIndex>(dim);
  if (type == "flat-int8") return std::make_unique<FlatInt8Index>(dim);
  VLB_ASSERT(type == "flat-binary");
  return std::make_unique<FlatBinaryIndex>(dim);
}

std::unique_ptr<VectorIndex> load_flat_payload(const std::filesystem::path& dir,
                                               const std::string& type, std::int64_t dim,
                                               std::int64_t size, const IndexParams& params) {
  check_param_names(type, params, {});
  if (type == "flat") {
    const std::filesystem::path path = dir / "vectors.npy";
    const NpyArray array = read_npy(path);
    check_payload_shape(path, array, DType::f32, {size, dim});
    auto index = std::make_unique<FlatIndex>(dim);
    const auto* values = reinterpret_cast<const float*>(array.data);
    for (std::int64_t i = 0; i < size * dim; ++i) {
      if (!std::isfinite(values[i])) {
        fail("{}: row {}: expected finite values", path.string(), i / dim);
      }
    }
    index->add(size, values);
    return index;
  }
  if (type == "flat-int8") {
    const std::filesystem::path codes_path = dir / "codes.npy";
    const std::filesystem::path scales_path = dir / "scales.npy";
    const NpyArray codes = read_npy(codes_path);
    check_payload_shape(codes_path, codes, DType::i8, {size, dim});
    const NpyArray scales = read_npy(scales_path);
    check_payload_shape(scales_path, scales, DType::f32, {size});
    Int8Matrix m;
    m.rows = size;
    m.d = dim;
    const auto* c = reinterpret_cast<const std::int8_t*>(codes.data);
    m.codes.assign(c, c + size * dim);
    for (std::int64_t i = 0; i < size * dim; ++i) {
      if (m.codes[static_cast<std::size_t>(i)] == -128) {
        fail("{}: row {}: expected codes in [-127, 127], got -128", codes_path.string(), i / dim);
      }
    }
    const auto* s = reinterpret_cast<const float*>(scales.data);
    m.scales.assign(s, s + size);
    for (std::int64_t i = 0; i < size; ++i) {
      if (!(std::isfinite(s[i]) && s[i] >= 0)) {
        fail("{}: entry {}: expected a finite scale >= 0, got {}", scales_path.string(), i, s[i]);
      }
    }
    auto index = std::make_unique<FlatInt8Index>(dim);
    index->append(m);
    return index;
  }
  VLB_ASSERT(type == "flat-binary");
  const std::filesystem::path path = dir / "bits.npy";
  const NpyArray bits = read_npy(path);
  const std::int64_t bytes_per_row = (dim + 7) / 8;
  check_payload_shape(path, bits, DType::u8, {size, bytes_per_row});
  BinaryMatrix m;
  m.rows = size;
  m.d = dim;
  m.bytes_per_row = bytes_per_row;
  const auto* b = reinterpret_cast<const std::uint8_t*>(bits.data);
  m.bits.assign(b, b + size * bytes_per_row);
  if (dim % 8 != 0) {
    // Padding bits must be zero, or hamming distances would count them.
    const auto pad_mask = static_cast<std::uint8_t>(0xFF << (dim % 8));
    for (std::int64_t r = 0; r < size; ++r) {
      if ((m.bits[static_cast<std::size_t>(r * bytes_per_row + bytes_per_row - 1)] & pad_mask) !=
          0) {
        fail("{}: row {}: expected zero padding bits after bit {}", path.string(), r, dim);
      }
    }
  }
  auto index = std::make_unique<FlatBinaryIndex>(dim);
  index->append(m);
  return index;
}

}  // namespace vlbench
