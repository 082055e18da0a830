// vlbench: the command-line client of the vlbench library.
#include "cli/commands.hpp"

#include <vlbench/core/error.hpp>
#include <vlbench/report/results.hpp>

#include <cstdio>
#include <exception>
#include <new>

int main(int argc, char** argv) {
  CLI::App app{"vlbench: accuracy and speed of vision-language embedding models for image search"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(vlbench::version()));
  vlbench::cli::add_eval(app);
  vlbench::cli::add_report(app);
  vlbench::cli::add_compare(app);
  vlbench::cli::add_synth_embeddings(app);
  vlbench::cli::add_model_stages(app);
  vlbench::cli::add_encode_and_run(app);
  vlbench::cli::add_index(app);
  vlbench::cli::add_serve(app);
  vlbench::cli::add_pull(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const vlbench::Error& e) {
    std::fprintf(stderr, "vlbench: error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr,
                 "vlbench: error: out of memory: the input asks for more memory than this "
                 "machine can give\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vlbench: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
