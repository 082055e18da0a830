// A Hugging Face Hub of the tests' own on loopback (cpp-httplib), for `vlbench pull`: the model
// info API, HEAD/GET of /ORG/NAME/resolve/REV/PATH with the Hub's headers (ETag, X-Repo-Commit,
// and for LFS files a 302 to /cdn/SHA256 with X-Linked-Etag and X-Linked-Size), Range requests,
// and on demand a transfer cut short, a body that does not match its ETag, a repository that
// needs a token (401 without it), a renamed repository (307), and 404s with the Hub's
// X-Error-Code. Content hashes are computed here with OpenSSL's one-shot SHA1/SHA256, apart
// from the library's own code, and logged requests let the tests see Range and Authorization
// headers.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/sha.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace vlbench::testing {

inline std::string hex_of(const unsigned char* digest, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (std::size_t i = 0; i < n; ++i) {
    hex.push_back(kDigits[digest[i] >> 4]);
    hex.push_back(kDigits[digest[i] & 15]);
  }
  return hex;
}

inline std::string sha256_of(const std::string& bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  return hex_of(digest, sizeof digest);
}

// git hash-object: SHA-1 of "blob <size>\0<bytes>".
inline std::string git_blob_sha1_of(const std::string& bytes) {
  const std::string object = "blob " + std::to_string(bytes.size()) + std::string(1, '\0') + bytes;
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(object.data()), object.size(), digest);
  return hex_of(digest, sizeof digest);
}

// Deterministic bytes that are not text.
inline std::string pseudo_random_bytes(std::size_t n, std::uint32_t seed) {
  std::string bytes(n, '\0');
  std::uint32_t x = seed * 2654435761u + 1;
  for (char& c : bytes) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return bytes;
}

struct HubFile {
  std::string path;
  std::string content;
  bool lfs = false;      // served through a 302 to /cdn/SHA256, its ETag the SHA-256
  bool missing = false;  // listed by the API, 404 EntryNotFound from resolve
  std::string etag() const { return lfs ? sha256_of(content) : git_blob_sha1_of(content); }
  std::string etag_value = "";  // etag(), computed once by LoopbackHub::add_repo
};

struct HubRepo {
  std::map<std::string, std::vector<HubFile>> commits;  // commit SHA -> its files
  std::map<std::string, std::string> refs;              // branch or tag -> commit SHA
  std::string token;          // non-empty: every request needs "Authorization: Bearer <token>"
  std::string redirect_host;  // empty: LFS redirects are relative (/cdn/...); else absolute to
                              // http://<redirect_host>:PORT/cdn/...
  std::string renamed_to;     // non-empty: 307 to this repository id, as after a rename
};

class LoopbackHub {
 public:
  struct Request {
    std::string method, path, range, authorization;
  };

  LoopbackHub() {
    server_.Get(R"(/api/models/([^/]+/[^/]+)/revision/(.+))",
                [this](const httplib::Request& req, httplib::Response& res) { api(req, res); });
    server_.Get(R"(/([^/]+/[^/]+)/resolve/([^/]+)/(.+))",
                [this](const httplib::Request& req, httplib::Response& res) { resolve(req, res); });
    server_.Get(R"(/cdn/([0-9a-f]{64}))",
                [this](const httplib::Request& req, httplib::Response& res) { cdn(req, res); });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() is lost on a server that is not running yet.
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~LoopbackHub() {
    server_.stop();
    thread_.join();
  }
  LoopbackHub(const LoopbackHub&) = delete;
  LoopbackHub& operator=(const LoopbackHub&) = delete;

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }

