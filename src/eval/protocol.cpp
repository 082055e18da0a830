#include <vlbench/core/error.hpp>
#include <vlbench/eval/protocol.hpp>

namespace vlbench {

Protocol parse_protocol(const std::string& name) {
  if (name == "seed") return Protocol::seed;
  if (name == "standard") return Protocol::standard;
  if (name == "symmetric") return Protocol::symmetric;
  fail("unknown protocol '{}' (expected seed, standard or symmetric)", name);
}

std::string protocol_name(Protocol protocol) {
  switch (protocol) {
    case Protocol::seed:
      return "seed";
    case Protocol::standard:
      return "standard";
    case Protocol::symmetric:
      return "symmetric";
  }
  VLB_ASSERT(false);
  return {};
}

std::string direction_name(Direction direction) {
  return direction == Direction::t2i ? "t2i" : "i2t";
}

namespace {

std::vector<std::int32_t> iota_rows(std::int64_t n) {
  std::vector<std::int32_t> rows(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) rows[i] = static_cast<std::int32_t>(i);
  return rows;
}

std::vector<std::int32_t> first_captions(const Dataset& dataset) {
  std::vector<std::int32_t> rows;
  rows.reserve(dataset.image_paths.size());
  for (std::int64_t i = 0; i < dataset.n_images(); ++i) {
    VLB_ASSERT(dataset.image_caption_begin[i] < dataset.image_caption_begin[i + 1]);
    rows.push_back(dataset.image_caption_begin[i]);
  }
  return rows;
}

}  // namespace

RetrievalTask make_task(const Dataset& dataset, Protocol protocol, Direction direction) {
  VLB_ASSERT(dataset.image_caption_begin.size() == dataset.image_paths.size() + 1);
  RetrievalTask task;
  task.direction = direction;
  const bool all_captions_are_queries = protocol == Protocol::standard;
  const bool all_captions_in_gallery = protocol != Protocol::symmetric;

  if (direction == Direction::t2i) {
    // Captions ask for their image; the gallery is every image.
    task.query_rows =
        all_captions_are_queries ? iota_rows(dataset.n_captions()) : first_captions(dataset);
    task.gallery_rows = iota_rows(dataset.n_images());
    task.target_begin.push_back(0);
    for (std::int32_t caption : task.query_rows) {
      task.target_ids.push_back(dataset.caption_image[caption]);
      task.target_begin.push_back(static_cast<std::int64_t>(task.target_ids.size()));
    }
    return task;
  }

  // i2t: every image asks for its captions among the caption gallery.
  task.query_rows = iota_rows(dataset.n_images());
  task.target_begin.push_back(0);
  if (all_captions_in_gallery) {
    task.gallery_rows = iota_rows(dataset.n_captions());
    for (std::int64_t i = 0; i < dataset.n_images(); ++i) {
      for (std::int32_t c = dataset.image_caption_begin[i]; c < dataset.image_caption_begin[i + 1];
           ++c) {
        task.target_ids.push_back(c);
      }
      task.target_begin.push_back(static_cast<std::int64_t>(task.target_ids.size()));
    }
  } else {
    task.gallery_rows = first_captions(dataset);  // position i is image i's first caption
    for (std::int64_t i = 0; i < dataset.n_images(); ++i) {
      task.target_ids.push_back(static_cast<std::int32_t>(i));
      task.target_begin.push_back(static_cast<std::int64_t>(task.target_ids.size()));
    }
  }
  return task;
}

}  // namespace vlbench
