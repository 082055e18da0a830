// Readable bounds for option values. CLI11's PositiveNumber and NonNegativeNumber name the
// largest double (a 309-digit number) as their upper end; these name the bound that matters.
#pragma once

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <thread>

namespace vlbench::cli {

// The most resamples a bootstrap may ask for (each costs a pass over the queries).
inline constexpr double kMaxBootstrap = 1e6;

// The value must be a number in [lo, hi]; the message names both ends (hi only when finite).
inline CLI::Validator between(double lo, double hi) {
  return CLI::Validator(
      [lo, hi](std::string& text) -> std::string {
        char* end = nullptr;
        const double value = std::strtod(text.c_str(), &end);
        if (end == text.c_str() || *end != '\0' || !std::isfinite(value)) {
          return fmt::format("'{}' is not a number", text);
        }
        if (value < lo || value > hi) {
          return std::isfinite(hi) ? fmt::format("{} is outside [{}, {}]", text, lo, hi)
                                   : fmt::format("{} is below the minimum {}", text, lo);
        }
        return {};
      },
      std::isfinite(hi) ? fmt::format("[{}, {}]", lo, hi) : fmt::format(">= {}", lo));
}

inline CLI::Validator at_least(double lo) {
  return between(lo, HUGE_VAL);
}

// Compute threads: 0 (all cores) up to 4 x the hardware threads; more only oversubscribes
// (and 100000 threads would take minutes to start).
inline CLI::Validator thread_count() {
  const unsigned hardware = std::max(1u, std::thread::hardware_concurrency());
  return CLI::Validator(
      [hardware](std::string& text) -> std::string {
        const std::string problem = between(0, 4.0 * hardware)(text);
        if (problem.empty()) return {};
        return fmt::format("{} (0: all cores; at most 4 x the {} hardware threads)", problem,
                           hardware);
      },
      fmt::format("0 to {}", 4 * hardware));
}

}  // namespace vlbench::cli
