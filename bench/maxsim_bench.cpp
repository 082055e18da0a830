// Late-interaction re-ranking speed: MaxSim of one query of 25 tokens against 100 candidates
// of 1,030 tokens × d 128 (a ColPali v1.3 page), with the page tokens stored as float32 (the
// MultiVectorSet path, issue 4's target < 5 ms), and as TokenStore f32 / bf16 / int8 / binary,
// against the naive triple loop (maxsim_reference) on the same seeded data.
//
//   maxsim_bench [--reps 15] [--threads 1] [--gallery 1000] [--hot] [--dump DIR]
//
// --dump DIR writes the inputs and float32 scores (pages.npy [gallery, 1030, 128] f32,
// query.npy [25, 128] f32, candidates.npy [reps + 1, 100] i64 — row 0 the warm-up —, and
// scores.npy [reps + 1, 100] f64) for bench/maxsim_torch.py, the PyTorch peer of
// bench/maxsim_vs_torch.sh. The data are seeded: every run makes the same.
//
// Every repetition draws a new set of 100 candidates from the gallery (1,000 items: 527 MB in
// float32, 264 MB in bf16, 136 MB in int8, far beyond the last-level cache), so candidates
// stream from memory as in real use; within a repetition every storage scores the same
// candidates, one after another (interleaved, in an order that rotates per repetition), and
// each figure is the median over repetitions. The scores of every compact storage are compared with float32's.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <time.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "bench_util.hpp"
#include "vlbench/core/dtype.hpp"
#include "vlbench/core/npy.hpp"
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

struct Variant {
  std::string name;
  double bytes_per_page = 0;
  std::function<void(const std::vector<std::int64_t>&, std::vector<double>&)> score;
  std::vector<double> wall, cpu;
  double max_rel_vs_f32 = 0;  // scores against MultiVectorSet float32, last repetition
};

}  // namespace

