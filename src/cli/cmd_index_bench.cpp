// vlbench index bench: recall against exact search, batched queries/s, single-query latency,
// build time and memory of index settings on one gallery and its queries; the Pareto
// frontier; a JSON record, a Markdown table and one SVG chart per direction.
//
// Settings: each --type starts a setting; every --sweep NAME=V1,V2,... and --param NAME=VALUE
// that follows it (up to the next --type) belongs to it: --param is a build parameter, --sweep
// a search-time parameter swept on the one build (several sweeps: every combination). A
// --sweep or --param before the first --type is an error. No --type: the default settings of
// default_index_bench_settings (flat, flat-int8, flat-binary, hnsw, and ivf-flat / ivf-pq on
// galleries of 1,000 rows or more).
//
// Data: --gallery G.npy --queries Q.npy (run "search"); or --encoded DIR, a `vlbench encode`
// folder, as two runs: t2i (TEXTS.npy queries over IMAGES.npy) and i2t (IMAGES.npy queries
// over TEXTS.npy); or --synthetic N,D[,CLUSTERS] (run "synthetic", synthetic.hpp). Rows are
// scaled to unit length. Output in --out DIR: index_bench.json, index_bench.md and
// recall_qps_<run>.svg per run, each written atomically.
#include "cli/commands.hpp"
#include "cli/validators.hpp"

#include <vlbench/core/atomic_file.hpp>
#include <vlbench/core/error.hpp>
#include <vlbench/core/hash.hpp>
#include <vlbench/eval/embeddings.hpp>
#include <vlbench/index/index_bench.hpp>
#include <vlbench/index/synthetic.hpp>
#include <vlbench/index/vector_index.hpp>
#include <vlbench/report/chart.hpp>
#include <vlbench/report/index_bench_report.hpp>
#include <vlbench/report/results.hpp>

#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace vlbench::cli {

namespace {

namespace fs = std::filesystem;

struct IndexBenchArgs {
  std::string gallery, queries, encoded, synthetic, out;
  std::vector<std::string> types, sweeps, params;
  std::int64_t k = 10;
  int threads = 0;
  int reps = 3;
  std::int64_t latency_queries = 1000;
  std::int64_t synthetic_queries = 1000;
  std::uint64_t seed = 0;
  CLI::App* sub = nullptr;
  CLI::Option* type_option = nullptr;
  CLI::Option* sweep_option = nullptr;
  CLI::Option* param_option = nullptr;
};

// Walks the command line in order: each --sweep / --param joins the most recent --type.
std::vector<IndexBenchSetting> settings_from_flags(const IndexBenchArgs& args) {
  std::vector<IndexBenchSetting> settings;
  std::size_t type_i = 0, sweep_i = 0, param_i = 0;
  for (const CLI::Option* option : args.sub->parse_order()) {
    if (option == args.type_option) {
      settings.push_back({args.type_option->results().at(type_i++), {}, {}});
    } else if (option == args.sweep_option || option == args.param_option) {
      const bool sweep = option == args.sweep_option;
      const std::string& text =
          sweep ? option->results().at(sweep_i++) : option->results().at(param_i++);
      const char* flag = sweep ? "--sweep" : "--param";
      if (settings.empty()) fail("{} {}: expected after a --type it applies to", flag, text);
      IndexBenchSetting& setting = settings.back();
      if (sweep) {
        setting.sweeps.push_back(
            parse_sweep(text, fmt::format("--sweep (--type {})", setting.type)));
      } else {
        auto [name, value] =
            parse_param_assignment(text, fmt::format("--param (--type {})", setting.type));
        setting.build_params[name] = value;
      }
    }
  }
  return settings;
}

nlohmann::ordered_json params_json(const IndexParams& params) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const auto& [name, value] : params) out[name] = value;
  return out;
}

struct Run {
  std::string name;
  MatrixF32 gallery, queries;
  nlohmann::ordered_json source;  // where gallery and queries came from
};

nlohmann::ordered_json file_json(const fs::path& path) {
  return {{"path", path.string()}, {"sha256", sha256_file(path)}};
}

MatrixF32 load(const fs::path& path, const char* role) {
  return load_unit_embeddings(path, role);
}

