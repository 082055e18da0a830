// The decision table's rules (decision.hpp) and the reader of index_bench.json.
#include <vlbench/core/atomic_file.hpp>
#include <vlbench/core/error.hpp>
#include <vlbench/core/hash.hpp>
#include <vlbench/report/decision.hpp>
#include <vlbench/report/index_bench_report.hpp>
#include <vlbench/report/study.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

namespace vlbench {

using json = nlohmann::ordered_json;

namespace {

// Field access with errors naming the file and where in it ("runs[0].measurements[3]").
class Reader {
 public:
  explicit Reader(std::filesystem::path path) : path_(std::move(path)) {}

  const json& field(const json& object, const char* name, const std::string& where) const {
    if (!object.is_object() || !object.contains(name)) {
      fail("{}: {}field '{}' missing (not a vlbench index_bench.json?)", path_.string(),
           where.empty() ? "" : where + ": ", name);
    }
    return object[name];
  }

  double number(const json& object, const char* name, const std::string& where) const {
    const json& v = field(object, name, where);
    if (!v.is_number() || !std::isfinite(v.get<double>())) {
      fail("{}: {}.{} must be a finite number, got {}", path_.string(), where, name,
           v.dump().substr(0, 40));
    }
    return v.get<double>();
  }

  std::int64_t count(const json& object, const char* name, const std::string& where) const {
    const json& v = field(object, name, where);
    if (!v.is_number_integer() || v.get<std::int64_t>() < 1) {
      fail("{}: {}.{} must be a whole number >= 1, got {}", path_.string(), where, name,
           v.dump().substr(0, 40));
    }
    return v.get<std::int64_t>();
  }

  std::string text(const json& object, const char* name, const std::string& where) const {
    const json& v = field(object, name, where);
    if (!v.is_string()) fail("{}: {}.{} must be a string", path_.string(), where, name);
    return v.get<std::string>();
  }

  IndexParams params(const json& object, const char* name, const std::string& where) const {
    const json& v = field(object, name, where);
    if (!v.is_object()) fail("{}: {}.{} must be an object", path_.string(), where, name);
    IndexParams out;
    for (const auto& [key, value] : v.items()) {
      if (!value.is_string()) {
        fail("{}: {}.{}.{} must be a string", path_.string(), where, name, key);
      }
      out[key] = value.get<std::string>();
    }
    return out;
  }

