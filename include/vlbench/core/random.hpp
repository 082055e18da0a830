// A small deterministic random number generator whose streams are identical on every
// platform and standard library (std::*_distribution are not), for bootstrap resampling and
// synthetic data. SplitMix64 (Steele, Lea, Flood 2014).
#pragma once

#include <cmath>
#include <cstdint>

namespace vlbench {

__extension__ typedef unsigned __int128 uint128_t;  // GCC/Clang builtin (no -Wpedantic noise)

class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}

  // A stream for item `index` of a job seeded with `seed`: independent of how items are
  // distributed over threads.
  static SplitMix64 for_item(std::uint64_t seed, std::uint64_t index) {
    SplitMix64 mixer(seed ^ (0x9E3779B97F4A7C15ull * (index + 1)));
    return SplitMix64(mixer.next());
  }

  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  // Uniform integer in [0, n), unbiased (Lemire's multiply-and-reject), n > 0.
  std::uint64_t below(std::uint64_t n) {
    while (true) {
      uint128_t product = static_cast<uint128_t>(next()) * n;
      auto low = static_cast<std::uint64_t>(product);
      if (low >= n || low >= (0 - n) % n) return static_cast<std::uint64_t>(product >> 64);
    }
  }

  // Uniform double in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  // Standard normal (Box-Muller; one value per call, the pair's second is discarded).
  double normal() {
    double u1 = 1.0 - uniform();  // (0, 1]
    double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  std::uint64_t state_;
};

}  // namespace vlbench