int main(int argc, char** argv) {
  int reps = 15;
  int threads = 1;
  std::int64_t n_gallery = 1000;
  bool hot = false;
  std::string dump, json_path;
  CLI::App app("MaxSim re-ranking of 100 candidates: float32 / bf16 / int8 / binary page tokens "
               "vs the naive loop");
  app.add_option("--reps", reps, "timed repetitions (median reported)")->capture_default_str();
  app.add_option("--threads", threads, "threads over candidates (1: the plain call)")
      ->capture_default_str();
  app.add_option("--gallery", n_gallery, "items the 100 candidates are drawn from (>= 100)")
      ->capture_default_str();
  app.add_flag("--hot", hot, "every candidate is item 0 (in cache): compute speed alone");
  app.add_option("--dump", dump, "write the inputs and float32 scores here (for the PyTorch peer)");
  app.add_option("--json", json_path, "also write each variant's median and min ms here");
  CLI11_PARSE(app, argc, argv);
  if (n_gallery < 100 || reps < 3 || threads < 1) {
    std::fprintf(stderr, "--gallery must be >= 100, --reps >= 3 and --threads >= 1\n");
    return 2;
  }
  fmt::print("machine: {}, load average before {}\n", bench::cpu_model(), bench::load_average());

  constexpr std::int64_t n_q = 25, t_max = 1030, d = 128, n_candidates = 100;
  SplitMix64 rng(20261127);
  MultiVectorSet docs;
  docs.n = n_gallery;
  docs.t_max = t_max;
  docs.d = d;
  docs.tokens.resize(static_cast<std::size_t>(n_gallery * t_max * d));
  // Unit-length tokens and query rows, as a model writes them (the int8 scale depends on it).
  for (std::int64_t t = 0; t < n_gallery * t_max; ++t) {
    float* row = docs.tokens.data() + t * d;
    double norm = 0;
    for (std::int64_t p = 0; p < d; ++p) {
      row[p] = static_cast<float>(rng.normal());
      norm += static_cast<double>(row[p]) * row[p];
    }
    for (std::int64_t p = 0; p < d; ++p) row[p] = static_cast<float>(row[p] / std::sqrt(norm));
  }
  docs.lengths.assign(static_cast<std::size_t>(n_gallery), static_cast<std::int32_t>(t_max));
  std::vector<float> query(static_cast<std::size_t>(n_q * d));
  for (float& x : query) x = static_cast<float>(rng.normal() / std::sqrt(static_cast<double>(d)));

  ThreadPool pool(threads);
  std::vector<Variant> variants;
  const auto add = [&variants](std::string name, double bytes_per_page, auto score) {
    Variant v;
    v.name = std::move(name);
    v.bytes_per_page = bytes_per_page;
    v.score = std::move(score);
    variants.push_back(std::move(v));
  };
  add("MultiVectorSet f32", 4.0 * t_max * d,
                      [&](const std::vector<std::int64_t>& c, std::vector<double>& s) {
                        if (threads == 1) {
                          maxsim_candidates(query.data(), n_q, docs, c, s);
                        } else {
                          maxsim_candidates(query.data(), n_q, docs, c, s, pool);
                        }
                      });
  std::vector<TokenStore> stores;
  for (const TokenStorage storage :
       {TokenStorage::f32, TokenStorage::bf16, TokenStorage::int8, TokenStorage::binary}) {
    stores.push_back(store_tokens(docs, storage));
  }
  for (const TokenStore& store : stores) {
    add("TokenStore " + token_storage_name(store.storage),
                        static_cast<double>(store.bytes_per_token() * t_max),
                        [&](const std::vector<std::int64_t>& c, std::vector<double>& s) {
                          if (threads == 1) {
                            maxsim_candidates(query.data(), n_q, store, c, s);
                          } else {
                            maxsim_candidates(query.data(), n_q, store, c, s, pool);
                          }
                        });
  }
  add("maxsim_reference (naive loop, f32)", 4.0 * t_max * d,
                      [&](const std::vector<std::int64_t>& c, std::vector<double>& s) {
                        // Over the same threads as the kernels, a candidate per task.
                        pool.parallel_for(static_cast<std::int64_t>(c.size()),
                                          [&](std::int64_t begin, std::int64_t end) {
                                            for (std::int64_t k = begin; k < end; ++k) {
                                              s[k] = maxsim_reference(query.data(), n_q,
                                                                      docs.item(c[k]), t_max, d);
                                            }
                                          });
                      });

  // One candidate set per repetition, drawn up front (row 0: the warm-up).
  std::vector<std::int64_t> candidate_sets(static_cast<std::size_t>((reps + 1) * n_candidates));
  for (std::int64_t& c : candidate_sets) {
    c = hot ? 0 : static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(n_gallery)));
  }
  std::vector<double> f32_scores(candidate_sets.size());
  std::vector<std::int64_t> candidates(n_candidates);
  std::vector<std::vector<double>> scores(variants.size(), std::vector<double>(n_candidates));
  for (int r = -1; r < reps; ++r) {  // r = -1: warm-up, not timed
    std::copy_n(candidate_sets.begin() + (r + 1) * n_candidates, n_candidates, candidates.begin());
    // The order rotates from one repetition to the next, so no variant always runs first.
    for (std::size_t k = 0; k < variants.size(); ++k) {
      const std::size_t v = (k + static_cast<std::size_t>(r + 1)) % variants.size();
      const bool naive = v + 1 == variants.size();
      if (naive && r >= 0 && r % 5 != 0) continue;  // the slow loop: every fifth repetition
      const auto start = std::chrono::steady_clock::now();
      const double cpu_start = thread_cpu_seconds();
      variants[v].score(candidates, scores[v]);
      if (r >= 0) {
        variants[v].cpu.push_back(thread_cpu_seconds() - cpu_start);
        variants[v].wall.push_back(bench::seconds_since(start));
      }
    }
    std::copy(scores[0].begin(), scores[0].end(), f32_scores.begin() + (r + 1) * n_candidates);
    for (std::size_t v = 0; v < variants.size(); ++v) {
      double max_rel = 0;
      for (std::int64_t c = 0; c < n_candidates; ++c) {
        max_rel = std::max(max_rel, std::abs(scores[v][c] - scores[0][c]) / std::abs(scores[0][c]));
      }
      variants[v].max_rel_vs_f32 = max_rel;
    }
  }

  if (!dump.empty()) {
    const std::filesystem::path dir = dump;
    std::filesystem::create_directories(dir);
    write_npy(dir / "pages.npy", DType::f32, {n_gallery, t_max, d}, docs.tokens.data());
    write_npy(dir / "query.npy", DType::f32, {n_q, d}, query.data());
    write_npy(dir / "candidates.npy", DType::i64, {reps + 1, n_candidates}, candidate_sets.data());
    write_npy(dir / "scores.npy", DType::f64, {reps + 1, n_candidates}, f32_scores.data());
    fmt::print("inputs and float32 scores written to {}\n", dir.string());
  }
  fmt::print("shape: query {} tokens, {} candidates of {} tokens, d {}; threads {}; gallery {}{}\n",
             n_q, n_candidates, t_max, d, threads, n_gallery,
             hot ? "; --hot (one cached candidate)" : "");
  const double naive_ms = bench::median_of(variants.back().wall) * 1e3;
  const double f32_ms = bench::median_of(variants.front().wall) * 1e3;
  fmt::print("{:<36} {:>10} {:>9} {:>9} {:>8} {:>9} {:>8} {:>10}\n", "page tokens", "bytes/page",
             "median ms", "min ms", "cpu ms", "vs naive", "vs f32", "max rel");
  // cpu ms: the calling thread's CPU time (threads 1 only): what an idle machine would show.
  for (const Variant& v : variants) {
    const double median = bench::median_of(v.wall) * 1e3;
    // Binary scores are sums of ±1-vector products, on another scale than float32's.
    const std::string rel = v.name.ends_with("binary") ? "(±1 scale)"
                                                       : fmt::format("{:.2e}", v.max_rel_vs_f32);
    fmt::print("{:<36} {:>10.0f} {:>9.3f} {:>9.3f} {:>8} {:>8.1f}x {:>7.2f}x {:>10}\n", v.name,
               v.bytes_per_page, median, *std::min_element(v.wall.begin(), v.wall.end()) * 1e3,
               threads == 1 ? fmt::format("{:.3f}", bench::median_of(v.cpu) * 1e3) : "-",
               naive_ms / median, f32_ms / median, rel);
  }
  if (!json_path.empty()) {
    std::string out = "{";
    for (std::size_t v = 0; v < variants.size(); ++v) {
      const Variant& x = variants[v];
      out += fmt::format("{}\"{}\": {{\"median_ms\": {}, \"min_ms\": {}, \"bytes_per_page\": {}}}",
                         v ? ", " : "", x.name, bench::median_of(x.wall) * 1e3,
                         *std::min_element(x.wall.begin(), x.wall.end()) * 1e3, x.bytes_per_page);
    }
    std::ofstream(json_path) << out << "}\n";
  }
  fmt::print("float32 kernel: {:.1f} GFLOP/s; target < 5 ms: {}\n",
             2.0 * n_q * t_max * d * n_candidates / (f32_ms * 1e-3) * 1e-9,
             f32_ms < 5.0 ? "met" : "NOT met");
  fmt::print("load average after {}\n", bench::load_average());
  return 0;
}
