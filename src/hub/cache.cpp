// Model references and their resolution in the local Hugging Face cache (cache.hpp).
#include <vlbench/hub/cache.hpp>

#include <vlbench/core/atomic_file.hpp>
#include <vlbench/core/error.hpp>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <iterator>
#include <system_error>
#include <vector>

#include <pwd.h>
#include <unistd.h>

namespace vlbench {

namespace fs = std::filesystem;

namespace {

// An environment variable that is set and not empty.
std::optional<std::string> env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

std::string home_dir() {
  if (auto home = env("HOME")) return *home;
  if (const passwd* pw = ::getpwuid(::getuid()); pw != nullptr && pw->pw_dir != nullptr) {
    return pw->pw_dir;
  }
  return ".";
}

// "~" and "~/..." as Python's os.path.expanduser.
fs::path expand_user(const std::string& path) {
  if (path == "~") return home_dir();
  if (path.rfind("~/", 0) == 0) return fs::path(home_dir()) / path.substr(2);
  return path;
}

std::string trim(std::string text) {
  const auto space = [](unsigned char c) { return std::isspace(c) != 0; };
  while (!text.empty() && space(static_cast<unsigned char>(text.back()))) text.pop_back();
  std::size_t first = 0;
  while (first < text.size() && space(static_cast<unsigned char>(text[first]))) ++first;
  return text.substr(first);
}

bool truthy(const std::string& value) {
  std::string upper;
  for (const char c : value)
    upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return upper == "1" || upper == "ON" || upper == "YES" || upper == "TRUE";
}

bool repo_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.';
}

bool word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

// Why `part` (ORG or NAME) is not valid, or "" when it is.
std::string repo_part_problem(std::string_view part, std::string_view what) {
  if (part.empty()) return fmt::format("{} is empty", what);
  for (const char c : part) {
    if (!repo_char(c)) {
      return fmt::format("{} '{}' holds '{}' (allowed: letters, digits, '-', '_', '.')", what, part,
                         c);
    }
  }
  if (!word_char(part.front()) || !word_char(part.back())) {
    return fmt::format("{} '{}' must start and end with a letter or digit", what, part);
  }
  if (part.find("--") != std::string_view::npos || part.find("..") != std::string_view::npos) {
    return fmt::format("{} '{}' may not hold '--' or '..'", what, part);
  }
  return "";
}

std::string revision_problem(std::string_view revision) {
  if (revision.empty()) return "the revision after '@' is empty";
  for (const char c : revision) {
    if (std::isspace(static_cast<unsigned char>(c)) != 0 ||
        std::iscntrl(static_cast<unsigned char>(c)) != 0 || c == '\\') {
      return fmt::format("revision '{}' holds a space, control character or '\\'", revision);
    }
  }
  if (revision.front() == '/' || revision.back() == '/' ||
      revision.find("//") != std::string_view::npos) {
    return fmt::format("revision '{}' has an empty path component", revision);
  }
  std::size_t start = 0;
  while (start <= revision.size()) {
    const std::size_t end = std::min(revision.find('/', start), revision.size());
    const std::string_view component = revision.substr(start, end - start);
    if (component == "." || component == "..") {
      return fmt::format("revision '{}' has a '{}' component", revision, component);
    }
    start = end + 1;
  }
  return "";
}

// Symlinks under `snapshot` whose blob is missing: the first one, or "".
std::string first_broken_link(const fs::path& snapshot) {
  std::error_code ec;
  for (fs::recursive_directory_iterator it(snapshot, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_symlink(ec) && !fs::exists(it->path(), ec)) return it->path().string();
  }
  return "";
}

}  // namespace

