// `vlbench pull`: a Hub repository into the local cache (pull.hpp).
#include <vlbench/hub/pull.hpp>

#include "hub/digest.hpp"
#include "hub/http.hpp"
#include "hub/progress.hpp"

#include <vlbench/core/atomic_file.hpp>
#include <vlbench/core/error.hpp>
#include <vlbench/core/hash.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace vlbench {

namespace {

namespace fs = std::filesystem;
using hub::HttpRequest;
using hub::HttpResponse;
using hub::TransportFailure;

// scheme://host[:port] of a URL.
std::string origin_of(const std::string& url) {
  const std::size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const std::size_t path = url.find('/', scheme + 3);
  return url.substr(0, path);
}

bool is_hex(std::string_view text, std::size_t length) {
  return text.size() == length && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// A repository path that stays inside the snapshot folder.
bool safe_repo_path(const std::string& path) {
  if (path.empty() || path.front() == '/' || path.back() == '/') return false;
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    const std::string_view part = std::string_view(path).substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return std::none_of(path.begin(), path.end(),
                      [](char c) { return c == '\\' || static_cast<unsigned char>(c) < 0x20; });
}

// The ETag as a blob name, as huggingface_hub's _normalize_etag: "W/" and quotes removed.
std::string normalize_etag(std::string etag) {
  if (etag.rfind("W/", 0) == 0) etag.erase(0, 2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    etag = etag.substr(1, etag.size() - 2);
  }
  return etag;
}

bool usable_blob_name(const std::string& etag) {
  return !etag.empty() && etag.size() <= 200 && etag.front() != '.' &&
         std::all_of(etag.begin(), etag.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' ||
                  c == '.';
         });
}

std::int64_t parse_size(const std::string& text) {
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (text.empty() || text.size() > 18 || !std::all_of(text.begin(), text.end(), digit)) {
    return -1;
  }
  return std::stoll(text);
}

std::int64_t file_size_or_zero(const fs::path& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  return ec ? 0 : static_cast<std::int64_t>(size);
}

// An exclusive flock on a lock file (the lock huggingface_hub's filelock takes), released on
// destruction. The lock file itself stays, as huggingface_hub leaves it.
class FileLock {
 public:
  explicit FileLock(const fs::path& path) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) fail("cannot create the lock file {}: {}", path.string(), std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) return;
    std::fprintf(stderr, "vlbench pull: waiting for another download of the same file (%s)\n",
                 path.c_str());
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) {
        const int saved = errno;
        ::close(fd_);
        fail("cannot lock {}: {}", path.string(), std::strerror(saved));
      }
    }
  }
  ~FileLock() {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

// A file descriptor closed on every path out.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// What the HEAD of a file's resolve URL says.
struct FileMeta {
  std::string etag;
  std::int64_t size = -1;
  std::string download_url;
};

class Puller {
 public:
  Puller(const HubReference& reference, const HubSettings& settings, const PullOptions& options)
      : ref_(reference), settings_(settings), options_(options) {}

  PullResult run() {
    PullResult result;
    result.reference = ref_;
    const auto [commit, files] = repository_files();
    commit_ = commit;
    result.commit = commit;
    repo_dir_ = hub_repo_dir(settings_, ref_);
    result.snapshot = hub_snapshot_dir(settings_, ref_, commit);
    snapshot_ = result.snapshot;
    for (const std::string& path : select(files)) result.files.push_back(fetch(path));
    if (ref_.revision != commit) {
      // The revision's commit, written once every file is placed (as
      // _cache_commit_hash_for_specific_revision: the bare SHA, no newline).
      const fs::path ref_file = repo_dir_ / "refs" / ref_.revision;
      create_folder(ref_file.parent_path());
      write_file_atomic(ref_file, commit);
    }
    return result;
  }

 private:
  std::string label() const { return ref_.to_string(); }

  std::vector<std::string> auth_for(const std::string& url) const {
    if (settings_.token.empty() || origin_of(url) != origin_of(settings_.endpoint)) return {};
    return {"Authorization: Bearer " + settings_.token};
  }

  [[noreturn]] void unreachable(const TransportFailure& failure) const {
    fail(
        "vlbench pull {}: cannot reach the Hub at {} ({}); HF_ENDPOINT sets the server, "
        "HF_HUB_OFFLINE=1 works from the cache alone",
        label(), settings_.endpoint, failure.message);
  }

  // An HTTP error status as a message that says what to do. `file` is empty for the API call.
  [[noreturn]] void http_error(const HttpResponse& r, const std::string& url,
                               const std::string& file) const {
    const std::string code = r.header("x-error-code");
    const std::string server_says = r.header("x-error-message").empty()
                                        ? ""
                                        : " (the server says: " + r.header("x-error-message") + ")";
    const std::string what =
        file.empty() ? "vlbench pull " + label()
                     : fmt::format("vlbench pull {}: {} at commit {}", label(), file, commit_);
    if (r.status == 401 || r.status == 403 || code == "GatedRepo") {
      if (code == "GatedRepo" || r.status == 403) {
        fail(
            "{}: HTTP {}: {} is a gated repository: accept its terms at {}/{} and set HF_TOKEN "
            "to an access token of that account{}",
            what, r.status, ref_.repo_id, settings_.endpoint, ref_.repo_id, server_says);
      }
      if (settings_.token.empty()) {
        fail(
            "{}: HTTP 401 Unauthorized: {} is private or gated, or does not exist; set HF_TOKEN "
            "to an access token that may read it{}",
            what, ref_.repo_id, server_says);
      }
      fail(
          "{}: HTTP 401 Unauthorized: the token in HF_TOKEN has no access to {} (or it does not "
          "exist){}",
          what, ref_.repo_id, server_says);
    }
    if (r.status == 404) {
      if (code == "RevisionNotFound") {
        fail("{}: HTTP 404: revision '{}' not found in {}{}", what, ref_.revision, ref_.repo_id,
             server_says);
      }
      if (code == "EntryNotFound" || !file.empty()) {
        fail("{}: HTTP 404: file {} not found in {} at commit {}{}", what, file, ref_.repo_id,
             commit_, server_says);
      }
      fail("{}: HTTP 404: repository {} or its revision '{}' not found at {}{}", what, ref_.repo_id,
           ref_.revision, settings_.endpoint, server_says);
    }
    fail("{}: HTTP {} from {}{}", what, r.status, url, server_says);
  }

  void create_folder(const fs::path& dir) const {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) fail("vlbench pull {}: cannot create {}: {}", label(), dir.string(), ec.message());
  }

  // The commit the revision points to and the repository's files (the model info API).
  std::pair<std::string, std::vector<std::string>> repository_files() {
    const std::string url = settings_.endpoint + "/api/models/" + ref_.repo_id + "/revision/" +
                            hub::url_quote_component(ref_.revision);
    HttpRequest request;
    request.url = url;
    request.headers = auth_for(url);
    request.follow_redirects = true;  // a renamed repository answers 307
    request.stall_timeout_s = options_.stall_timeout_s;
    TransportFailure failure;
    const HttpResponse r = hub::http_request(request, &failure);
    if (failure.failed) unreachable(failure);
    if (r.status != 200) http_error(r, url, "");
    nlohmann::json info;
    try {
      info = nlohmann::json::parse(r.body);
    } catch (const nlohmann::json::exception& e) {
      fail("{}: the model info is not JSON ({})", url, e.what());
    }
    if (!info.is_object() || !info.contains("sha") || !info["sha"].is_string() ||
        !is_commit_hash(info["sha"].get<std::string>())) {
      fail("{}: field 'sha': expected the 40-hex commit of revision '{}'", url, ref_.revision);
    }
    const std::string commit = info["sha"].get<std::string>();
    if (is_commit_hash(ref_.revision) && commit != ref_.revision) {
      fail("{}: asked for commit {}, the server answered {}", url, ref_.revision, commit);
    }
    if (!info.contains("siblings") || !info["siblings"].is_array()) {
      fail("{}: field 'siblings': expected the list of the repository's files", url);
    }
    std::vector<std::string> files;
    for (const auto& sibling : info["siblings"]) {
      if (!sibling.is_object() || !sibling.contains("rfilename") ||
          !sibling["rfilename"].is_string()) {
        fail("{}: field 'siblings': expected objects with a string 'rfilename'", url);
      }
      files.push_back(sibling["rfilename"].get<std::string>());
    }
    return {commit, files};
  }

  std::vector<std::string> select(const std::vector<std::string>& files) const {
    std::vector<std::string> chosen;
    if (options_.include.empty()) {
      chosen = default_model_files(files, label());
    } else {
      for (const std::string& f : files) {
        const bool wanted =
            std::any_of(options_.include.begin(), options_.include.end(), [&](std::string p) {
              if (!p.empty() && p.back() == '/') p += '*';
              return glob_match(p, f);
            });
        if (wanted) chosen.push_back(f);
      }
      if (chosen.empty()) {
        std::string globs, listing;
        for (const std::string& g : options_.include) globs += (globs.empty() ? "" : " ") + g;
        for (std::size_t i = 0; i < files.size() && i < 30; ++i) {
          listing += (listing.empty() ? "" : ", ") + files[i];
        }
        fail("vlbench pull {}: --include {} matches none of its {} files ({})", label(), globs,
             files.size(), listing.empty() ? "none" : listing);
      }
    }
    for (const std::string& f : chosen) {
      if (!safe_repo_path(f)) {
        fail(
            "vlbench pull {}: the server lists a file '{}' whose path would leave the snapshot "
            "folder; nothing of it is written",
            label(), f);
      }
    }
    return chosen;
  }

  // HEAD of the file's resolve URL: redirects without an ETag (a renamed repository) are
  // followed; one with an ETag (an LFS file sent to its CDN) gives the metadata and where to
  // download from.
  FileMeta head(const std::string& file) const {
    std::string url = settings_.endpoint + "/" + ref_.repo_id + "/resolve/" + commit_ + "/" +
                      hub::url_quote_path(file);
    for (int hop = 0; hop < 10; ++hop) {
      HttpRequest request;
      request.method = "HEAD";
      request.url = url;
      request.headers = auth_for(url);
      request.stall_timeout_s = options_.stall_timeout_s;
      TransportFailure failure;
      const HttpResponse r = hub::http_request(request, &failure);
      if (failure.failed) unreachable(failure);
      if (r.status >= 400) http_error(r, url, file);
      const std::string etag =
          !r.header("x-linked-etag").empty() ? r.header("x-linked-etag") : r.header("etag");
      const bool redirect = r.status >= 300 && r.status < 400;
      if (redirect && r.redirect_url.empty()) {
        fail("vlbench pull {}: {}: HTTP {} without a Location header", label(), url, r.status);
      }
      if (redirect && etag.empty()) {
        url = r.redirect_url;
        continue;
      }
      FileMeta meta;
      meta.etag = normalize_etag(etag);
      meta.download_url = redirect ? r.redirect_url : url;
      meta.size = parse_size(r.header("x-linked-size"));
      if (meta.size < 0 && !redirect) meta.size = parse_size(r.header("content-length"));
      if (meta.etag.empty()) {
        fail(
            "vlbench pull {}: {}: the server gave no ETag for {}, so the file can be neither "
            "named in the cache nor checked",
            label(), url, file);
      }
      if (!usable_blob_name(meta.etag)) {
        fail(
            "vlbench pull {}: {}: ETag '{}' of {} is not a usable blob name (expected hex "
            "digits)",
            label(), url, meta.etag.substr(0, 80), file);
      }
      return meta;
    }
    fail("vlbench pull {}: {}: more than 10 redirects", label(), url);
  }

  // Downloads the file into blob (under its lock): resumed, checked, renamed into place.
  std::string download(const std::string& file, const FileMeta& meta, const fs::path& blob) {
    const fs::path incomplete = fs::path(blob.string() + ".incomplete");
    Progress progress(options_.progress, file, meta.size);
    for (int attempt = 0;; ++attempt) {
      std::int64_t have = file_size_or_zero(incomplete);
      if (meta.size >= 0 && have > meta.size) {
        fs::remove(incomplete);
        have = 0;
      }
      if (meta.size >= 0 && have == meta.size) break;
      Fd out{::open(incomplete.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)};
      if (out.fd < 0) {
        fail("vlbench pull {}: cannot write {}: {}", label(), incomplete.string(),
             std::strerror(errno));
      }
      HttpRequest request;
      request.url = meta.download_url;
      request.follow_redirects = true;
      request.stall_timeout_s = options_.stall_timeout_s;
      request.headers = auth_for(meta.download_url);
      if (have > 0) request.headers.push_back(fmt::format("Range: bytes={}-", have));
      std::int64_t written = have;
      progress.start(have);
      request.on_start = [&](const HttpResponse& head) {
        if (head.status == 206) {
          const std::string range = head.header("content-range");
          if (range.rfind(fmt::format("bytes {}-", have), 0) != 0) {
            fail("vlbench pull {}: {}: asked for bytes {}- and got '{}'", label(),
                 meta.download_url, have, range);
          }
        } else if (have > 0) {  // the server sends the whole file again
          if (::ftruncate(out.fd, 0) != 0) {
            fail("vlbench pull {}: cannot truncate {}: {}", label(), incomplete.string(),
                 std::strerror(errno));
          }
          written = 0;
          progress.start(0);
        }
      };
      request.on_body = [&](const char* bytes, std::size_t n) {
        while (n > 0) {
          const ssize_t w = ::write(out.fd, bytes, n);
          if (w < 0) {
            if (errno == EINTR) continue;
            fail(
                "vlbench pull {}: cannot write {}: {} (what arrived so far stays there; the "
                "next pull resumes it)",
                label(), incomplete.string(), std::strerror(errno));
          }
          bytes += w;
          n -= static_cast<std::size_t>(w);
          written += w;
          progress.update(written);
        }
      };
      TransportFailure failure;
      const HttpResponse r = hub::http_request(request, &failure);
      if (::close(out.fd) != 0) {
        out.fd = -1;
        fail("vlbench pull {}: cannot write {}: {}", label(), incomplete.string(),
             std::strerror(errno));
      }
      out.fd = -1;
      if (failure.failed) {
        if (attempt < options_.retries) continue;
        progress.finish();
        fail(
            "vlbench pull {}: the transfer of {} stopped after {} of {} bytes ({}); what "
            "arrived is kept in {}: run the same vlbench pull again to resume it",
            label(), file, file_size_or_zero(incomplete),
            meta.size >= 0 ? std::to_string(meta.size) : "?", failure.message, incomplete.string());
      }
      if (r.status == 416 && have > 0) {  // what we hold is not a prefix the server knows
        fs::remove(incomplete);
        if (attempt < options_.retries) continue;
      }
      if (r.status >= 400) http_error(r, meta.download_url, file);
      if (r.status >= 300) {
        fail("vlbench pull {}: {}: HTTP {} at the end of the redirects", label(), meta.download_url,
             r.status);
      }
      if (meta.size < 0 || file_size_or_zero(incomplete) >= meta.size) break;
      if (attempt >= options_.retries) {  // the server closed early without an error
        progress.finish();
        fail(
            "vlbench pull {}: the transfer of {} ended after {} of {} bytes; what arrived is "
            "kept in {}: run the same vlbench pull again to resume it",
            label(), file, file_size_or_zero(incomplete), meta.size, incomplete.string());
      }
    }
    progress.finish();
    const std::int64_t got_size = file_size_or_zero(incomplete);
    const auto discard = [&] {
      std::error_code ec;
      fs::remove(incomplete, ec);
    };
    if (meta.size >= 0 && got_size != meta.size) {
      discard();
      fail(
          "vlbench pull {}: {}: size mismatch: expected {} bytes, got {}; nothing placed (the "
          "download was deleted)",
          label(), file, meta.size, got_size);
    }
    std::string kind, got;
    if (is_hex(meta.etag, 64)) {
      kind = "sha256";
      got = sha256_file(incomplete);
    } else if (is_hex(meta.etag, 40)) {
      kind = "git-sha1";
      got = hub::git_blob_sha1_file(incomplete);
    }
    if (!kind.empty() && got != meta.etag) {
      discard();
      fail(
          "vlbench pull {}: {}: checksum mismatch: expected {} {} (the Hub's ETag), got {}; "
          "nothing placed (the download was deleted)",
          label(), file, kind, meta.etag, got);
    }
    std::error_code ec;
    fs::rename(incomplete, blob, ec);
    if (ec) {
      fail("vlbench pull {}: cannot place {}: {}", label(), blob.string(), ec.message());
    }
    return kind;
  }

  // snapshots/COMMIT/PATH -> ../../blobs/ETAG (one more ../ per subfolder of PATH).
  void link(const fs::path& blob, const fs::path& pointer) const {
    create_folder(pointer.parent_path());
    std::error_code ec;
    fs::remove(pointer, ec);  // a stale or broken link
    fs::create_symlink(blob.lexically_relative(pointer.parent_path()), pointer, ec);
    if (ec) {
      fail("vlbench pull {}: cannot link {}: {}", label(), pointer.string(), ec.message());
    }
  }

  PulledFile fetch(const std::string& file) {
    PulledFile pulled;
    pulled.path = file;
    const fs::path pointer = snapshot_ / file;
    std::error_code ec;
    if (fs::exists(pointer, ec)) {  // this commit's file is already there
      pulled.etag = fs::read_symlink(pointer, ec).filename().string();
      pulled.bytes = file_size_or_zero(pointer);
      if (options_.on_file) options_.on_file(fmt::format("cached  {}", file));
      return pulled;
    }
    const FileMeta meta = head(file);
    pulled.etag = meta.etag;
    const fs::path blob = repo_dir_ / "blobs" / meta.etag;
    const fs::path locks = settings_.cache_dir / ".locks" / ref_.folder_name();
    create_folder(blob.parent_path());
    create_folder(locks);
    {
      FileLock lock(locks / (meta.etag + ".lock"));
      if (!fs::exists(blob, ec)) {
        pulled.verified = download(file, meta, blob);
        pulled.downloaded = true;
      }
    }
    link(blob, pointer);
    pulled.bytes = file_size_or_zero(blob);
    if (options_.on_file) {
      options_.on_file(fmt::format(
          "{} {}  {}{}", pulled.downloaded ? "placed " : "linked ", file, human_bytes(pulled.bytes),
          pulled.verified.empty() ? (pulled.downloaded ? ", not checked (the ETag is no hash)" : "")
                                  : ", " + pulled.verified + " checked"));
    }
    return pulled;
  }

  HubReference ref_;
  const HubSettings& settings_;
  const PullOptions& options_;
  std::string commit_;
  fs::path repo_dir_;
  fs::path snapshot_;
};

}  // namespace

PullResult pull_model(std::string_view reference, const HubSettings& settings,
                      const PullOptions& options) {
  const HubReference ref = parse_hub_reference(reference);
  if (settings.offline) {
    fail(
        "vlbench pull {}: offline mode (HF_HUB_OFFLINE is set): nothing is downloaded; unset "
        "HF_HUB_OFFLINE to fetch it, or run with what the cache holds (--model {})",
        ref.to_string(), ref.to_string());
  }
  return Puller(ref, settings, options).run();
}

}  // namespace vlbench
