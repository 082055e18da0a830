// What this process has used, as the kernel counts it.
#pragma once

#include <cstdint>

namespace vlbench {

// Peak resident set size so far (VmHWM of /proc/self/status), bytes; 0 where unavailable.
std::int64_t peak_rss_bytes();

}  // namespace vlbench
