// Synthetic clustered galleries for index benchmarks: unit vectors that cluster the way real
// embeddings do (many near-duplicate scenes, low intrinsic dimension), so approximate indexes
// behave on them roughly as they do on CLIP embeddings. Uniform random vectors would not do:
// in 768 dimensions all their neighbours are nearly equidistant and every ANN index fails.
//
// Row r of the gallery (and query q) is built from its own SplitMix64::for_item stream, so
// the data are identical on every machine and for any thread count:
//   x = normalize(centre_c + spread · B_c z / sqrt(latent_dim) + noise · e / sqrt(d))
// centre_c: a unit vector per cluster c (chosen uniformly per row); B_c: d × latent_dim with
// N(0, 1/d) entries per cluster (the cluster's own low-dimensional directions, about unit
// length each, so the offset's norm is about `spread`);
// z: latent_dim standard normals; e: d standard normals. Queries are fresh points of the same
// clusters (own streams), i.e. near the gallery distribution but not copies of gallery rows.
#pragma once

#include <vlbench/core/npy.hpp>

#include <cstdint>

namespace vlbench {

struct SyntheticSpec {
  std::int64_t n = 10000;         // gallery rows
  std::int64_t n_queries = 1000;  // query rows
  std::int64_t d = 128;           // dimension
  std::int64_t clusters = 0;      // <= 0: max(1, n / 1000)
  std::int64_t latent_dim = 16;   // intrinsic dimension of a cluster's spread (>= 1)
  double spread = 0.6;            // norm of the within-cluster offset against the unit centre
  double noise = 0.15;            // norm of the isotropic residual
  std::uint64_t seed = 0;
};

struct SyntheticData {
  MatrixF32 gallery;          // n × d, unit rows
  MatrixF32 queries;          // n_queries × d, unit rows
  std::int64_t clusters = 0;  // the effective cluster count
};

// Error (naming the field) when n, n_queries, d or latent_dim is < 1, or spread / noise is
// negative or not finite. threads <= 0: all cores. The output does not depend on threads.
SyntheticData make_synthetic_clustered(const SyntheticSpec& spec, int threads = 0);

}  // namespace vlbench
