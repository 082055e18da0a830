#include <vlbench/core/error.hpp>
#include <vlbench/core/safetensors.hpp>

#include <gtest/gtest.h>

#include "test_util.hpp"

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

namespace vlbench {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

// 8-byte little-endian header length, the JSON header, the data section.
std::string safetensors_bytes(const std::string& header, const std::string& data,
                              std::uint64_t declared_len) {
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((declared_len >> (8 * i)) & 0xff));
  return out + header + data;
}
std::string safetensors_bytes(const std::string& header, const std::string& data) {
  return safetensors_bytes(header, data, header.size());
}

std::string error_for(const TempDir& dir, const std::string& bytes) {
  const fs::path path = dir / "bad.safetensors";
  testing::write_text(path, bytes);
  try {
    SafetensorsFile file(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Safetensors, ReadsValidFile) {
  TempDir dir;
  // "b" is listed first in the JSON but comes second in the data section.
  const std::string header =
      R"({"b": {"dtype": "I64", "shape": [3], "data_offsets": [16, 40]},)"
      R"( "a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},)"
      R"( "empty": {"dtype": "BF16", "shape": [0, 5], "data_offsets": [40, 40]},)"
      R"( "__metadata__": {"format": "pt", "note": "x"}})";
  const std::vector<float> a = {1, 2, 3, 4};
  const std::vector<std::int64_t> b = {-7, 8, 1LL << 40};
  std::string data(reinterpret_cast<const char*>(a.data()), 16);
  data.append(reinterpret_cast<const char*>(b.data()), 24);
  testing::write_text(dir / "m.safetensors", safetensors_bytes(header, data));

  SafetensorsFile file(dir / "m.safetensors");
  EXPECT_EQ(file.path(), dir / "m.safetensors");
  ASSERT_EQ(file.tensors().size(), 3u);
  EXPECT_EQ(file.tensors()[0].name, "a");
  EXPECT_EQ(file.tensors()[1].name, "b");
  EXPECT_EQ(file.tensors()[2].name, "empty");

  const TensorInfo& ta = file.at("a");
  EXPECT_EQ(ta.dtype, DType::f32);
  EXPECT_EQ(ta.shape, (std::vector<std::int64_t>{2, 2}));
  EXPECT_EQ(ta.offset, 8 + header.size());
  EXPECT_EQ(ta.nbytes, 16u);
  float read_a[4];
  std::memcpy(read_a, file.data(ta), 16);
  EXPECT_EQ(std::vector<float>(read_a, read_a + 4), a);

  const TensorInfo& tb = file.at("b");
  EXPECT_EQ(tb.dtype, DType::i64);
  EXPECT_EQ(tb.offset, 8 + header.size() + 16);
  EXPECT_EQ(tb.nbytes, 24u);
  std::int64_t read_b[3];
  std::memcpy(read_b, file.data(tb), 24);
  EXPECT_EQ(std::vector<std::int64_t>(read_b, read_b + 3), b);

  EXPECT_EQ(file.at("empty").dtype, DType::bf16);
  EXPECT_EQ(file.at("empty").nbytes, 0u);
  EXPECT_EQ(file.find("missing"), nullptr);
  EXPECT_EQ(file.find("b"), &tb);
  EXPECT_EQ(file.metadata().size(), 2u);
  EXPECT_EQ(file.metadata().at("format"), "pt");
  try {
    file.at("missing");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              (dir / "m.safetensors").string() + ": no tensor named missing");
  }
}

TEST(Safetensors, AcceptsEveryDTypeAndPaddedHeader) {
  TempDir dir;
  const char* names[] = {"F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL"};
  const DType dtypes[] = {DType::f64, DType::f32, DType::f16, DType::bf16, DType::i64,
                          DType::i32, DType::i16, DType::i8,  DType::u8,   DType::boolean};
  std::string header = "{";
  std::size_t offset = 0;
  for (int i = 0; i < 10; ++i) {
    const std::size_t n = 3 * dtype_size(dtypes[i]);
    header += fmt::format(R"({}"t{}": {{"dtype": "{}", "shape": [3], "data_offsets": [{}, {}]}})",
                          i ? ", " : "", i, names[i], offset, offset + n);
    offset += n;
  }
  header += "}    ";  // writers pad the header with spaces to align the data
  testing::write_text(dir / "all.safetensors",
                      safetensors_bytes(header, std::string(offset, '\x01')));
  SafetensorsFile file(dir / "all.safetensors");
  ASSERT_EQ(file.tensors().size(), 10u);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(file.at(fmt::format("t{}", i)).dtype, dtypes[i]) << names[i];
  }
  EXPECT_TRUE(file.metadata().empty());
}