  void add_repo(const std::string& repo_id, HubRepo repo) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [commit, files] : repo.commits) {
      for (HubFile& f : files) {
        f.etag_value = f.etag();
        if (f.lfs) cdn_objects_[f.etag_value] = std::make_shared<const std::string>(f.content);
      }
    }
    repos_[repo_id] = std::make_shared<const HubRepo>(std::move(repo));
  }
  // The next GET of the CDN object of `sha256` sends its first `bytes` bytes, then closes the
  // connection (once).
  void cut_next_download(const std::string& sha256, std::size_t bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    cuts_[sha256] = bytes;
  }
  // Every GET of the CDN object of `sha256` sends other bytes of the same length.
  void corrupt(const std::string& sha256) {
    std::lock_guard<std::mutex> lock(mutex_);
    corrupt_.push_back(sha256);
  }
  std::vector<Request> log() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return log_;
  }
  void clear_log() {
    std::lock_guard<std::mutex> lock(mutex_);
    log_.clear();
  }
  // Logged requests whose path starts with `prefix`.
  std::vector<Request> requests_to(const std::string& prefix) const {
    std::vector<Request> out;
    for (const Request& r : log()) {
      if (r.path.rfind(prefix, 0) == 0) out.push_back(r);
    }
    return out;
  }

 private:
  // Logs the request; finds its repository (shared, not copied: requests are many and weights
  // large); answers 404/401/307 itself (null). `suffix` is the path after the repository id,
  // for the 307 of a renamed repository.
  std::shared_ptr<const HubRepo> admit(const httplib::Request& req, httplib::Response& res,
                                       const std::string& repo_id, bool api,
                                       const std::string& suffix) {
    std::lock_guard<std::mutex> lock(mutex_);
    log_.push_back({req.method, req.path, req.get_header_value("Range"),
                    req.get_header_value("Authorization")});
    const auto it = repos_.find(repo_id);
    if (it == repos_.end()) {
      res.status = 404;
      res.set_header("X-Error-Code", "RepoNotFound");
      res.set_header("X-Error-Message", "Repository not found");
      return nullptr;
    }
    const HubRepo& repo = *it->second;
    if (!repo.renamed_to.empty()) {
      res.status = 307;
      res.set_header("Location", (api ? "/api/models/" : "/") + repo.renamed_to + suffix);
      return nullptr;
    }
    if (!repo.token.empty() && req.get_header_value("Authorization") != "Bearer " + repo.token) {
      res.status = 401;
      res.set_header("X-Error-Message", "Invalid credentials in Authorization header");
      return nullptr;
    }
    return it->second;
  }

  static std::optional<std::string> commit_of(const HubRepo& repo, const std::string& revision) {
    if (repo.commits.count(revision) != 0) return revision;
    const auto ref = repo.refs.find(revision);
    if (ref != repo.refs.end()) return ref->second;
    return std::nullopt;
  }

  void api(const httplib::Request& req, httplib::Response& res) {
    const std::string repo_id = req.matches[1], revision = req.matches[2];
    const std::shared_ptr<const HubRepo> admitted =
        admit(req, res, repo_id, true, "/revision/" + revision);
    if (!admitted) return;
    const HubRepo& repo = *admitted;
    const std::optional<std::string> commit = commit_of(repo, revision);
    if (!commit) {
      res.status = 404;
      res.set_header("X-Error-Code", "RevisionNotFound");
      res.set_header("X-Error-Message", "Invalid rev id: " + revision);
      return;
    }
    nlohmann::json siblings = nlohmann::json::array();
    for (const HubFile& f : repo.commits.at(*commit)) siblings.push_back({{"rfilename", f.path}});
    const nlohmann::json info = {{"_id", "0123"},       {"id", repo_id},    {"modelId", repo_id},
                                 {"sha", *commit},      {"private", false}, {"tags", {"test"}},
                                 {"siblings", siblings}};
    res.set_header("X-Repo-Commit", *commit);
    res.set_content(info.dump(), "application/json");
  }

  void resolve(const httplib::Request& req, httplib::Response& res) {
    const std::string repo_id = req.matches[1], revision = req.matches[2], path = req.matches[3];
    const std::shared_ptr<const HubRepo> admitted =
        admit(req, res, repo_id, false, "/resolve/" + revision + "/" + path);
    if (!admitted) return;
    const HubRepo& repo = *admitted;
    const std::optional<std::string> commit = commit_of(repo, revision);
    if (!commit) {
      res.status = 404;
      res.set_header("X-Error-Code", "RevisionNotFound");
      return;
    }
    res.set_header("X-Repo-Commit", *commit);
    for (const HubFile& f : repo.commits.at(*commit)) {
      if (f.path != path || f.missing) continue;
      if (f.lfs) {
        const std::string& sha = f.etag_value;
        res.status = 302;
        res.set_header("Location", repo.redirect_host.empty()
                                       ? "/cdn/" + sha
                                       : "http://" + repo.redirect_host + ":" +
                                             std::to_string(port_) + "/cdn/" + sha);
        res.set_header("X-Linked-Etag", "\"" + sha + "\"");
        res.set_header("X-Linked-Size", std::to_string(f.content.size()));
        // The ETag of the LFS pointer file itself, which X-Linked-Etag overrides.
        res.set_header("ETag", "\"" + git_blob_sha1_of("version lfs pointer " + sha) + "\"");
        res.set_content("Found. Redirecting to /cdn/" + sha, "text/plain");
      } else {
        res.set_header("ETag", "\"" + f.etag_value + "\"");
        res.set_content(f.content, "application/octet-stream");
      }
      return;
    }
    res.status = 404;
    res.set_header("X-Error-Code", "EntryNotFound");
    res.set_header("X-Error-Message", "Entry not found");
  }

  void cdn(const httplib::Request& req, httplib::Response& res) {
    const std::string sha = req.matches[1];
    std::shared_ptr<const std::string> content;
    std::size_t cut = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      log_.push_back({req.method, req.path, req.get_header_value("Range"),
                      req.get_header_value("Authorization")});
      const auto object = cdn_objects_.find(sha);
      if (object == cdn_objects_.end()) {
        res.status = 404;
        return;
      }
      content = object->second;
      if (std::find(corrupt_.begin(), corrupt_.end(), sha) != corrupt_.end()) {
        std::string corrupted = *content;
        corrupted[corrupted.size() / 2] = static_cast<char>(corrupted[corrupted.size() / 2] ^ 0x5a);
        content = std::make_shared<const std::string>(std::move(corrupted));
      }
      if (req.method == "GET" && cuts_.count(sha) != 0) {
        cut = cuts_[sha];
        cuts_.erase(sha);
      }
    }
    res.set_header("ETag", "\"" + sha + "\"");
    res.set_header("Accept-Ranges", "bytes");
    if (cut == 0) {
      res.set_content(*content, "application/octet-stream");  // httplib answers Range with 206
      return;
    }
    // Content-Length of the whole file, then the connection closes after `cut` bytes.
    res.set_content_provider(
        content->size(), "application/octet-stream",
        [content, cut](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
          const std::size_t end = std::min(offset + length, cut);
          if (offset < end) sink.write(content->data() + offset, end - offset);
          return end < cut;
        });
  }

  httplib::Server server_;
  int port_ = -1;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<const HubRepo>> repos_;
  std::map<std::string, std::shared_ptr<const std::string>> cdn_objects_;  // SHA-256 -> content
  std::map<std::string, std::size_t> cuts_;
  std::vector<std::string> corrupt_;
  std::vector<Request> log_;
};

