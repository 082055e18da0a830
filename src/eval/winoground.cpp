#include "eval/internal.hpp"

#include <vlbench/core/error.hpp>

namespace vlbench {

namespace {

double dot(const float* a, const float* b, std::int64_t d) {
  double sum = 0.0;
  for (std::int64_t j = 0; j < d; ++j) sum += static_cast<double>(a[j]) * b[j];
  return sum;
}

// Text, image and group accuracy over the examples listed in `members`, resampling examples.
WinogroundScores score_examples(const std::vector<std::uint8_t>& outcome,
                                const std::vector<std::size_t>& members,
                                const BootstrapOptions& bootstrap, ThreadPool& pool) {
  const std::size_t n = members.size();
  std::vector<double> text(n), image(n), group(n);
  WinogroundScores scores;
  scores.n_examples = static_cast<std::int64_t>(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint8_t o = outcome[members[i]];
    text[i] = (o & kWinogroundText) ? 1.0 : 0.0;
    image[i] = (o & kWinogroundImage) ? 1.0 : 0.0;
    group[i] = (o & kWinogroundGroup) ? 1.0 : 0.0;
    if (o & kWinogroundTie) ++scores.ties;
  }
  const std::span<const double> columns[] = {text, image, group};
  const Statistic statistics[] = {Statistic::mean, Statistic::mean, Statistic::mean};
  const std::vector<Estimate> estimates = bootstrap_estimates(columns, statistics, bootstrap, pool);
  scores.text = estimates[0];
  scores.image = estimates[1];
  scores.group = estimates[2];
  return scores;
}

}  // namespace

std::uint8_t winoground_outcome(double c0_i0, double c0_i1, double c1_i0, double c1_i1) {
  std::uint8_t o = 0;
  // Strict '>': a tie fails the comparison (and is flagged).
  const bool text = c0_i0 > c1_i0 && c1_i1 > c0_i1;
  const bool image = c0_i0 > c0_i1 && c1_i1 > c1_i0;
  if (text) o |= kWinogroundText;
  if (image) o |= kWinogroundImage;
  if (text && image) o |= kWinogroundGroup;
  if (c0_i0 == c1_i0 || c1_i1 == c0_i1 || c0_i0 == c0_i1 || c1_i1 == c1_i0) o |= kWinogroundTie;
  return o;
}

WinogroundMetrics run_winoground(const Dataset& dataset, const MatrixF32& images,
                                 const MatrixF32& texts, ThreadPool& pool,
                                 const BootstrapOptions& bootstrap) {
  VLB_ASSERT(images.rows == static_cast<std::int64_t>(2 * dataset.examples.size()));
  VLB_ASSERT(texts.rows == static_cast<std::int64_t>(2 * dataset.examples.size()));
  const std::int64_t d = images.cols;
  return run_winoground(
      dataset,
      [&](std::int64_t caption, std::int64_t image) {
        return dot(texts.row(caption), images.row(image), d);
      },
      pool, bootstrap);
}

WinogroundMetrics run_winoground(const Dataset& dataset,
                                 const std::function<double(std::int64_t, std::int64_t)>& score,
                                 ThreadPool& pool, const BootstrapOptions& bootstrap) {
  const std::size_t n_examples = dataset.examples.size();
  VLB_ASSERT(n_examples > 0);

  WinogroundMetrics metrics;
  metrics.outcome.resize(n_examples);
  for (std::size_t e = 0; e < n_examples; ++e) {
    const auto i0 = static_cast<std::int64_t>(2 * e), i1 = i0 + 1;
    const std::int64_t c0 = i0, c1 = i1;
    metrics.outcome[e] =
        winoground_outcome(score(c0, i0), score(c0, i1), score(c1, i0), score(c1, i1));
  }

  std::vector<std::size_t> all(n_examples);
  std::map<std::string, std::vector<std::size_t>> by_tag;
  for (std::size_t e = 0; e < n_examples; ++e) {
    all[e] = e;
    by_tag[dataset.examples[e].collapsed_tag].push_back(e);
  }
  metrics.overall = score_examples(metrics.outcome, all, bootstrap, pool);
  for (const auto& [tag, members] : by_tag) {
    metrics.by_collapsed_tag[tag] = score_examples(metrics.outcome, members, bootstrap, pool);
  }
  return metrics;
}

}  // namespace vlbench
