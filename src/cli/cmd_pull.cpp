// vlbench pull: a model from the Hugging Face Hub into the local cache (hub/pull.hpp), where
// --model ORG/NAME[@REVISION] finds it.
#include "cli/commands.hpp"

#include <vlbench/hub/pull.hpp>

#include <cstdio>
#include <memory>

#include <unistd.h>

namespace vlbench::cli {

void add_pull(CLI::App& app) {
  struct Args {
    std::string reference;
    std::vector<std::string> include;
  };
  auto args = std::make_shared<Args>();
  CLI::App* sub = app.add_subcommand(
      "pull",
      "Download a model from the Hugging Face Hub ($HF_ENDPOINT, $HF_TOKEN) into the local cache "
      "($HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub), where --model "
      "ORG/NAME[@REVISION] and Python tools find it");
  sub->add_option("reference", args->reference, "ORG/NAME[@REVISION] (default revision: main)")
      ->required();
  sub->add_option("--include", args->include,
                  "glob of the files to fetch (repeatable; '*' crosses '/'); default: config, "
                  "tokenizer and preprocessor files and the weights in one format "
                  "(safetensors before .bin)");
  sub->callback([args] {
    const HubSettings settings = hub_settings_from_environment();
    PullOptions options;
    options.include = args->include;
    options.progress = ::isatty(STDERR_FILENO) != 0;
    options.on_file = [](const std::string& line) {
      std::printf("  %s\n", line.c_str());
      std::fflush(stdout);
    };
    std::printf("vlbench pull %s from %s into %s (%s)\n", args->reference.c_str(),
                settings.endpoint.c_str(), settings.cache_dir.c_str(),
                settings.cache_dir_origin.c_str());
    std::fflush(stdout);
    const PullResult result = pull_model(args->reference, settings, options);
    std::int64_t bytes = 0;
    std::size_t downloaded = 0;
    for (const PulledFile& f : result.files) {
      bytes += f.bytes;
      downloaded += f.downloaded ? 1 : 0;
    }
    std::printf("%s: commit %s, %zu files (%lld bytes; %zu downloaded) in %s\n",
                result.reference.to_string().c_str(), result.commit.c_str(), result.files.size(),
                static_cast<long long>(bytes), downloaded, result.snapshot.c_str());
    std::printf("use it as: --model %s\n", args->reference.c_str());
  });
}

}  // namespace vlbench::cli
