// pytorch_model.bin: the ZIP container (CRC-checked entries, stored or deflated, ZIP64), the
// restricted unpickler of data.pkl, and tensor loading (models/checkpoint.hpp).
#include "fuzz_util.hpp"

#include <vlbench/models/checkpoint.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vlbench;
  const auto dir = fuzz::scratch() / "bin";
  fuzz::write_file(dir / "pytorch_model.bin", data, size);
  fuzz::expect_clean([&] {
    const Checkpoint checkpoint = Checkpoint::open(dir);
    for (const TensorRef& tensor : checkpoint.tensors()) {
      if (tensor.numel() > (1 << 20)) continue;  // the loader is not what this bounds
      fuzz::expect_clean([&] { checkpoint.load_f32(tensor.name, tensor.shape); });
    }
  });
  return 0;
}
