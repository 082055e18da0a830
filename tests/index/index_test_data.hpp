// Seeded test data and brute-force references for the vector index tests.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <numeric>
#include <vector>

#include "vlbench/core/random.hpp"
#include "vlbench/index/vector_index.hpp"

namespace vlbench::testing {

inline void normalize(std::vector<float>& x, std::int64_t d) {
  for (std::size_t r = 0; r < x.size() / static_cast<std::size_t>(d); ++r) {
    double sum = 0;
    for (std::int64_t j = 0; j < d; ++j) sum += double(x[r * d + j]) * x[r * d + j];
    const double inv = 1.0 / std::sqrt(sum);
    for (std::int64_t j = 0; j < d; ++j) x[r * d + j] = static_cast<float>(x[r * d + j] * inv);
  }
}

// n unit rows of dimension d with Gaussian entries.
inline std::vector<float> random_unit_rows(std::int64_t n, std::int64_t d, std::uint64_t seed) {
  SplitMix64 rng(seed);
  std::vector<float> x(static_cast<std::size_t>(n * d));
  for (float& v : x) v = static_cast<float>(rng.normal());
  normalize(x, d);
  return x;
}

// n unit rows around `clusters` random unit centres (Gaussian offsets of norm ~`spread`), as
// embeddings cluster. Clusters overlap for spread >~ 1; much smaller spreads give isolated
// clusters, which an HNSW graph may not connect (unlike real embeddings).
inline std::vector<float> clustered_rows(std::int64_t n, std::int64_t d, std::int64_t clusters,
                                         std::uint64_t seed, double spread = 1.0) {
  const std::vector<float> centres = random_unit_rows(clusters, d, 0xC0FFEE);
  SplitMix64 rng(seed);
  std::vector<float> x(static_cast<std::size_t>(n * d));
  const double offset = spread / std::sqrt(static_cast<double>(d));
  for (std::int64_t r = 0; r < n; ++r) {
    const std::int64_t c =
        static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(clusters)));
    for (std::int64_t j = 0; j < d; ++j) {
      x[r * d + j] = static_cast<float>(centres[c * d + j] + offset * rng.normal());
    }
  }
  normalize(x, d);
  return x;
}

// The top k of score(q, j) over j < n_gallery, by (score desc, j asc); tail -1.
inline std::vector<std::int64_t> brute_force_ids(
    std::int64_t n_queries, std::int64_t n_gallery, std::int64_t k,
    const std::function<double(std::int64_t, std::int64_t)>& score,
    std::vector<double>* scores = nullptr) {
  std::vector<std::int64_t> ids(static_cast<std::size_t>(n_queries * k), -1);
  if (scores != nullptr) scores->assign(ids.size(), -INFINITY);
  std::vector<std::int64_t> order(static_cast<std::size_t>(n_gallery));
  std::vector<double> s(static_cast<std::size_t>(n_gallery));
  for (std::int64_t q = 0; q < n_queries; ++q) {
    for (std::int64_t j = 0; j < n_gallery; ++j) s[j] = score(q, j);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(),
              [&](std::int64_t a, std::int64_t b) { return s[a] != s[b] ? s[a] > s[b] : a < b; });
    for (std::int64_t i = 0; i < std::min(k, n_gallery); ++i) {
      ids[q * k + i] = order[i];
      if (scores != nullptr) (*scores)[q * k + i] = s[order[i]];
    }
  }
  return ids;
}

// Plain double dot product, an independent reference for the flat index's exact scores.
inline double dot_double(const float* a, const float* b, std::int64_t d) {
  double sum = 0;
  for (std::int64_t j = 0; j < d; ++j) sum += static_cast<double>(a[j]) * static_cast<double>(b[j]);
  return sum;
}

// Fraction of each query's `truth` top k found in `result`'s top k (ids >= 0).
inline double recall_at(const SearchResult& result, const SearchResult& truth, std::int64_t k) {
  std::int64_t hits = 0;
  for (std::int64_t q = 0; q < truth.n; ++q) {
    for (std::int64_t i = 0; i < k; ++i) {
      const std::int64_t id = truth.ids[q * truth.k + i];
      const auto* row = result.ids.data() + q * result.k;
      if (std::find(row, row + k, id) != row + k) ++hits;
    }
  }
  return static_cast<double>(hits) / static_cast<double>(truth.n * k);
}

}  // namespace vlbench::testing
