// Standalone SVG line charts (no external libraries): the recall-vs-queries/s Pareto plots of
// `vlbench index bench`. One polyline with markers per series, a legend, axis ticks and
// labels; highlighted points (the Pareto frontier) get a larger ringed marker.
#pragma once

#include <limits>
#include <string>
#include <vector>

namespace vlbench {

struct ChartPoint {
  double x = 0;
  double y = 0;
  bool highlight = false;
  std::string label;  // shown as the marker's <title> tooltip ("efSearch=64")
  bool show_label = false;  // also written beside the marker
  // A vertical interval drawn as a whisker (both set, y_lo <= y <= y_hi), or none (NaN).
  double y_lo = std::numeric_limits<double>::quiet_NaN();
  double y_hi = std::numeric_limits<double>::quiet_NaN();
};

// Points are drawn in the given order (sort them by x for a tidy polyline).
struct ChartSeries {
  std::string name;
  std::vector<ChartPoint> points;
  bool line = true;     // a polyline through the points
  bool markers = true;  // a marker per point (false: the line alone, e.g. a frontier)
  bool dashed = false;
};

struct ChartSpec {
  std::string title;
  std::string x_label;
  std::string y_label;
  bool log_x = false;  // log10 x axis (every x must then be > 0)
  int width = 860;     // pixels
  int height = 520;
  std::string highlight_legend = "Pareto frontier";  // legend text of highlighted markers
  std::vector<ChartSeries> series;
};

// A well-formed standalone SVG document. Text is XML-escaped. Axis ranges cover every point
// and whisker with a margin (log x: whole decades; y: from the data, nice 1-2-5 ticks). Error when there
// is no point at all, a coordinate is not finite, or log_x and some x <= 0.
std::string render_svg_chart(const ChartSpec& spec);

// Ticks for [lo, hi]: multiples of a 1-2-5 step giving about `target` ticks, covering
// [lo, hi]; lo < hi.
std::vector<double> nice_ticks(double lo, double hi, int target);

// XML text escaping of & < > " '.
std::string xml_escape(const std::string& text);

}  // namespace vlbench
