// The per-format readers behind open_dataset(). Each reads one annotation file that
// open_dataset() has already located, and fills a Dataset in gallery order (see
// include/vlbench/data/dataset.hpp); kind, annotation_path and annotation_sha256 are filled by
// the caller.
#pragma once

#include "vlbench/data/dataset.hpp"

#include <filesystem>
#include <string_view>

namespace vlbench::data {

enum class KarpathyCorpus { coco, flickr30k };

// `text` is the content of `annotation`; image paths are image_base/<filepath>/<filename>.
// Selects options.split, checks the Karpathy test-split size unless options.allow_any_size.
Dataset read_karpathy(KarpathyCorpus corpus, const std::filesystem::path& annotation,
                      std::string_view text, const std::filesystem::path& image_base,
                      const DatasetOptions& options);

// Winoground examples.jsonl; image paths are image_folder/<image_N>.png.
Dataset read_winoground(const std::filesystem::path& annotation, std::string_view text,
                        const std::filesystem::path& image_folder);

// {"image": ..., "captions": [...]} per line; image paths are image_base/<image>.
Dataset read_jsonl(const std::filesystem::path& annotation, std::string_view text,
                   const std::filesystem::path& image_base);

}  // namespace vlbench::data
