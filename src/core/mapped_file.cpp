#include <vlbench/core/mapped_file.hpp>

#include <vlbench/core/error.hpp>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <utility>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace vlbench {

namespace {

// Closes a file descriptor on every path out of the constructor.
struct FdGuard {
  int fd;
  ~FdGuard() { ::close(fd); }
};

}  // namespace

MappedFile::MappedFile(const std::filesystem::path& path) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("cannot open {}: {}", path.string(), std::strerror(errno));
  FdGuard guard{fd};

  struct stat info {};
  if (::fstat(fd, &info) != 0) fail("cannot stat {}: {}", path.string(), std::strerror(errno));
  // A folder opens fine with O_RDONLY but cannot be mapped; say what it is instead.
  if (!S_ISREG(info.st_mode)) fail("cannot map {}: not a regular file", path.string());
  if (info.st_size == 0) return;  // mmap rejects length 0; an empty file is valid

  const auto size = static_cast<std::size_t>(info.st_size);
  void* address = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (address == MAP_FAILED) fail("cannot map {}: {}", path.string(), std::strerror(errno));
  // The mapping keeps the file alive; the descriptor is no longer needed.
  data_ = static_cast<const std::byte*>(address);
  size_ = size;
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(const_cast<std::byte*>(data_), size_);
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : path_(std::move(other.path_)),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) ::munmap(const_cast<std::byte*>(data_), size_);
    path_ = std::move(other.path_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void MappedFile::release_pages() const {
  if (data_ == nullptr) return;
  // The mapping is private and never written, so dropping the pages loses nothing: a later
  // access reads them back from the file. The start is page aligned (it came from mmap).
  ::madvise(const_cast<std::byte*>(data_), size_, MADV_DONTNEED);
}

void MappedFile::release_range(const std::byte* begin, std::size_t bytes) const {
  if (!contains(begin, bytes) || bytes == 0) return;
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto first = (reinterpret_cast<std::uintptr_t>(begin) + page - 1) / page * page;
  const auto last = (reinterpret_cast<std::uintptr_t>(begin) + bytes) / page * page;
  if (last <= first) return;  // no whole page inside
  ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

}  // namespace vlbench
