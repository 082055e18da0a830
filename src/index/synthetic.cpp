// Synthetic clustered galleries (synthetic.hpp).
#include <vlbench/core/error.hpp>
#include <vlbench/core/random.hpp>
#include <vlbench/core/thread_pool.hpp>
#include <vlbench/index/synthetic.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

namespace vlbench {

namespace {

// Stream seeds of the four kinds of random draws, so no two share a stream.
constexpr std::uint64_t kCentreStream = 0x43454E5452450001ull;
constexpr std::uint64_t kBasisStream = 0x4241534953000002ull;
constexpr std::uint64_t kGalleryStream = 0x47414C4C45520003ull;
constexpr std::uint64_t kQueryStream = 0x5155455259000004ull;

struct Clusters {
  std::int64_t count = 0;
  std::vector<float> centres;  // count × d, unit rows
  std::vector<float> basis;    // count × latent_dim × d: B_c transposed, standard normal
};

void normalize(float* row, const std::vector<double>& v) {
  double norm = 0.0;
  for (double x : v) norm += x * x;
  const double inv = 1.0 / std::sqrt(norm);
  for (std::size_t j = 0; j < v.size(); ++j) row[j] = static_cast<float>(v[j] * inv);
}

// Row `item` of stream `stream`: a point of a uniformly chosen cluster.
void make_point(const SyntheticSpec& spec, const Clusters& clusters, std::uint64_t stream,
                std::uint64_t item, std::vector<double>& v, std::vector<double>& z, float* out) {
  SplitMix64 rng = SplitMix64::for_item(spec.seed ^ stream, item);
  const auto c = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(clusters.count)));
  const std::int64_t d = spec.d;
  const float* centre = &clusters.centres[static_cast<std::size_t>(c * d)];
  for (std::int64_t j = 0; j < d; ++j) v[j] = centre[j];
  const double latent_scale = spec.spread / std::sqrt(static_cast<double>(spec.latent_dim));
  for (auto& x : z) x = rng.normal() * latent_scale;
  const float* basis = &clusters.basis[static_cast<std::size_t>(c * spec.latent_dim * d)];
  for (std::int64_t l = 0; l < spec.latent_dim; ++l) {
    const float* b = basis + l * d;
    for (std::int64_t j = 0; j < d; ++j) v[j] += z[l] * b[j];
  }
  const double noise_scale = spec.noise / std::sqrt(static_cast<double>(d));
  for (std::int64_t j = 0; j < d; ++j) v[j] += rng.normal() * noise_scale;
  normalize(out, v);
}

void fill_rows(const SyntheticSpec& spec, const Clusters& clusters, std::uint64_t stream,
               MatrixF32& m, ThreadPool& pool) {
  pool.parallel_for(m.rows, [&](std::int64_t begin, std::int64_t end) {
    std::vector<double> v(static_cast<std::size_t>(spec.d));
    std::vector<double> z(static_cast<std::size_t>(spec.latent_dim));
    for (std::int64_t i = begin; i < end; ++i) {
      make_point(spec, clusters, stream, static_cast<std::uint64_t>(i), v, z, m.row(i));
    }
  });
}

}  // namespace

SyntheticData make_synthetic_clustered(const SyntheticSpec& spec, int threads) {
  if (spec.n < 1) fail("synthetic gallery: n: expected >= 1, got {}", spec.n);
  if (spec.n_queries < 1)
    fail("synthetic gallery: n_queries: expected >= 1, got {}", spec.n_queries);
  if (spec.d < 1) fail("synthetic gallery: d: expected >= 1, got {}", spec.d);
  if (spec.latent_dim < 1) {
    fail("synthetic gallery: latent_dim: expected >= 1, got {}", spec.latent_dim);
  }
  if (!std::isfinite(spec.spread) || spec.spread < 0) {
    fail("synthetic gallery: spread: expected a finite value >= 0, got {}", spec.spread);
  }
  if (!std::isfinite(spec.noise) || spec.noise < 0) {
    fail("synthetic gallery: noise: expected a finite value >= 0, got {}", spec.noise);
  }
  const std::int64_t d = spec.d;
  Clusters clusters;
  clusters.count = spec.clusters > 0 ? spec.clusters : std::max<std::int64_t>(1, spec.n / 1000);
  clusters.centres.resize(static_cast<std::size_t>(clusters.count * d));
  clusters.basis.resize(static_cast<std::size_t>(clusters.count * spec.latent_dim * d));
  ThreadPool pool(threads);
  pool.parallel_for(clusters.count, [&](std::int64_t begin, std::int64_t end) {
    std::vector<double> v(static_cast<std::size_t>(d));
    for (std::int64_t c = begin; c < end; ++c) {
      SplitMix64 rng =
          SplitMix64::for_item(spec.seed ^ kCentreStream, static_cast<std::uint64_t>(c));
      for (auto& x : v) x = rng.normal();
      normalize(&clusters.centres[static_cast<std::size_t>(c * d)], v);
      SplitMix64 basis_rng =
          SplitMix64::for_item(spec.seed ^ kBasisStream, static_cast<std::uint64_t>(c));
      float* basis = &clusters.basis[static_cast<std::size_t>(c * spec.latent_dim * d)];
      for (std::int64_t i = 0; i < spec.latent_dim * d; ++i) {
        basis[i] = static_cast<float>(basis_rng.normal());
      }
    }
  });
  // B_c z with standard normal entries has norm about sqrt(latent_dim · d)·|z|/sqrt(latent_dim)
  // = sqrt(d)·spread: scale the basis by 1/sqrt(d) so the offset's norm is about `spread`.
  const float basis_scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(d)));
  for (float& b : clusters.basis) b *= basis_scale;

  SyntheticData data;
  data.clusters = clusters.count;
  data.gallery.rows = spec.n;
  data.gallery.cols = d;
  data.gallery.values.resize(static_cast<std::size_t>(spec.n * d));
  data.queries.rows = spec.n_queries;
  data.queries.cols = d;
  data.queries.values.resize(static_cast<std::size_t>(spec.n_queries * d));
  fill_rows(spec, clusters, kGalleryStream, data.gallery, pool);
  fill_rows(spec, clusters, kQueryStream, data.queries, pool);
  return data;
}

}  // namespace vlbench
