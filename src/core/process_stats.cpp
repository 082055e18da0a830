#include "vlbench/core/process_stats.hpp"

#include <fstream>
#include <string>

namespace vlbench {

std::int64_t peak_rss_bytes() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;  // "... kB"
  }
  return 0;
}

}  // namespace vlbench
