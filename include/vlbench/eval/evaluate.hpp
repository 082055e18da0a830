// Accuracy of one embedding pair (images, texts) on one dataset: Recall@1/5/10, median rank
// and MRR per direction with bootstrap intervals, or the Winoground scores.
#pragma once

#include <vlbench/core/npy.hpp>
#include <vlbench/data/dataset.hpp>
#include <vlbench/eval/bootstrap.hpp>
#include <vlbench/eval/protocol.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace vlbench {

class ThreadPool;

struct EvalOptions {
  Protocol protocol = Protocol::standard;  // ignored for winoground
  BootstrapOptions bootstrap;
  int threads = 0;   // <= 0: all cores
  std::string gemm;  // GEMM backend name; empty: the default
};

struct RetrievalMetrics {
  Direction direction = Direction::t2i;
  std::int64_t n_queries = 0;
  std::int64_t n_gallery = 0;
  Estimate r1, r5, r10;   // fractions in [0, 1]
  Estimate mrr;           // mean of 1 / rank
  Estimate median_rank;   // median of the 1-based ranks (mean of the middle two when n is even)
  std::int64_t ties = 0;  // queries whose best target tied with a non-target item
  std::vector<std::int32_t> ranks;  // n_queries, 1-based, the query order of RetrievalTask
};

// Winoground outcome bits per example.
enum WinogroundOutcome : std::uint8_t {
  kWinogroundText = 1,   // s(c0,i0) > s(c1,i0) and s(c1,i1) > s(c0,i1)
  kWinogroundImage = 2,  // s(c0,i0) > s(c0,i1) and s(c1,i1) > s(c1,i0)
  kWinogroundGroup = 4,  // text and image
  kWinogroundTie = 8,    // at least one of the four comparisons was an exact tie (a failure)
};

struct WinogroundScores {
  std::int64_t n_examples = 0;
  Estimate text, image, group;  // fractions in [0, 1]
  std::int64_t ties = 0;        // examples with at least one tied comparison
};

struct WinogroundMetrics {
  WinogroundScores overall;
  std::map<std::string, WinogroundScores> by_collapsed_tag;
  std::vector<std::uint8_t> outcome;  // n_examples, WinogroundOutcome bits
};

struct EvalResult {
  std::string protocol;  // "seed" | "standard" | "symmetric" | "winoground"
  std::string gemm;      // the GEMM backend that scored retrieval ("" for Winoground)
  std::optional<RetrievalMetrics> t2i;
  std::optional<RetrievalMetrics> i2t;
  std::optional<WinogroundMetrics> winoground;
};

// `images` must hold dataset.n_images() rows and `texts` dataset.n_captions() rows, of the
// same dimension, each of unit length (load_unit_embeddings). A row count or dimension that
// disagrees is an Error naming `image_source` / `text_source` and both counts.
EvalResult evaluate(const Dataset& dataset, const MatrixF32& images, const MatrixF32& texts,
                    const EvalOptions& options, const std::string& image_source = "images",
                    const std::string& text_source = "texts");

// Metrics of one direction from its per-query ranks (used by evaluate and by tests).
RetrievalMetrics retrieval_metrics(Direction direction, std::vector<std::int32_t> ranks,
                                   std::int64_t n_gallery, std::int64_t ties,
                                   const BootstrapOptions& bootstrap, ThreadPool& pool);

// The WinogroundOutcome bits of one example from its four similarities s(caption, image).
std::uint8_t winoground_outcome(double c0_i0, double c0_i1, double c1_i0, double c1_i1);

}  // namespace vlbench
