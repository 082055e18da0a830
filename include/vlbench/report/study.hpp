// The study as a report (`vlbench report --format html`, `report.html` of `vlbench run`): the
// recommended model per priority, accuracy, speed, Winoground, the speed–accuracy Pareto
// frontier, provenance — all derived from results documents (results.hpp) by the rules below,
// which the page states.
#pragma once

#include <vlbench/report/chart.hpp>
#include <vlbench/report/decision.hpp>
#include <vlbench/report/results.hpp>

#include <string>
#include <vector>

namespace vlbench {

// One retrieval results document (t2i metrics present) reduced to what the study compares.
struct StudyPoint {
  std::size_t document = 0;  // index into the results given
  std::string label;         // "<model name> (<dtype>)": one per model × compute type
  std::string dataset;       // "<kind> <split>, <protocol> protocol": the comparison group
  std::string machine;       // "<cpu>, <n> logical cores": speed is compared within one machine
  double t2i_r1 = 0, t2i_r1_lo = 0, t2i_r1_hi = 0;  // fractions, with the 95% interval
  double images_per_s = 0;    // image encode alone (the speed axis)
  double end_to_end_images_per_s = 0;
  double captions_per_s = 0;
  bool frontier = false;      // on its (dataset, machine) group's Pareto frontier
};

// The points of every retrieval document with speed figures, in the order given; frontier
// membership marked: a point is on the frontier unless another point of its dataset and
// machine is at least as fast and at least as accurate (t2i R@1), and strictly better in one.
// Documents without t2i metrics (Winoground) or without speed (`vlbench eval`) are skipped.
std::vector<StudyPoint> study_points(const std::vector<LoadedResults>& results);

// The balance rule's speed threshold: a model is "fast enough" at >= this fraction of the
// fastest model's images/s on the same dataset and machine.
inline constexpr double kBalanceSpeedFraction = 0.5;

struct Recommendation {
  std::string priority;  // "accuracy" | "speed" | "balance"
  std::string dataset;
  std::string machine;
  std::size_t point = 0;  // index into the points
  std::string rule;       // the rule, in words
  std::string evidence;   // the figures that decided it
};

// Per (dataset, machine) group, in order of first appearance:
//   accuracy  highest t2i R@1 (ties: more images/s, then first given)
//   speed     most images/s (ties: higher t2i R@1, then first given)
//   balance   highest t2i R@1 among points with images/s >= kBalanceSpeedFraction × the
//             group's fastest (ties as accuracy)
std::vector<Recommendation> recommend(const std::vector<StudyPoint>& points);

// t2i R@1 (y, %, with 95% interval whiskers) against images/s (x, log scale) of one (dataset,
// machine) group: every point labelled, the frontier drawn through its points and ringed.
ChartSpec pareto_chart(const std::vector<StudyPoint>& points, const std::string& dataset,
                       const std::string& machine);

// "<cpu>, <n> logical cores" of a document's "machine" object ({"cpu", "logical_cores"}, as
// machine_description() writes it; "unknown CPU" / "?" for what is missing): speed figures are
// compared only between points with the same label.
std::string machine_label(const nlohmann::ordered_json& machine);

// 3 significant digits below 1,000 ("83.3", "686"), whole numbers with thousands separators
// from 1,000 ("2,459", "18,800"); "–" when not finite.
std::string format_rate(double per_s);

// The whole report as one self-contained HTML page (inline CSS and SVG, no script, no
// network) and as Markdown (the same sections and numbers; the chart as a frontier table).
// Index benchmarks, when given, feed the decision table's search rows (decision.hpp).
std::string render_study_html(const std::vector<LoadedResults>& results,
                              const std::vector<IndexBenchFile>& index_bench = {});
std::string render_study_markdown(const std::vector<LoadedResults>& results,
                                  const std::vector<IndexBenchFile>& index_bench = {});

}  // namespace vlbench
