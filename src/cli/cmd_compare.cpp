// vlbench compare: paired bootstrap of B - A for every metric.
#include "cli/commands.hpp"
#include "cli/validators.hpp"

#include <vlbench/report/results.hpp>

#include <cstdio>

namespace vlbench::cli {

void add_compare(CLI::App& app) {
  struct Args {
    std::string a, b;
    std::string format = "md";
    int bootstrap = 1000;
    std::uint64_t seed = 0;
    int threads = 0;
  };
  auto args = std::make_shared<Args>();
  CLI::App* sub = app.add_subcommand(
      "compare", "Paired bootstrap test of B - A on the same dataset and protocol");
  sub->add_option("A", args->a, "results document A")->required()->check(CLI::ExistingFile);
  sub->add_option("B", args->b, "results document B")->required()->check(CLI::ExistingFile);
  sub->add_option("--format", args->format, "md | json")
      ->check(CLI::IsMember({"md", "json"}))
      ->capture_default_str();
  sub->add_option("--bootstrap", args->bootstrap, "bootstrap resamples")
      ->check(between(1, kMaxBootstrap))
      ->capture_default_str();
  sub->add_option("--seed", args->seed, "bootstrap seed")->capture_default_str();
  sub->add_option("--threads", args->threads, "threads (0: all cores)")
      ->check(thread_count())
      ->capture_default_str();
  sub->callback([args] {
    const LoadedResults a = read_results(args->a);
    const LoadedResults b = read_results(args->b);
    BootstrapOptions options{args->bootstrap, args->seed};
    const auto comparisons = compare_results(a, b, options, args->threads);
    const std::string text = args->format == "md"
                                 ? render_comparison_markdown(a, b, comparisons, options)
                                 : render_comparison_json(a, b, comparisons, options);
    std::fputs(text.c_str(), stdout);
  });
}

}  // namespace vlbench::cli
