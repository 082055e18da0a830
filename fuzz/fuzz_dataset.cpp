// The dataset readers (data/dataset.hpp): Karpathy COCO and Flickr30k JSON, Winoground JSONL,
// generic JSONL. The first byte picks the kind (and split), the rest is the annotation file.
#include "fuzz_util.hpp"

#include <vlbench/data/dataset.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vlbench;
  if (size == 0) return 0;
  struct Kind {
    const char* kind;
    const char* file;
  };
  static constexpr Kind kKinds[] = {{"coco-karpathy", "dataset_coco.json"},
                                    {"flickr30k-karpathy", "dataset_flickr30k.json"},
                                    {"winoground", "examples.jsonl"},
                                    {"jsonl", "captions.jsonl"}};
  const Kind& kind = kKinds[data[0] % 4];
  const auto dir = fuzz::scratch() / "dataset";
  const auto file = dir / kind.file;
  fuzz::write_file(file, data + 1, size - 1);
  DatasetOptions options;
  options.allow_any_size = true;
  options.split = (data[0] & 4) ? "train" : "test";
  fuzz::expect_clean([&] { open_dataset(std::string(kind.kind) + ":" + file.string(), options); });
  return 0;
}
