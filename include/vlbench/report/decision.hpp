// The study's decision table by gallery size (`vlbench report --index-bench FILE`): which
// search to run for a gallery of a given size under a single-query latency budget, derived
// from measured index benchmarks (`vlbench index bench`, index_bench.json) and from the
// encode speed of the results documents. Every cell names the measurement it came from.
//
// The rule, per machine × gallery band × latency budget (p99 of one query on one thread),
// computed for the band's top size N (its worst case):
//   1. Exact search (`flat`) when its p99 at N is within the budget: nothing is lost to
//      approximation. Its p99 at N is the flat measurement whose gallery size is closest to N
//      (log ratio; the larger on a tie), scaled by N / n: a flat scan reads every vector, so
//      its time is linear in n. Measured at exactly N, it is not scaled.
//   2. Otherwise the best ANN setting measured for the band: from the run with the largest
//      gallery in (lo, hi], or with none there, the smallest above hi (first given on a tie):
//      among settings with recall@10 against exact search >= kDecisionRecall and p99 within
//      the budget, the highest recall@10 (ties: fewer bytes per vector, then lower p99). Its
//      figures are as measured, at the run's size: ANN latency is never extrapolated across
//      sizes, and the row says where the run's n differs from N (below: expect more latency
//      and less recall at N; above: a smaller gallery is usually searched faster and better).
//   3. Otherwise no choice: the row says why (the fastest setting with enough recall and its
//      p99, or that no ANN was measured in the band and which benchmark to run).
#pragma once

#include <vlbench/index/index_bench.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace vlbench {

// One run of an index benchmark: gallery, queries and every measurement.
struct IndexBenchRun {
  std::string name;  // "t2i", "i2t", "search", "synthetic"
  IndexBenchResult result;
};

// An index_bench.json (schema "vlbench.index_bench/1") as read back.
struct IndexBenchFile {
  std::filesystem::path path;
  std::string machine;  // "<cpu>, <n> logical cores" (as the study report labels machines)
  std::string sha256;   // of the file's bytes
  std::string version;  // the vlbench that measured it ("" if absent)
  std::vector<IndexBenchRun> runs;
};

// Reads and checks an index benchmark document. Errors name the file and the field (a run or
// measurement index where it is inside one).
IndexBenchFile read_index_bench(const std::filesystem::path& path);

// The recall@10 a setting must reach to be a choice.
inline constexpr double kDecisionRecall = 0.95;

// A gallery size band (lo, hi] (hi = 0: no upper bound); cells are computed for `size`, the
// band's top (the worst case of the band; 100M stands for the open band).
struct GalleryBand {
  std::string label;  // "≤ 10K", "10K – 1M", "1M – 10M", "> 10M"
  std::int64_t lo = 0;
  std::int64_t hi = 0;
  std::int64_t size = 0;
};
const std::vector<GalleryBand>& gallery_bands();

// Single-query p99 latency budgets of the table, milliseconds.
const std::vector<double>& latency_budgets_ms();

struct SearchDecision {
  std::string machine;
  std::size_t band = 0;  // index into gallery_bands()
  double budget_ms = 0;
  std::string choice;      // "exact (flat)", "hnsw M=16 efSearch=128"; empty: none qualifies
  bool estimated = false;  // the choice is exact search with its latency scaled (rule 1)
  // The choice's figures; with no choice, those of the fastest ANN setting with enough recall
  // (NaN if there is none).
  double recall_at_10 = 0;
  double p99_ms = 0;
  double bytes_per_vector = 0;
  std::string note;    // with no choice: why ("the fastest with recall@10 >= 0.95 is ...")
  std::string source;  // the figures' run: "index_bench.json, run t2i (20,000 × 512)"
  // The same for every budget of a band:
  double exact_p99_ms = 0;  // exact search at the band's top (NaN: no flat measurement)
  std::string exact_note;   // "flat p99 2.4 ms at n = 20,000 × 50: a flat scan is linear in n"
  std::string exact_source;
  std::string ann_note;  // where the ANN figures come from ("measured at n = 20,000; ...")
  std::string ann_source;
};

// Rows in order: machines in order of first appearance, then bands, then budgets.
std::vector<SearchDecision> decide_search(const std::vector<IndexBenchFile>& files);

}  // namespace vlbench
