// vlbench report: the study's tables from results documents.
#include "cli/commands.hpp"

#include <vlbench/report/results.hpp>
#include <vlbench/report/study.hpp>

#include <cstdio>

namespace vlbench::cli {

void add_report(CLI::App& app) {
  struct Args {
    std::vector<std::string> files;
    std::vector<std::string> index_bench;
    std::string format = "md";
  };
  auto args = std::make_shared<Args>();
  CLI::App* sub = app.add_subcommand("report", "Render results documents as tables");
  sub->add_option("results", args->files, "RESULTS.json files")
      ->required()
      ->check(CLI::ExistingFile);
  sub->add_option("--format", args->format,
                  "md | html (the study report in Markdown, or as one self-contained page) | "
                  "csv | json (the metrics)")
      ->check(CLI::IsMember({"md", "html", "csv", "json"}))
      ->capture_default_str();
  sub->add_option("--index-bench", args->index_bench,
                  "index_bench.json of `vlbench index bench` (repeatable): the decision table's "
                  "search rows by gallery size (md and html)")
      ->check(CLI::ExistingFile);
  sub->callback([args] {
    std::vector<LoadedResults> results;
    for (const auto& f : args->files) results.push_back(read_results(f));
    std::vector<IndexBenchFile> index_bench;
    for (const auto& f : args->index_bench) index_bench.push_back(read_index_bench(f));
    const std::string text = args->format == "md"     ? render_study_markdown(results, index_bench)
                             : args->format == "html" ? render_study_html(results, index_bench)
                             : args->format == "csv"  ? render_csv(results)
                                                      : render_json(results);
    std::fputs(text.c_str(), stdout);
  });
}

}  // namespace vlbench::cli
