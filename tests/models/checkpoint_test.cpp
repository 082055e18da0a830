// Checkpoint loading from model.safetensors (shared fixture), write_safetensors round trips,
// sharded checkpoints and the errors of each.
#include <vlbench/core/dtype.hpp>
#include <vlbench/core/error.hpp>
#include <vlbench/core/safetensors.hpp>
#include <vlbench/models/checkpoint.hpp>

#include "test_util.hpp"

#include <gtest/gtest.h>

#include "vlbench/core/atomic_file.hpp"

#include <cstring>
#include <unistd.h>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

namespace vlbench {
namespace {

namespace fs = std::filesystem;
using testing::expect_error;
using testing::TempDir;

fs::path tiny_clip_dir() {
  return fs::path(VLBENCH_SHARED_FIXTURES) / "clip-tiny-quickgelu";
}

TEST(Checkpoint, OpensTinyClipSafetensors) {
  if (!fs::is_directory(tiny_clip_dir())) GTEST_SKIP() << "no shared fixtures";
  const Checkpoint ckpt = Checkpoint::open(tiny_clip_dir());
  EXPECT_EQ(ckpt.dir(), tiny_clip_dir());
  // 80 tensors in the header (hand-counted with python's json module), sorted by name.
  ASSERT_EQ(ckpt.tensors().size(), 80u);
  for (std::size_t i = 1; i < ckpt.tensors().size(); ++i) {
    EXPECT_LT(ckpt.tensors()[i - 1].name, ckpt.tensors()[i].name);
  }
  EXPECT_EQ(ckpt.tensors().front().name, "logit_scale");

  const TensorRef* tok = ckpt.find("text_model.embeddings.token_embedding.weight");
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->dtype, DType::f32);
  EXPECT_EQ(tok->shape, (std::vector<std::int64_t>{49408, 64}));
  EXPECT_EQ(tok->numel(), 49408 * 64);
  EXPECT_EQ(tok->nbytes, 49408u * 64u * 4u);

  const TensorRef* ids = ckpt.find("text_model.embeddings.position_ids");
  ASSERT_NE(ids, nullptr);
  EXPECT_EQ(ids->dtype, DType::i64);
  EXPECT_EQ(ids->shape, (std::vector<std::int64_t>{1, 77}));
  std::int64_t last = 0;
  std::memcpy(&last, ids->data + 76 * 8, 8);
  EXPECT_EQ(last, 76);

  EXPECT_EQ(ckpt.find("text_model.no_such_tensor"), nullptr);
  EXPECT_EQ(ckpt.find(""), nullptr);
}

TEST(Checkpoint, LoadF32ReadsTinyClipValues) {
  if (!fs::is_directory(tiny_clip_dir())) GTEST_SKIP() << "no shared fixtures";
  const Checkpoint ckpt = Checkpoint::open(tiny_clip_dir());
  // Values read by hand from the file with python's struct module.
  const std::vector<float> scale = ckpt.load_f32("logit_scale", {});
  ASSERT_EQ(scale.size(), 1u);
  EXPECT_EQ(scale[0], 4.0f);
  const std::vector<float> tok =
      ckpt.load_f32("text_model.embeddings.token_embedding.weight", {49408, 64});
  ASSERT_EQ(tok.size(), 49408u * 64u);
  EXPECT_EQ(tok[0], -0.0015497732674703002f);
  EXPECT_EQ(tok[1], -0.0037161456421017647f);
  EXPECT_EQ(tok.back(), 0.012347069568932056f);
  const std::vector<float> ln = ckpt.load_f32("vision_model.post_layernorm.weight", {128});
  EXPECT_EQ(ln[0], 0.9069257974624634f);
  EXPECT_EQ(ln[127], 0.7350254654884338f);
}

TEST(Checkpoint, LoadF32ErrorsNameTensorFileAndShapes) {
  if (!fs::is_directory(tiny_clip_dir())) GTEST_SKIP() << "no shared fixtures";
  const Checkpoint ckpt = Checkpoint::open(tiny_clip_dir());
  expect_error([&] { ckpt.load_f32("vision_model.post_layernorm.weight", {64}); },
               {"model.safetensors", "'vision_model.post_layernorm.weight'", "[128]", "[64]"});
  expect_error(
      [&] {
        ckpt.load_f32("text_model.embeddings.token_embedding.weight", {64, 49408});
      },
      {"model.safetensors", "[49408, 64]", "[64, 49408]"});
  expect_error(
      [&] {
        ckpt.load_f32("vision_model.missing.weight", {3, 4});
      },
      {"clip-tiny-quickgelu/model.safetensors", "'vision_model.missing.weight'", "[3, 4]"});
  expect_error(
      [&] {
        ckpt.load_f32("text_model.embeddings.position_ids", {1, 77});
      },
      {"model.safetensors", "'text_model.embeddings.position_ids'", "i64"});
}

// --- write_safetensors -------------------------------------------------------------------

// This process's resident set, bytes (/proc/self/statm).
std::int64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::int64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * ::sysconf(_SC_PAGESIZE);
}

