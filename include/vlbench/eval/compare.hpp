// Paired comparison of two evaluations of the same queries (same dataset file, split and
// protocol): for every metric, the difference B - A with a paired bootstrap interval and a
// two-sided p-value.
#pragma once

#include <vlbench/eval/bootstrap.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace vlbench {

// Per-query values of one evaluation, as stored beside a results document.
struct PerQuery {
  std::vector<std::int32_t> t2i_rank;  // empty when absent
  std::vector<std::int32_t> i2t_rank;
  std::vector<std::uint8_t> winoground_outcome;
};

struct EvalResult;
// The per-query values of an evaluation (its ranks, or its Winoground outcomes).
PerQuery per_query_of(const EvalResult& result);

struct MetricComparison {
  std::string name;  // "t2i.r1", "i2t.mrr", "winoground.group", ...
  PairedDifference result;
};

// Metrics compared: t2i/i2t r1 r5 r10 mrr median_rank; winoground text image group.
// Arrays present in one but not the other, or of different lengths, are an Error.
std::vector<MetricComparison> compare_per_query(const PerQuery& a, const PerQuery& b,
                                                const BootstrapOptions& options, int threads = 0);

}  // namespace vlbench