TEST(Safetensors, EmptyHeaderWithoutDataIsValid) {
  TempDir dir;
  testing::write_text(dir / "e.safetensors", safetensors_bytes("{}", ""));
  EXPECT_TRUE(SafetensorsFile(dir / "e.safetensors").tensors().empty());
}

TEST(Safetensors, RejectsBadFilesNamingFileAndTensor) {
  TempDir dir;
  const std::string p = (dir / "bad.safetensors").string();
  auto entry = [](const std::string& name, const std::string& dtype, const std::string& shape,
                  std::uint64_t begin, std::uint64_t end) {
    return fmt::format(R"("{}": {{"dtype": "{}", "shape": {}, "data_offsets": [{}, {}]}})", name,
                       dtype, shape, begin, end);
  };
  const std::string w = entry("w", "F32", "[2]", 0, 8);

  EXPECT_EQ(error_for(dir, "abc"), p + ": too small for a safetensors file (3 bytes)");
  EXPECT_EQ(error_for(dir, safetensors_bytes("{" + w + "}", std::string(8, '\0'), 1000)),
            p + ": header length 1000 points past the end of the file (" +
                std::to_string(8 + w.size() + 2 + 8) + " bytes)");
  EXPECT_EQ(error_for(dir, safetensors_bytes("{\"w\": [1, 2", "")),
            p + ": header is not valid JSON (error at byte 12 of the header)");
  EXPECT_EQ(error_for(dir, safetensors_bytes("[1, 2]", "")), p + ": header is not a JSON object");
  // A number no JSON number type holds (nlohmann's out_of_range, not a parse_error): found by
  // fuzz_safetensors, fuzz/regressions/safetensors/number-overflow-in-header.
  EXPECT_EQ(error_for(dir, safetensors_bytes(R"({"w": 1e400})", "")),
            p + ": header is not valid JSON ([json.exception.out_of_range.406] number overflow "
                "parsing '1e400')");
  EXPECT_EQ(error_for(dir, safetensors_bytes("{" + entry("w", "F32", "[2]", 0, 12) + "}",
                                             std::string(8, '\0'))),
            p + ": tensor 'w': data_offsets [0, 12] run past the end of the data section "
                "(8 bytes)");
  EXPECT_EQ(error_for(dir, safetensors_bytes("{" + entry("w", "F32", "[0]", 8, 0) + "}",
                                             std::string(8, '\0'))),
            p + ": tensor 'w': data_offsets [8, 0] end before they begin");
  EXPECT_EQ(error_for(dir, safetensors_bytes("{" + entry("w", "F32", "[3]", 0, 8) + "}",
                                             std::string(8, '\0'))),
            p + ": tensor 'w': shape [3] of f32 needs 12 bytes, data_offsets [0, 8] hold 8");
  EXPECT_EQ(error_for(dir, safetensors_bytes("{" + entry("w", "Q4", "[2]", 0, 8) + "}",
                                             std::string(8, '\0'))),
            p + ": tensor 'w': unknown dtype \"Q4\" (expected F64, F32, F16, BF16, I64, I32, "
                "I16, I8, U8 or BOOL)");
  EXPECT_EQ(
      error_for(
          dir,
          safetensors_bytes(
              "{" + entry("w", "F32", "[4294967296, 4294967296, 4294967296]", 0, 0) + "}", "")),
      p + ": tensor 'w': shape [4294967296,4294967296,4294967296] of f32 overflows a 64-bit "
          "byte count");
  EXPECT_EQ(error_for(dir, safetensors_bytes("{" + entry("w", "F32", "[-2]", 0, 0) + "}", "")),
            p + ": tensor 'w': shape [-2] must hold non-negative integers");
  EXPECT_EQ(error_for(dir, safetensors_bytes("{" + entry("w", "F32", "[2.5]", 0, 0) + "}", "")),
            p + ": tensor 'w': shape [2.5] must hold non-negative integers");
  EXPECT_EQ(error_for(dir, safetensors_bytes(R"({"w": {"dtype": "F32", "shape": [2]}})",
                                             std::string(8, '\0'))),
            p + ": tensor 'w': \"data_offsets\" must be [begin, end] with non-negative integers");
  EXPECT_EQ(error_for(dir, safetensors_bytes(R"({"w": {"shape": [2], "data_offsets": [0, 8]}})",
                                             std::string(8, '\0'))),
            p + ": tensor 'w': missing string field \"dtype\"");
  EXPECT_EQ(error_for(dir, safetensors_bytes(R"({"w": 5})", "")),
            p + ": tensor 'w': header entry is not a JSON object");
  EXPECT_EQ(error_for(dir, safetensors_bytes(R"({"__metadata__": {"k": 1}})", "")),
            p + ": \"__metadata__\" entry 'k' is not a string");

  // Layout of the data section.
  EXPECT_EQ(error_for(dir, safetensors_bytes("{" + w + ", " + entry("v", "F32", "[2]", 4, 12) + "}",
                                             std::string(12, '\0'))),
            p + ": tensor 'v' (bytes [4, 12)) overlaps tensor 'w' (bytes [0, 8))");
  EXPECT_EQ(
      error_for(dir, safetensors_bytes("{" + w + ", " + entry("v", "F32", "[2]", 12, 20) + "}",
                                       std::string(20, '\0'))),
      p + ": 4 unused bytes between tensor 'w' (ends at 8) and tensor 'v' (begins at 12)");
  EXPECT_EQ(error_for(dir, safetensors_bytes("{" + entry("v", "F32", "[2]", 4, 12) + "}",
                                             std::string(12, '\0'))),
            p + ": tensor 'v' begins at byte 4 of the data section, expected 0 (unused bytes "
                "before it)");
  EXPECT_EQ(error_for(dir, safetensors_bytes("{" + w + "}", std::string(10, '\0'))),
            p + ": tensor 'w' ends at byte 8 but the data section holds 10 bytes (unused bytes "
                "at the end)");
  EXPECT_EQ(error_for(dir, safetensors_bytes("{}", std::string(4, '\0'))),
            p + ": the header lists no tensors but the data section holds 4 bytes");
}

