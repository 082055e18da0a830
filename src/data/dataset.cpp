// open_dataset(): parses "KIND:PATH", finds the annotation file, maps it once (hash and parse
// from the same bytes, no copy of a 150 MB COCO file) and hands it to the reader of that kind.
#include "vlbench/data/dataset.hpp"

#include "data/readers.hpp"
#include "vlbench/core/error.hpp"
#include "vlbench/core/hash.hpp"
#include "vlbench/core/mapped_file.hpp"

#include <system_error>

namespace vlbench {
namespace {

constexpr const char* kKinds = "coco-karpathy, flickr30k-karpathy, winoground, jsonl";

// A folder PATH means PATH/<default_name>; otherwise PATH must be the annotation file itself.
// jsonl has no default name: its PATH is always the file.
std::filesystem::path locate_annotation(const std::string& kind, const std::filesystem::path& path,
                                        const char* default_name) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    if (default_name == nullptr) {
      fail("{}: is a folder; {}:FILE expects the JSON Lines file itself", path.string(), kind);
    }
    std::filesystem::path file = path / default_name;
    if (!std::filesystem::is_regular_file(file, ec)) {
      fail("{}: annotation file not found ({}:DIR expects DIR/{})", file.string(), kind,
           default_name);
    }
    return file;
  }
  if (std::filesystem::is_regular_file(path, ec)) return path;
  if (default_name == nullptr) fail("{}: annotation file not found", path.string());
  fail("{}: annotation file not found (expected a folder holding {}, or the file itself)",
       path.string(), default_name);
}

}  // namespace

Dataset open_dataset(const std::string& spec, const DatasetOptions& options) {
  const std::size_t colon = spec.find(':');
  if (colon == std::string::npos) {
    fail("dataset spec '{}': expected KIND:PATH with KIND one of {}", spec, kKinds);
  }
  const std::string kind = spec.substr(0, colon);
  const std::filesystem::path path = spec.substr(colon + 1);
  if (kind != "coco-karpathy" && kind != "flickr30k-karpathy" && kind != "winoground" &&
      kind != "jsonl") {
    fail("dataset spec '{}': unknown kind '{}', expected one of {}", spec, kind, kKinds);
  }
  if (path.empty()) fail("dataset spec '{}': empty PATH, expected KIND:PATH", spec);

  const char* default_name = kind == "coco-karpathy"        ? "dataset_coco.json"
                             : kind == "flickr30k-karpathy" ? "dataset_flickr30k.json"
                             : kind == "winoground"         ? "examples.jsonl"
                                                            : nullptr;
  const std::filesystem::path annotation = locate_annotation(kind, path, default_name);
  const MappedFile file(annotation);
  const std::string_view text(reinterpret_cast<const char*>(file.data()), file.size());
  const std::filesystem::path folder = annotation.parent_path();

  Dataset dataset;
  if (kind == "winoground") {
    dataset =
        data::read_winoground(annotation, text, options.image_root.value_or(folder / "images"));
  } else if (kind == "jsonl") {
    dataset = data::read_jsonl(annotation, text, options.image_root.value_or(folder));
  } else {
    const auto corpus =
        kind == "coco-karpathy" ? data::KarpathyCorpus::coco : data::KarpathyCorpus::flickr30k;
    dataset =
        data::read_karpathy(corpus, annotation, text, options.image_root.value_or(folder), options);
  }
  dataset.kind = kind;
  dataset.annotation_path = annotation;
  dataset.annotation_sha256 = sha256_bytes(text);
  return dataset;
}

}  // namespace vlbench