HubSettings hub_settings_from_environment() {
  HubSettings settings;
  const std::optional<std::string> hf_home_env = env("HF_HOME");
  const std::optional<std::string> xdg = env("XDG_CACHE_HOME");
  const fs::path hf_home = hf_home_env ? expand_user(*hf_home_env)
                           : xdg       ? expand_user(*xdg) / "huggingface"
                                       : fs::path(home_dir()) / ".cache" / "huggingface";
  if (auto cache = env("HF_HUB_CACHE")) {
    settings.cache_dir = expand_user(*cache);
    settings.cache_dir_origin = "$HF_HUB_CACHE";
  } else if (auto legacy = env("HUGGINGFACE_HUB_CACHE")) {
    settings.cache_dir = expand_user(*legacy);
    settings.cache_dir_origin = "$HUGGINGFACE_HUB_CACHE";
  } else {
    settings.cache_dir = hf_home / "hub";
    settings.cache_dir_origin = hf_home_env ? "$HF_HOME/hub"
                                : xdg       ? "$XDG_CACHE_HOME/huggingface/hub"
                                            : "~/.cache/huggingface/hub";
  }
  if (auto endpoint = env("HF_ENDPOINT")) {
    settings.endpoint = *endpoint;
    while (!settings.endpoint.empty() && settings.endpoint.back() == '/') {
      settings.endpoint.pop_back();
    }
  }
  if (auto token = env("HF_TOKEN")) {
    settings.token = trim(*token);
  } else if (auto legacy = env("HUGGING_FACE_HUB_TOKEN")) {
    settings.token = trim(*legacy);
  } else {
    const fs::path token_file =
        env("HF_TOKEN_PATH") ? expand_user(*env("HF_TOKEN_PATH")) : hf_home / "token";
    std::error_code ec;
    if (fs::is_regular_file(token_file, ec)) {
      try {
        settings.token = trim(read_file(token_file));
      } catch (const Error&) {
        // An unreadable token file is the same as none: a gated repo then says 401.
      }
    }
  }
  if (auto offline = env("HF_HUB_OFFLINE")) settings.offline = truthy(*offline);
  return settings;
}

std::string HubReference::to_string() const {
  return revision == "main" ? repo_id : repo_id + "@" + revision;
}

std::string HubReference::folder_name() const {
  std::string name = "models--" + repo_id;
  const std::size_t slash = name.find('/');
  if (slash != std::string::npos) name.replace(slash, 1, "--");
  return name;
}

bool looks_like_hub_reference(std::string_view text) {
  const std::string_view repo = text.substr(0, text.find('@'));
  return !repo.empty() && repo.front() != '/' && repo.front() != '.' && repo.back() != '/' &&
         std::count(repo.begin(), repo.end(), '/') == 1;
}

HubReference parse_hub_reference(std::string_view text) {
  const std::size_t at = text.find('@');
  const std::string_view repo = text.substr(0, at);
  const std::size_t slash = repo.find('/');
  std::string problem;
  if (slash == std::string_view::npos || repo.find('/', slash + 1) != std::string_view::npos) {
    problem = "expected exactly one '/' between ORG and NAME";
  } else if (repo.size() > 96) {
    problem = fmt::format("ORG/NAME is {} characters long (at most 96)", repo.size());
  } else {
    problem = repo_part_problem(repo.substr(0, slash), "ORG");
    if (problem.empty()) problem = repo_part_problem(repo.substr(slash + 1), "NAME");
  }
  HubReference reference;
  if (problem.empty() && at != std::string_view::npos) {
    problem = revision_problem(text.substr(at + 1));
    reference.revision = std::string(text.substr(at + 1));
  }
  if (!problem.empty()) {
    fail("'{}' is not a Hugging Face model reference ORG/NAME[@REVISION]: {}", text, problem);
  }
  reference.repo_id = std::string(repo);
  return reference;
}