 private:
  std::filesystem::path path_;
};

IndexMeasurement read_measurement(const Reader& r, const json& m, const std::string& where) {
  IndexMeasurement out;
  out.type = r.text(m, "type", where);
  out.build_params = r.params(m, "build_params", where);
  out.search_params = r.params(m, "search_params", where);
  out.params = r.params(m, "params", where);
  out.recall_at_1 = r.number(m, "recall_at_1", where);
  out.recall_at_10 = r.number(m, "recall_at_10", where);
  out.recall_at_k = r.number(m, "recall_at_k", where);
  out.batched_qps = r.number(m, "batched_qps", where);
  out.batched_seconds = r.number(m, "batched_seconds", where);
  const json& latency = r.field(m, "latency_ms", where);
  out.latency_p50_ms = r.number(latency, "p50", where + ".latency_ms");
  out.latency_p95_ms = r.number(latency, "p95", where + ".latency_ms");
  out.latency_p99_ms = r.number(latency, "p99", where + ".latency_ms");
  out.build_seconds = r.number(m, "build_seconds", where);
  out.memory_bytes = static_cast<std::int64_t>(r.number(m, "memory_bytes", where));
  out.bytes_per_vector = r.number(m, "bytes_per_vector", where);
  const json& pareto = r.field(m, "pareto", where);
  out.pareto = pareto.is_boolean() && pareto.get<bool>();
  return out;
}

// "hnsw M=16 efSearch=128" of a measurement: its type and every parameter it was run with.
std::string setting_name(const IndexMeasurement& m) {
  IndexParams all = m.build_params;
  for (const auto& [name, value] : m.search_params) all[name] = value;
  return all.empty() ? m.type : m.type + " " + format_params(all);
}

std::string size_text(std::int64_t n) {
  return format_rate(static_cast<double>(n));
}

// "0.05", "1.2", "120", "1,200" milliseconds.
std::string ms_text(double ms) {
  return ms < 10 ? fmt::format("{:.3g}", ms) : format_rate(ms);
}

std::string run_source(const IndexBenchFile& file, const IndexBenchRun& run) {
  return fmt::format("{}, run {} ({} × {})", file.path.string(), run.name,
                     size_text(run.result.n_gallery), run.result.d);
}

bool in_band(const GalleryBand& band, std::int64_t n) {
  return n > band.lo && (band.hi == 0 || n <= band.hi);
}

// a is the better choice than b among qualifying ANN settings: recall, then memory, then p99.
bool better_choice(const IndexMeasurement& a, const IndexMeasurement& b) {
  if (a.recall_at_10 != b.recall_at_10) return a.recall_at_10 > b.recall_at_10;
  if (a.bytes_per_vector != b.bytes_per_vector) return a.bytes_per_vector < b.bytes_per_vector;
  return a.latency_p99_ms < b.latency_p99_ms;
}

// A measurement with the file and run it came from.
struct Found {
  const IndexBenchFile* file = nullptr;
  const IndexBenchRun* run = nullptr;
  const IndexMeasurement* m = nullptr;
  explicit operator bool() const { return m != nullptr; }
  std::int64_t n() const { return run->result.n_gallery; }
};

// The flat measurement whose gallery size is closest to n (log ratio; the larger on a tie).
Found closest_flat(const std::vector<const IndexBenchFile*>& files, std::int64_t n) {
  Found best;
  double best_distance = std::numeric_limits<double>::infinity();
  for (const IndexBenchFile* f : files) {
    for (const IndexBenchRun& run : f->runs) {
      for (const IndexMeasurement& m : run.result.measurements) {
        if (m.type != "flat") continue;
        const double distance =
            std::abs(std::log(static_cast<double>(run.result.n_gallery) / static_cast<double>(n)));
        if (distance < best_distance ||
            (distance == best_distance && run.result.n_gallery > best.n())) {
          best = {f, &run, &m};
          best_distance = distance;
        }
      }
    }
  }
  return best;
}

// The run ANN settings are taken from: the largest gallery inside the band, else the smallest
// above it (first given on a tie).
Found ann_run_for(const std::vector<const IndexBenchFile*>& files, const GalleryBand& band) {
  Found inside, above;
  for (const IndexBenchFile* f : files) {
    for (const IndexBenchRun& run : f->runs) {
      const std::int64_t n = run.result.n_gallery;
      if (in_band(band, n) && (!inside.run || n > inside.n())) {
        inside.file = f;
        inside.run = &run;
      } else if (band.hi != 0 && n > band.hi && (!above.run || n < above.n())) {
        above.file = f;
        above.run = &run;
      }
    }
  }
  return inside.run ? inside : above;
}

void take_figures(SearchDecision& d, const IndexMeasurement& m) {
  d.recall_at_10 = m.recall_at_10;
  d.p99_ms = m.latency_p99_ms;
  d.bytes_per_vector = m.bytes_per_vector;
}

SearchDecision decide(const std::vector<const IndexBenchFile*>& files, const GalleryBand& band,
                      double budget_ms) {
  SearchDecision d;
  d.budget_ms = budget_ms;
  d.recall_at_10 = d.p99_ms = d.bytes_per_vector = d.exact_p99_ms = std::nan("");
  // Rule 1: exact search, its latency scaled linearly to the band's size.
  const Found flat = closest_flat(files, band.size);
  if (flat) {
    const double scale = static_cast<double>(band.size) / static_cast<double>(flat.n());
    d.exact_p99_ms = flat.m->latency_p99_ms * scale;
    d.exact_source = run_source(*flat.file, *flat.run);
    d.exact_note =
        scale == 1.0
            ? "measured at this size"
            : fmt::format("flat p99 {} ms at n = {} × {}: a flat scan is linear in n",
                          ms_text(flat.m->latency_p99_ms), size_text(flat.n()),
                          scale < 1000 ? fmt::format("{:.3g}", scale) : format_rate(scale));
    if (d.exact_p99_ms <= budget_ms) {
      d.choice = "exact (flat)";
      d.estimated = scale != 1.0;
      d.recall_at_10 = 1.0;
      d.p99_ms = d.exact_p99_ms;
      d.bytes_per_vector = flat.m->bytes_per_vector;
      d.source = d.exact_source;
    }
  } else {
    d.exact_note = "no exact (flat) measurement";
  }
  // Rule 2: the best ANN setting measured in the band, else at the next larger size.
  const Found ann_run = ann_run_for(files, band);
  if (!ann_run.run) {
    d.ann_note = fmt::format(
        "no index was measured in this band or above it: run `vlbench "
        "index bench --synthetic {},D`",
        band.size);
    if (d.choice.empty()) d.note = "exact search too slow, no ANN index measured";
    return d;
  }
  d.ann_source = run_source(*ann_run.file, *ann_run.run);
  d.ann_note = ann_run.n() == band.size ? "measured at this size"
               : ann_run.n() < band.size
                   ? fmt::format("measured at n = {}; at {} expect more latency and less recall",
                                 size_text(ann_run.n()), size_text(band.size))
                   : fmt::format(
                         "measured at n = {}, above this band: a smaller gallery is "
                         "usually searched faster and with more recall",
                         size_text(ann_run.n()));
  if (!d.choice.empty()) return d;
  const IndexMeasurement* chosen = nullptr;
  const IndexMeasurement* fastest_accurate = nullptr;  // shown when nothing qualifies
  for (const IndexMeasurement& m : ann_run.run->result.measurements) {
    if (m.type == "flat" || m.recall_at_10 < kDecisionRecall) continue;
    if (!fastest_accurate || m.latency_p99_ms < fastest_accurate->latency_p99_ms) {
      fastest_accurate = &m;
    }
    if (m.latency_p99_ms <= budget_ms && (!chosen || better_choice(m, *chosen))) chosen = &m;
  }
  if (chosen) {
    d.choice = setting_name(*chosen);
    take_figures(d, *chosen);
    d.source = d.ann_source;
  } else if (fastest_accurate) {
    take_figures(d, *fastest_accurate);
    d.source = d.ann_source;
    d.note = fmt::format("the fastest with recall@10 >= {:g} is {}", kDecisionRecall,
                         setting_name(*fastest_accurate));
  } else {
    d.note = fmt::format("no ANN setting reaches recall@10 >= {:g}", kDecisionRecall);
  }
  return d;
}

}  // namespace

IndexBenchFile read_index_bench(const std::filesystem::path& path) {
  const std::string content = read_file(path);
  json doc;
  try {
    doc = json::parse(content);
  } catch (const json::exception& e) {  // syntax, or a number too large to represent
    fail("{}: not valid JSON ({})", path.string(), e.what());
  }
  const Reader r(path);
  const json& schema = r.field(doc, "schema", "");
  if (schema != kIndexBenchSchema) {
    fail("{}: schema is {}, expected \"{}\"", path.string(), schema.dump().substr(0, 60),
         kIndexBenchSchema);
  }
  IndexBenchFile file;
  file.path = path;
  file.machine = machine_label(r.field(doc, "machine", ""));
  file.sha256 = sha256_bytes(content);
  if (doc.contains("version") && doc["version"].is_string()) file.version = doc["version"];
  const json& runs = r.field(doc, "runs", "");
  if (!runs.is_array() || runs.empty()) fail("{}: runs must be a non-empty array", path.string());
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const std::string where = fmt::format("runs[{}]", i);
    IndexBenchRun run;
    run.name = r.text(runs[i], "name", where);
    run.result.n_gallery = r.count(runs[i], "n_gallery", where);
    run.result.n_queries = r.count(runs[i], "n_queries", where);
    run.result.d = r.count(runs[i], "d", where);
    run.result.k = r.count(runs[i], "k", where);
    const json& ms = r.field(runs[i], "measurements", where);
    if (!ms.is_array()) fail("{}: {}.measurements must be an array", path.string(), where);
    for (std::size_t j = 0; j < ms.size(); ++j) {
      run.result.measurements.push_back(
          read_measurement(r, ms[j], fmt::format("{}.measurements[{}]", where, j)));
    }
    file.runs.push_back(std::move(run));
  }
  return file;
}

