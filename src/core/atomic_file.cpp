#include <vlbench/core/atomic_file.hpp>

#include <vlbench/core/error.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace vlbench {

namespace {

// Distinguishes several AtomicFiles for the same target within one process.
std::atomic<std::uint64_t> g_temp_counter{0};

std::filesystem::path temp_name(const std::filesystem::path& target) {
  std::filesystem::path temp = target;
  temp += fmt::format(".tmp-{}-{}", static_cast<long>(::getpid()), g_temp_counter.fetch_add(1));
  return temp;
}

// The folder a relative or absolute path lives in ("." for a bare file name).
std::filesystem::path folder_of(const std::filesystem::path& path) {
  return path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
}

void write_all(int fd, const char* bytes, std::size_t n, const std::filesystem::path& path) {
  while (n > 0) {
    const ssize_t written = ::write(fd, bytes, n);
    if (written < 0) {
      if (errno == EINTR) continue;
      fail("cannot write {}: {}", path.string(), std::strerror(errno));
    }
    bytes += written;
    n -= static_cast<std::size_t>(written);
  }
}

}  // namespace

namespace {

// A sibling of `dir` with a unique name: dir.<tag>-<pid>-<counter>-<time>.
std::filesystem::path temp_sibling(const std::filesystem::path& dir, const char* tag) {
  static std::atomic<std::uint64_t> counter{0};
  const auto ticks = std::chrono::steady_clock::now().time_since_epoch().count();
  return dir.parent_path() / fmt::format("{}.{}-{}-{}-{}", dir.filename().string(), tag,
                                         static_cast<long>(::getpid()), counter.fetch_add(1),
                                         ticks);
}

void remove_all_quietly(const std::filesystem::path& path) {
  std::error_code ec;  // best effort: used from destructors
  if (!path.empty()) std::filesystem::remove_all(path, ec);
}

}  // namespace

AtomicDirectory::AtomicDirectory(std::filesystem::path target, std::string_view what,
                                 bool (*replaceable)(const std::filesystem::path& dir))
    : target_(std::move(target)) {
  namespace fs = std::filesystem;
  if (target_.filename().empty()) target_ = target_.parent_path();
  if (target_.filename().empty())
    fail("{}: expected a folder name to write {} to", target_.string(), what);
  std::error_code ec;
  if (!target_.parent_path().empty()) {
    fs::create_directories(target_.parent_path(), ec);
    if (ec) fail("{}: cannot create folder: {}", target_.parent_path().string(), ec.message());
  }
  if (fs::exists(target_) &&
      (!fs::is_directory(target_) || (!fs::is_empty(target_) && !replaceable(target_)))) {
    fail("{}: expected an empty folder or {} to replace, got other files", target_.string(), what);
  }
  temp_ = temp_sibling(target_, "tmp");
  fs::create_directory(temp_, ec);
  if (ec) fail("{}: cannot create folder: {}", temp_.string(), ec.message());
}

AtomicDirectory::~AtomicDirectory() {
  if (!committed_) remove_all_quietly(temp_);
}

void AtomicDirectory::commit() {
  namespace fs = std::filesystem;
  VLB_ASSERT(!committed_);
  std::error_code ec;
  fs::path old;
  if (fs::exists(target_)) {
    old = temp_sibling(target_, "old");
    fs::rename(target_, old, ec);
    if (ec) fail("{}: cannot move the old folder aside: {}", target_.string(), ec.message());
  }
  fs::rename(temp_, target_, ec);
  if (ec) {
    if (!old.empty()) {
      std::error_code restore_ec;
      fs::rename(old, target_, restore_ec);
      if (!restore_ec) old.clear();
    }
    remove_all_quietly(old);
    fail("{}: cannot rename {} to it: {}", target_.string(), temp_.string(), ec.message());
  }
  committed_ = true;
  remove_all_quietly(old);
}

AtomicFile::AtomicFile(std::filesystem::path target)
    : target_(std::move(target)), temp_(temp_name(target_)) {
  // Fail here, naming the folder, rather than later with a confusing temporary name.
  const std::filesystem::path folder = folder_of(target_);
  std::error_code ec;
  if (!std::filesystem::is_directory(folder, ec)) {
    fail("cannot write {}: folder {} does not exist", target_.string(), folder.string());
  }
}

AtomicFile::~AtomicFile() {
  if (!committed_) {
    std::error_code ec;  // best effort: a destructor must not throw
    std::filesystem::remove(temp_, ec);
  }
}

void AtomicFile::commit() {
  VLB_ASSERT(!committed_);
  // Flush the data to disk before the rename makes it visible under the target name, so a
  // crash cannot leave a complete-looking but empty or partial file.
  const int fd = ::open(temp_.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) fail("cannot open {}: {}", temp_.string(), std::strerror(errno));
  if (::fsync(fd) != 0) {
    const int saved = errno;
    ::close(fd);
    fail("cannot flush {}: {}", temp_.string(), std::strerror(saved));
  }
  ::close(fd);
  if (std::rename(temp_.c_str(), target_.c_str()) != 0) {
    fail("cannot rename {} to {}: {}", temp_.string(), target_.string(), std::strerror(errno));
  }
  committed_ = true;
  // Persist the directory entry too. Best effort: some file systems refuse fsync on folders,
  // and the file itself is already complete.
  const int dir_fd = ::open(folder_of(target_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

void write_file_atomic(const std::filesystem::path& path, std::string_view contents) {
  AtomicFile file(path);
  const int fd = ::open(file.temp_path().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("cannot create {}: {}", file.temp_path().string(), std::strerror(errno));
  try {
    write_all(fd, contents.data(), contents.size(), file.temp_path());
  } catch (...) {
    ::close(fd);
    throw;
  }
  if (::close(fd) != 0) {
    fail("cannot write {}: {}", file.temp_path().string(), std::strerror(errno));
  }
  file.commit();
}

std::string read_file(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("cannot open {}: {}", path.string(), std::strerror(errno));
  std::string contents;
  struct stat info {};
  if (::fstat(fd, &info) == 0 && info.st_size > 0) {
    contents.reserve(static_cast<std::size_t>(info.st_size));
  }
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int saved = errno;
      ::close(fd);
      fail("cannot read {}: {}", path.string(), std::strerror(saved));
    }
    contents.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return contents;
}

}  // namespace vlbench
