// Retrieval datasets as published, read into one in-memory form.
//
// Gallery order (the row order of IMAGES.npy / TEXTS.npy everywhere in vlbench):
//  - images: in annotation-file order, keeping only the selected split;
//  - captions: grouped by image in image order, then in the file's caption order.
// Winoground: images are image_0, image_1 of each example in file order (2 rows per
// example); captions are caption_0, caption_1 likewise, so caption 2e+j belongs to image 2e+j.
//
// Dataset specs are "KIND:PATH":
//   coco-karpathy:DIR       DIR/dataset_coco.json (or PATH is the .json itself); images at
//                           DIR/<filepath>/<filename>, or IMAGE_ROOT/<filepath>/<filename>
//   flickr30k-karpathy:DIR  DIR/dataset_flickr30k.json (or the .json); images at
//                           DIR/<filename> or IMAGE_ROOT/<filename> (a `filepath` field, when
//                           present, is honoured as for COCO)
//   winoground:DIR          DIR/examples.jsonl (or the file); images at DIR/images/<image_N>.png
//                           or IMAGE_ROOT/<image_N>.png
//   jsonl:FILE              one {"image": "rel/path.jpg", "captions": ["...", ...]} per line;
//                           paths relative to FILE's folder (IMAGE_ROOT replaces that folder)
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace vlbench {

struct WinogroundExample {
  std::string id;  // the file's "id", as text
  std::string tag;
  std::string secondary_tag;
  std::string collapsed_tag;
  std::int64_t num_main_preds = 0;
};

struct Dataset {
  std::string kind;   // "coco-karpathy", "flickr30k-karpathy", "winoground", "jsonl"
  std::string split;  // the selected split; "all" for winoground and jsonl
  std::filesystem::path annotation_path;  // the annotation file that was read
  std::string annotation_sha256;          // content hash of that file (hex)

  std::vector<std::filesystem::path> image_paths;  // n_images, gallery order
  std::vector<std::string> image_ids;              // n_images: cocoid / imgid / filename / image_N

  std::vector<std::string> captions;              // n_captions, gallery order (the raw text)
  std::vector<std::int32_t> caption_image;        // n_captions: the image each caption describes
  std::vector<std::int32_t> image_caption_begin;  // n_images + 1: captions of image i are
                                                  // [begin[i], begin[i+1])

  std::vector<WinogroundExample> examples;  // winoground only: n_images / 2 entries

  std::int64_t n_images() const { return static_cast<std::int64_t>(image_paths.size()); }
  std::int64_t n_captions() const { return static_cast<std::int64_t>(captions.size()); }
};

struct DatasetOptions {
  std::string split = "test";   // Karpathy datasets: test | val | train | restval
  bool allow_any_size = false;  // skip the 5,000 (COCO) / 1,000 (Flickr30k) test-size check
  std::optional<std::filesystem::path> image_root;
};

// Parses "KIND:PATH" and reads the dataset. Errors (unknown kind, missing file, malformed
// JSON with file and line, missing or mistyped field with file, line/entry and field name,
// unknown split, no images in the split, wrong test size, an image without captions) throw
// vlbench::Error. Image files are not opened here.
Dataset open_dataset(const std::string& spec, const DatasetOptions& options = {});

}  // namespace vlbench
