// The study's rules (study.hpp): points, Pareto frontier, recommendations, the Pareto chart.
#include <vlbench/core/error.hpp>
#include <vlbench/report/study.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace vlbench {

using json = nlohmann::ordered_json;

namespace {

double number_at(const json& node, std::initializer_list<const char*> path) {
  const json* n = &node;
  for (const char* key : path) {
    if (!n->is_object() || !n->contains(key)) return std::nan("");
    n = &(*n)[key];
  }
  return n->is_number() ? n->get<double>() : std::nan("");
}

std::string string_at(const json& node, const char* a, const char* b, const std::string& fallback) {
  if (node.contains(a) && node[a].is_object() && node[a].contains(b) && node[a][b].is_string()) {
    return node[a][b].get<std::string>();
  }
  return fallback;
}

// a beats b for accuracy: higher R@1, then faster.
bool more_accurate(const StudyPoint& a, const StudyPoint& b) {
  if (a.t2i_r1 != b.t2i_r1) return a.t2i_r1 > b.t2i_r1;
  return a.images_per_s > b.images_per_s;
}

bool faster(const StudyPoint& a, const StudyPoint& b) {
  if (a.images_per_s != b.images_per_s) return a.images_per_s > b.images_per_s;
  return a.t2i_r1 > b.t2i_r1;
}

}  // namespace

std::string machine_label(const json& machine) {
  const json* cpu = machine.is_object() && machine.contains("cpu") ? &machine["cpu"] : nullptr;
  const json* cores =
      machine.is_object() && machine.contains("logical_cores") ? &machine["logical_cores"] : nullptr;
  return fmt::format("{}, {} logical cores",
                     cpu && cpu->is_string() ? cpu->get<std::string>() : "unknown CPU",
                     cores && cores->is_number() ? fmt::format("{:g}", cores->get<double>()) : "?");
}

std::string format_rate(double per_s) {
  if (!std::isfinite(per_s)) return "–";
  if (per_s < 999.5) return fmt::format("{:.3g}", per_s);
  const std::string digits = fmt::format("{:.0f}", std::round(per_s));
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::vector<StudyPoint> study_points(const std::vector<LoadedResults>& results) {
  std::vector<StudyPoint> points;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const json& doc = results[i].document;
    StudyPoint p;
    p.document = i;
    p.t2i_r1 = number_at(doc, {"metrics", "t2i", "r1", "value"});
    p.images_per_s = number_at(doc, {"speed", "image_encode_per_s"});
    if (!std::isfinite(p.t2i_r1) || !std::isfinite(p.images_per_s) || p.images_per_s <= 0) {
      continue;
    }
    const json& ci = doc["metrics"]["t2i"]["r1"]["ci95"];
    p.t2i_r1_lo = ci.is_array() && ci.size() == 2 ? ci[0].get<double>() : p.t2i_r1;
    p.t2i_r1_hi = ci.is_array() && ci.size() == 2 ? ci[1].get<double>() : p.t2i_r1;
    p.end_to_end_images_per_s = number_at(doc, {"speed", "end_to_end_images_per_s"});
    p.captions_per_s = number_at(doc, {"speed", "text_encode_per_s"});
    const std::string name = string_at(doc, "model", "name", results[i].path.stem().string());
    p.label = fmt::format("{} ({})", name, string_at(doc, "model", "dtype", "fp32"));
    p.dataset = fmt::format("{} {}, {} protocol", string_at(doc, "dataset", "kind", "?"),
                            string_at(doc, "dataset", "split", "?"),
                            doc.contains("protocol") && doc["protocol"].is_string()
                                ? doc["protocol"].get<std::string>()
                                : "?");
    p.machine = machine_label(doc.contains("machine") ? doc["machine"] : json());
    points.push_back(std::move(p));
  }
  for (StudyPoint& p : points) {
    p.frontier = std::none_of(points.begin(), points.end(), [&](const StudyPoint& q) {
      return &q != &p && q.dataset == p.dataset && q.machine == p.machine &&
             q.images_per_s >= p.images_per_s && q.t2i_r1 >= p.t2i_r1 &&
             (q.images_per_s > p.images_per_s || q.t2i_r1 > p.t2i_r1);
    });
  }
  return points;
}

