// Model options shared by the commands that take --model.
#pragma once

#include <CLI/CLI.hpp>

#include <vlbench/hub/cache.hpp>
#include <vlbench/models/model.hpp>
#include <vlbench/vision/image.hpp>
#include "cli/validators.hpp"

#include <cstdint>
#include <string>

namespace vlbench::cli {

// The help of every option that names a model.
inline constexpr const char* kModelHelp =
    "checkpoint folder, or ORG/NAME[@REVISION] in the local Hugging Face cache ($HF_HUB_CACHE, "
    "else $HF_HOME/hub, else ~/.cache/huggingface/hub; `vlbench pull` fetches one)";

// A --model, --rerank-model or --base value as the folder to load (hub/cache.hpp): every
// command resolves the models it is given here, before any other work. Empty stays empty.
inline ModelSource resolve_model_option(const std::string& value, const char* option) {
  if (value.empty()) return {};
  return resolve_model_reference(value, option);
}

// --text-padding model | longest and --max-text-tokens N (ModelLoadOptions::text_padding,
// max_text_tokens).
struct TextFlags {
  std::string padding = "model";
  int max_tokens = 0;

  void add_to(CLI::App* sub) {
    sub->add_option("--text-padding", padding,
                    "caption padding: model (what the model was trained with; `tokenize` shows "
                    "it) | longest (diagnostic: each batch padded to its longest caption, the "
                    "common mistake; recorded in the results)")
        ->check(CLI::IsMember({"model", "longest"}))
        ->capture_default_str();
    sub->add_option("--max-text-tokens", max_tokens,
                    "truncate captions to N tokens, special tokens included (models whose text "
                    "length is not fixed, e.g. jina-clip: default 512; recorded in the results)")
        ->check(CLI::Range(1, 1 << 20));
  }
  void apply(ModelLoadOptions& options) const {
    options.text_padding = parse_text_padding(padding);
    options.max_text_tokens = max_tokens;
  }
};

// --base DIR (ModelLoadOptions::base): the base checkpoint of a PEFT LoRA adapter folder.
inline void add_base_option(CLI::App* sub, std::string& base) {
  sub->add_option("--base", base,
                  "base checkpoint (folder or ORG/NAME[@REVISION]) of a PEFT LoRA adapter given "
                  "as --model (default: the adapter's base_model_name_or_path, as a path, a "
                  "folder next to the adapter, or a Hub id in the local cache)");
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

// --exif-orientation (DecodeOptions::exif_orientation): apply each image's EXIF orientation
// first, as ImageOps.exif_transpose does; off by default, as the Hugging Face processors.
inline void add_exif_orientation_option(CLI::App* sub, bool& exif_orientation) {
  exif_orientation = false;
  sub->add_flag("--exif-orientation", exif_orientation,
                "rotate / mirror each image as its EXIF Orientation tag says (HEIF/AVIF: their "
                "irot/imir), before preprocessing, as Pillow's ImageOps.exif_transpose; off by "
                "default, as the Hugging Face processors (recorded in the results)");
}

}  // namespace vlbench::cli
