// Errors. Two channels, as in faiss:
//  - vlbench::Error: a user-caused problem (bad file, bad flag, bad data). Thrown with a
//    one-line message that names what was read (file, line, tensor, field) and what was
//    expected. The CLI prints it and exits non-zero; the library never calls exit().
//  - VLB_ASSERT: a broken internal invariant (a bug). Prints file:line and aborts.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace vlbench {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Throws Error with a fmt-formatted message.
template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

[[noreturn]] void assert_failed(const char* expr, const char* file, int line);

}  // namespace vlbench

#define VLB_ASSERT(cond) \
  ((cond) ? static_cast<void>(0) : ::vlbench::assert_failed(#cond, __FILE__, __LINE__))