TEST(Checkpoint, ReleaseDropsATensorsPagesAndTheValuesStay) {
  testing::TempDir dir;
  std::vector<float> big(1 << 20), small(3);  // 4 MiB, then 12 bytes
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<float>(i % 1000) * 0.5f;
  small = {1.5f, -2.0f, 3.25f};
  write_safetensors(dir / "model.safetensors",
                    {{"big", DType::f32, {1 << 20}, big.data()}, {"small", DType::f32, {3}, small.data()}});
  const Checkpoint checkpoint = Checkpoint::open(dir.path());
  const TensorRef* tensor = checkpoint.find("big");
  ASSERT_NE(tensor, nullptr);
  EXPECT_EQ(checkpoint.load_f32("big", {1 << 20}), big);  // the load touched its 4 MiB
  const std::int64_t before = resident_bytes();
  checkpoint.release("big");
  EXPECT_GE(before - resident_bytes(), 3 << 20) << "the mapped pages left the resident set";
  EXPECT_EQ(checkpoint.load_f32("big", {1 << 20}), big);  // faulted back in from the file
  checkpoint.release("small");  // no whole page of its own: nothing happens
  checkpoint.release("absent");
  EXPECT_EQ(checkpoint.load_f32("small", {3}), small);
}

TEST(WriteSafetensors, ExactBytesOfASmallFile) {
  TempDir tmp;
  const float one = 1.0f;
  write_safetensors(tmp / "a.safetensors", {{"a", DType::f32, {1}, &one}});
  // Compact JSON, 54 bytes, padded with 2 spaces to 56 (a multiple of 8).
  const std::string json = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  ASSERT_EQ(json.size(), 54u);
  std::string expected("\x38\0\0\0\0\0\0\0", 8);
  expected += json + "  " + std::string("\x00\x00\x80\x3f", 4);
  EXPECT_EQ(read_file(tmp / "a.safetensors"), expected);
}

