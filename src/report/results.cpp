#include <vlbench/core/atomic_file.hpp>
#include <vlbench/core/error.hpp>
#include <vlbench/core/npy.hpp>
#include <vlbench/report/results.hpp>

#include <sys/utsname.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>

namespace vlbench {

using json = nlohmann::ordered_json;

namespace {

json estimate_json(const Estimate& e) {
  return {{"value", e.value}, {"ci95", {e.lo, e.hi}}};
}

json retrieval_json(const RetrievalMetrics& m) {
  return {{"queries", m.n_queries},
          {"gallery", m.n_gallery},
          {"r1", estimate_json(m.r1)},
          {"r5", estimate_json(m.r5)},
          {"r10", estimate_json(m.r10)},
          {"mrr", estimate_json(m.mrr)},
          {"median_rank", estimate_json(m.median_rank)},
          {"ties", m.ties}};
}

json winoground_scores_json(const WinogroundScores& s) {
  return {{"examples", s.n_examples},
          {"text", estimate_json(s.text)},
          {"image", estimate_json(s.image)},
          {"group", estimate_json(s.group)},
          {"ties", s.ties}};
}

std::string utc_now() {
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

std::string sidecar_name(const std::filesystem::path& json_path) {
  return json_path.stem().string() + ".per_query.npy";
}

}  // namespace

json retrieval_metrics_json(const RetrievalMetrics& m) {
  return retrieval_json(m);
}

const char* version() {
  return VLBENCH_VERSION;
}

json machine_description() {
  std::string cpu = "unknown";
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) {
      cpu = line.substr(line.find(':') + 2);
      break;
    }
  }
  utsname uts{};
  std::string os = "unknown";
  if (uname(&uts) == 0) os = std::string(uts.sysname) + " " + uts.release + " " + uts.machine;
  return {{"cpu", cpu}, {"logical_cores", std::thread::hardware_concurrency()}, {"os", os}};
}

json results_metrics_json(const EvalResult& result) {
  json metrics = json::object();
  if (result.t2i) metrics["t2i"] = retrieval_json(*result.t2i);
  if (result.i2t) metrics["i2t"] = retrieval_json(*result.i2t);
  if (result.winoground) {
    json w = winoground_scores_json(result.winoground->overall);
    json by_tag = json::object();
    for (const auto& [tag, scores] : result.winoground->by_collapsed_tag) {
      by_tag[tag] = winoground_scores_json(scores);
    }
    w["by_collapsed_tag"] = by_tag;
    metrics["winoground"] = w;
  }
  return metrics;
}

json make_results_document(const Dataset& dataset, const EvalResult& result,
                           const ResultsContext& context) {
  const json metrics = results_metrics_json(result);
  const int threads = context.options.threads > 0
                          ? context.options.threads
                          : static_cast<int>(std::thread::hardware_concurrency());
  return {
      {"schema", kResultsSchema},
      {"model", context.model},
      {"embeddings", context.embeddings},
      {"dataset",
       {{"kind", dataset.kind},
        {"path", dataset.annotation_path.string()},
        {"split", dataset.split},
        {"images", dataset.n_images()},
        {"captions", dataset.n_captions()},
        {"sha256", dataset.annotation_sha256}}},
      {"protocol", result.protocol},
      {"metrics", metrics},
      {"speed", context.speed},
      {"machine", machine_description()},
      {"run",
       {{"command", context.command},
        {"threads", threads},
        {"gemm", result.gemm},
        {"bootstrap",
         {{"resamples", context.options.bootstrap.n_resamples},
          {"seed", context.options.bootstrap.seed},
          {"interval", "95% percentile"},
          {"unit", result.winoground ? "example" : "query"}}},
        {"tie_rule", "rank = 1 + #higher + #equal with lower gallery index"},
        {"eval_seconds", context.eval_seconds},
        {"version", VLBENCH_VERSION},
        {"started", utc_now()}}},
      {"per_query", nullptr},
  };
}

