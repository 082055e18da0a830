// Branch-free float32 math that loops can vectorize (libm calls cannot be vectorized without
// -ffast-math, which this project never uses).
#pragma once

#include <bit>
#include <cstdint>

namespace vlbench {

// exp(x) for float32, within 2 ulp of the exact value over the whole range where the result
// is a normal float (Cephes' expf: Cody-Waite reduction by ln 2, degree-5 polynomial).
// Inputs are clamped to [-87, 88] (results about 1.6e-38 to 1.7e38); NaN gives NaN.
inline float exp_vectorizable(float x) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2High = 0.693359375f;  // ln 2 split in two so n · high is exact
  constexpr float kLn2Low = -2.12194440e-4f;
  constexpr float kRoundMagic = 12582912.0f;  // 1.5 · 2²³: adding it rounds to an integer
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  const float shifted = x * kLog2e + kRoundMagic;  // round(x / ln 2) in the low mantissa bits
  const float n = shifted - kRoundMagic;
  // n as an integer from the bits (a float-to-int cast of NaN would be undefined behaviour).
  const std::uint32_t n_bits =
      std::bit_cast<std::uint32_t>(shifted) - std::bit_cast<std::uint32_t>(kRoundMagic);
  const float r = (x - n * kLn2High) - n * kLn2Low;  // |r| <= ln 2 / 2
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float e_r = p * (r * r) + r + 1.0f;                // e^r
  const std::uint32_t scale_bits = (n_bits + 127u) << 23;  // 2^n, n in [-126, 127]
  return e_r * std::bit_cast<float>(scale_bits);
}

}  // namespace vlbench
