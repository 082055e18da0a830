// The download progress bar (progress.hpp).
#include "hub/progress.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

namespace vlbench {

std::string human_bytes(std::int64_t bytes) {
  if (bytes < 1000) return fmt::format("{} B", bytes);
  const char* units[] = {"kB", "MB", "GB", "TB"};
  double value = static_cast<double>(bytes);
  int unit = -1;
  while (value >= 1000 && unit < 3) {
    value /= 1000;
    ++unit;
  }
  const int decimals = value < 10 ? 2 : value < 100 ? 1 : 0;
  return fmt::format("{:.{}f} {}", value, decimals, units[unit]);
}

void Progress::start(std::int64_t done) {
  start_bytes_ = done;
  last_ = done;
  start_time_ = std::chrono::steady_clock::now();
  last_draw_ = {};
}

void Progress::update(std::int64_t done) {
  last_ = done;
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  draw(done);
}

void Progress::finish() {
  if (!enabled_ || !drawn_) return;
  draw(last_);
  std::fputc('\n', stderr);
  drawn_ = false;
}

void Progress::draw(std::int64_t done) {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_time_).count();
  const double rate = seconds > 0 ? static_cast<double>(done - start_bytes_) / seconds : 0;
  std::string line = label_.size() > 32 ? "…" + label_.substr(label_.size() - 31) : label_;
  if (total_ > 0) {
    const double fraction =
        std::clamp(static_cast<double>(done) / static_cast<double>(total_), 0.0, 1.0);
    const int filled = static_cast<int>(fraction * 24);
    std::string eta = "?";
    if (rate > 0) {
      const auto left = static_cast<long long>(static_cast<double>(total_ - done) / rate);
      eta = left >= 3600 ? fmt::format("{}h{:02}m", left / 3600, left / 60 % 60)
                         : fmt::format("{}:{:02}", left / 60, left % 60);
    }
    line += fmt::format(" {:3.0f}% [{}{}] {} / {}  {}/s  ETA {}", 100 * fraction,
                        std::string(static_cast<std::size_t>(filled), '#'),
                        std::string(static_cast<std::size_t>(24 - filled), '.'), human_bytes(done),
                        human_bytes(total_), human_bytes(static_cast<std::int64_t>(rate)), eta);
  } else {
    line +=
        fmt::format("  {}  {}/s", human_bytes(done), human_bytes(static_cast<std::int64_t>(rate)));
  }
  std::fprintf(stderr, "\r%s\033[K", line.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

}  // namespace vlbench
