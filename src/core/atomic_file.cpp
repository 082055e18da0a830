#include <vlbench/core/atomic_file.hpp>

#include <vlbench/core/error.hpp>

#include <atomic>
#include <cerrno>
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
