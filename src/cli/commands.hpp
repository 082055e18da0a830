// The vlbench subcommands. Each add_* registers its subcommand, options and callback on the
// app; the callbacks throw vlbench::Error on user errors (main prints it and exits 1).
#pragma once

#include <CLI/CLI.hpp>

namespace vlbench::cli {

void add_eval(CLI::App& app);
void add_report(CLI::App& app);
void add_compare(CLI::App& app);
void add_synth_embeddings(CLI::App& app);
// tokenize, preprocess, embed, make-model
void add_model_stages(CLI::App& app);
// encode, run
void add_encode_and_run(CLI::App& app);
// index build | search (vector_index.hpp)
void add_index(CLI::App& app);
// index bench, registered on the `index` subcommand (cmd_index_bench.cpp)
void add_index_bench(CLI::App& index);
// serve: the HTTP search server
void add_serve(CLI::App& app);
// pull: a model from the Hugging Face Hub into the local cache
void add_pull(CLI::App& app);

}  // namespace vlbench::cli
