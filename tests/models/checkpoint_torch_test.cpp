// pytorch_model.bin: files written by CPython's pickle + zipfile the way torch.save writes
// them (tests/fixtures/models/make_torch_bin.py), and files assembled here opcode by opcode
// and zipped with libzip, for the restricted unpickler's paths and every error.
#include <vlbench/core/error.hpp>
#include <vlbench/models/checkpoint.hpp>

#include "test_util.hpp"

#include <gtest/gtest.h>

#include <zip.h>
#include "vlbench/core/atomic_file.hpp"

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace vlbench {
namespace {

namespace fs = std::filesystem;
using testing::expect_error;
using testing::TempDir;

// --- a tiny pickle writer -----------------------------------------------------------------

class PickleWriter {
 public:
  PickleWriter& op(unsigned char code) {
    out_ += static_cast<char>(code);
    return *this;
  }
  PickleWriter& raw(const std::string& bytes) {
    out_ += bytes;
    return *this;
  }
  PickleWriter& le(std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_ += static_cast<char>((v >> (8 * i)) & 0xff);
    return *this;
  }
  PickleWriter& proto(int p) { return op(0x80).le(p, 1); }
  PickleWriter& global(const std::string& module, const std::string& name) {
    return op('c').raw(module + "\n" + name + "\n");
  }
  PickleWriter& str(const std::string& s) { return op('X').le(s.size(), 4).raw(s); }
  PickleWriter& short_str(const std::string& s) { return op(0x8c).le(s.size(), 1).raw(s); }
  // The smallest integer opcode, as pickle does: BININT1, BININT2, BININT, else LONG1.
  PickleWriter& integer(std::int64_t v) {
    if (v >= 0 && v < 256) return op('K').le(v, 1);
    if (v >= 0 && v < 65536) return op('M').le(v, 2);
    if (v >= INT32_MIN && v <= INT32_MAX) return op('J').le(static_cast<std::uint32_t>(v), 4);
    return op(0x8a).le(8, 1).le(static_cast<std::uint64_t>(v), 8);
  }
  PickleWriter& mark() { return op('('); }
  PickleWriter& tuple() { return op('t'); }
  PickleWriter& int_tuple(const std::vector<std::int64_t>& values) {
    mark();
    for (const std::int64_t v : values) integer(v);
    return tuple();
  }
  PickleWriter& empty_ordered_dict() {
    return global("collections", "OrderedDict").op(')').op('R');
  }
  const std::string& bytes() const { return out_; }

 private:
  std::string out_;
};

struct FakeTensor {
  std::string name;
  std::string storage_class;  // "FloatStorage", ...
  std::string key;
  std::int64_t storage_numel = 0;
  std::int64_t offset = 0;
  std::vector<std::int64_t> shape;
  std::vector<std::int64_t> stride;
};

// OrderedDict(); MARK name _rebuild_tensor_v2(...) ... SETITEMS; STOP — torch.save's layout.
void write_tensor(PickleWriter& p, const FakeTensor& t) {
  p.str(t.name).global("torch._utils", "_rebuild_tensor_v2").mark();
  p.mark().str("storage").global("torch", t.storage_class).str(t.key).str("cpu");
  p.integer(t.storage_numel).tuple().op('Q');
  p.integer(t.offset).int_tuple(t.shape).int_tuple(t.stride).op(0x89).empty_ordered_dict();
  p.tuple().op('R');
}

std::string state_dict_pickle(const std::vector<FakeTensor>& tensors) {
  PickleWriter p;
  p.proto(2).empty_ordered_dict().op('q').le(0, 1).mark();
  for (const FakeTensor& t : tensors) write_tensor(p, t);
  p.op('u').op('.');
  return p.bytes();
}

using Entries = std::vector<std::pair<std::string, std::string>>;

// Writes a zip with libzip; entries stored unless `deflate`.
void write_zip(const fs::path& path, const Entries& entries, bool deflate = false) {
  int code = 0;
  zip_t* archive = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &code);
  ASSERT_NE(archive, nullptr);
  for (const auto& [name, data] : entries) {
    zip_source_t* source = zip_source_buffer(archive, data.data(), data.size(), 0);
    ASSERT_NE(source, nullptr);
    const zip_int64_t index = zip_file_add(archive, name.c_str(), source, ZIP_FL_ENC_UTF_8);
    ASSERT_GE(index, 0);
    zip_set_file_compression(archive, static_cast<zip_uint64_t>(index),
                             deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0);
  }
  ASSERT_EQ(zip_close(archive), 0);
}

std::string f32_bytes(const std::vector<float>& values) {
  std::string out(values.size() * 4, '\0');
  std::memcpy(out.data(), values.data(), out.size());
  return out;
}

// A checkpoint dir holding pytorch_model.bin with `pickle` and the given storages.
struct BinDir {
  TempDir tmp;
  fs::path bin() const { return tmp / "pytorch_model.bin"; }
  void write(const std::string& pickle, const Entries& storages, bool deflate = false,
             const std::string& prefix = "archive") const {
    Entries entries = {{prefix + "/data.pkl", pickle}, {prefix + "/byteorder", "little"}};
    for (const auto& [key, data] : storages) entries.emplace_back(prefix + "/data/" + key, data);
    entries.emplace_back(prefix + "/version", "3\n");
    write_zip(bin(), entries, deflate);
  }
};

// --- files written by CPython, torch.save's layout -----------------------------------------

void check_python_fixture(const fs::path& dir) {
  const Checkpoint ckpt = Checkpoint::open(dir);
  std::vector<std::string> names;
  for (const TensorRef& t : ckpt.tensors()) names.push_back(t.name);
  EXPECT_EQ(names, (std::vector<std::string>{"brain", "col", "half", "ids", "scale", "view", "w"}));
  EXPECT_EQ(ckpt.load_f32("w", {2, 3}), (std::vector<float>{1.5f, -2, 0, 3.25f, 0.001f, -7}));
  EXPECT_EQ(ckpt.find("half")->dtype, DType::f16);
  EXPECT_EQ(ckpt.load_f32("half", {3}), (std::vector<float>{1, -2, 0.333251953125f}));
  EXPECT_EQ(ckpt.find("brain")->dtype, DType::bf16);
  EXPECT_EQ(ckpt.load_f32("brain", {1, 2}), (std::vector<float>{1, 3.140625f}));
  EXPECT_EQ(ckpt.load_f32("view", {3}), (std::vector<float>{12, 13, 14}));
  EXPECT_EQ(ckpt.load_f32("col", {3, 1}), (std::vector<float>{5, 6, 7}));
  EXPECT_EQ(ckpt.load_f32("scale", {}), (std::vector<float>{17}));
  const TensorRef* ids = ckpt.find("ids");
  ASSERT_NE(ids, nullptr);
  EXPECT_EQ(ids->dtype, DType::i64);
  EXPECT_EQ(ids->shape, (std::vector<std::int64_t>{1, 4}));
  ASSERT_EQ(ids->nbytes, 32u);
  std::int64_t values[4];
  std::memcpy(values, ids->data, 32);
  EXPECT_EQ(values[3], 3);
  expect_error(
      [&] {
        ckpt.load_f32("w", {3, 2});
      },
      {"pytorch_model.bin", "'w'", "[2, 3]", "[3, 2]"});
}

TEST(TorchBin, ReadsPythonWrittenStoredZip) {
  check_python_fixture(testing::test_data("models/tiny_stored"));
}

TEST(TorchBin, ReadsPythonWrittenDeflatedZip) {
  check_python_fixture(testing::test_data("models/tiny_deflated"));
}

TEST(TorchBin, ReadsPythonWrittenZip64Offsets) {
  check_python_fixture(testing::test_data("models/tiny_zip64"));
  // The same file with the classic end record's directory offset saturated, as in an archive
  // over 4 GiB: the offset must then come from the zip64 end record.
  std::string bytes = read_file(testing::test_data("models/tiny_zip64/pytorch_model.bin"));
  const std::size_t eocd = bytes.rfind(std::string("PK\x05\x06", 4));
  ASSERT_NE(eocd, std::string::npos);
  ASSERT_NE(bytes.rfind(std::string("PK\x06\x06", 4)), std::string::npos);
  bytes.replace(eocd + 16, 4, "\xff\xff\xff\xff");
  TempDir tmp;
  testing::write_text(tmp / "pytorch_model.bin", bytes);
  check_python_fixture(tmp.path());
}

TEST(TorchBin, ReadsATrainingCheckpointsStateDictAndDropsDataParallelsPrefix) {
  // open_clip_pytorch_model.bin under "open_clip_pytorch_model/": {"epoch": 32, "name": ...,
  // "state_dict": {"module.w", "module.scale"}, "optimizer": {floats, tuples, int keys, ...}}.
  const Checkpoint ckpt = Checkpoint::open(testing::test_data("models/tiny_wrapped"));
  ASSERT_EQ(ckpt.tensors().size(), 2u);
  EXPECT_EQ(ckpt.tensors()[0].name, "scale");
  EXPECT_EQ(ckpt.tensors()[1].name, "w");
  EXPECT_EQ(ckpt.load_f32("w", {2, 3}), (std::vector<float>{1.5f, -2, 0, 3.25f, 0.001f, -7}));
  EXPECT_EQ(ckpt.load_f32("scale", {}), std::vector<float>{17});
}

// --- hand-assembled pickles ----------------------------------------------------------------

TEST(TorchBin, ReadsHandWrittenStateDict) {
  std::vector<float> big(300);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<float>(i) * 0.5f;
  BinDir dir;
  // BININT2 / BININT sizes, a view at an offset, older prefix name, plain-dict top level.
  PickleWriter p;
  p.proto(2).op('}').mark();
  write_tensor(p, {"big", "FloatStorage", "7", 300, 0, {300}, {1}});
  write_tensor(p, {"tail", "FloatStorage", "7", 300, 298, {2}, {1}});
  write_tensor(p, {"grid", "FloatStorage", "7", 300, 0, {10, 30}, {30, 1}});
  p.op('u').op('.');
  dir.write(p.bytes(), {{"7", f32_bytes(big)}}, false, "pytorch_model");
  const Checkpoint ckpt = Checkpoint::open(dir.tmp.path());
  EXPECT_EQ(ckpt.load_f32("big", {300}), big);
  EXPECT_EQ(ckpt.load_f32("tail", {2}), (std::vector<float>{149.0f, 149.5f}));
  EXPECT_EQ(ckpt.load_f32("grid", {10, 30}), big);
}

TEST(TorchBin, ReadsProtocolFourOpcodes) {
  // FRAME, SHORT_BINUNICODE, STACK_GLOBAL, MEMOIZE, LONG1, TUPLE1/2, BINGET, SETITEM, BUILD.
  PickleWriter p;
  p.proto(4).op(0x95).le(0, 8);
  p.short_str("collections").short_str("OrderedDict").op(0x93).op(0x94);  // memo 0
  p.op(')').op('R').op(0x94);                                             // memo 1
  p.short_str("a").short_str("torch._utils").short_str("_rebuild_tensor_v2").op(0x93);
  p.mark().mark();
  p.short_str("storage").short_str("torch").short_str("HalfStorage").op(0x93);
  p.short_str("k").short_str("cpu").op(0x8a).le(1, 1).le(2, 1).op('t').op('Q');
  p.op(0x8a).le(1, 1).le(1, 1).integer(1).op(0x85).integer(1).op(0x85);  // offset 1, (1,), (1,)
  p.op(0x88).op('h').le(0, 1).op(')').op('R').op('t').op('R').op('s');
  p.op('}').short_str("_metadata").op('}').op('s').op('b').op('.');
  BinDir dir;
  std::string halves = std::string("\x00\x3c", 2) + std::string("\x00\xc0", 2);  // 1, -2
  dir.write(p.bytes(), {{"k", halves}});
  const Checkpoint ckpt = Checkpoint::open(dir.tmp.path());
  ASSERT_EQ(ckpt.tensors().size(), 1u);
  EXPECT_EQ(ckpt.load_f32("a", {1}), (std::vector<float>{-2}));
}

TEST(TorchBin, ReadsRarerOpcodes) {
  // _rebuild_tensor (v1); _rebuild_tensor_v2 with a 7th argument (None or a dict); LONG_BINPUT
  // / LONG_BINGET; a storage described twice; BUILD with a list built by APPENDS / APPEND.
  auto storage = [](PickleWriter& p) {
    p.mark().str("storage").global("torch", "FloatStorage").str("0").str("cpu").integer(2);
    p.tuple().op('Q');
  };
  PickleWriter p;
  p.proto(2).op('}').op('r').le(1000, 4).mark();
  p.str("v1").global("torch._utils", "_rebuild_tensor").mark();
  storage(p);
  p.integer(0).int_tuple({2}).int_tuple({1}).tuple().op('R');
  p.str("v2").global("torch._utils", "_rebuild_tensor_v2").op('r').le(70000, 4).mark();
  storage(p);
  p.integer(1).int_tuple({1}).int_tuple({1}).op(0x89).op('}').op('N').tuple().op('R');
  p.str("v3").op('j').le(70000, 4).mark();
  storage(p);
  p.integer(0).int_tuple({1, 2}).int_tuple({2, 1}).op(0x88).op('}').op('}').tuple().op('R');
  p.op('u');
  p.op('}').str("_metadata").op(']').mark().integer(1).integer(2).op('e').integer(3).op('a');
  p.op('s').op('b').op('.');
  BinDir dir;
  dir.write(p.bytes(), {{"0", f32_bytes({0.25f, -8})}});
  const Checkpoint ckpt = Checkpoint::open(dir.tmp.path());
  EXPECT_EQ(ckpt.load_f32("v1", {2}), (std::vector<float>{0.25f, -8}));
  EXPECT_EQ(ckpt.load_f32("v2", {1}), (std::vector<float>{-8}));
  EXPECT_EQ(ckpt.load_f32("v3", {1, 2}), (std::vector<float>{0.25f, -8}));
}

TEST(TorchBin, RefusesForbiddenGlobals) {
  BinDir dir;
  PickleWriter p;
  p.proto(2).global("os", "system").str("echo hi").op(0x85).op('R').op('.');
  dir.write(p.bytes(), {});
  expect_error([&] { Checkpoint::open(dir.tmp.path()); },
               {dir.bin().string(),
                "pickle asks for global 'os.system', which a tensor state dict never needs; "
                "refusing to load"});
  PickleWriter q;
  q.proto(4).short_str("builtins").short_str("eval").op(0x93).op('.');
  dir.write(q.bytes(), {});
  expect_error([&] { Checkpoint::open(dir.tmp.path()); }, {"'builtins.eval'", "refusing"});
  PickleWriter r;  // a torch name outside the rebuild set
  r.proto(2).global("torch", "load").op('.');
  dir.write(r.bytes(), {});
  expect_error([&] { Checkpoint::open(dir.tmp.path()); }, {"'torch.load'"});
}

TEST(TorchBin, RefusesUnknownOpcodesAndBrokenPickles) {
  BinDir dir;
  auto expect_pickle_error = [&](const std::string& pickle, const std::vector<std::string>& parts) {
    dir.write(pickle, {});
    std::vector<std::string> all = parts;
    all.push_back(dir.bin().string());
    expect_error([&] { Checkpoint::open(dir.tmp.path()); }, all);
  };
  expect_pickle_error(PickleWriter().proto(2).op('F').raw("1.5\n").op('.').bytes(),
                      {"byte 2", "opcode 0x46"});  // FLOAT (protocol 0)
  // BINFLOAT is read (a training checkpoint's epoch or lr), but is not a state dict.
  expect_pickle_error(PickleWriter().proto(2).op('G').le(0, 8).op('.').bytes(),
                      {"byte 11", "is a float, expected a dict"});
  expect_pickle_error(PickleWriter().proto(2).op('}').bytes(), {"truncated", "STOP"});
  expect_pickle_error(PickleWriter().proto(2).op('X').le(100, 4).raw("ab").bytes(),
                      {"truncated", "byte 2"});
  expect_pickle_error(PickleWriter().proto(2).op('h').le(5, 1).op('.').bytes(), {"memo", "5"});
  expect_pickle_error(PickleWriter().proto(2).op('R').op('.').bytes(), {"byte 2", "stack"});
  expect_pickle_error(PickleWriter().proto(2).op(']').op('.').bytes(), {"list", "dict"});
  expect_pickle_error(PickleWriter().proto(2).op('}').str("n").integer(3).op('s').op('.').bytes(),
                      {"'n'", "int", "tensor"});
  expect_pickle_error(PickleWriter().proto(2).op('}').op('}').op('.').bytes(), {"stack", "STOP"});
  expect_pickle_error(PickleWriter()
                          .proto(2)
                          .empty_ordered_dict()
                          .global("torch", "FloatStorage")
                          .op(')')
                          .op('R')
                          .op('.')
                          .bytes(),
                      {"torch.FloatStorage"});
}

TEST(TorchBin, TensorAndStorageErrorsNameThem) {
  BinDir dir;
  const std::string six = f32_bytes({1, 2, 3, 4, 5, 6});
  auto expect_bin_error = [&](const FakeTensor& t, const Entries& storages,
                              const std::vector<std::string>& parts) {
    dir.write(state_dict_pickle({t}), storages);
    std::vector<std::string> all = parts;
    all.push_back(dir.bin().string());
    expect_error([&] { Checkpoint::open(dir.tmp.path()); }, all);
  };
  // Transposed view: strides (1, 2) for size (2, 3).
  expect_bin_error({"t", "FloatStorage", "0", 6, 0, {2, 3}, {1, 2}}, {{"0", six}},
                   {"'t'", "not C-contiguous"});
  expect_bin_error({"t", "FloatStorage", "0", 6, 4, {3}, {1}}, {{"0", six}},
                   {"'t'", "runs past storage '0'"});
  expect_bin_error({"t", "FloatStorage", "0", 6, 0, {6}, {1}}, {},
                   {"storage '0'", "'archive/data/0'"});
  expect_bin_error({"t", "FloatStorage", "0", 6, 0, {6}, {1}}, {{"0", six.substr(4)}},
                   {"'archive/data/0'", "20 bytes", "24"});
  expect_bin_error({"t", "FloatStorage", "0", 6, 0, {6}, {1, 1}}, {{"0", six}}, {"'t'", "strides"});
  expect_bin_error({"t", "FloatStorage", "0", 6, -1, {2}, {1}}, {{"0", six}}, {"'t'", "offset -1"});
  dir.write(state_dict_pickle({{"a", "FloatStorage", "0", 6, 0, {6}, {1}},
                               {"b", "FloatStorage", "0", 5, 0, {5}, {1}}}),
            {{"0", six}});
  expect_error([&] { Checkpoint::open(dir.tmp.path()); },
               {dir.bin().string(), "storage '0' is described twice"});

  // Big-endian byte order.
  write_zip(dir.bin(), {{"archive/data.pkl", state_dict_pickle({})}, {"archive/byteorder", "big"}});
  expect_error([&] { Checkpoint::open(dir.tmp.path()); }, {dir.bin().string(), "byteorder", "big"});
  // No data.pkl.
  write_zip(dir.bin(), {{"archive/version", "3\n"}});
  expect_error([&] { Checkpoint::open(dir.tmp.path()); }, {dir.bin().string(), "data.pkl"});
}

TEST(TorchBin, CorruptOrTruncatedZipIsNamed) {
  const std::string good = read_file(testing::test_data("models/tiny_stored/pytorch_model.bin"));
  ASSERT_GT(good.size(), 1000u);
  BinDir dir;
  testing::write_text(dir.bin(), good.substr(0, good.size() / 2));
  expect_error([&] { Checkpoint::open(dir.tmp.path()); }, {dir.bin().string(), "zip"});
  testing::write_text(dir.bin(), "\x80\x02}q\x00.");  // the legacy (pre-zip) format
  expect_error([&] { Checkpoint::open(dir.tmp.path()); }, {dir.bin().string(), "zip"});
  testing::write_text(dir.bin(), "");
  expect_error([&] { Checkpoint::open(dir.tmp.path()); }, {dir.bin().string()});

  // A flipped byte inside the deflated pickle: libzip's inflate or CRC check catches it.
  std::string bad = read_file(testing::test_data("models/tiny_deflated/pytorch_model.bin"));
  bad[60] = static_cast<char>(bad[60] ^ 0x55);
  testing::write_text(dir.bin(), bad);
  expect_error([&] { Checkpoint::open(dir.tmp.path()); }, {dir.bin().string(), "data.pkl"});
}

// A flipped bit in a weight stored uncompressed (read in place from the memory map, not
// through libzip) fails the entry's CRC-32: an error naming the file and the entry.
TEST(TorchBin, FlippedWeightBitFailsTheEntryCrc) {
  std::string bad = read_file(testing::test_data("models/tiny_stored/pytorch_model.bin"));
  const std::vector<float> w = {1.5f, -2, 0, 3.25f, 0.001f, -7};  // tensor 'w', stored as is
  const std::string pattern(reinterpret_cast<const char*>(w.data()), w.size() * sizeof(float));
  const std::size_t at = bad.find(pattern);
  ASSERT_NE(at, std::string::npos);
  bad[at + 20] = static_cast<char>(bad[at + 20] ^ 0x01);  // -7 -> -7.0000005
  BinDir dir;
  testing::write_text(dir.bin(), bad);
  expect_error([&] { Checkpoint::open(dir.tmp.path()); },
               {dir.bin().string(), "zip entry", "/data/", "is corrupt", "CRC-32"});
}

TEST(TorchBin, SafetensorsComesFirst) {
  BinDir dir;
  dir.write(state_dict_pickle({{"from_bin", "FloatStorage", "0", 1, 0, {1}, {1}}}),
            {{"0", f32_bytes({1})}});
  EXPECT_NE(Checkpoint::open(dir.tmp.path()).find("from_bin"), nullptr);
  const float x = 2;
  write_safetensors(dir.tmp / "model.safetensors", {{"from_st", DType::f32, {1}, &x}});
  const Checkpoint ckpt = Checkpoint::open(dir.tmp.path());
  EXPECT_EQ(ckpt.find("from_bin"), nullptr);
  EXPECT_NE(ckpt.find("from_st"), nullptr);
}

}  // namespace
}  // namespace vlbench
