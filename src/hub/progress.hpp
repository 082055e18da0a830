// A download's progress bar on stderr (bytes, bytes/s, ETA), and byte counts for people.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace vlbench {

// "812 B", "1.2 kB", "27.1 MB", "3.94 GB" (SI units, as tqdm's unit_scale).
std::string human_bytes(std::int64_t bytes);

// One line redrawn in place, at most ten times a second; nothing when disabled.
class Progress {
 public:
  Progress(bool enabled, std::string label, std::int64_t total)
      : enabled_(enabled), label_(std::move(label)), total_(total) {}
  // A transfer starts with `done` bytes already in hand (a resumed download).
  void start(std::int64_t done);
  void update(std::int64_t done);
  // The final state and a newline (once something was drawn).
  void finish();

 private:
  void draw(std::int64_t done);

  bool enabled_;
  std::string label_;
  std::int64_t total_;
  std::int64_t start_bytes_ = 0;
  std::int64_t last_ = 0;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_time_{};
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace vlbench
