#include <vlbench/core/error.hpp>
#include <vlbench/core/random.hpp>
#include <vlbench/core/thread_pool.hpp>
#include <vlbench/eval/bootstrap.hpp>

#include <algorithm>
#include <cmath>

namespace vlbench {

namespace {

// Median of `values`, reordering them (nth_element).
double median_in_place(std::span<double> values) {
  const std::size_t n = values.size();
  VLB_ASSERT(n > 0);
  const std::size_t mid = n / 2;
  std::nth_element(values.begin(), values.begin() + mid, values.end());
  const double upper = values[mid];
  if (n % 2 == 1) return upper;
  const double lower = *std::max_element(values.begin(), values.begin() + mid);
  return 0.5 * (lower + upper);
}

Estimate interval(double value, std::vector<double> resampled) {
  if (resampled.empty()) return {value, value, value};
  return {value, percentile(resampled, 2.5), percentile(resampled, 97.5)};
}

// Column c of the row-major result of resample_statistics.
std::vector<double> column(const std::vector<double>& table, std::size_t n_columns, std::size_t c) {
  std::vector<double> out;
  out.reserve(table.size() / n_columns);
  for (std::size_t i = c; i < table.size(); i += n_columns) out.push_back(table[i]);
  return out;
}

}  // namespace

double statistic_of(std::span<const double> values, Statistic statistic) {
  VLB_ASSERT(!values.empty());
  if (statistic == Statistic::mean) {
    double sum = 0.0;
    for (double v : values) sum += v;
    return sum / static_cast<double>(values.size());
  }
  std::vector<double> copy(values.begin(), values.end());
  return median_in_place(copy);
}

double percentile(std::vector<double>& values, double q) {
  VLB_ASSERT(!values.empty() && q >= 0.0 && q <= 100.0);
  std::sort(values.begin(), values.end());
  const double position = q / 100.0 * static_cast<double>(values.size() - 1);
  const auto below = static_cast<std::size_t>(std::floor(position));
  const std::size_t above = std::min(below + 1, values.size() - 1);
  const double fraction = position - static_cast<double>(below);
  return values[below] + fraction * (values[above] - values[below]);
}

std::vector<double> resample_statistics(std::span<const std::span<const double>> columns,
                                        std::span<const Statistic> statistics,
                                        const BootstrapOptions& options, ThreadPool& pool) {
  VLB_ASSERT(!columns.empty() && columns.size() == statistics.size());
  const std::size_t n = columns[0].size();
  VLB_ASSERT(n > 0);
  for (const auto& c : columns) VLB_ASSERT(c.size() == n);
  const std::size_t n_columns = columns.size();
  const auto n_resamples = static_cast<std::int64_t>(std::max(0, options.n_resamples));
  std::vector<double> result(static_cast<std::size_t>(n_resamples) * n_columns);

  pool.parallel_for(
      n_resamples,
      [&](std::int64_t begin, std::int64_t end) {
        std::vector<std::uint32_t> draws(n);
        std::vector<double> gathered(n);
        for (std::int64_t r = begin; r < end; ++r) {
          SplitMix64 rng = SplitMix64::for_item(options.seed, static_cast<std::uint64_t>(r));
          for (auto& d : draws) d = static_cast<std::uint32_t>(rng.below(n));
          for (std::size_t c = 0; c < n_columns; ++c) {
            const double* values = columns[c].data();
            double stat;
            if (statistics[c] == Statistic::mean) {
              double sum = 0.0;
              for (std::uint32_t d : draws) sum += values[d];
              stat = sum / static_cast<double>(n);
            } else {
              for (std::size_t i = 0; i < n; ++i) gathered[i] = values[draws[i]];
              stat = median_in_place(gathered);
            }
            result[static_cast<std::size_t>(r) * n_columns + c] = stat;
          }
        }
      },
      1);
  return result;
}

std::vector<Estimate> bootstrap_estimates(std::span<const std::span<const double>> columns,
                                          std::span<const Statistic> statistics,
                                          const BootstrapOptions& options, ThreadPool& pool) {
  const std::vector<double> table = resample_statistics(columns, statistics, options, pool);
  std::vector<Estimate> estimates;
  for (std::size_t c = 0; c < columns.size(); ++c) {
    const double value = statistic_of(columns[c], statistics[c]);
    estimates.push_back(interval(value, column(table, columns.size(), c)));
  }
  return estimates;
}

namespace {

Estimate bootstrap_one(std::span<const double> values, Statistic statistic,
                       const BootstrapOptions& options, ThreadPool& pool) {
  const std::span<const double> columns[] = {values};
  const Statistic statistics[] = {statistic};
  return bootstrap_estimates(columns, statistics, options, pool)[0];
}

}  // namespace

Estimate bootstrap_mean(std::span<const double> values, const BootstrapOptions& options,
                        ThreadPool& pool) {
  return bootstrap_one(values, Statistic::mean, options, pool);
}

Estimate bootstrap_median(std::span<const double> values, const BootstrapOptions& options,
                          ThreadPool& pool) {
  return bootstrap_one(values, Statistic::median, options, pool);
}

PairedDifference paired_bootstrap(std::span<const double> a, std::span<const double> b,
                                  Statistic statistic, const BootstrapOptions& options,
                                  ThreadPool& pool) {
  VLB_ASSERT(a.size() == b.size() && !a.empty());
  PairedDifference out;
  out.a = statistic_of(a, statistic);
  out.b = statistic_of(b, statistic);
  const double observed = out.b - out.a;

  const std::span<const double> columns[] = {a, b};
  const Statistic statistics[] = {statistic, statistic};
  const std::vector<double> table = resample_statistics(columns, statistics, options, pool);
  const std::vector<double> stat_a = column(table, 2, 0);
  const std::vector<double> stat_b = column(table, 2, 1);
  std::vector<double> diffs(stat_a.size());
  std::int64_t at_least_as_extreme = 0;
  for (std::size_t r = 0; r < diffs.size(); ++r) {
    diffs[r] = stat_b[r] - stat_a[r];
    // Shifting the bootstrap distribution to mean zero gives the null distribution.
    if (std::abs(diffs[r] - observed) >= std::abs(observed)) ++at_least_as_extreme;
  }
  out.p_value =
      static_cast<double>(1 + at_least_as_extreme) / static_cast<double>(1 + diffs.size());
  out.diff = interval(observed, std::move(diffs));
  return out;
}

}  // namespace vlbench
