// Which captions and images are queries, gallery and targets under each protocol
// (DESIGN.md, "Protocols"):
//   standard  t2i: every caption -> all images;   i2t: every image -> every caption
//   seed      t2i: first caption of each image;   i2t: as standard
//   symmetric t2i: first caption of each image;   i2t: every image -> first captions only
#pragma once

#include <vlbench/data/dataset.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace vlbench {

enum class Protocol { seed, standard, symmetric };

Protocol parse_protocol(const std::string& name);  // Error listing the names when unknown
std::string protocol_name(Protocol protocol);

enum class Direction { t2i, i2t };
std::string direction_name(Direction direction);

// One retrieval direction as index arithmetic over the two embedding matrices.
struct RetrievalTask {
  Direction direction = Direction::t2i;
  std::vector<std::int32_t> query_rows;    // rows of the query-side matrix (texts for t2i)
  std::vector<std::int32_t> gallery_rows;  // rows of the gallery-side matrix, in gallery order
  // Targets of query q: target_ids[target_begin[q] .. target_begin[q+1]), as positions in
  // gallery_rows (not matrix rows).
  std::vector<std::int64_t> target_begin;
  std::vector<std::int32_t> target_ids;

  std::int64_t n_queries() const { return static_cast<std::int64_t>(query_rows.size()); }
  std::int64_t n_gallery() const { return static_cast<std::int64_t>(gallery_rows.size()); }
};

RetrievalTask make_task(const Dataset& dataset, Protocol protocol, Direction direction);

}  // namespace vlbench
