// Git blob ids of files (digest.hpp); SHA-256 is core's sha256_file.
#include "hub/digest.hpp"

#include <vlbench/core/error.hpp>

#include <openssl/evp.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace vlbench::hub {

std::string git_blob_sha1_file(const std::filesystem::path& path) {
  struct File {
    int fd;
    ~File() {
      if (fd >= 0) ::close(fd);
    }
  } file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  const int fd = file.fd;
  if (fd < 0) fail("cannot open {}: {}", path.string(), std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail("cannot stat {}: {}", path.string(), std::strerror(errno));
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  VLB_ASSERT(ctx != nullptr);
  VLB_ASSERT(EVP_DigestInit_ex(ctx.get(), EVP_sha1(), nullptr) == 1);
  const std::string prefix = fmt::format("blob {}", static_cast<long long>(st.st_size));
  VLB_ASSERT(EVP_DigestUpdate(ctx.get(), prefix.data(), prefix.size() + 1) == 1);  // with '\0'
  std::vector<unsigned char> buffer(1 << 20);
  for (;;) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("cannot read {}: {}", path.string(), std::strerror(errno));
    }
    VLB_ASSERT(EVP_DigestUpdate(ctx.get(), buffer.data(), static_cast<std::size_t>(n)) == 1);
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  VLB_ASSERT(EVP_DigestFinal_ex(ctx.get(), digest, &length) == 1);
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kDigits[digest[i] >> 4]);
    hex.push_back(kDigits[digest[i] & 15]);
  }
  return hex;
}

}  // namespace vlbench::hub
