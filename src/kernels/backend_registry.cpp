// The registry of compute backends built into this binary. An optional backend (CUDA) adds
// one entry here under its build option; nothing else in the code base names it.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <functional>

#include "kernels/cpu/cpu_backend.hpp"
#include "vlbench/core/error.hpp"
#include "vlbench/kernels/backend.hpp"

namespace vlbench {
namespace {

using BackendFactory = std::function<std::unique_ptr<Backend>(const BackendOptions&)>;

struct RegisteredBackend {
  const char* name;
  BackendFactory make;
};

const std::vector<RegisteredBackend>& registry() {
  static const std::vector<RegisteredBackend> backends = {
      {"cpu", make_cpu_backend},
  };
  return backends;
}

}  // namespace

std::vector<std::string> backend_names() {
  std::vector<std::string> names;
  for (const RegisteredBackend& backend : registry()) names.emplace_back(backend.name);
  return names;
}

std::unique_ptr<Backend> make_backend(const std::string& name, const BackendOptions& options) {
  for (const RegisteredBackend& backend : registry()) {
    if (name == backend.name) return backend.make(options);
  }
  fail("unknown compute backend '{}' (built into this binary: {})", name,
       fmt::join(backend_names(), ", "));
}

}  // namespace vlbench
