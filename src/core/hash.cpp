#include <vlbench/core/hash.hpp>

#include <vlbench/core/error.hpp>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

namespace vlbench {

namespace {

// An EVP SHA-256 context released on every path out.
class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new(), &EVP_MD_CTX_free) {
    VLB_ASSERT(ctx_ != nullptr);
    const int ok = EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr);
    VLB_ASSERT(ok == 1);
  }

  void update(const void* bytes, std::size_t n) {
    const int ok = EVP_DigestUpdate(ctx_.get(), bytes, n);
    VLB_ASSERT(ok == 1);
  }

  // Lower-case hex digest.
  std::string hex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    const int ok = EVP_DigestFinal_ex(ctx_.get(), digest, &length);
    VLB_ASSERT(ok == 1);
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * length);
    for (unsigned int i = 0; i < length; ++i) {
      out.push_back(kDigits[digest[i] >> 4]);
      out.push_back(kDigits[digest[i] & 0xf]);
    }
    return out;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx_;
};

}  // namespace

std::string sha256_file(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("cannot open {}: {}", path.string(), std::strerror(errno));
  Sha256 sha;
  std::vector<unsigned char> buffer(1 << 20);  // streamed: files may be many gigabytes
  for (;;) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int saved = errno;
      ::close(fd);
      fail("cannot read {}: {}", path.string(), std::strerror(saved));
    }
    sha.update(buffer.data(), static_cast<std::size_t>(n));
  }
  ::close(fd);
  return sha.hex();
}

std::string sha256_bytes(std::string_view bytes) {
  Sha256 sha;
  sha.update(bytes.data(), bytes.size());
  return sha.hex();
}

}  // namespace vlbench
