// rank_bench: speed and peak memory of rank_targets on synthetic clustered data shaped like
// the COCO Karpathy 5K `standard` t2i protocol (25,010 caption queries × 5,000 images ×
// 1,024 dims), per GEMM backend, against the baseline of ONE plain gemm_nt of the same full
// shape (the whole 25,010 × 5,000 score matrix materialized) through the same backend.
//
//   rank_bench [--queries N] [--gallery N] [--dim D] [--threads T] [--reps R]
//              [--backend NAME] [--block-mib MIB ...] [--image-noise X] [--caption-noise X]
#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include "bench_util.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "vlbench/core/error.hpp"
#include "vlbench/core/random.hpp"
#include "vlbench/core/thread_pool.hpp"
#include "vlbench/index/exact_rank.hpp"
#include "vlbench/kernels/gemm.hpp"

namespace vlbench {
namespace {

using namespace vlbench::bench;

struct Options {
  std::int64_t n_queries = 25010;
  std::int64_t n_gallery = 5000;
  std::int64_t d = 1024;
  int threads = static_cast<int>(std::thread::hardware_concurrency());
  int reps = 3;
  std::string backend;            // empty: every available backend
  std::vector<double> block_mib;  // empty: RankOptions' default
  double image_noise = 0.5;       // norm of the noise added to a cluster center
  double caption_noise = 6.0;     // norm of the noise added to an image (R@1 about 50%)
};

// Synthetic CLIP-like embeddings: images are cluster centers plus noise (COCO has many
// near-duplicate scenes), captions are their image plus more noise; all unit vectors.
struct Data {
  std::vector<float> queries;  // n_queries × d
  std::vector<float> gallery;  // n_gallery × d
  std::vector<std::int64_t> target_begin;
  std::vector<std::int32_t> target_ids;
};

void add_noise_and_normalize(float* row, const float* base, std::int64_t d, double sigma,
                             SplitMix64& rng) {
  const double scale = sigma / std::sqrt(static_cast<double>(d));  // noise norm about sigma
  double norm = 0.0;
  for (std::int64_t p = 0; p < d; ++p) {
    const double v = base[p] + scale * rng.normal();
    row[p] = static_cast<float>(v);
    norm += v * v;
  }
  const double inv = 1.0 / std::sqrt(norm);
  for (std::int64_t p = 0; p < d; ++p) row[p] = static_cast<float>(row[p] * inv);
}

Data make_data(const Options& o, ThreadPool& pool) {
  const std::int64_t n_clusters = std::max<std::int64_t>(1, o.n_gallery / 50);
  const std::vector<float> zero(static_cast<std::size_t>(o.d), 0.0f);
  std::vector<float> centers(static_cast<std::size_t>(n_clusters * o.d));
  pool.parallel_for(n_clusters, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t c = begin; c < end; ++c) {
      SplitMix64 rng = SplitMix64::for_item(1, static_cast<std::uint64_t>(c));
      add_noise_and_normalize(&centers[c * o.d], zero.data(), o.d, 1.0, rng);
    }
  });
  Data data;
  data.gallery.resize(static_cast<std::size_t>(o.n_gallery * o.d));
  pool.parallel_for(o.n_gallery, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      SplitMix64 rng = SplitMix64::for_item(2, static_cast<std::uint64_t>(i));
      const auto c = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(n_clusters)));
      add_noise_and_normalize(&data.gallery[i * o.d], &centers[c * o.d], o.d, o.image_noise, rng);
    }
  });
  // Caption q describes image q mod n_gallery: 5 each, plus a 6th for the first few images
  // when n_queries is not a multiple (25,010 = 5 × 5,000 + 10, as in the real file).
  data.queries.resize(static_cast<std::size_t>(o.n_queries * o.d));
  pool.parallel_for(o.n_queries, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t q = begin; q < end; ++q) {
      SplitMix64 rng = SplitMix64::for_item(3, static_cast<std::uint64_t>(q));
      const std::int64_t image = q % o.n_gallery;
      add_noise_and_normalize(&data.queries[q * o.d], &data.gallery[image * o.d], o.d,
                              o.caption_noise, rng);
    }
  });
  data.target_begin.resize(static_cast<std::size_t>(o.n_queries + 1));
  data.target_ids.resize(static_cast<std::size_t>(o.n_queries));
  for (std::int64_t q = 0; q <= o.n_queries; ++q) data.target_begin[q] = q;
  for (std::int64_t q = 0; q < o.n_queries; ++q) {
    data.target_ids[q] = static_cast<std::int32_t>(q % o.n_gallery);
  }
  return data;
}

