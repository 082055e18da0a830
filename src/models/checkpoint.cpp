// Checkpoint directories: one model.safetensors, a model.safetensors.index.json with its
// shards, or a pytorch_model.bin (models/torch_bin.hpp). Every source ends up as one list of
// TensorRefs sorted by name, each remembering the file it came from for error messages.
#include <vlbench/models/checkpoint.hpp>

#include "models/torch_bin.hpp"

#include <vlbench/core/atomic_file.hpp>
#include <vlbench/core/error.hpp>
#include <vlbench/core/safetensors.hpp>

#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <map>
#include <optional>
#include <set>

namespace vlbench {

static_assert(std::endian::native == std::endian::little,
              "checkpoint tensors are little endian and are read in place");

namespace fs = std::filesystem;

namespace {

constexpr const char* kSafetensorsName = "model.safetensors";
constexpr const char* kIndexName = "model.safetensors.index.json";
constexpr const char* kTorchBinName = "pytorch_model.bin";
// open_clip's file names (open_clip prefers the safetensors file too).
constexpr const char* kOpenClipSafetensorsName = "open_clip_model.safetensors";
constexpr const char* kOpenClipTorchBinName = "open_clip_pytorch_model.bin";
// torch.nn.DataParallel / DistributedDataParallel save every key under this prefix; open_clip
// strips it on load.
constexpr std::string_view kDataParallelPrefix = "module.";

std::string shape_string(const std::vector<std::int64_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

}  // namespace

std::int64_t TensorRef::numel() const {
  std::int64_t n = 1;
  for (const std::int64_t dim : shape) n *= dim;
  return n;
}

struct Checkpoint::Impl {
  fs::path dir;
  fs::path source;                      // the file that lists the tensors, for messages
  std::vector<SafetensorsFile> shards;  // owns the mappings the TensorRefs point into
  std::unique_ptr<TorchBin> torch_bin;  // or this, for pytorch_model.bin
  std::vector<TensorRef> tensors;       // sorted by name
  std::vector<fs::path> files;          // files[i]: the file tensors[i] was read from

  void add_safetensors(SafetensorsFile file) {
    for (const TensorInfo& info : file.tensors()) {
      tensors.push_back(TensorRef{info.name, info.dtype, info.shape, file.data(info), info.nbytes});
      files.push_back(file.path());
    }
    shards.push_back(std::move(file));
  }

  // Sorts tensors (and files alongside) by name; a name seen twice is an Error naming both
  // files.
  void sort_by_name() {
    std::vector<std::size_t> order(tensors.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(),
              [this](std::size_t a, std::size_t b) { return tensors[a].name < tensors[b].name; });
    std::vector<TensorRef> sorted_tensors;
    std::vector<fs::path> sorted_files;
    sorted_tensors.reserve(order.size());
    sorted_files.reserve(order.size());
    for (const std::size_t i : order) {
      if (!sorted_tensors.empty() && sorted_tensors.back().name == tensors[i].name) {
        fail("{}: tensor '{}' appears twice (also in {})", files[i].string(), tensors[i].name,
             sorted_files.back().string());
      }
      sorted_tensors.push_back(std::move(tensors[i]));
      sorted_files.push_back(std::move(files[i]));
    }
    tensors = std::move(sorted_tensors);
    files = std::move(sorted_files);
  }

  void add_sharded(const fs::path& index_path);

  void add_torch_bin(const fs::path& path) {
    source = path;
    torch_bin = std::make_unique<TorchBin>(read_torch_bin(path));
    tensors = std::move(torch_bin->tensors);
    files.assign(tensors.size(), torch_bin->path);
  }

  // When every name starts with "module.", drops it (a state dict saved from a DataParallel).
  void strip_data_parallel_prefix() {
    if (tensors.empty()) return;
    for (const TensorRef& tensor : tensors) {
      if (!tensor.name.starts_with(kDataParallelPrefix)) return;
    }
    for (TensorRef& tensor : tensors) tensor.name.erase(0, kDataParallelPrefix.size());
  }

