#include <vlbench/core/error.hpp>

#include <cstdio>
#include <cstdlib>

namespace vlbench {

void assert_failed(const char* expr, const char* file, int line) {
  // A broken invariant is a bug, not a user error: say where and stop at once, so a debugger
  // or core dump sees the state that broke it.
  std::fprintf(stderr, "vlbench: internal error: assertion `%s` failed at %s:%d\n", expr, file,
               line);
  std::fflush(stderr);
  std::abort();
}

}  // namespace vlbench
