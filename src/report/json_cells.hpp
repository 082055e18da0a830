// Helpers shared by the report renderers (render.cpp, study_render.cpp): reading optional
// paths of a results document and formatting its {"value", "ci95"} estimates as table cells.
#pragma once

#include <nlohmann/json.hpp>

#include <initializer_list>
#include <string>

namespace vlbench::report_detail {

// The node at `path`, or a null node when any key is missing.
const nlohmann::ordered_json& at_path(const nlohmann::ordered_json& root,
                                      std::initializer_list<const char*> path);

// "58.4 [57.0, 59.8]" of a fraction estimate (× 100); "–" when absent.
std::string percent_cell(const nlohmann::ordered_json& metric);

// "value [lo, hi]" with the fmt spec (".1f", ".3f") as given; "–" when absent.
std::string plain_cell(const nlohmann::ordered_json& metric, const char* spec);

}  // namespace vlbench::report_detail
