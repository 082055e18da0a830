// The dataset flags shared by the subcommands that read a dataset.
#pragma once

#include <vlbench/data/dataset.hpp>

#include <CLI/CLI.hpp>

#include <string>

namespace vlbench::cli {

struct DatasetFlags {
  std::string spec;
  std::string split = "test";
  std::string image_root;
  bool allow_any_size = false;

  void add_to(CLI::App* sub) {
    sub->add_option("--dataset", spec,
                    "KIND:PATH with KIND coco-karpathy, flickr30k-karpathy, winoground or jsonl")
        ->required();
    sub->add_option("--split", split, "Karpathy split: test | val | train | restval")
        ->capture_default_str();
    sub->add_flag("--allow-any-size", allow_any_size,
                  "accept test splits other than 5,000 (COCO) / 1,000 (Flickr30k) images");
    sub->add_option("--image-root", image_root, "folder the dataset's image paths start at");
  }

  Dataset open() const {
    DatasetOptions options;
    options.split = split;
    options.allow_any_size = allow_any_size;
    if (!image_root.empty()) options.image_root = image_root;
    return open_dataset(spec, options);
  }
};

}  // namespace vlbench::cli