// The process's resident-set high-water mark (VmHWM) and current resident set (VmRSS), MiB.
double proc_status_mib(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stod(line.substr(field.size() + 1)) / 1024;
  }
  fail("/proc/self/status: expected a {} line", field);
}

// Writing 5 to clear_refs resets VmHWM to the current resident set (Linux >= 4.0).
void reset_peak_rss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  if (!out) fail("/proc/self/clear_refs: could not write 5 to reset the peak resident set");
}

void bench_backend(const std::string& name, const Options& o, const Data& data, ThreadPool& pool) {
  const std::unique_ptr<Gemm> gemm = make_gemm(name);
  gemm->set_threads(o.threads);
  RankInput input;
  input.queries = data.queries.data();
  input.n_queries = o.n_queries;
  input.gallery = data.gallery.data();
  input.n_gallery = o.n_gallery;
  input.d = o.d;
  input.target_begin = data.target_begin;
  input.target_ids = data.target_ids;
  const double flop = 2.0 * static_cast<double>(o.n_queries) * o.n_gallery * o.d;
  const double input_mib = static_cast<double>((o.n_queries + o.n_gallery) * o.d) * 4 / 1048576;

  std::vector<RankOptions> configs;
  for (const double mib : o.block_mib) {
    RankOptions options;
    options.block_bytes = static_cast<std::int64_t>(mib * 1048576);
    configs.push_back(options);
  }
  if (configs.empty()) configs.push_back(RankOptions{});

  fmt::print("\n== backend {} ==\n", name);
  double best_rank_seconds = 0;
  for (const RankOptions& options : configs) {
    // Peak memory of rank_targets alone, over its first (warm-up) call, which also makes
    // the backend's one-time allocations.
    reset_peak_rss();
    const double rss_before = proc_status_mib("VmRSS");
    const auto cold_start = std::chrono::steady_clock::now();
    const RankOutput out = rank_targets(input, *gemm, pool, options);
    const double cold_seconds = seconds_since(cold_start);
    const double peak = proc_status_mib("VmHWM");
    // Timed calls, each also reporting its own GEMM / ranking split.
    std::vector<double> gemm_part, rank_part;
    RankOptions timed = options;
    RankTiming timing;
    timed.timing = &timing;
    const Timing t = time_reps(o.reps, [&] {
      rank_targets(input, *gemm, pool, timed);
      gemm_part.push_back(timing.gemm_seconds);
      rank_part.push_back(timing.rank_seconds);
    });
    const double block_rows = std::min<double>(
        o.n_queries, std::max<double>(1, std::floor(static_cast<double>(options.block_bytes) /
                                                    (4.0 * static_cast<double>(o.n_gallery)))));
    fmt::print(
        "rank_targets  block {:.1f} MiB ({:.0f} rows): median {:.3f} s (min {:.3f}, "
        "max {:.3f}), {:.1f} GFLOP/s\n",
        static_cast<double>(options.block_bytes) / 1048576, block_rows, t.median, t.min, t.max,
        flop / t.median * 1e-9);
    fmt::print("  first call (the warm-up, with the backend's one-time setup): {:.3f} s\n",
               cold_seconds);
    const double gemm_median = median_of(gemm_part);
    const double rank_median = median_of(rank_part);
    fmt::print(
        "  inside rank_targets: GEMM calls {:.3f} s, ranking {:.3f} s ({:.1f}% of the GEMM "
        "time)\n",
        gemm_median, rank_median, 100 * rank_median / gemm_median);
    // Where the time goes: the same GEMM calls into one reused block, without ranking.
    const auto rows = static_cast<std::int64_t>(block_rows);
    std::vector<float> block(static_cast<std::size_t>(rows * o.n_gallery));
    const Timing g = time_reps(o.reps, [&] {
      for (std::int64_t q0 = 0; q0 < o.n_queries; q0 += rows) {
        gemm->gemm_nt(std::min(rows, o.n_queries - q0), o.n_gallery, o.d,
                      data.queries.data() + q0 * o.d, o.d, data.gallery.data(), o.d, block.data(),
                      o.n_gallery);
      }
    });
    fmt::print("  its GEMM calls alone: median {:.3f} s, {:.1f} GFLOP/s; ranking adds {:.3f} s\n",
               g.median, flop / g.median * 1e-9, t.median - g.median);
    fmt::print(
        "  peak RSS during rank_targets {:.0f} MiB (RSS before {:.0f} MiB, so +{:.0f} MiB; "
        "inputs {:.0f} MiB; target < inputs + 256 = {:.0f} MiB)\n",
        peak, rss_before, peak - rss_before, input_mib, input_mib + 256);
    std::int64_t r1 = 0, ties = 0;
    double rank_sum = 0;
    for (std::size_t q = 0; q < out.rank.size(); ++q) {
      r1 += out.rank[q] == 1;
      ties += out.tied[q];
      rank_sum += out.rank[q];
    }
    fmt::print("  data check: R@1 {:.2f}%, mean rank {:.1f}, tied queries {}\n",
               100.0 * static_cast<double>(r1) / static_cast<double>(o.n_queries),
               rank_sum / static_cast<double>(o.n_queries), ties);
    if (best_rank_seconds == 0 || t.median < best_rank_seconds) best_rank_seconds = t.median;
  }

  // Baseline, after the memory measurement: the whole score matrix in one call.
  std::vector<float> full(static_cast<std::size_t>(o.n_queries * o.n_gallery));
  auto baseline = [&] {
    gemm->gemm_nt(o.n_queries, o.n_gallery, o.d, data.queries.data(), o.d, data.gallery.data(), o.d,
                  full.data(), o.n_gallery);
  };
  baseline();  // warm-up (also faults in the output)
  const Timing b = time_reps(o.reps, baseline);
  fmt::print(
      "baseline: one gemm_nt {}x{}x{} ({:.0f} MiB output): median {:.3f} s (min {:.3f}, "
      "max {:.3f}), {:.1f} GFLOP/s\n",
      o.n_queries, o.n_gallery, o.d, static_cast<double>(full.size()) * 4 / 1048576, b.median,
      b.min, b.max, flop / b.median * 1e-9);
  fmt::print("ratio rank_targets / baseline throughput (best block): {:.3f} (target >= 0.85)\n",
             b.median / best_rank_seconds);
}

