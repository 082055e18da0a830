// Reading pytorch_model.bin. libzip opens and checks the archive (ZIP_CHECKCONS), lists the
// entries and reads data.pkl and any compressed entry (CRC-checked). Storage entries stored
// uncompressed — all of them, as torch.save writes them, 64-byte aligned — are used in place
// from a memory map of the file, so a multi-GB checkpoint costs no copy: libzip has no call for
// an entry's position in the file, so the central directory is walked here for each entry's
// local header offset (zip64 included), and the 30-byte local header is parsed for where its
// data starts. Those bytes are CRC-checked here with zlib (libzip checks what it reads itself),
// so every entry of the archive is.
#include "models/torch_bin.hpp"

#include "models/torch_pickle.hpp"

#include <vlbench/core/error.hpp>

#include <fmt/ranges.h>
#include <zip.h>
#include <zlib.h>

#include <memory>
#include <optional>
#include <string>

namespace vlbench {

namespace {

constexpr std::uint64_t kMaxPickleBytes = std::uint64_t{1} << 30;

struct ZipCloser {
  void operator()(zip_t* archive) const { zip_discard(archive); }
};
using ZipPtr = std::unique_ptr<zip_t, ZipCloser>;

struct ZipFileCloser {
  void operator()(zip_file_t* file) const { zip_fclose(file); }
};

std::uint64_t le(const std::byte* p, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v |= std::to_integer<std::uint64_t>(p[i]) << (8 * i);
  return v;
}

// Local header offsets of the entries in central directory order (== libzip's indices for an
// archive opened read-only), with their names for a cross-check.
struct CentralEntry {
  std::string name;
  std::uint64_t local_offset = 0;
};

std::vector<CentralEntry> read_central_directory(const MappedFile& file) {
  const std::string name = file.path().string();
  const std::byte* data = file.data();
  const std::uint64_t size = file.size();
  auto broken = [&](std::string_view what) { fail("{}: corrupt zip archive: {}", name, what); };

  // End of central directory record: 22 bytes plus a comment of up to 65535.
  if (size < 22) broken("too small");
  std::uint64_t eocd = size - 22;
  const std::uint64_t lowest = size > 22 + 65535 ? size - 22 - 65535 : 0;
  while (le(data + eocd, 4) != 0x06054b50) {
    if (eocd == lowest) broken("no end of central directory record");
    --eocd;
  }
  std::uint64_t n_entries = le(data + eocd + 10, 2);
  std::uint64_t cd_size = le(data + eocd + 12, 4);
  std::uint64_t cd_offset = le(data + eocd + 16, 4);
  if (n_entries == 0xffff || cd_size == 0xffffffff || cd_offset == 0xffffffff) {
    if (eocd < 20 || le(data + eocd - 20, 4) != 0x07064b50) broken("no zip64 locator");
    const std::uint64_t eocd64 = le(data + eocd - 20 + 8, 8);
    if (size < 56 || eocd64 > size - 56 || le(data + eocd64, 4) != 0x06064b50)
      broken("bad zip64 record");
    n_entries = le(data + eocd64 + 32, 8);
    cd_size = le(data + eocd64 + 40, 8);
    cd_offset = le(data + eocd64 + 48, 8);
  }
  if (cd_offset > size || cd_size > size - cd_offset) broken("central directory out of bounds");

  std::vector<CentralEntry> entries;
  std::uint64_t pos = cd_offset;
  const std::uint64_t end = cd_offset + cd_size;
  for (std::uint64_t i = 0; i < n_entries; ++i) {
    if (end - pos < 46 || le(data + pos, 4) != 0x02014b50) broken("bad central directory entry");
    const std::uint64_t name_len = le(data + pos + 28, 2);
    const std::uint64_t extra_len = le(data + pos + 30, 2);
    const std::uint64_t comment_len = le(data + pos + 32, 2);
    if (end - pos - 46 < name_len + extra_len + comment_len) broken("central entry overruns");
    CentralEntry entry;
    entry.name.assign(reinterpret_cast<const char*>(data + pos + 46), name_len);
    entry.local_offset = le(data + pos + 42, 4);
    if (entry.local_offset == 0xffffffff) {
      // Zip64 extra field 0x0001 holds, in order, only the fields saturated in the header.
      std::uint64_t skip = (le(data + pos + 24, 4) == 0xffffffff ? 8 : 0) +
                           (le(data + pos + 20, 4) == 0xffffffff ? 8 : 0);
      const std::byte* extra = data + pos + 46 + name_len;
      bool found = false;
      for (std::uint64_t e = 0; e + 4 <= extra_len;) {
        const std::uint64_t id = le(extra + e, 2);
        const std::uint64_t len = le(extra + e + 2, 2);
        if (e + 4 + len > extra_len) break;
        if (id == 0x0001 && skip + 8 <= len) {
          entry.local_offset = le(extra + e + 4 + skip, 8);
          found = true;
          break;
        }
        e += 4 + len;
      }
      if (!found) broken(fmt::format("entry '{}' lacks its zip64 offset", entry.name));
    }
    entries.push_back(std::move(entry));
    pos += 46 + name_len + extra_len + comment_len;
  }
  return entries;
}

class ZipReader {
 public:
  explicit ZipReader(const std::filesystem::path& path) : path_(path.string()) {
    int code = 0;
    archive_.reset(zip_open(path_.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &code));
    if (!archive_) {
      zip_error_t error;
      zip_error_init_with_code(&error, code);
      const std::string message = zip_error_strerror(&error);
      zip_error_fini(&error);
      fail("{}: not a readable zip archive ({}); expected PyTorch's zip checkpoint format", path_,
           message);
    }
  }