using EnvVars = std::vector<std::pair<std::string, std::optional<std::string>>>;

// Sets (a value) or unsets (nullopt) environment variables for the object's lifetime.
class ScopedEnv {
 public:
  explicit ScopedEnv(const EnvVars& vars) {
    for (const auto& [name, value] : vars) {
      const char* old = std::getenv(name.c_str());
      saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
      if (value) {
        ::setenv(name.c_str(), value->c_str(), 1);
      } else {
        ::unsetenv(name.c_str());
      }
    }
  }
  ~ScopedEnv() {
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
      if (it->second) {
        ::setenv(it->first.c_str(), it->second->c_str(), 1);
      } else {
        ::unsetenv(it->first.c_str());
      }
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  EnvVars saved_;
};

// Every variable the Hub code reads, unset (tests then set the ones they need).
inline EnvVars clean_hub_env() {
  EnvVars vars;
  for (const char* name :
       {"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME", "HF_ENDPOINT",
        "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_HUB_OFFLINE"}) {
    vars.emplace_back(name, std::nullopt);
  }
  return vars;
}

// A repository written into `cache` by hand, as huggingface_hub lays it out: blobs/ETAG,
// snapshots/COMMIT/PATH as relative symlinks "../../blobs/ETAG" (one more "../" per subfolder),
// refs/NAME holding a commit. Independent of the library's own writer.
inline void write_cached_repo(const std::filesystem::path& cache, const std::string& folder,
                              const std::string& commit, const std::vector<HubFile>& files) {
  namespace fs = std::filesystem;
  const fs::path repo = cache / folder;
  fs::create_directories(repo / "blobs");
  for (const HubFile& f : files) {
    const std::string etag = f.etag();
    {
      std::ofstream blob(repo / "blobs" / etag, std::ios::binary);
      blob << f.content;
    }
    const fs::path pointer = repo / "snapshots" / commit / f.path;
    fs::create_directories(pointer.parent_path());
    std::string target = "../../";
    for (const char c : f.path) {
      if (c == '/') target += "../";
    }
    fs::create_symlink(target + "blobs/" + etag, pointer);
  }
}

inline void write_ref(const std::filesystem::path& cache, const std::string& folder,
                      const std::string& ref, const std::string& text) {
  const std::filesystem::path file = cache / folder / "refs" / ref;
  std::filesystem::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << text;
}

}  // namespace vlbench::testing
