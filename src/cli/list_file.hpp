// The --image-list / --text-list files: one image path or one caption per line.
#pragma once

#include <vlbench/core/atomic_file.hpp>
#include <vlbench/core/error.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace vlbench::cli {

// An Error when the output path names one of the input files (the same file through any path,
// or the same normalized path): writing it would destroy the input before it is read whole.
inline void refuse_overwriting_inputs(const std::filesystem::path& out,
                                      const std::vector<std::filesystem::path>& inputs) {
  namespace fs = std::filesystem;
  for (const fs::path& input : inputs) {
    if (input.empty() || out.empty()) continue;
    std::error_code ec, out_ec, input_ec;
    const fs::path out_path = fs::weakly_canonical(out, out_ec);
    const fs::path input_path = fs::weakly_canonical(input, input_ec);
    const bool same =
        fs::equivalent(out, input, ec) || (!out_ec && !input_ec && out_path == input_path);
    if (same) {
      fail("--out {} is also the input {}: choose another output path", out.string(),
           input.string());
    }
  }
}

// The lines of a list file ("\n" or "\r\n"; a last line without "\n" counts). An empty file
// is an Error naming it.
inline std::vector<std::string> read_list_lines(const std::filesystem::path& path,
                                                const char* what) {
  const std::string text = read_file(path);
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    start = end + 1;
  }
  if (lines.empty()) fail("{}: empty {} list, expected one entry per line", path.string(), what);
  return lines;
}

// The captions of a --text-list file: one caption per line, or, for a .jsonl file, one JSON
// string per line (so captions may hold tabs and newlines; blank lines are skipped). A line
// that is not a JSON string is an Error naming the file and line.
inline std::vector<std::string> read_caption_list(const std::filesystem::path& path) {
  if (path.extension() != ".jsonl") return read_list_lines(path, "caption");
  const std::string text = read_file(path);
  std::vector<std::string> captions;
  std::size_t start = 0;
  for (std::size_t line = 1; start < text.size(); ++line) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string_view content(text.data() + start, end - start);
    start = end + 1;
    if (content.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    nlohmann::json value;
    try {
      value = nlohmann::json::parse(content);
    } catch (const nlohmann::json::exception& e) {
      fail("{}:{}: not valid JSON ({}); expected one JSON string per line", path.string(), line,
           e.what());
    }
    if (!value.is_string()) {
      fail("{}:{}: expected a JSON string (a caption), got {}", path.string(), line,
           value.type_name());
    }
    captions.push_back(value.get<std::string>());
  }
  if (captions.empty()) fail("{}: no captions, expected one JSON string per line", path.string());
  return captions;
}

// Image paths of an --image-list file, relative to the list file's folder. Blank lines are
// an Error naming the line.
inline std::vector<std::filesystem::path> read_image_list(const std::filesystem::path& path) {
  std::vector<std::filesystem::path> images;
  const std::vector<std::string> lines = read_list_lines(path, "image");
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].empty()) fail("{}:{}: empty line, expected an image path", path.string(), i + 1);
    const std::filesystem::path p = lines[i];
    images.push_back(p.is_absolute() ? p : path.parent_path() / p);
  }
  return images;
}

}  // namespace vlbench::cli
