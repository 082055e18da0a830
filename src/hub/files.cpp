// Which files of a repository `vlbench pull` fetches (pull.hpp): globs and the default rule.
#include <vlbench/hub/pull.hpp>

#include <vlbench/core/error.hpp>

#include <algorithm>
#include <functional>

namespace vlbench {

namespace {

// The class starting at pattern[start] == '[' as Python's fnmatch reads it: its end (one past
// ']'), or 0 when there is no closing ']' (the '[' is then a literal character).
std::size_t class_end(std::string_view pattern, std::size_t start) {
  std::size_t j = start + 1;
  if (j < pattern.size() && pattern[j] == '!') ++j;
  if (j < pattern.size() && pattern[j] == ']') ++j;
  while (j < pattern.size() && pattern[j] != ']') ++j;
  return j < pattern.size() ? j + 1 : 0;
}

bool class_matches(std::string_view body, char c) {
  bool negate = false;
  if (!body.empty() && body.front() == '!') {
    negate = true;
    body.remove_prefix(1);
  }
  bool found = false;
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (i + 2 < body.size() && body[i + 1] == '-') {
      found = found || (body[i] <= c && c <= body[i + 2]);
      i += 2;
    } else {
      found = found || body[i] == c;
    }
  }
  return found != negate;
}

bool is_top_level(const std::string& path) {
  return path.find('/') == std::string::npos;
}

bool any_glob(std::initializer_list<const char*> patterns, const std::string& name) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [&](const char* p) { return glob_match(p, name); });
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view name) {
  std::size_t p = 0, n = 0;
  std::size_t star_p = std::string_view::npos, star_n = 0;
  while (n < name.size()) {
    bool advanced = false;
    if (p < pattern.size()) {
      const char pc = pattern[p];
      if (pc == '*') {
        star_p = ++p;  // '*' matches nothing for now; more on a later mismatch
        star_n = n;
        continue;
      }
      if (pc == '?') {
        ++p, ++n;
        advanced = true;
      } else if (pc == '[' && class_end(pattern, p) != 0) {
        const std::size_t end = class_end(pattern, p);
        if (class_matches(pattern.substr(p + 1, end - p - 2), name[n])) {
          p = end, ++n;
          advanced = true;
        }
      } else if (pc == name[n]) {
        ++p, ++n;
        advanced = true;
      }
    }
    if (advanced) continue;
    if (star_p == std::string_view::npos) return false;
    p = star_p;  // backtrack: the last '*' swallows one more character
    n = ++star_n;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::vector<std::string> default_model_files(const std::vector<std::string>& repo_files,
                                             std::string_view repo_label) {
  std::vector<std::string> top;
  for (const std::string& f : repo_files) {
    if (is_top_level(f)) top.push_back(f);
  }
  const auto is_config = [](const std::string& f) {
    return any_glob({"config.json", "open_clip_config.json", "preprocessor_config.json",
                     "adapter_config.json", "tokenizer*.json", "special_tokens_map.json",
                     "added_tokens.json", "vocab.*", "merges.txt", "*.model"},
                    f);
  };
  // The weight formats, best first; the first one the repository has is taken whole.
  const std::vector<std::function<bool(const std::string&)>> formats = {
      [](const std::string& f) {
        return any_glob(
            {"model.safetensors", "model.safetensors.index.json", "model-*-of-*.safetensors"}, f);
      },
      [](const std::string& f) {
        return f != "adapter_model.safetensors" &&
               any_glob({"*.safetensors", "*.safetensors.index.json"}, f);
      },
      [](const std::string& f) {
        return any_glob(
            {"pytorch_model.bin", "pytorch_model.bin.index.json", "pytorch_model-*-of-*.bin"}, f);
      },
      [](const std::string& f) { return f == "open_clip_pytorch_model.bin"; },
  };
  std::function<bool(const std::string&)> weights = [](const std::string&) { return false; };
  for (const auto& format : formats) {
    if (std::any_of(top.begin(), top.end(), format)) {
      weights = format;
      break;
    }
  }
  const bool has_adapter_safetensors =
      std::find(top.begin(), top.end(), "adapter_model.safetensors") != top.end();
  const std::string adapter_weights =
      has_adapter_safetensors ? "adapter_model.safetensors" : "adapter_model.bin";
  const bool has_adapter = std::find(top.begin(), top.end(), adapter_weights) != top.end();

  std::vector<std::string> chosen;
  bool any_weights = false;
  for (const std::string& f : top) {
    const bool weight = weights(f) || (has_adapter && f == adapter_weights);
    any_weights = any_weights || weight;
    if (weight || is_config(f)) chosen.push_back(f);
  }
  if (!any_weights) {
    std::string listing;
    for (std::size_t i = 0; i < repo_files.size() && i < 30; ++i) {
      listing += (listing.empty() ? "" : ", ") + repo_files[i];
    }
    if (repo_files.size() > 30) listing += fmt::format(", ... ({} in all)", repo_files.size());
    fail(
        "{}: no weights in a format vlbench reads among its files (model.safetensors, "
        "*.safetensors, pytorch_model.bin, open_clip_pytorch_model.bin, adapter_model.*): {}; "
        "choose files with --include GLOB",
        repo_label, listing.empty() ? "none" : listing);
  }
  return chosen;
}

}  // namespace vlbench
