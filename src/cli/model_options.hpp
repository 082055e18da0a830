// Model options shared by the commands that take --model.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace vlbench::cli {

// --text-padding model | longest (ModelLoadOptions::text_padding).
inline void add_text_padding_option(CLI::App* sub, std::string& text_padding) {
  sub->add_option("--text-padding", text_padding,
                  "caption padding: model (as trained: CLIP true length, SigLIP 64 tokens) | "
                  "longest (diagnostic: each batch padded to its longest caption, the common "
                  "mistake; recorded in the results)")
      ->check(CLI::IsMember({"model", "longest"}))
      ->capture_default_str();
}

}  // namespace vlbench::cli
