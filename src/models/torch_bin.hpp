// pytorch_model.bin: PyTorch's zip checkpoint format (torch.save since 1.6).
//   <archive>/data.pkl       the state dict, pickled (models/torch_pickle.hpp)
//   <archive>/data/<key>     each storage's raw bytes, little endian
//   <archive>/byteorder      "little" (absent in older files, which are little endian too)
// <archive> is "archive" or, in older files, the file's stem: whatever folder holds data.pkl.
#pragma once

#include <vlbench/core/mapped_file.hpp>
#include <vlbench/models/checkpoint.hpp>

#include <cstddef>
#include <filesystem>
#include <vector>

namespace vlbench {

struct TorchBin {
  std::filesystem::path path;
  // The TensorRefs point into these: the whole file, mapped (entries stored uncompressed, as
  // torch.save writes them, are used in place), and buffers for entries that were compressed.
  MappedFile mapping;
  std::vector<std::vector<std::byte>> inflated;
  std::vector<TensorRef> tensors;  // in the state dict's order
};

// Error (naming the file and the entry or tensor) for anything but a readable zip holding a
// flat state dict of C-contiguous tensors that lie inside their storages.
TorchBin read_torch_bin(const std::filesystem::path& path);

}  // namespace vlbench