TEST(WriteSafetensors, RoundTripsThroughSafetensorsFile) {
  TempDir tmp;
  const std::vector<float> f32 = {1.5f, -2.0f, 0.0f, 3.25f, 1e-3f, -7.0f};
  const std::vector<std::uint16_t> f16 = {0x3C00, 0xC000, 0x3555};  // 1, -2, 0.333251953125
  const std::vector<std::uint16_t> bf16 = {0x3F80, 0x4049};         // 1, 3.140625
  const std::vector<std::int64_t> i64 = {0, 1, -5};
  const std::uint8_t u8 = 7;
  const float scalar = 4.0f;
  const std::vector<TensorToWrite> tensors = {
      {"w.f32", DType::f32, {2, 3}, f32.data()}, {"odd.u8", DType::u8, {1}, &u8},
      {"w.f16", DType::f16, {3}, f16.data()},    {"w.bf16", DType::bf16, {1, 2}, bf16.data()},
      {"ids", DType::i64, {1, 3}, i64.data()},   {"scale", DType::f32, {}, &scalar},
      {"empty", DType::f32, {0, 4}, nullptr},
  };
  write_safetensors(tmp / "m.safetensors", tensors, {{"format", "pt"}, {"note", "x y"}});

  const std::string bytes = read_file(tmp / "m.safetensors");
  std::uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);
  EXPECT_EQ(header_len % 8, 0u);
  EXPECT_EQ(bytes.substr(8, 15), R"({"__metadata__")");  // metadata first, as the reference
  EXPECT_EQ(bytes.size(), 8 + header_len + 24 + 1 + 6 + 4 + 24 + 4 + 0);

  const SafetensorsFile file(tmp / "m.safetensors");
  EXPECT_EQ(file.metadata().at("format"), "pt");
  EXPECT_EQ(file.metadata().at("note"), "x y");
  ASSERT_EQ(file.tensors().size(), tensors.size());
  for (std::size_t i = 0; i < tensors.size(); ++i) {  // file order == the given order
    const TensorInfo& info = file.tensors()[i];
    EXPECT_EQ(info.name, tensors[i].name);
    EXPECT_EQ(info.dtype, tensors[i].dtype);
    EXPECT_EQ(info.shape, tensors[i].shape);
    if (info.nbytes > 0) {
      EXPECT_EQ(std::memcmp(file.data(info), tensors[i].data, info.nbytes), 0) << info.name;
    }
  }

  // Through Checkpoint: f16 / bf16 widened exactly; "w.f32" starts at an odd offset (after the
  // 1-byte u8 tensor), so this also reads unaligned floats.
  fs::create_directory(tmp / "ckpt");
  fs::rename(tmp / "m.safetensors", tmp / "ckpt" / "model.safetensors");
  const Checkpoint ckpt = Checkpoint::open(tmp / "ckpt");
  ASSERT_EQ(ckpt.tensors().size(), 7u);
  EXPECT_EQ(ckpt.tensors()[0].name, "empty");
  EXPECT_EQ(ckpt.load_f32("w.f32", {2, 3}), f32);
  EXPECT_EQ(ckpt.load_f32("w.f16", {3}), (std::vector<float>{1.0f, -2.0f, 0.333251953125f}));
  EXPECT_EQ(ckpt.load_f32("w.bf16", {1, 2}), (std::vector<float>{1.0f, 3.140625f}));
  EXPECT_EQ(ckpt.load_f32("scale", {}), (std::vector<float>{4.0f}));
  EXPECT_TRUE(ckpt.load_f32("empty", {0, 4}).empty());
  EXPECT_EQ(ckpt.find("empty")->numel(), 0);
  EXPECT_EQ(ckpt.find("scale")->numel(), 1);
}

TEST(WriteSafetensors, RejectsBadInputAndLeavesNoFile) {
  TempDir tmp;
  const float x[2] = {1, 2};
  const fs::path out = tmp / "bad.safetensors";
  expect_error(
      [&] {
        write_safetensors(out, {{"a", DType::f32, {1}, x}, {"a", DType::f32, {1}, x}});
      },
      {"bad.safetensors", "'a'", "twice"});
  expect_error(
      [&] {
        write_safetensors(out, {{"__metadata__", DType::f32, {1}, x}});
      },
      {"bad.safetensors", "__metadata__"});
  expect_error(
      [&] {
        write_safetensors(out, {{"b", DType::f32, {2}, nullptr}});
      },
      {"bad.safetensors", "'b'", "no data"});
  expect_error(
      [&] {
        write_safetensors(out, {{"c", DType::f32, {-1}, x}});
      },
      {"bad.safetensors", "'c'", "negative"});
  expect_error(
      [&] {
        write_safetensors(out, {{"a", DType::f32, {1}, x}}, {{"k", "1"}, {"k", "2"}});
      },
      {"bad.safetensors", "'k'"});
  expect_error([&] { write_safetensors(tmp / "no_dir" / "x.safetensors", {}); }, {"no_dir"});
  expect_error(
      [&] {
        write_safetensors(out, {{"bad\xff", DType::f32, {1}, x}});
      },
      {"bad.safetensors", "UTF-8"});
  EXPECT_TRUE(fs::is_empty(tmp.path()));
}

