// Winoground data/examples.jsonl, one example a line:
//   {"id": 0, "caption_0": "...", "caption_1": "...", "image_0": "ex_0_img_0",
//    "image_1": "ex_0_img_1", "tag": "Noun", "secondary_tag": "", "num_main_preds": 1,
//    "collapsed_tag": "Object"}
// Gallery: image_0, image_1 of each example in file order; caption 2e+j describes image 2e+j.
#include "data/json_file.hpp"
#include "data/readers.hpp"

#include "vlbench/core/error.hpp"

namespace vlbench::data {

Dataset read_winoground(const std::filesystem::path& annotation, std::string_view text,
                        const std::filesystem::path& image_folder) {
  Dataset dataset;
  dataset.split = "all";
  dataset.image_caption_begin.push_back(0);
  for_each_json_line(annotation, text, [&](nlohmann::json& line, std::size_t line_number) {
    const std::string where = fmt::format("{}:{}", annotation.string(), line_number);
    require_object(line, where);
    WinogroundExample example;
    example.id = require_id(line, "id", where);
    const std::string captions[2] = {require_string(line, "caption_0", where),
                                     require_string(line, "caption_1", where)};
    const std::string images[2] = {require_string(line, "image_0", where),
                                   require_string(line, "image_1", where)};
    example.tag = require_string(line, "tag", where);
    example.secondary_tag = require_string(line, "secondary_tag", where);
    example.num_main_preds = require_integer(line, "num_main_preds", where);
    example.collapsed_tag = require_string(line, "collapsed_tag", where);
    for (int j = 0; j < 2; ++j) {
      if (images[j].empty()) fail("{}: field 'image_{}' is empty", where, j);
      const auto image = static_cast<std::int32_t>(dataset.image_paths.size());
      dataset.image_paths.push_back(image_folder / (images[j] + ".png"));
      dataset.image_ids.push_back(images[j]);
      dataset.captions.push_back(captions[j]);
      dataset.caption_image.push_back(image);
      dataset.image_caption_begin.push_back(image + 1);
    }
    dataset.examples.push_back(std::move(example));
  });
  if (dataset.examples.empty()) fail("{}: no examples in the file", annotation.string());
  return dataset;
}

}  // namespace vlbench::data
