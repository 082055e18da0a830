// The --image-list / --text-list files: one image path or one caption per line.
#pragma once

#include <vlbench/core/atomic_file.hpp>
#include <vlbench/core/error.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace vlbench::cli {

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
