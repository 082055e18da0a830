// Standalone SVG line charts (chart.hpp).
#include <vlbench/core/error.hpp>
#include <vlbench/report/chart.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace vlbench {

namespace {

// Colour-blind-safe palette (Okabe-Ito), cycled.
constexpr const char* kColours[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                    "#E69F00", "#56B4E9", "#000000", "#F0E442"};

// Layout in pixels: plot area inside the margins, the legend right of it.
constexpr double kLeft = 72, kTop = 44, kBottom = 58, kLegendWidth = 210;

// "1k", "20k", "1.5M", "0.5": short labels for a log axis of queries/s.
std::string short_number(double v) {
  const double a = std::fabs(v);
  if (a >= 1e9) return fmt::format("{:g}G", v / 1e9);
  if (a >= 1e6) return fmt::format("{:g}M", v / 1e6);
  if (a >= 1e3) return fmt::format("{:g}k", v / 1e3);
  return fmt::format("{:g}", v);
}

// Tick label without float noise (0.30000000000000004 -> 0.3).
std::string tick_label(double v) {
  if (std::fabs(v) < 1e-12) return "0";
  return fmt::format("{:g}", std::round(v * 1e9) / 1e9);
}

struct Axis {
  double lo = 0, hi = 1;
  bool log = false;
  double pixel_lo = 0, pixel_hi = 1;  // screen coordinates of lo and hi

  double map(double v) const {
    const double t = log ? (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo))
                         : (v - lo) / (hi - lo);
    return pixel_lo + t * (pixel_hi - pixel_lo);
  }
};

// Decade ticks of [lo, hi] (powers of ten), plus 2 and 5 multiples when there are few decades.
std::vector<double> log_ticks(double lo, double hi) {
  std::vector<double> ticks;
  const int first = static_cast<int>(std::lround(std::log10(lo)));
  const int last = static_cast<int>(std::lround(std::log10(hi)));
  for (int e = first; e <= last; ++e) {
    const double decade = std::pow(10.0, e);
    ticks.push_back(decade);
    if (last - first <= 2 && e < last) {
      ticks.push_back(2 * decade);
      ticks.push_back(5 * decade);
    }
  }
  std::sort(ticks.begin(), ticks.end());
  return ticks;
}

}  // namespace

std::string xml_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  VLB_ASSERT(lo < hi && target >= 2);
  const double raw = (hi - lo) / target;
  const int exponent = static_cast<int>(std::floor(std::log10(raw)));
  const double magnitude = std::pow(10.0, exponent);
  double multiple = 1;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    multiple = m;
    if (m * magnitude >= raw) break;
  }
  const double step = multiple * magnitude;
  // Tick i is (i · multiple) · 10^exponent, computed as one correctly rounded product or
  // quotient of integers so 0.6 prints as 0.6, not 0.6000000000000001.
  auto tick = [&](double i) {
    return exponent < 0 ? i * multiple / std::pow(10.0, -exponent)
                        : i * multiple * std::pow(10.0, exponent);
  };
  std::vector<double> ticks;
  for (double i = std::floor(lo / step + 1e-9);; i += 1) {
    ticks.push_back(tick(i));
    if (ticks.back() >= hi - 1e-9 * step) break;
  }
  return ticks;
}