std::vector<Recommendation> recommend(const std::vector<StudyPoint>& points) {
  std::vector<std::pair<std::string, std::string>> groups;
  for (const StudyPoint& p : points) {
    const std::pair<std::string, std::string> g{p.dataset, p.machine};
    if (std::find(groups.begin(), groups.end(), g) == groups.end()) groups.push_back(g);
  }
  std::vector<Recommendation> out;
  for (const auto& [dataset, machine] : groups) {
    std::vector<std::size_t> members;
    for (std::size_t i = 0; i < points.size(); ++i) {
      if (points[i].dataset == dataset && points[i].machine == machine) members.push_back(i);
    }
    // The first of the best under `better` (strict), so ties fall to the order given.
    const auto best = [&](const std::vector<std::size_t>& among, auto better) {
      std::size_t chosen = among.front();
      for (const std::size_t i : among) {
        if (better(points[i], points[chosen])) chosen = i;
      }
      return chosen;
    };
    const std::size_t accurate = best(members, more_accurate);
    const std::size_t fast = best(members, faster);
    const double threshold = kBalanceSpeedFraction * points[fast].images_per_s;
    std::vector<std::size_t> fast_enough;
    for (const std::size_t i : members) {
      if (points[i].images_per_s >= threshold) fast_enough.push_back(i);
    }
    const std::size_t balanced = best(fast_enough, more_accurate);
    const auto figures = [&](std::size_t i) {
      return fmt::format("t2i R@1 {:.1f} % [{:.1f}, {:.1f}], {} images/s",
                         100 * points[i].t2i_r1, 100 * points[i].t2i_r1_lo,
                         100 * points[i].t2i_r1_hi, format_rate(points[i].images_per_s));
    };
    out.push_back({"accuracy", dataset, machine, accurate,
                   "highest t2i R@1 (ties: more images/s)", figures(accurate)});
    out.push_back({"speed", dataset, machine, fast,
                   "most images/s, image encode alone (ties: higher t2i R@1)", figures(fast)});
    out.push_back({"balance", dataset, machine, balanced,
                   fmt::format("highest t2i R@1 among models at least {:g} % as fast as the "
                               "fastest ({} images/s or more)",
                               100 * kBalanceSpeedFraction, format_rate(threshold)),
                   figures(balanced)});
  }
  return out;
}

ChartSpec pareto_chart(const std::vector<StudyPoint>& points, const std::string& dataset,
                       const std::string& machine) {
  ChartSpec spec;
  spec.title = "t2i R@1 against image encode speed: " + dataset;
  spec.x_label = "images/s (image encode alone, log scale) on " + machine;
  spec.y_label = "t2i R@1 (%), 95% interval";
  spec.log_x = true;
  spec.highlight_legend = "on the Pareto frontier";
  ChartSeries frontier;
  frontier.name = "Pareto frontier";
  frontier.markers = false;
  frontier.dashed = true;
  for (const StudyPoint& p : points) {
    if (p.dataset != dataset || p.machine != machine) continue;
    ChartSeries s;
    s.name = p.label;
    s.line = false;
    ChartPoint c;
    c.x = p.images_per_s;
    c.y = 100 * p.t2i_r1;
    c.y_lo = 100 * p.t2i_r1_lo;
    c.y_hi = 100 * p.t2i_r1_hi;
    c.highlight = p.frontier;
    c.label = p.label;
    c.show_label = true;
    s.points.push_back(c);
    spec.series.push_back(std::move(s));
    if (p.frontier) {
      ChartPoint f;
      f.x = p.images_per_s;
      f.y = 100 * p.t2i_r1;
      frontier.points.push_back(f);
    }
  }
  VLB_ASSERT(!spec.series.empty());
  std::sort(frontier.points.begin(), frontier.points.end(),
            [](const ChartPoint& a, const ChartPoint& b) { return a.x < b.x; });
  spec.series.insert(spec.series.begin(), std::move(frontier));
  return spec;
}

}  // namespace vlbench