TEST(Safetensors, RejectsHeaderOverTheSizeLimit) {
  // A sparse file big enough to hold a 100,000,001-byte header: no disk space is used.
  TempDir dir;
  const fs::path path = dir / "huge.safetensors";
  testing::write_text(path, safetensors_bytes("", "", 100000001));
  fs::resize_file(path, 8 + 100000001 + 8);
  try {
    SafetensorsFile file(path);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              path.string() + ": header length 100000001 exceeds the 100000000-byte limit");
  }
}

TEST(Safetensors, MissingFileNamesPath) {
  TempDir dir;
  const fs::path path = dir / "none.safetensors";
  try {
    SafetensorsFile file(path);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "cannot open " + path.string() + ": No such file or directory");
  }
}

TEST(SafetensorsFixture, ReadsTinyClipCheckpoint) {
  const fs::path path =
      fs::path(VLBENCH_SHARED_FIXTURES) / "clip-tiny-quickgelu" / "model.safetensors";
  if (!fs::exists(path)) GTEST_SKIP() << "shared fixture absent: " << path;
  // Expectations read from the header with Python's json module.
  SafetensorsFile file(path);
  EXPECT_EQ(file.tensors().size(), 80u);
  EXPECT_EQ(file.metadata().at("format"), "pt");
  const std::size_t data_start = 8 + 9152;

  const TensorInfo& token = file.at("text_model.embeddings.token_embedding.weight");
  EXPECT_EQ(&token, &file.tensors().front());
  EXPECT_EQ(token.dtype, DType::f32);
  EXPECT_EQ(token.shape, (std::vector<std::int64_t>{49408, 64}));
  EXPECT_EQ(token.offset, data_start);
  EXPECT_EQ(token.nbytes, 12648448u);
  float first;
  std::memcpy(&first, file.data(token), 4);
  EXPECT_EQ(first, -0.0015497732674703002f);

  const TensorInfo& ids = file.at("text_model.embeddings.position_ids");
  EXPECT_EQ(ids.dtype, DType::i64);
  EXPECT_EQ(ids.shape, (std::vector<std::int64_t>{1, 77}));
  EXPECT_EQ(ids.offset, data_start + 12668160);
  std::vector<std::int64_t> positions(77);
  std::memcpy(positions.data(), file.data(ids), 77 * 8);
  for (std::int64_t i = 0; i < 77; ++i) EXPECT_EQ(positions[i], i);
  EXPECT_EQ(file.at("vision_model.embeddings.position_ids").shape,
            (std::vector<std::int64_t>{1, 17}));

  EXPECT_EQ(file.at("vision_model.embeddings.patch_embedding.weight").shape,
            (std::vector<std::int64_t>{128, 3, 16, 16}));
  EXPECT_EQ(file.at("visual_projection.weight").shape, (std::vector<std::int64_t>{32, 128}));
  const TensorInfo& scale = file.at("logit_scale");
  EXPECT_TRUE(scale.shape.empty());
  EXPECT_EQ(&scale, &file.tensors().back());
  EXPECT_EQ(scale.offset + scale.nbytes, fs::file_size(path));
  float logit_scale;
  std::memcpy(&logit_scale, file.data(scale), 4);
  EXPECT_EQ(logit_scale, 4.0f);
}

}  // namespace
}  // namespace vlbench