  std::uint64_t size() const {
    return static_cast<std::uint64_t>(zip_get_num_entries(archive_.get(), 0));
  }
  std::string name(std::uint64_t index) const {
    const char* name = zip_get_name(archive_.get(), index, 0);
    return name ? name : "";
  }
  std::optional<std::uint64_t> locate(const std::string& name) const {
    const zip_int64_t index = zip_name_locate(archive_.get(), name.c_str(), 0);
    if (index < 0) return std::nullopt;
    return static_cast<std::uint64_t>(index);
  }
  zip_stat_t stat(std::uint64_t index) const {
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(archive_.get(), index, 0, &st) != 0 ||
        (st.valid & (ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_COMP_METHOD)) !=
            (ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_COMP_METHOD)) {
      fail("{}: cannot read the zip entry '{}'", path_, name(index));
    }
    return st;
  }
  // The whole entry, decompressed and CRC-checked by libzip.
  template <typename Buffer>
  Buffer read(std::uint64_t index) const {
    const zip_stat_t st = stat(index);
    std::unique_ptr<zip_file_t, ZipFileCloser> file(zip_fopen_index(archive_.get(), index, 0));
    if (!file) {
      fail("{}: cannot open zip entry '{}': {}", path_, name(index), zip_strerror(archive_.get()));
    }
    Buffer buffer(static_cast<std::size_t>(st.size), typename Buffer::value_type{});
    std::uint64_t done = 0;
    while (done < st.size) {
      const zip_int64_t n = zip_fread(file.get(), buffer.data() + done, st.size - done);
      if (n <= 0) {
        fail("{}: zip entry '{}' is corrupt or truncated: {}", path_, name(index),
             n < 0 ? zip_file_strerror(file.get()) : "it ends early");
      }
      done += static_cast<std::uint64_t>(n);
    }
    // One more read reaches the end of the entry, where libzip checks the CRC.
    char probe = 0;
    if (zip_fread(file.get(), &probe, 1) != 0) {
      fail("{}: zip entry '{}' is corrupt: {}", path_, name(index), zip_file_strerror(file.get()));
    }
    return buffer;
  }

 private:
  std::string path_;
  ZipPtr archive_;
};

// The folder holding data.pkl: exactly one "<prefix>/data.pkl" at the top level.
std::string archive_prefix(const ZipReader& zip, const std::string& file) {
  std::string prefix;
  for (std::uint64_t i = 0; i < zip.size(); ++i) {
    const std::string name = zip.name(i);
    const std::size_t slash = name.find('/');
    if (slash == std::string::npos || name.substr(slash) != "/data.pkl") continue;
    if (!prefix.empty()) {
      fail("{}: two pickles, '{}/data.pkl' and '{}', in one checkpoint", file, prefix, name);
    }
    prefix = name.substr(0, slash);
  }
  if (prefix.empty()) {
    fail("{}: no '<archive>/data.pkl' entry; expected PyTorch's zip checkpoint format", file);
  }
  return prefix;
}

std::int64_t checked_numel(const PickledTensor& tensor, const std::string& file) {
  std::int64_t numel = 1;
  for (const std::int64_t dim : tensor.shape) {
    if (dim < 0 || __builtin_mul_overflow(numel, dim, &numel)) {
      fail("{}: tensor '{}' has an invalid size ({} dims)", file, tensor.name, tensor.shape.size());
    }
  }
  return numel;
}

}  // namespace

