// Hierarchical token pooling of multi-vector embeddings, as colpali-engine's
// HierarchicalTokenPooler does it (compression/token_pooling), to store fewer tokens per page:
//   1. D = 1 − E·Eᵀ for the item's n unit tokens E (n × d);
//   2. scipy.cluster.hierarchy.linkage(D, method="ward", metric="euclidean"): D's rows are the
//      observations (n points in n dimensions — SciPy reads a square array as observations, not
//      as a distance matrix), Ward's minimum-variance merges by the Lance–Williams update;
//   3. fcluster(Z, t = max(n // pool_factor, 1), criterion="maxclust"): the smallest merge
//      height whose cut leaves at most t clusters;
//   4. each cluster's mean token, L2-normalized.
// Checked against SciPy itself (tests/fixtures/pooling/, made by make_pooling_goldens.py).
#pragma once

#include <vlbench/index/maxsim.hpp>

#include <cstdint>
#include <vector>

namespace vlbench {

class ThreadPool;

// The cluster of each of the n tokens (0-based, numbered in order of each cluster's first
// token) and the number of clusters. pool_factor >= 1; pool_factor 1 or n == 1: every token its
// own cluster. tokens: n × d float32.
std::vector<std::int32_t> hierarchical_token_clusters(const float* tokens, std::int64_t n,
                                                      std::int64_t d, int pool_factor,
                                                      std::int64_t* n_clusters);

// Every item of `set` pooled (the clusters' normalized means, in cluster order); t_max becomes
// the largest pooled length. Items run in parallel over `pool`; the result does not depend on
// the thread count.
MultiVectorSet pool_tokens(const MultiVectorSet& set, int pool_factor, ThreadPool& pool);

}  // namespace vlbench