// --- directories and shards ---------------------------------------------------------------

TEST(Checkpoint, NoWeightsListsWhatWasLookedFor) {
  TempDir tmp;
  testing::write_text(tmp / "config.json", "{}");
  expect_error([&] { Checkpoint::open(tmp.path()); },
               {tmp.path().string(), "model.safetensors,", "model.safetensors.index.json",
                "pytorch_model.bin"});
  expect_error([&] { Checkpoint::open(tmp / "absent"); }, {"absent"});
}

TEST(Checkpoint, CorruptSafetensorsIsNamed) {
  TempDir tmp;
  testing::write_text(tmp / "model.safetensors", std::string("\xff\0\0\0\0\0\0\0{}", 10));
  expect_error([&] { Checkpoint::open(tmp.path()); }, {"model.safetensors"});
}

// Writes a two-shard checkpoint: a, b in shard 1; c in shard 2.
struct ShardedFixture {
  TempDir tmp;
  std::vector<float> a{1, 2, 3, 4}, b{5, 6}, c{7, 8, 9};
  std::string shard1 = "model-00001-of-00002.safetensors";
  std::string shard2 = "model-00002-of-00002.safetensors";

  ShardedFixture() {
    write_safetensors(tmp / shard1,
                      {{"b", DType::f32, {2}, b.data()}, {"a", DType::f32, {2, 2}, a.data()}});
    write_safetensors(tmp / shard2, {{"c", DType::f32, {3}, c.data()}});
  }
  void write_index(const std::string& weight_map) const {
    testing::write_text(tmp / "model.safetensors.index.json",
                        R"({"metadata": {"total_size": 36}, "weight_map": )" + weight_map + "}");
  }
  std::string good_map() const {
    return R"({"a": ")" + shard1 + R"(", "b": ")" + shard1 + R"(", "c": ")" + shard2 + R"("})";
  }
};

TEST(Checkpoint, OpensShardedCheckpoint) {
  ShardedFixture fx;
  fx.write_index(fx.good_map());
  const Checkpoint ckpt = Checkpoint::open(fx.tmp.path());
  ASSERT_EQ(ckpt.tensors().size(), 3u);
  EXPECT_EQ(ckpt.tensors()[0].name, "a");
  EXPECT_EQ(ckpt.tensors()[1].name, "b");
  EXPECT_EQ(ckpt.tensors()[2].name, "c");
  EXPECT_EQ(ckpt.load_f32("a", {2, 2}), fx.a);
  EXPECT_EQ(ckpt.load_f32("b", {2}), fx.b);
  EXPECT_EQ(ckpt.load_f32("c", {3}), fx.c);
  // Shape errors name the shard the tensor lives in.
  expect_error([&] { ckpt.load_f32("c", {4}); }, {fx.shard2, "'c'", "[3]", "[4]"});
  expect_error([&] { ckpt.load_f32("d", {4}); }, {"model.safetensors.index.json", "'d'", "[4]"});
}

TEST(Checkpoint, PrefersSingleFileOverIndex) {
  ShardedFixture fx;
  fx.write_index(R"({"a": "missing.safetensors"})");
  const float z = 0.5f;
  write_safetensors(fx.tmp / "model.safetensors", {{"z", DType::f32, {1}, &z}});
  const Checkpoint ckpt = Checkpoint::open(fx.tmp.path());
  ASSERT_EQ(ckpt.tensors().size(), 1u);
  EXPECT_EQ(ckpt.tensors()[0].name, "z");
}