bool is_commit_hash(std::string_view revision) {
  return revision.size() == 40 && std::all_of(revision.begin(), revision.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string ModelSource::display_name() const {
  if (hub) {
    std::string name = hub->repo_id.substr(hub->repo_id.find('/') + 1);
    if (hub->revision != "main") name += "@" + hub->revision;
    std::replace(name.begin(), name.end(), '/', '_');
    return name;
  }
  const fs::path clean = dir.lexically_normal();
  return (clean.has_filename() ? clean.filename() : clean.parent_path().filename()).string();
}

std::string hub_repo_id_of_snapshot(const fs::path& dir) {
  fs::path clean = fs::absolute(dir).lexically_normal();
  if (!clean.has_filename()) clean = clean.parent_path();
  const std::string repo = clean.parent_path().parent_path().filename().string();
  if (!is_commit_hash(clean.filename().string()) || clean.parent_path().filename() != "snapshots" ||
      repo.rfind("models--", 0) != 0) {
    return "";
  }
  const std::string id = repo.substr(8);  // ORG--NAME
  const std::size_t separator = id.find("--");
  if (separator == std::string::npos) return "";
  return id.substr(0, separator) + "/" + id.substr(separator + 2);
}

fs::path hub_repo_dir(const HubSettings& settings, const HubReference& reference) {
  return settings.cache_dir / reference.folder_name();
}

fs::path hub_snapshot_dir(const HubSettings& settings, const HubReference& reference,
                          std::string_view commit) {
  return hub_repo_dir(settings, reference) / "snapshots" / std::string(commit);
}

ModelSource resolve_model_reference(std::string_view given, const HubSettings& settings,
                                    std::string_view option) {
  if (given.empty()) {
    fail(
        "{}: empty; expected a checkpoint folder or a Hugging Face reference "
        "ORG/NAME[@REVISION]",
        option);
  }
  ModelSource source;
  source.given = std::string(given);
  const fs::path path(source.given);
  std::error_code ec;
  if (fs::exists(path, ec)) {
    source.dir = path;
    return source;
  }
  if (!looks_like_hub_reference(given)) {
    fail("{} {}: no such checkpoint folder (a Hugging Face model is named ORG/NAME[@REVISION])",
         option, given);
  }
  HubReference reference;
  try {
    reference = parse_hub_reference(given);
  } catch (const Error& e) {
    fail("{} {}: no such folder, and {}", option, given, e.what());
  }
  const fs::path repo = hub_repo_dir(settings, reference);
  std::vector<std::string> searched = {fs::absolute(path, ec).string() + " (no such folder)"};
  const auto not_cached = [&](const std::string& why) {
    std::string list;
    for (const std::string& s : searched) list += (list.empty() ? "" : "; ") + s;
    fail(
        "{} {}: {} in the local Hugging Face cache ({} = {}); searched: {}; fetch it with: "
        "vlbench pull {}",
        option, given, why, settings.cache_dir_origin.empty() ? "cache" : settings.cache_dir_origin,
        settings.cache_dir.string(), list, given);
  };
  std::string commit = reference.revision;
  if (!is_commit_hash(reference.revision)) {
    const fs::path ref_file = repo / "refs" / reference.revision;
    if (!fs::is_regular_file(ref_file, ec)) {
      searched.push_back(ref_file.string() + " (missing)");
      not_cached("not");
    }
    commit = trim(read_file(ref_file));
    if (!is_commit_hash(commit)) {
      fail(
          "{} {}: {} holds '{}', expected a 40-hex commit SHA (the cache is damaged: `vlbench "
          "pull {}` writes it again)",
          option, given, ref_file.string(), commit.substr(0, 80), given);
    }
  }
  const fs::path snapshot = repo / "snapshots" / commit;
  if (!fs::is_directory(snapshot, ec)) {
    searched.push_back(snapshot.string() + " (missing)");
    not_cached("not");
  }
  // A checkpoint's config: transformers', open_clip's (a repository of open_clip alone), or a
  // PEFT adapter's.
  const char* const configs[] = {"config.json", "open_clip_config.json", "adapter_config.json"};
  if (std::none_of(std::begin(configs), std::end(configs),
                   [&](const char* name) { return fs::exists(snapshot / name, ec); })) {
    for (const char* name : configs) searched.push_back((snapshot / name).string() + " (missing)");
    not_cached("only partly");
  }
  if (const std::string broken = first_broken_link(snapshot); !broken.empty()) {
    std::error_code link_ec;
    const fs::path target = fs::read_symlink(broken, link_ec);
    fail(
        "{} {}: {} points to {}, which is missing (a damaged cache; `vlbench pull {}` fetches "
        "it again)",
        option, given, broken, target.string(), given);
  }
  source.dir = snapshot;
  source.hub = reference;
  source.commit = commit;
  return source;
}

ModelSource resolve_model_reference(std::string_view given, std::string_view option) {
  return resolve_model_reference(given, hub_settings_from_environment(), option);
}

}  // namespace vlbench