const std::vector<GalleryBand>& gallery_bands() {
  static const std::vector<GalleryBand> bands = {{"≤ 10K", 0, 10'000, 10'000},
                                                 {"10K – 1M", 10'000, 1'000'000, 1'000'000},
                                                 {"1M – 10M", 1'000'000, 10'000'000, 10'000'000},
                                                 {"> 10M", 10'000'000, 0, 100'000'000}};
  return bands;
}

const std::vector<double>& latency_budgets_ms() {
  static const std::vector<double> budgets = {1, 10, 100};
  return budgets;
}

std::vector<SearchDecision> decide_search(const std::vector<IndexBenchFile>& files) {
  std::vector<std::string> machines;
  for (const IndexBenchFile& f : files) {
    if (std::find(machines.begin(), machines.end(), f.machine) == machines.end()) {
      machines.push_back(f.machine);
    }
  }
  std::vector<SearchDecision> out;
  for (const std::string& machine : machines) {
    std::vector<const IndexBenchFile*> on_machine;
    for (const IndexBenchFile& f : files) {
      if (f.machine == machine) on_machine.push_back(&f);
    }
    const auto& bands = gallery_bands();
    for (std::size_t b = 0; b < bands.size(); ++b) {
      for (const double budget : latency_budgets_ms()) {
        SearchDecision d = decide(on_machine, bands[b], budget);
        d.machine = machine;
        d.band = b;
        out.push_back(std::move(d));
      }
    }
  }
  return out;
}

}  // namespace vlbench
