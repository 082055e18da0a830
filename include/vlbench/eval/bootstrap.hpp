// Percentile bootstrap over per-query (or per-example) values.
//
// Resample b (0 <= b < n_resamples) draws n indices uniformly with replacement from the
// stream SplitMix64::for_item(seed, b), so every resample, and so every interval, is the same
// for any thread count. The 95% interval is the 2.5th and 97.5th percentiles of the resampled
// statistic, with linear interpolation between order statistics (NumPy's default method).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace vlbench {

class ThreadPool;

struct Estimate {
  double value = 0.0;  // the statistic on the full sample
  double lo = 0.0;     // 95% interval
  double hi = 0.0;
};

enum class Statistic { mean, median };

struct BootstrapOptions {
  int n_resamples = 1000;  // 0: no interval (lo = hi = value)
  std::uint64_t seed = 0;
};

// The statistic of a whole sample (median: mean of the middle two when n is even).
double statistic_of(std::span<const double> values, Statistic statistic);

// The resampled statistics of several columns over the same n queries, drawn jointly (resample
// r uses the same indices for every column): result[r * n_columns + c]. Every column has n
// values, n > 0.
std::vector<double> resample_statistics(std::span<const std::span<const double>> columns,
                                        std::span<const Statistic> statistics,
                                        const BootstrapOptions& options, ThreadPool& pool);

// Each column's statistic with its 95% interval, from one joint resampling.
std::vector<Estimate> bootstrap_estimates(std::span<const std::span<const double>> columns,
                                          std::span<const Statistic> statistics,
                                          const BootstrapOptions& options, ThreadPool& pool);

// Percentile q in [0, 100] of `values` (sorted in place), linear interpolation.
double percentile(std::vector<double>& values, double q);

// Mean of `values` with its bootstrap interval.
Estimate bootstrap_mean(std::span<const double> values, const BootstrapOptions& options,
                        ThreadPool& pool);

// Median of `values` with its bootstrap interval.
Estimate bootstrap_median(std::span<const double> values, const BootstrapOptions& options,
                          ThreadPool& pool);

// Paired comparison of two samples over the same n queries (a[i] and b[i] belong to query i).
// statistic: the metric on a sample (mean for recall and MRR, median for the median rank).
struct PairedDifference {
  double a = 0.0, b = 0.0;  // the statistic on each full sample
  Estimate diff;            // b - a, with its 95% percentile interval
  // Two-sided p-value of "no difference": (1 + #{|d*_r - d| >= |d|}) / (1 + R), where d*_r is
  // the resampled difference (the bootstrap distribution shifted to the null hypothesis).
  double p_value = 1.0;
};

PairedDifference paired_bootstrap(std::span<const double> a, std::span<const double> b,
                                  Statistic statistic, const BootstrapOptions& options,
                                  ThreadPool& pool);

}  // namespace vlbench
