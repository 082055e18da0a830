// The safetensors header and tensor table (core/safetensors.hpp), then every tensor's bytes.
#include "fuzz_util.hpp"

#include <vlbench/core/safetensors.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vlbench;
  const auto path = fuzz::scratch() / "model.safetensors";
  fuzz::write_file(path, data, size);
  fuzz::expect_clean([&] {
    const SafetensorsFile file(path);
    unsigned sum = 0;
    for (const auto& tensor : file.tensors()) {
      const std::byte* bytes = file.data(tensor);
      for (std::size_t i = 0; i < tensor.nbytes; ++i) sum += static_cast<unsigned>(bytes[i]);
      file.at(tensor.name);
    }
    volatile unsigned sink = sum;
    (void)sink;
  });
  return 0;
}
