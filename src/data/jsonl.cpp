// Your own data as JSON Lines, one image a line:
//   {"image": "photos/cat.jpg", "captions": ["a cat on a sofa", "a sleeping cat"]}
// Other fields are ignored. Image paths are relative to the file's folder (or the image root).
#include "data/json_file.hpp"
#include "data/readers.hpp"

#include "vlbench/core/error.hpp"

namespace vlbench::data {

Dataset read_jsonl(const std::filesystem::path& annotation, std::string_view text,
                   const std::filesystem::path& image_base) {
  Dataset dataset;
  dataset.split = "all";
  dataset.image_caption_begin.push_back(0);
  for_each_json_line(annotation, text, [&](nlohmann::json& line, std::size_t line_number) {
    const std::string where = fmt::format("{}:{}", annotation.string(), line_number);
    std::string image_name = require_string(line, "image", where);
    if (image_name.empty()) fail("{}: field 'image' is empty", where);
    const nlohmann::json& captions = require_array(line, "captions", where);
    if (captions.empty()) {
      fail("{}: field 'captions' is empty (every image needs at least one caption)", where);
    }
    const auto image = static_cast<std::int32_t>(dataset.image_paths.size());
    for (std::size_t i = 0; i < captions.size(); ++i) {
      if (!captions[i].is_string()) {
        fail("{}: captions[{}] must be a string, got {}", where, i, json_type_name(captions[i]));
      }
      dataset.captions.push_back(captions[i].get<std::string>());
      dataset.caption_image.push_back(image);
    }
    dataset.image_paths.push_back(image_base / image_name);
    dataset.image_ids.push_back(std::move(image_name));
    dataset.image_caption_begin.push_back(static_cast<std::int32_t>(dataset.captions.size()));
  });
  if (dataset.image_paths.empty()) fail("{}: no images in the file", annotation.string());
  return dataset;
}

}  // namespace vlbench::data