std::vector<Run> load_runs(const IndexBenchArgs& args) {
  const int sources = !args.gallery.empty() + !args.encoded.empty() + !args.synthetic.empty();
  if (sources != 1 || args.gallery.empty() != args.queries.empty()) {
    fail(
        "index bench: expected exactly one of --gallery with --queries, --encoded DIR or "
        "--synthetic N,D[,CLUSTERS]");
  }
  std::vector<Run> runs;
  if (!args.gallery.empty()) {
    Run run{"search", load(args.gallery, "gallery"), load(args.queries, "queries"), {}};
    if (run.gallery.cols != run.queries.cols) {
      fail("{}: expected {}-dimensional rows like the gallery {}, got {}", args.queries,
           run.gallery.cols, args.gallery, run.queries.cols);
    }
    run.source = {{"gallery", file_json(args.gallery)}, {"queries", file_json(args.queries)}};
    runs.push_back(std::move(run));
  } else if (!args.encoded.empty()) {
    const fs::path images_path = fs::path(args.encoded) / "IMAGES.npy";
    const fs::path texts_path = fs::path(args.encoded) / "TEXTS.npy";
    MatrixF32 images = load(images_path, "image embeddings");
    MatrixF32 texts = load(texts_path, "text embeddings");
    if (images.cols != texts.cols) {
      fail("{}: expected {}-dimensional rows like {}, got {}", texts_path.string(), images.cols,
           images_path.string(), texts.cols);
    }
    const auto images_json = file_json(images_path);
    const auto texts_json = file_json(texts_path);
    runs.push_back({"t2i", images, texts, {{"gallery", images_json}, {"queries", texts_json}}});
    runs.push_back({"i2t",
                    std::move(texts),
                    std::move(images),
                    {{"gallery", texts_json}, {"queries", images_json}}});
  } else {
    std::vector<std::int64_t> numbers;
    std::size_t begin = 0;
    while (true) {
      const std::size_t comma = args.synthetic.find(',', begin);
      const std::string part = args.synthetic.substr(begin, comma - begin);
      std::size_t used = 0;
      long long value = 0;
      try {
        value = std::stoll(part, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (part.empty() || used != part.size() || value < 1) {
        fail("--synthetic: expected N,D[,CLUSTERS] with positive integers, got '{}'",
             args.synthetic);
      }
      numbers.push_back(value);
      if (comma == std::string::npos) break;
      begin = comma + 1;
    }
    if (numbers.size() < 2 || numbers.size() > 3) {
      fail("--synthetic: expected N,D[,CLUSTERS] with positive integers, got '{}'", args.synthetic);
    }
    SyntheticSpec spec;
    spec.n = numbers[0];
    spec.d = numbers[1];
    spec.clusters = numbers.size() == 3 ? numbers[2] : 0;
    spec.n_queries = args.synthetic_queries;
    spec.seed = args.seed;
    SyntheticData data = make_synthetic_clustered(spec, args.threads);
    Run run{"synthetic", std::move(data.gallery), std::move(data.queries), {}};
    run.source = {{"synthetic",
                   {{"n", spec.n},
                    {"n_queries", spec.n_queries},
                    {"d", spec.d},
                    {"clusters", data.clusters},
                    {"latent_dim", spec.latent_dim},
                    {"spread", spec.spread},
                    {"noise", spec.noise},
                    {"seed", spec.seed}}}};
    runs.push_back(std::move(run));
  }
  return runs;
}

void run_index_bench_command(const IndexBenchArgs& args) {
  std::vector<IndexBenchSetting> given = settings_from_flags(args);
  const std::vector<Run> runs = load_runs(args);
  const fs::path out = args.out;
  fs::create_directories(out);

  IndexBenchOptions options;
  options.k = args.k;
  options.threads = args.threads;
  options.batch_reps = args.reps;
  options.latency_reps = args.reps;
  options.latency_queries = args.latency_queries;

  nlohmann::ordered_json doc;
  doc["schema"] = kIndexBenchSchema;
  doc["version"] = version();
  doc["machine"] = machine_description();
  doc["options"] = {{"k", args.k},
                    {"threads", args.threads},
                    {"reps", args.reps},
                    {"latency_queries", args.latency_queries}};
  doc["runs"] = nlohmann::ordered_json::array();
  std::string markdown = "## vlbench index bench\n\n";
  std::vector<std::pair<fs::path, std::string>> charts;
  for (const Run& run : runs) {
    const std::vector<IndexBenchSetting> settings =
        given.empty() ? default_index_bench_settings(run.gallery.rows, run.gallery.cols) : given;
    options.progress = [&run](const std::string& what) {
      std::fprintf(stderr, "index bench %s: %s\n", run.name.c_str(), what.c_str());
    };
    const IndexBenchResult result =
        run_index_bench(run.gallery.values.data(), run.gallery.rows, run.queries.values.data(),
                        run.queries.rows, run.gallery.cols, settings, options, make_index);
    nlohmann::ordered_json settings_json = nlohmann::ordered_json::array();
    for (const IndexBenchSetting& s : settings) {
      nlohmann::ordered_json sweeps = nlohmann::ordered_json::object();
      for (const SweepParam& sweep : s.sweeps) sweeps[sweep.name] = sweep.values;
      settings_json.push_back(
          {{"type", s.type}, {"build_params", params_json(s.build_params)}, {"sweeps", sweeps}});
    }
    nlohmann::ordered_json run_json = {
        {"name", run.name}, {"source", run.source}, {"settings", settings_json}};
    run_json.update(index_bench_to_json(result));
    doc["runs"].push_back(std::move(run_json));
    const std::string title =
        fmt::format("{}: recall@10 vs queries/s ({} × {})", run.name, result.n_gallery, result.d);
    markdown += index_bench_markdown(result, title) + "\n";
    charts.push_back({out / fmt::format("recall_qps_{}.svg", run.name),
                      render_svg_chart(index_bench_chart(result, title))});
  }
  write_file_atomic(out / "index_bench.json", doc.dump(2) + "\n");
  write_file_atomic(out / "index_bench.md", markdown);
  for (const auto& [path, svg] : charts) write_file_atomic(path, svg);
  std::fputs(markdown.c_str(), stdout);
  std::printf("wrote %s, %s and %zu chart(s)\n", (out / "index_bench.json").c_str(),
              (out / "index_bench.md").c_str(), charts.size());
}

}  // namespace

void add_index_bench(CLI::App& index) {
  auto args = std::make_shared<IndexBenchArgs>();
  CLI::App* sub = index.add_subcommand(
      "bench",
      "Recall vs exact, queries/s, latency, build time and memory of index settings; Pareto "
      "frontier; JSON, Markdown and SVG chart");
  args->sub = sub;
  sub->add_option("--gallery", args->gallery, "gallery embeddings .npy [n, d]")
      ->check(CLI::ExistingFile);
  sub->add_option("--queries", args->queries, "query embeddings .npy [m, d]")
      ->check(CLI::ExistingFile);
  sub->add_option("--encoded", args->encoded,
                  "a `vlbench encode` folder (IMAGES.npy, TEXTS.npy): t2i and i2t runs")
      ->check(CLI::ExistingDirectory);
  sub->add_option("--synthetic", args->synthetic,
                  "N,D[,CLUSTERS]: a synthetic clustered gallery (default N/1000 clusters)");
  sub->add_option("--synthetic-queries", args->synthetic_queries, "queries of --synthetic")
      ->check(at_least(1))
      ->capture_default_str();
  sub->add_option("--seed", args->seed, "seed of --synthetic")->capture_default_str();
  args->type_option =
      sub->add_option("--type", args->types,
                      "index type (repeatable); the --sweep/--param after it apply to it")
          ->expected(1)
          ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
          ->check(CLI::IsMember(index_types()));
  args->sweep_option =
      sub->add_option("--sweep", args->sweeps,
                      "NAME=V1,V2,...: search-time values to sweep for the preceding --type")
          ->expected(1)
          ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  args->param_option = sub->add_option("--param", args->params,
                                       "NAME=VALUE: build parameter of the preceding --type")
                           ->expected(1)
                           ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  sub->add_option("--k", args->k, "neighbours per query (>= 10)")
      ->check(CLI::Range(std::int64_t{10}, std::int64_t{1} << 20))
      ->capture_default_str();
  sub->add_option("--threads", args->threads, "threads of the batched search (0: all cores)")
      ->check(thread_count())
      ->capture_default_str();
  sub->add_option("--reps", args->reps, "timed repetitions (medians are reported)")
      ->check(at_least(1))
      ->capture_default_str();
  sub->add_option("--latency-queries", args->latency_queries,
                  "queries timed one at a time (0: all)")
      ->check(at_least(0))
      ->capture_default_str();
  sub->add_option("--out", args->out, "output folder")->required();
  sub->callback([args] { run_index_bench_command(*args); });
}

}  // namespace vlbench::cli