std::string render_svg_chart(const ChartSpec& spec) {
  double x_min = INFINITY, x_max = -INFINITY, y_min = INFINITY, y_max = -INFINITY;
  for (const ChartSeries& s : spec.series) {
    for (const ChartPoint& p : s.points) {
      if (!std::isfinite(p.x) || !std::isfinite(p.y)) {
        fail("chart '{}': series '{}': expected finite coordinates, got ({}, {})", spec.title,
             s.name, p.x, p.y);
      }
      if (spec.log_x && p.x <= 0) {
        fail("chart '{}': series '{}': expected x > 0 on a log axis, got {}", spec.title, s.name,
             p.x);
      }
      x_min = std::min(x_min, p.x);
      x_max = std::max(x_max, p.x);
      y_min = std::min(y_min, p.y);
      y_max = std::max(y_max, p.y);
      if (std::isfinite(p.y_lo) && std::isfinite(p.y_hi)) {
        y_min = std::min(y_min, p.y_lo);
        y_max = std::max(y_max, p.y_hi);
      }
    }
  }
  if (!std::isfinite(x_min)) fail("chart '{}': expected at least one point, got none", spec.title);

  const double width = std::max(spec.width, 400);
  const double height = std::max(spec.height, 300);
  Axis x_axis{0, 1, spec.log_x, kLeft, width - kLegendWidth};
  Axis y_axis{0, 1, false, height - kBottom, kTop};
  std::vector<double> x_ticks;
  if (spec.log_x) {
    x_axis.lo = std::pow(10.0, std::floor(std::log10(x_min)));
    x_axis.hi = std::pow(10.0, std::ceil(std::log10(x_max)));
    if (x_axis.hi <= x_axis.lo) x_axis.hi = x_axis.lo * 10;
    x_ticks = log_ticks(x_axis.lo, x_axis.hi);
  } else {
    const double pad = x_max > x_min ? 0.05 * (x_max - x_min) : std::max(1.0, std::fabs(x_min));
    x_ticks = nice_ticks(x_min - pad, x_max + pad, 6);
    x_axis.lo = x_ticks.front();
    x_axis.hi = x_ticks.back();
  }
  const double y_pad = y_max > y_min ? 0.05 * (y_max - y_min) : 0.05;
  const std::vector<double> y_ticks = nice_ticks(y_min - y_pad, y_max + y_pad, 6);
  y_axis.lo = y_ticks.front();
  y_axis.hi = y_ticks.back();

  std::string svg = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect x=\"0\" y=\"0\" width=\"{0}\" height=\"{1}\" fill=\"white\"/>\n"
      "<text x=\"{2}\" y=\"24\" font-size=\"15\" text-anchor=\"middle\">{3}</text>\n",
      width, height, (kLeft + width - kLegendWidth) / 2, xml_escape(spec.title));

  // Grid, ticks and tick labels.
  const double plot_left = x_axis.pixel_lo, plot_right = x_axis.pixel_hi;
  const double plot_top = y_axis.pixel_hi, plot_bottom = y_axis.pixel_lo;
  svg += "<g class=\"x-ticks\" stroke=\"#dddddd\">\n";
  for (double t : x_ticks) {
    const double px = x_axis.map(t);
    svg += fmt::format("<line x1=\"{0:.2f}\" y1=\"{1:.2f}\" x2=\"{0:.2f}\" y2=\"{2:.2f}\"/>\n", px,
                       plot_top, plot_bottom + 5);
    svg += fmt::format(
        "<text x=\"{:.2f}\" y=\"{:.2f}\" stroke=\"none\" fill=\"black\" "
        "text-anchor=\"middle\">{}</text>\n",
        px, plot_bottom + 18, xml_escape(spec.log_x ? short_number(t) : tick_label(t)));
  }
  svg += "</g>\n<g class=\"y-ticks\" stroke=\"#dddddd\">\n";
  for (double t : y_ticks) {
    const double py = y_axis.map(t);
    svg += fmt::format("<line x1=\"{0:.2f}\" y1=\"{1:.2f}\" x2=\"{2:.2f}\" y2=\"{1:.2f}\"/>\n",
                       plot_left - 5, py, plot_right);
    svg += fmt::format(
        "<text x=\"{:.2f}\" y=\"{:.2f}\" stroke=\"none\" fill=\"black\" "
        "text-anchor=\"end\">{}</text>\n",
        plot_left - 8, py + 4, xml_escape(tick_label(t)));
  }
  svg += "</g>\n";
  svg += fmt::format(
      "<rect x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\" fill=\"none\" "
      "stroke=\"black\"/>\n",
      plot_left, plot_top, plot_right - plot_left, plot_bottom - plot_top);
  svg += fmt::format("<text x=\"{:.2f}\" y=\"{:.2f}\" text-anchor=\"middle\">{}</text>\n",
                     (plot_left + plot_right) / 2, height - 14, xml_escape(spec.x_label));
  svg += fmt::format(
      "<text x=\"18\" y=\"{0:.2f}\" text-anchor=\"middle\" "
      "transform=\"rotate(-90 18 {0:.2f})\">{1}</text>\n",
      (plot_top + plot_bottom) / 2, xml_escape(spec.y_label));

  // Series: polyline, then markers (highlighted ones ringed), each with a tooltip.
  double legend_y = plot_top + 6;
  const double legend_x = plot_right + 16;
  std::size_t colour_index = 0;
  bool any_highlight = false;
  for (const ChartSeries& s : spec.series) {
    const char* colour = kColours[colour_index++ % std::size(kColours)];
    svg += fmt::format("<g class=\"series\" data-name=\"{}\">\n", xml_escape(s.name));
    std::string points;
    for (const ChartPoint& p : s.points) {
      points += fmt::format("{}{:.2f},{:.2f}", points.empty() ? "" : " ", x_axis.map(p.x),
                            y_axis.map(p.y));
    }
    if (s.line && s.points.size() > 1) {
      svg += fmt::format(
          "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.8\"{} points=\"{}\"/>\n",
          colour, s.dashed ? " stroke-dasharray=\"6 4\"" : "", points);
    }
    for (const ChartPoint& p : s.points) {
      if (!s.markers) continue;
      if (std::isfinite(p.y_lo) && std::isfinite(p.y_hi)) {
        const double px = x_axis.map(p.x), lo = y_axis.map(p.y_lo), hi = y_axis.map(p.y_hi);
        svg += fmt::format(
            "<path class=\"whisker\" stroke=\"{0}\" stroke-width=\"1.2\" fill=\"none\" "
            "d=\"M{1:.2f},{2:.2f} V{3:.2f} M{4:.2f},{2:.2f} H{5:.2f} M{4:.2f},{3:.2f} "
            "H{5:.2f}\"/>\n",
            colour, px, lo, hi, px - 4, px + 4);
      }
      any_highlight = any_highlight || p.highlight;
      const std::string title = xml_escape(
          fmt::format("{}{}{}: x={:g}, y={:g}{}", s.name, p.label.empty() ? "" : " ", p.label, p.x,
                      p.y, p.highlight ? " (" + spec.highlight_legend + ")" : ""));
      if (p.highlight) {
        svg += fmt::format(
            "<circle class=\"highlight\" cx=\"{:.2f}\" cy=\"{:.2f}\" r=\"7\" fill=\"none\" "
            "stroke=\"black\" stroke-width=\"1.5\"/>\n",
            x_axis.map(p.x), y_axis.map(p.y));
      }
      svg += fmt::format(
          "<circle class=\"point\" cx=\"{:.2f}\" cy=\"{:.2f}\" r=\"4\" fill=\"{}\">"
          "<title>{}</title></circle>\n",
          x_axis.map(p.x), y_axis.map(p.y), colour, title);
      if (p.show_label) {
        svg += fmt::format(
            "<text class=\"point-label\" x=\"{:.2f}\" y=\"{:.2f}\">{}</text>\n",
            x_axis.map(p.x) + 9, y_axis.map(p.y) - 8, xml_escape(p.label));
      }
    }
    svg += "</g>\n";
    svg += fmt::format(
        "<g class=\"legend\"><line x1=\"{0:.2f}\" y1=\"{1:.2f}\" x2=\"{2:.2f}\" y2=\"{1:.2f}\" "
        "stroke=\"{3}\" stroke-width=\"1.8\"{8}/>{9}<text x=\"{5:.2f}\" y=\"{6:.2f}\">{7}</text>"
        "</g>\n",
        legend_x, legend_y, legend_x + 24, colour, legend_x + 12, legend_x + 32, legend_y + 4,
        xml_escape(s.name), s.dashed ? " stroke-dasharray=\"6 4\"" : "",
        s.markers ? fmt::format("<circle cx=\"{:.2f}\" cy=\"{:.2f}\" r=\"4\" fill=\"{}\"/>",
                                legend_x + 12, legend_y, colour)
                  : std::string());
    legend_y += 20;
  }
  if (any_highlight) {
    svg += fmt::format(
        "<g class=\"legend\"><circle cx=\"{0:.2f}\" cy=\"{1:.2f}\" r=\"7\" fill=\"none\" "
        "stroke=\"black\" stroke-width=\"1.5\"/><text x=\"{2:.2f}\" y=\"{3:.2f}\">{4}</text>"
        "</g>\n",
        legend_x + 12, legend_y, legend_x + 32, legend_y + 4, xml_escape(spec.highlight_legend));
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace vlbench