  std::size_t index_of(const std::string& name) const {
    const auto it = std::lower_bound(
        tensors.begin(), tensors.end(), name,
        [](const TensorRef& tensor, const std::string& key) { return tensor.name < key; });
    if (it == tensors.end() || it->name != name) return tensors.size();
    return static_cast<std::size_t>(it - tensors.begin());
  }
};

// model.safetensors.index.json: {"metadata": {...}, "weight_map": {tensor: shard file name}}.
// Every shard named is opened; each must hold exactly the tensors the map assigns to it.
void Checkpoint::Impl::add_sharded(const fs::path& index_path) {
  const std::string index_name = index_path.string();
  nlohmann::json index;
  try {
    index = nlohmann::json::parse(read_file(index_path));
  } catch (const nlohmann::json::parse_error& e) {
    fail("{}: not valid JSON (error at byte {})", index_name, e.byte);
  } catch (const nlohmann::json::exception& e) {  // e.g. a number too large to represent
    fail("{}: not valid JSON ({})", index_name, e.what());
  }
  if (!index.is_object()) fail("{}: expected a JSON object", index_name);
  const auto map_it = index.find("weight_map");
  if (map_it == index.end() || !map_it->is_object()) {
    fail("{}: missing object field \"weight_map\"", index_name);
  }
  if (map_it->empty()) fail("{}: \"weight_map\" lists no tensors", index_name);

  // shard file name -> the tensors the map puts there (std::map: shards open in name order).
  std::map<std::string, std::set<std::string>> by_shard;
  for (const auto& [tensor, shard] : map_it->items()) {
    if (!shard.is_string()) {
      fail("{}: weight_map entry '{}' is not a string (expected a shard file name)", index_name,
           tensor);
    }
    const std::string shard_name = shard.get<std::string>();
    // Shards sit beside the index; a path could point anywhere on the machine.
    if (shard_name.empty() || shard_name.find('/') != std::string::npos || shard_name == "." ||
        shard_name == "..") {
      fail("{}: weight_map entry '{}': shard '{}' is not a plain file name in {}", index_name,
           tensor, shard_name, dir.string());
    }
    by_shard[shard_name].insert(tensor);
  }

  for (const auto& [shard_name, listed] : by_shard) {
    const fs::path shard_path = dir / shard_name;
    std::error_code ec;
    if (!fs::is_regular_file(shard_path, ec)) {
      fail("{}: shard '{}' (holding e.g. tensor '{}') is missing from {}", index_name, shard_name,
           *listed.begin(), dir.string());
    }
    SafetensorsFile file(shard_path);
    for (const std::string& tensor : listed) {
      if (file.find(tensor) == nullptr) {
        fail("{}: tensor '{}' is listed in {} but the shard does not hold it", shard_path.string(),
             tensor, index_name);
      }
    }
    for (const TensorInfo& info : file.tensors()) {
      if (listed.count(info.name) == 0) {
        const auto other = map_it->find(info.name);
        if (other != map_it->end()) {
          fail("{}: tensor '{}' is also stored here, but {} puts it in shard '{}'",
               shard_path.string(), info.name, index_name, other->get<std::string>());
        }
        fail("{}: tensor '{}' is not listed in {}", shard_path.string(), info.name, index_name);
      }
    }
    add_safetensors(std::move(file));
  }
}

Checkpoint::Checkpoint(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Checkpoint::Checkpoint(Checkpoint&&) noexcept = default;
Checkpoint& Checkpoint::operator=(Checkpoint&&) noexcept = default;
Checkpoint::~Checkpoint() = default;

Checkpoint Checkpoint::open(const fs::path& dir) {
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) fail("{}: not a checkpoint directory", dir.string());

  if (fs::exists(dir / kSafetensorsName, ec)) {
    impl->source = dir / kSafetensorsName;
    impl->add_safetensors(SafetensorsFile(dir / kSafetensorsName));
  } else if (fs::exists(dir / kIndexName, ec)) {
    impl->source = dir / kIndexName;
    impl->add_sharded(dir / kIndexName);
  } else if (fs::exists(dir / kTorchBinName, ec)) {
    impl->add_torch_bin(dir / kTorchBinName);
  } else if (fs::exists(dir / kOpenClipSafetensorsName, ec)) {
    impl->source = dir / kOpenClipSafetensorsName;
    impl->add_safetensors(SafetensorsFile(dir / kOpenClipSafetensorsName));
  } else if (fs::exists(dir / kOpenClipTorchBinName, ec)) {
    impl->add_torch_bin(dir / kOpenClipTorchBinName);
  } else {
    fail("{}: no weights found (looked for {}, {}, {}, {} and {})", dir.string(), kSafetensorsName,
         kIndexName, kTorchBinName, kOpenClipSafetensorsName, kOpenClipTorchBinName);
  }
  impl->strip_data_parallel_prefix();
  impl->sort_by_name();
  return Checkpoint(std::move(impl));
}

Checkpoint Checkpoint::open_safetensors(const fs::path& path) {
  auto impl = std::make_unique<Impl>();
  impl->dir = path.parent_path();
  impl->source = path;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) fail("{}: no such file", path.string());
  impl->add_safetensors(SafetensorsFile(path));
  impl->sort_by_name();
  return Checkpoint(std::move(impl));
}

const fs::path& Checkpoint::dir() const {
  return impl_->dir;
}

const std::vector<TensorRef>& Checkpoint::tensors() const {
  return impl_->tensors;
}

const TensorRef* Checkpoint::find(const std::string& name) const {
  const std::size_t i = impl_->index_of(name);
  return i == impl_->tensors.size() ? nullptr : &impl_->tensors[i];
}

namespace {

// The first NaN or infinity of `values`. One branch-free pass that vectorizes (all exponent
// bits set), then a second pass only when there is one to find.
std::optional<std::size_t> first_non_finite(const std::vector<float>& values) {
  constexpr std::uint32_t kExponent = 0x7F800000u;
  std::uint32_t any = 0;
  for (const float v : values) {
    any |= static_cast<std::uint32_t>((std::bit_cast<std::uint32_t>(v) & kExponent) == kExponent);
  }
  if (any == 0) return std::nullopt;
  for (std::size_t k = 0; k < values.size(); ++k) {
    if (!std::isfinite(values[k])) return k;
  }
  return std::nullopt;
}

}  // namespace

void Checkpoint::release(const std::string& name) const {
  const std::size_t i = impl_->index_of(name);
  if (i == impl_->tensors.size()) return;
  const TensorRef& tensor = impl_->tensors[i];
  for (const SafetensorsFile& shard : impl_->shards) {
    if (shard.mapping().contains(tensor.data, tensor.nbytes)) {
      shard.mapping().release_range(tensor.data, tensor.nbytes);
      return;
    }
  }
  if (impl_->torch_bin) impl_->torch_bin->mapping.release_range(tensor.data, tensor.nbytes);
}

std::vector<float> Checkpoint::load_f32(const std::string& name,
                                        const std::vector<std::int64_t>& expected_shape) const {
  const std::size_t i = impl_->index_of(name);
  if (i == impl_->tensors.size()) {
    fail("{}: no tensor '{}' (expected shape {})", impl_->source.string(), name,
         shape_string(expected_shape));
  }
  const TensorRef& tensor = impl_->tensors[i];
  const std::string file = impl_->files[i].string();
  if (tensor.shape != expected_shape) {
    fail("{}: tensor '{}' has shape {}, expected {}", file, name, shape_string(tensor.shape),
         shape_string(expected_shape));
  }
  const auto n = static_cast<std::size_t>(tensor.numel());
  VLB_ASSERT(tensor.nbytes == n * dtype_size(tensor.dtype));
  std::vector<float> out(n);
  // Copies element by element through memcpy: the data may be unaligned (safetensors
  // offsets need not be multiples of the element size).
  switch (tensor.dtype) {
    case DType::f32:
      if (n > 0) std::memcpy(out.data(), tensor.data, n * sizeof(float));
      break;
    case DType::f16:
    case DType::bf16: {
      const bool is_f16 = tensor.dtype == DType::f16;
      for (std::size_t k = 0; k < n; ++k) {
        std::uint16_t bits = 0;
        std::memcpy(&bits, tensor.data + 2 * k, 2);
        out[k] = is_f16 ? f16_to_f32(bits) : bf16_to_f32(bits);
      }
      break;
    }
    default:
      fail("{}: tensor '{}' is stored as {}, expected f32, f16 or bf16", file, name,
           dtype_name(tensor.dtype));
  }
  if (const std::optional<std::size_t> bad = first_non_finite(out)) {
    fail("{}: tensor '{}' holds {} at flat index {} (shape {}): a damaged or diverged checkpoint",
         file, name, std::isnan(out[*bad]) ? "NaN" : "an infinity", *bad,
         shape_string(tensor.shape));
  }
  return out;
}

}  // namespace vlbench