int run(int argc, char** argv) {
  Options o;
  CLI::App app{"rank_targets speed and peak memory vs one plain GEMM of the same shape"};
  app.add_option("--queries", o.n_queries, "number of caption queries")->check(CLI::PositiveNumber);
  app.add_option("--gallery", o.n_gallery, "number of images")->check(CLI::PositiveNumber);
  app.add_option("--dim", o.d, "embedding dimension")->check(CLI::PositiveNumber);
  app.add_option("--threads", o.threads, "threads for GEMM and ranking (default: all)")
      ->check(CLI::PositiveNumber);
  app.add_option("--reps", o.reps, "timed repetitions after one warm-up")
      ->check(CLI::PositiveNumber);
  app.add_option("--backend", o.backend, "GEMM backend (default: every available one)");
  app.add_option("--block-mib", o.block_mib,
                 "score block sizes to try, MiB (default: "
                 "RankOptions' default)")
      ->check(CLI::PositiveNumber);
  app.add_option("--image-noise", o.image_noise, "noise norm, image vs its cluster center");
  app.add_option("--caption-noise", o.caption_noise, "noise norm, caption vs its image");
  CLI11_PARSE(app, argc, argv);

  std::vector<std::string> backends = gemm_backends();
  if (!o.backend.empty()) {
    make_gemm(o.backend);  // fails with the list of names when unknown
    backends = {o.backend};
  }
  fmt::print("machine: {}, {} hardware threads; using {} threads\n", cpu_model(),
             std::thread::hardware_concurrency(), o.threads);
  fmt::print(
      "shape: {} queries x {} gallery x {} dims, {} reps after 1 warm-up; default "
      "backend {}\n",
      o.n_queries, o.n_gallery, o.d, o.reps, default_gemm_backend());
  ThreadPool pool(o.threads);
  const Data data = make_data(o, pool);
  for (const std::string& name : backends) bench_backend(name, o, data, pool);
  return 0;
}

}  // namespace
}  // namespace vlbench

int main(int argc, char** argv) {
  try {
    return vlbench::run(argc, argv);
  } catch (const vlbench::Error& e) {
    fmt::print(stderr, "rank_bench: {}\n", e.what());
    return 1;
  }
}