void write_results(const std::filesystem::path& path, json document, const EvalResult& result) {
  std::vector<std::int32_t> values;
  json layout = json::object();
  const auto append = [&](const char* name, const auto& source) {
    layout[name] = {values.size(), source.size()};
    values.insert(values.end(), source.begin(), source.end());
  };
  if (result.t2i) append("t2i_rank", result.t2i->ranks);
  if (result.i2t) append("i2t_rank", result.i2t->ranks);
  if (result.winoground) append("winoground_outcome", result.winoground->outcome);

  const std::filesystem::path sidecar = path.parent_path() / sidecar_name(path);
  document["per_query"] = sidecar.filename().string();
  document["per_query_layout"] = layout;

  // Write both under temporary names first; rename the sidecar, then the document, so a
  // document never points at a missing or stale sidecar.
  AtomicFile sidecar_file(sidecar);
  write_npy(sidecar_file.temp_path(), DType::i32, {static_cast<std::int64_t>(values.size())},
            values.data());
  AtomicFile document_file(path);
  {
    std::ofstream out(document_file.temp_path(), std::ios::binary);
    out << document.dump(2) << '\n';
    if (!out) fail("cannot write {}", document_file.temp_path().string());
  }
  sidecar_file.commit();
  document_file.commit();
}

namespace {

const json& require(const json& object, const char* field, const std::filesystem::path& path) {
  if (!object.is_object() || !object.contains(field)) {
    fail("{}: field '{}' missing (not a vlbench results document?)", path.string(), field);
  }
  return object[field];
}

}  // namespace

LoadedResults read_results(const std::filesystem::path& path) {
  LoadedResults loaded;
  loaded.path = path;
  const std::string text = read_file(path);
  try {
    loaded.document = json::parse(text);
  } catch (const json::exception& e) {  // syntax, or a number too large to represent
    fail("{}: not valid JSON ({})", path.string(), e.what());
  }
  const json& schema = require(loaded.document, "schema", path);
  if (schema != kResultsSchema) {
    fail("{}: schema is {}, expected \"{}\"", path.string(), schema.dump(), kResultsSchema);
  }
  for (const char* field : {"model", "dataset", "protocol", "metrics", "run"}) {
    require(loaded.document, field, path);
  }
  const json& sidecar_name_json = require(loaded.document, "per_query", path);
  const json& layout = require(loaded.document, "per_query_layout", path);
  if (!sidecar_name_json.is_string() || !layout.is_object()) {
    fail("{}: 'per_query' must name a file and 'per_query_layout' must be an object",
         path.string());
  }
  const std::filesystem::path sidecar = path.parent_path() / sidecar_name_json.get<std::string>();
  const NpyArray array = read_npy(sidecar);
  if (array.dtype != DType::i32 || array.shape.size() != 1) {
    fail("{}: expected a 1-d int32 array of per-query values", sidecar.string());
  }
  const std::int64_t n = array.shape[0];
  // The mapped data need not be aligned for int32: copy it out.
  std::vector<std::int32_t> values(static_cast<std::size_t>(n));
  if (n > 0) std::memcpy(values.data(), array.data, sizeof(std::int32_t) * values.size());
  for (const auto& [name, range] : layout.items()) {
    if (!range.is_array() || range.size() != 2 || !range[0].is_number_unsigned() ||
        !range[1].is_number_unsigned()) {
      fail("{}: per_query_layout.{} must be [offset, count]", path.string(), name);
    }
    const auto offset = range[0].get<std::int64_t>();
    const auto count = range[1].get<std::int64_t>();
    if (offset > n || count > n - offset) {
      fail("{}: per_query_layout.{} = [{}, {}] exceeds the {} values in {}", path.string(), name,
           offset, count, n, sidecar.string());
    }
    const std::int32_t* begin = values.data() + offset;
    if (name == "t2i_rank") {
      loaded.per_query.t2i_rank.assign(begin, begin + count);
    } else if (name == "i2t_rank") {
      loaded.per_query.i2t_rank.assign(begin, begin + count);
    } else if (name == "winoground_outcome") {
      loaded.per_query.winoground_outcome.assign(begin, begin + count);
    } else {
      fail("{}: unknown per_query_layout entry '{}'", path.string(), name);
    }
  }
  return loaded;
}

std::vector<MetricComparison> compare_results(const LoadedResults& a, const LoadedResults& b,
                                              const BootstrapOptions& options, int threads) {
  const json& da = a.document["dataset"];
  const json& db = b.document["dataset"];
  for (const char* field : {"kind", "sha256", "split", "images", "captions"}) {
    if (da.value(field, json()) != db.value(field, json())) {
      fail("{} and {} are not comparable: dataset {} differs ({} vs {})", a.path.string(),
           b.path.string(), field, da.value(field, json()).dump(), db.value(field, json()).dump());
    }
  }
  if (a.document["protocol"] != b.document["protocol"]) {
    fail("{} and {} are not comparable: protocol differs ({} vs {})", a.path.string(),
         b.path.string(), a.document["protocol"].dump(), b.document["protocol"].dump());
  }
  return compare_per_query(a.per_query, b.per_query, options, threads);
}

}  // namespace vlbench
