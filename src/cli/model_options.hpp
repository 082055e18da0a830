// Model options shared by the commands that take --model.
#pragma once

#include <CLI/CLI.hpp>

#include <vlbench/vision/image.hpp>
#include "cli/validators.hpp"

#include <cstdint>
#include <string>

namespace vlbench::cli {

// --text-padding model | longest (ModelLoadOptions::text_padding).
inline void add_text_padding_option(CLI::App* sub, std::string& text_padding) {
  sub->add_option("--text-padding", text_padding,
                  "caption padding: model (what the model was trained with; `tokenize` shows it) | "
                  "longest (diagnostic: each batch padded to its longest caption, the common "
                  "mistake; recorded in the results)")
      ->check(CLI::IsMember({"model", "longest"}))
      ->capture_default_str();
}

// --base DIR (ModelLoadOptions::base): the base checkpoint of a PEFT LoRA adapter folder.
inline void add_base_option(CLI::App* sub, std::string& base) {
  sub->add_option("--base", base,
                  "base checkpoint of a PEFT LoRA adapter given as --model (default: the "
                  "adapter's base_model_name_or_path, as a path or a folder next to the adapter)");
}

// --max-image-pixels N (DecodeOptions::max_pixels): a decompression-bomb bound.
inline void add_max_image_pixels_option(CLI::App* sub, std::int64_t& max_pixels) {
  max_pixels = kPillowMaxImagePixels;
  sub->add_option("--max-image-pixels", max_pixels,
                  "images declaring more pixels (width x height) are refused before decoding "
                  "(Pillow's default; 0: no limit)")
      ->check(at_least(0))
      ->capture_default_str();
}

}  // namespace vlbench::cli
