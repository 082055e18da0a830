// A restricted unpickler for the data.pkl of a PyTorch zip checkpoint (torch.save of a state
// dict). It interprets only the opcodes such a pickle uses and resolves only the globals of a
// tensor state dict — collections.OrderedDict, torch._utils._rebuild_tensor_v2 /
// _rebuild_tensor and the torch.*Storage type tags — into plain data; anything else is an
// Error. It never imports or calls anything: "calling" a global here means building a record.
#pragma once

#include <vlbench/core/dtype.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vlbench {

// One persistent id ('storage', torch.XStorage, key, location, numel): the bytes of
// <archive>/data/<key>, `numel` elements of `dtype`.
struct PickledStorage {
  std::string key;
  DType dtype = DType::f32;
  std::string location;  // "cpu", "cuda:0", ...: informational
  std::int64_t numel = 0;
};

// _rebuild_tensor_v2(storage, storage_offset, size, stride, ...) under a state dict key.
// Offsets and strides are in elements.
struct PickledTensor {
  std::string name;
  std::size_t storage = 0;  // index into StateDictPickle::storages
  std::int64_t storage_offset = 0;
  std::vector<std::int64_t> shape;
  std::vector<std::int64_t> stride;
};

struct StateDictPickle {
  std::vector<PickledStorage> storages;  // distinct keys, in order of first appearance
  std::vector<PickledTensor> tensors;    // in the dict's order
};

// `file` names the checkpoint in error messages. Throws Error on any opcode, global or
// structure outside a flat {name: tensor} (Ordered)Dict, or such a dict under the key
// "state_dict" of the pickled dict (a training checkpoint: its other entries are dropped).
StateDictPickle unpickle_state_dict(std::string_view pickle, const std::string& file);

}  // namespace vlbench
