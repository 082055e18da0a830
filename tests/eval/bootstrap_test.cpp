#include <vlbench/core/thread_pool.hpp>
#include <vlbench/eval/bootstrap.hpp>

#include <gtest/gtest.h>

#include <cmath>

namespace vlbench {
namespace {

std::vector<double> hits(int n, int n_hits) {
  std::vector<double> v(n, 0.0);
  for (int i = 0; i < n_hits; ++i) v[(i * 7919) % n] = 1.0;
  return v;
}

TEST(Bootstrap, PercentileInterpolatesLikeNumPy) {
  // numpy.percentile([1, 2, 3, 4], [0, 25, 50, 97.5, 100]) = 1, 1.75, 2.5, 3.925, 4
  std::vector<double> v = {4, 1, 3, 2};
  EXPECT_DOUBLE_EQ(percentile(v, 0), 1.0);
  EXPECT_DOUBLE_EQ(percentile(v, 25), 1.75);
  EXPECT_DOUBLE_EQ(percentile(v, 50), 2.5);
  EXPECT_NEAR(percentile(v, 97.5), 3.925, 1e-12);
  EXPECT_DOUBLE_EQ(percentile(v, 100), 4.0);
}

TEST(Bootstrap, StatisticsOfWholeSample) {
  const std::vector<double> odd = {5, 1, 3};
  const std::vector<double> even = {5, 1, 3, 10};
  EXPECT_DOUBLE_EQ(statistic_of(odd, Statistic::median), 3.0);
  EXPECT_DOUBLE_EQ(statistic_of(even, Statistic::median), 4.0);
  EXPECT_DOUBLE_EQ(statistic_of(even, Statistic::mean), 4.75);
}

TEST(Bootstrap, ReproducibleForSeedAndThreadCount) {
  const std::vector<double> v = hits(997, 400);
  ThreadPool one(1), two(2);
  const Estimate a = bootstrap_mean(v, {1000, 7}, one);
  const Estimate b = bootstrap_mean(v, {1000, 7}, two);
  const Estimate c = bootstrap_mean(v, {1000, 7}, two);
  EXPECT_EQ(a.lo, b.lo);
  EXPECT_EQ(a.hi, b.hi);
  EXPECT_EQ(b.lo, c.lo);
  EXPECT_DOUBLE_EQ(a.value, 400.0 / 997.0);
  const Estimate other_seed = bootstrap_mean(v, {1000, 8}, two);
  EXPECT_TRUE(other_seed.lo != a.lo || other_seed.hi != a.hi);
}

TEST(Bootstrap, IntervalMatchesBinomialWidth) {
  // p = 0.4, n = 997: normal-approximation 95% half-width 1.96·sqrt(p(1-p)/n) = 0.0304.
  const std::vector<double> v = hits(997, 400);
  ThreadPool pool(2);
  const Estimate e = bootstrap_mean(v, {2000, 1}, pool);
  EXPECT_LT(e.lo, e.value);
  EXPECT_GT(e.hi, e.value);
  EXPECT_NEAR(e.hi - e.lo, 2 * 0.0304, 0.006);
  EXPECT_NEAR(0.5 * (e.hi + e.lo), e.value, 0.005);
}

TEST(Bootstrap, ZeroResamplesGivesPointInterval) {
  const std::vector<double> v = {1, 2, 3};
  ThreadPool pool(1);
  const Estimate e = bootstrap_median(v, {0, 0}, pool);
  EXPECT_EQ(e.value, 2.0);
  EXPECT_EQ(e.lo, 2.0);
  EXPECT_EQ(e.hi, 2.0);
}

TEST(Bootstrap, PairedIdenticalSamplesHavePValueOne) {
  const std::vector<double> v = hits(500, 200);
  ThreadPool pool(2);
  const PairedDifference d = paired_bootstrap(v, v, Statistic::mean, {1000, 3}, pool);
  EXPECT_EQ(d.diff.value, 0.0);
  EXPECT_EQ(d.diff.lo, 0.0);
  EXPECT_EQ(d.diff.hi, 0.0);
  EXPECT_EQ(d.p_value, 1.0);
}

TEST(Bootstrap, PairedClearImprovementIsSignificant) {
  // B fixes 100 of A's 300 misses and breaks none: the paired test must see it.
  std::vector<double> a = hits(500, 200), b = a;
  int fixed = 0;
  for (auto& x : b) {
    if (x == 0.0 && fixed < 100) {
      x = 1.0;
      ++fixed;
    }
  }
  ThreadPool pool(2);
  const PairedDifference d = paired_bootstrap(a, b, Statistic::mean, {1000, 3}, pool);
  EXPECT_DOUBLE_EQ(d.diff.value, 0.2);
  EXPECT_GT(d.diff.lo, 0.15);
  EXPECT_LT(d.diff.hi, 0.25);
  EXPECT_DOUBLE_EQ(d.p_value, 1.0 / 1001.0);
}

TEST(Bootstrap, PairedSmallNoisyDifferenceIsNotSignificant) {
  // B fixes 3 queries and breaks 2 of 500: not significant.
  std::vector<double> a = hits(500, 200), b = a;
  int fixed = 0, broken = 0;
  for (auto& x : b) {
    if (x == 0.0 && fixed < 3) {
      x = 1.0;
      ++fixed;
    } else if (x == 1.0 && broken < 2) {
      x = 0.0;
      ++broken;
    }
  }
  ThreadPool pool(2);
  const PairedDifference d = paired_bootstrap(a, b, Statistic::mean, {1000, 3}, pool);
  EXPECT_DOUBLE_EQ(d.diff.value, 0.002);
  EXPECT_GT(d.p_value, 0.3);
  EXPECT_LT(d.diff.lo, 0.0);
  EXPECT_GT(d.diff.hi, 0.0);
}

}  // namespace
}  // namespace vlbench