TorchBin read_torch_bin(const std::filesystem::path& path) {
  const std::string file = path.string();
  TorchBin bin;
  bin.path = path;
  const ZipReader zip(path);
  bin.mapping = MappedFile(path);
  const std::string prefix = archive_prefix(zip, file);

  if (const auto index = zip.locate(prefix + "/byteorder")) {
    const std::string order = zip.stat(*index).size <= 16 ? zip.read<std::string>(*index) : "?";
    if (order != "little") {
      fail("{}: '{}/byteorder' says '{}', expected 'little'", file, prefix, order);
    }
  }
  // A state dict's pickle is kilobytes (about 100 bytes a tensor); the cap keeps a corrupt
  // size field from asking for an absurd allocation.
  const std::uint64_t pickle_index = *zip.locate(prefix + "/data.pkl");
  if (zip.stat(pickle_index).size > kMaxPickleBytes) {
    fail("{}: '{}/data.pkl' claims {} bytes, over the {}-byte limit for a state dict", file, prefix,
         zip.stat(pickle_index).size, kMaxPickleBytes);
  }
  const std::string pickle = zip.read<std::string>(pickle_index);
  const StateDictPickle state = unpickle_state_dict(pickle, file);

  std::vector<CentralEntry> central;  // read once, only if some entry is used in place
  std::vector<const std::byte*> storage_data;
  for (const PickledStorage& storage : state.storages) {
    const std::string entry = prefix + "/data/" + storage.key;
    const auto index = zip.locate(entry);
    if (!index) fail("{}: storage '{}' has no entry '{}' in the archive", file, storage.key, entry);
    const zip_stat_t st = zip.stat(*index);
    const std::uint64_t needed =
        static_cast<std::uint64_t>(storage.numel) * dtype_size(storage.dtype);
    if (storage.numel > 0 &&
        needed / static_cast<std::uint64_t>(storage.numel) != dtype_size(storage.dtype)) {
      fail("{}: storage '{}' size overflows", file, storage.key);
    }
    if (st.size != needed) {
      fail("{}: entry '{}' holds {} bytes, storage '{}' needs {} ({} x {})", file, entry, st.size,
           storage.key, needed, storage.numel, dtype_name(storage.dtype));
    }
    if (st.comp_method != ZIP_CM_STORE) {
      bin.inflated.push_back(zip.read<std::vector<std::byte>>(*index));
      storage_data.push_back(bin.inflated.back().data());
      continue;
    }
    if (central.empty()) central = read_central_directory(bin.mapping);
    if (*index >= central.size() || central[*index].name != entry) {
      fail("{}: corrupt zip archive: central directory disagrees about entry '{}'", file, entry);
    }
    const std::uint64_t local = central[*index].local_offset;
    const std::uint64_t size = bin.mapping.size();
    const std::byte* base = bin.mapping.data();
    if (local > size || size - local < 30 || le(base + local, 4) != 0x04034b50 ||
        le(base + local + 8, 2) != 0) {
      fail("{}: corrupt zip archive: no local header for entry '{}'", file, entry);
    }
    const std::uint64_t start = local + 30 + le(base + local + 26, 2) + le(base + local + 28, 2);
    if (start > size || size - start < st.size) {
      fail("{}: zip entry '{}' is truncated: {} bytes expected", file, entry, st.size);
    }
    // libzip checks the CRC of what it reads; these bytes are read in place, so check it here.
    const auto* bytes = reinterpret_cast<const Bytef*>(base + start);
    const std::uint32_t crc = static_cast<std::uint32_t>(
        crc32_z(crc32_z(0, nullptr, 0), bytes, static_cast<z_size_t>(st.size)));
    if ((st.valid & ZIP_STAT_CRC) == 0 || crc != st.crc) {
      fail("{}: zip entry '{}' is corrupt: its data has CRC-32 {:08x}, the archive says {:08x}",
           file, entry, crc, st.crc);
    }
    storage_data.push_back(base + start);
  }

  for (const PickledTensor& tensor : state.tensors) {
    const PickledStorage& storage = state.storages[tensor.storage];
    const std::int64_t numel = checked_numel(tensor, file);
    if (tensor.stride.size() != tensor.shape.size()) {
      fail("{}: tensor '{}' has {} sizes but {} strides", file, tensor.name, tensor.shape.size(),
           tensor.stride.size());
    }
    // C order: each stride is the product of the later sizes (dims of size 1 may carry any
    // stride, as in torch.Tensor.is_contiguous).
    std::int64_t expected = 1;
    for (std::size_t i = tensor.shape.size(); i-- > 0;) {
      if (numel > 0 && tensor.shape[i] != 1 && tensor.stride[i] != expected) {
        fail(
            "{}: tensor '{}' is not C-contiguous (size {}, stride {}); expected stride {} in "
            "dim {}",
            file, tensor.name, fmt::join(tensor.shape, "x"), fmt::join(tensor.stride, "x"),
            expected, i);
      }
      expected *= tensor.shape[i];
    }
    std::int64_t end = 0;
    if (tensor.storage_offset < 0 || __builtin_add_overflow(tensor.storage_offset, numel, &end) ||
        end > storage.numel) {
      fail("{}: tensor '{}' ({} elements at offset {}) runs past storage '{}' ({} elements)", file,
           tensor.name, numel, tensor.storage_offset, storage.key, storage.numel);
    }
    const std::size_t element = dtype_size(storage.dtype);
    bin.tensors.push_back(TensorRef{
        tensor.name, storage.dtype, tensor.shape,
        storage_data[tensor.storage] + static_cast<std::size_t>(tensor.storage_offset) * element,
        static_cast<std::size_t>(numel) * element});
  }
  return bin;
}

}  // namespace vlbench
