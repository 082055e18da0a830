// The .npy header and payload (core/npy.hpp): any array, then as a float32 matrix.
#include "fuzz_util.hpp"

#include <vlbench/core/npy.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vlbench;
  const auto path = fuzz::scratch() / "array.npy";
  fuzz::write_file(path, data, size);
  fuzz::expect_clean([&] { read_npy(path); });
  fuzz::expect_clean([&] { read_npy_matrix_f32(path); });
  return 0;
}
