// vlbench report: the study's tables from results documents.
#include "cli/commands.hpp"

#include <vlbench/report/results.hpp>
#include <vlbench/report/study.hpp>

#include <cstdio>

namespace vlbench::cli {

void add_report(CLI::App& app) {
  struct Args {
    std::vector<std::string> files;
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
  sub->callback([args] {
    std::vector<LoadedResults> results;
    for (const auto& f : args->files) results.push_back(read_results(f));
    const std::string text = args->format == "md"     ? render_study_markdown(results)
                             : args->format == "html" ? render_study_html(results)
                             : args->format == "csv"  ? render_csv(results)
                                                      : render_json(results);
    std::fputs(text.c_str(), stdout);
  });
}

}  // namespace vlbench::cli