TEST(Checkpoint, ShardErrorsNameTheShardAndTensor) {
  ShardedFixture fx;
  const std::string index = "model.safetensors.index.json";
  fx.write_index(R"({"a": ")" + fx.shard1 + R"(", "b": ")" + fx.shard1 +
                 R"(", "c": "model-00003-of-00003.safetensors"})");
  expect_error([&] { Checkpoint::open(fx.tmp.path()); },
               {index, "model-00003-of-00003.safetensors", "missing"});
  // c is listed in shard 1, which does not hold it.
  fx.write_index(R"({"a": ")" + fx.shard1 + R"(", "b": ")" + fx.shard1 + R"(", "c": ")" +
                 fx.shard1 + R"("})");
  expect_error([&] { Checkpoint::open(fx.tmp.path()); }, {fx.shard1, "'c'", index});
  // Shard 1 holds b, which the map does not list.
  fx.write_index(R"({"a": ")" + fx.shard1 + R"(", "c": ")" + fx.shard2 + R"("})");
  expect_error([&] { Checkpoint::open(fx.tmp.path()); }, {fx.shard1, "'b'", "not listed"});
  // b stored in both shards.
  write_safetensors(fx.tmp / fx.shard2,
                    {{"c", DType::f32, {3}, fx.c.data()}, {"b", DType::f32, {2}, fx.b.data()}});
  fx.write_index(fx.good_map());
  expect_error([&] { Checkpoint::open(fx.tmp.path()); }, {fx.shard2, "'b'", fx.shard1});
}

TEST(Checkpoint, MalformedIndexIsNamed) {
  ShardedFixture fx;
  const std::string index = "model.safetensors.index.json";
  testing::write_text(fx.tmp / index, "{\"weight_map\": ");
  expect_error([&] { Checkpoint::open(fx.tmp.path()); }, {index, "JSON"});
  testing::write_text(fx.tmp / index, R"({"metadata": {}})");
  expect_error([&] { Checkpoint::open(fx.tmp.path()); }, {index, "weight_map"});
  fx.write_index("{}");
  expect_error([&] { Checkpoint::open(fx.tmp.path()); }, {index, "no tensors"});
  fx.write_index(R"({"a": 3})");
  expect_error([&] { Checkpoint::open(fx.tmp.path()); }, {index, "'a'"});
  fx.write_index(R"({"a": "../model-00001-of-00002.safetensors"})");
  expect_error([&] { Checkpoint::open(fx.tmp.path()); }, {index, "'a'", "plain file name"});
}

}  // namespace
}  // namespace vlbench

namespace vlbench {
namespace {

// A NaN or an infinity anywhere in a weight is an error naming the tensor and the first bad
// index; the largest finite values and subnormals load.
TEST(CheckpointValues, NonFiniteWeightsAreErrorsNamingTensorAndIndex) {
  testing::TempDir tmp;
  std::vector<float> finite = {std::numeric_limits<float>::max(),
                               -std::numeric_limits<float>::max(),
                               std::numeric_limits<float>::denorm_min(),
                               0.0f,
                               -0.0f,
                               1.0f};
  std::vector<float> with_nan(37, 0.5f);
  with_nan[5] = std::numeric_limits<float>::quiet_NaN();
  with_nan[30] = std::numeric_limits<float>::infinity();
  const std::vector<std::uint16_t> bf16_inf = {0x3F80, 0x3F80, 0xFF80};  // 1, 1, -inf
  write_safetensors(tmp / "model.safetensors", {{"ok", DType::f32, {2, 3}, finite.data()},
                                                {"layer.nan", DType::f32, {37}, with_nan.data()},
                                                {"layer.inf", DType::bf16, {3}, bf16_inf.data()}});
  const Checkpoint checkpoint = Checkpoint::open(tmp.path());
  EXPECT_EQ(checkpoint.load_f32("ok", {2, 3}), finite);
  testing::expect_error(
      [&] { checkpoint.load_f32("layer.nan", {37}); },
      {"model.safetensors", "tensor 'layer.nan' holds NaN at flat index 5", "(shape [37])"});
  testing::expect_error([&] { checkpoint.load_f32("layer.inf", {3}); },
                        {"tensor 'layer.inf' holds an infinity at flat index 2"});
}

}  // namespace
}  // namespace vlbench
