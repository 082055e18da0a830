// Late-interaction re-ranking speed (issue 4's target): MaxSim of one query of 25 tokens
// against 100 candidates of 1,030 tokens × d 128 (ColPali page size), by maxsim_candidates
// (register-blocked SIMD tiles) against maxsim_reference (the naive triple loop) on the same
// seeded data. Target: under 5 ms per query.
//
//   maxsim_bench [--reps 15] [--threads 1] [--gallery 400] [--hot]
//
// The candidates are 100 random rows of a larger gallery (400 items × 1,030 × 128 floats =
// 211 MB), so they stream from memory as in real use instead of sitting in cache.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <time.h>

#include <cmath>
#include <cstdio>
#include <vector>

#include "bench_util.hpp"
#include "vlbench/core/random.hpp"
#include "vlbench/core/thread_pool.hpp"
#include "vlbench/index/maxsim.hpp"

using namespace vlbench;

namespace {

// CPU seconds of the calling thread: excludes the time other processes held the core, so on
// a busy machine it shows what an idle one would (single-threaded runs only).
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 15;
  int threads = 1;
  std::int64_t n_gallery = 400;
  bool hot = false;
  CLI::App app("MaxSim re-ranking of 100 candidates: SIMD kernel vs naive loop");
  app.add_option("--reps", reps, "timed repetitions (median reported)")->capture_default_str();
  app.add_option("--threads", threads, "threads over candidates (1: the plain call)")
      ->capture_default_str();
  app.add_option("--gallery", n_gallery, "items the 100 candidates are drawn from (>= 100)")
      ->capture_default_str();
  app.add_flag("--hot", hot, "every candidate is item 0 (in cache): compute speed alone");
  CLI11_PARSE(app, argc, argv);
  if (n_gallery < 100 || reps < 1 || threads < 1) {
    std::fprintf(stderr, "--gallery must be >= 100, --reps and --threads >= 1\n");
    return 2;
  }

  constexpr std::int64_t n_q = 25, t_max = 1030, d = 128, n_candidates = 100;
  SplitMix64 rng(20261127);
  MultiVectorSet docs;
  docs.n = n_gallery;
  docs.t_max = t_max;
  docs.d = d;
  docs.tokens.resize(static_cast<std::size_t>(n_gallery * t_max * d));
  for (float& x : docs.tokens) x = static_cast<float>(rng.uniform() * 2.0 - 1.0);
  docs.lengths.assign(static_cast<std::size_t>(n_gallery), static_cast<std::int32_t>(t_max));
  std::vector<float> query(static_cast<std::size_t>(n_q * d));
  for (float& x : query) x = static_cast<float>(rng.uniform() * 2.0 - 1.0);
  std::vector<std::int64_t> candidates(n_candidates);
  for (std::int64_t& c : candidates) c = hot ? 0 : static_cast<std::int64_t>(rng.below(n_gallery));

  std::vector<double> fast(n_candidates), naive(n_candidates);
  ThreadPool pool(threads);
  const auto run_fast = [&] {
    if (threads == 1) {
      maxsim_candidates(query.data(), n_q, docs, candidates, fast);
    } else {
      maxsim_candidates(query.data(), n_q, docs, candidates, fast, pool);
    }
  };
  const auto run_naive = [&] {
    for (std::int64_t c = 0; c < n_candidates; ++c) {
      naive[c] = maxsim_reference(query.data(), n_q, docs.item(candidates[c]), t_max, d);
    }
  };
  run_fast();  // warm-up
  run_naive();
  double max_rel = 0.0;
  for (std::int64_t c = 0; c < n_candidates; ++c) {
    max_rel = std::max(max_rel, std::abs(fast[c] - naive[c]) / std::abs(naive[c]));
  }
  std::vector<double> cpu;
  const bench::Timing t_fast = bench::time_reps(reps, [&] {
    const double start = thread_cpu_seconds();
    run_fast();
    cpu.push_back(thread_cpu_seconds() - start);
  });
  const bench::Timing t_naive = bench::time_reps(std::max(3, reps / 5), run_naive);

  fmt::print("machine: {}, load average {}\n", bench::cpu_model(), bench::load_average());
  fmt::print("shape: query {} tokens, {} candidates of {} tokens, d {}; threads {}{}\n", n_q,
             n_candidates, t_max, d, threads, hot ? "; --hot (one cached candidate)" : "");
  fmt::print("maxsim_candidates: median {:.3f} ms (min {:.3f}, max {:.3f})\n", t_fast.median * 1e3,
             t_fast.min * 1e3, t_fast.max * 1e3);
  if (threads == 1) {
    fmt::print("maxsim_candidates thread CPU time: median {:.3f} ms\n",
               bench::median_of(cpu) * 1e3);
  }
  fmt::print("maxsim_reference (naive loop): median {:.3f} ms (min {:.3f}, max {:.3f})\n",
             t_naive.median * 1e3, t_naive.min * 1e3, t_naive.max * 1e3);
  fmt::print("speedup over naive: {:.1f}x; {:.1f} GFLOP/s; max relative difference {:.2e}\n",
             t_naive.median / t_fast.median,
             2.0 * n_q * t_max * d * n_candidates / t_fast.median * 1e-9, max_rel);
  fmt::print("target < 5 ms: {}\n", t_fast.median < 5e-3 ? "met" : "NOT met");
  return 0;
}
