#include <vlbench/core/atomic_file.hpp>
#include <vlbench/core/error.hpp>
#include <vlbench/core/npy.hpp>

#include <gtest/gtest.h>

#include "test_util.hpp"

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace vlbench {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

// Raw bytes of a value array.
template <typename T>
std::string raw(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

// A version 1.0 file from a header dict: padded with spaces to `header_len` - 1, then '\n'.
std::string npy_v1(const std::string& dict, std::size_t header_len, const std::string& data) {
  std::string header = dict;
  header.resize(header_len - 1, ' ');
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  out.push_back(static_cast<char>(header_len & 0xff));
  out.push_back(static_cast<char>(header_len >> 8));
  return out + header + data;
}

// A version 2.0 or 3.0 file (u32 header length).
std::string npy_v2(int major, const std::string& dict, const std::string& data) {
  std::string header = dict + "\n";
  std::string out("\x93NUMPY", 6);
  out.push_back(static_cast<char>(major));
  out.push_back('\0');
  const auto n = static_cast<std::uint32_t>(header.size());
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  return out + header + data;
}

std::string error_of(const fs::path& path) {
  try {
    read_npy(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// Writes `bytes` to dir/name and returns the read_npy error message.
std::string error_for(const TempDir& dir, const std::string& bytes) {
  const fs::path path = dir / "bad.npy";
  testing::write_text(path, bytes);
  return error_of(path);
}

TEST(Npy, WritesTheBytesNumPyWrites) {
  // np.save of np.arange(6, dtype='<f4').reshape(2, 3): version 1.0, the dict, 20 spaces of
  // room for the first axis to grow (21 digits minus one), then padding so the data starts at
  // byte 128, header length 118 = 0x76.
  TempDir dir;
  const std::vector<float> values = {0, 1, 2, 3, 4, 5};
  write_npy(dir / "a.npy", DType::f32, {2, 3}, values.data());
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  std::string expected("\x93NUMPY\x01\x00\x76\x00", 10);
  expected += dict + std::string(117 - dict.size(), ' ') + "\n" + raw(values);
  const std::string actual = read_file(dir / "a.npy");
  EXPECT_EQ(actual.size(), 128u + 24u);
  EXPECT_EQ(actual, expected);
  EXPECT_EQ(fs::directory_iterator(dir.path())->path().filename(), "a.npy");  // no temp left
}

TEST(Npy, WritesZeroDAndOneDHeaders) {
  TempDir dir;
  const double pi = 3.25;
  write_npy(dir / "s.npy", DType::f64, {}, &pi);
  const std::string dict0 = "{'descr': '<f8', 'fortran_order': False, 'shape': (), }";
  std::string expected0("\x93NUMPY\x01\x00\x76\x00", 10);  // no growth room for 0-d
  expected0 += dict0 + std::string(117 - dict0.size(), ' ') + "\n" + raw(std::vector{pi});
  EXPECT_EQ(read_file(dir / "s.npy"), expected0);

  const std::vector<std::int8_t> bytes = {-1, 2, 3};
  write_npy(dir / "v.npy", DType::i8, {3}, bytes.data());
  const std::string dict1 = "{'descr': '|i1', 'fortran_order': False, 'shape': (3,), }";
  std::string expected1("\x93NUMPY\x01\x00\x76\x00", 10);
  expected1 += dict1 + std::string(117 - dict1.size(), ' ') + "\n" + raw(bytes);
  EXPECT_EQ(read_file(dir / "v.npy"), expected1);
}

TEST(Npy, HeaderThatFillsItsBlockGetsAFullBlockOfPadding) {
  // NumPy pads by 64 - (len % 64): a full 64 bytes when the header is already aligned.
  // Here the dict is 97 bytes; 10 + 97 + 20 (growth room) + 1 ('\n') = 128, so 64 spaces
  // follow, the header length is 20 + 97 + 64 + 1 = 182 (0xb6) and the data starts at 192.
  TempDir dir;
  const std::vector<std::int64_t> shape = {0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 100};
  write_npy(dir / "z.npy", DType::u8, shape, nullptr);
  const std::string dict =
      "{'descr': '|u1', 'fortran_order': False, 'shape': (0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, "
      "12, 100), }";
  ASSERT_EQ(dict.size(), 97u);
  std::string expected("\x93NUMPY\x01\x00\xb6\x00", 10);
  expected += dict + std::string(20 + 64, ' ') + "\n";
  EXPECT_EQ(read_file(dir / "z.npy"), expected);
  EXPECT_EQ(read_npy(dir / "z.npy").shape, shape);
}

TEST(Npy, RoundTripsEveryWritableDType) {
  TempDir dir;
  auto check = [&](DType dtype, const std::string& data, std::vector<std::int64_t> shape) {
    const fs::path path = dir / "r.npy";
    write_npy(path, dtype, shape, data.data());
    const NpyArray array = read_npy(path);
    EXPECT_EQ(array.dtype, dtype);
    EXPECT_EQ(array.shape, shape);
    EXPECT_EQ(static_cast<std::size_t>(array.numel()) * dtype_size(dtype), data.size());
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(array.data), data.size()), data);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(array.data) % 64, 0u);  // 64-byte aligned
  };
  check(DType::f64, raw(std::vector<double>{1.5, -2.25, 1e300}), {3});
  check(DType::f32, raw(std::vector<float>{1, 2, 3, 4, 5, 6}), {3, 2});
  check(DType::f16, raw(std::vector<std::uint16_t>{0x3C00, 0x7BFF}), {1, 2});
  check(DType::i64, raw(std::vector<std::int64_t>{-1, INT64_MAX}), {2, 1, 1});
  check(DType::i32, raw(std::vector<std::int32_t>{7}), {});
  check(DType::i16, raw(std::vector<std::int16_t>{-300, 300}), {2});
  check(DType::i8, raw(std::vector<std::int8_t>{-128, 127}), {2});
  check(DType::u8, raw(std::vector<std::uint8_t>{0, 255, 9}), {3});
  check(DType::boolean, raw(std::vector<std::uint8_t>{1, 0}), {2});
  check(DType::f32, "", {0, 4});
}

TEST(Npy, WriteRejectsBf16AndNegativeDims) {
  TempDir dir;
  const std::uint16_t value = 0;
  const fs::path path = dir / "x.npy";
  EXPECT_THROW(write_npy(path, DType::bf16, {1}, &value), Error);
  try {
    write_npy(path, DType::bf16, {1}, &value);
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), path.string() +
                                         ": cannot write bf16 to .npy (NumPy has "
                                         "no bfloat16)");
  }
  try {
    write_npy(path, DType::f32, {2, -1}, &value);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              path.string() + ": cannot write shape (2, -1): negative dimension");
  }
  EXPECT_FALSE(fs::exists(path));
}

TEST(Npy, WriteIntoMissingFolderNamesIt) {
  TempDir dir;
  const float value = 1;
  try {
    write_npy(dir / "missing" / "x.npy", DType::f32, {1}, &value);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find((dir / "missing").string()), std::string::npos);
  }
}

TEST(Npy, ReadsHeadersNumPyAndOthersWrite) {
  TempDir dir;
  const std::vector<float> values = {1, 2, 3, 4, 5, 6};
  struct Case {
    std::string dict;
    std::vector<std::int64_t> shape;
  };
  const Case cases[] = {
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", {2, 3}},
      // any key order, no trailing comma, spaces, double quotes, Python 2 longs
      {"{'shape':(2,3),'fortran_order':False,'descr':'<f4'}", {2, 3}},
      {"{ \"fortran_order\" : False , \"descr\" : \"<f4\" , \"shape\" : ( 6 , ) , }", {6}},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }", {2, 3}},
      {"{'descr': '|f4', 'fortran_order': False, 'shape': (1, 2, 3), }", {1, 2, 3}},
  };
  for (const Case& c : cases) {
    testing::write_text(dir / "a.npy", npy_v1(c.dict, 118, raw(values)));
    const NpyArray array = read_npy(dir / "a.npy");
    EXPECT_EQ(array.dtype, DType::f32) << c.dict;
    EXPECT_EQ(array.shape, c.shape) << c.dict;
    EXPECT_EQ(array.numel(), 6);
    float read[6];
    std::memcpy(read, array.data, sizeof read);
    EXPECT_EQ(std::vector<float>(read, read + 6), values);
  }
}

// np.save of a transposed array writes 'fortran_order': True; reading gives it in C order.
TEST(Npy, ReadsFortranOrderIntoCOrder) {
  TempDir dir;
  // [[1, 2, 3], [4, 5, 6]] stored column by column.
  testing::write_text(dir / "f.npy",
                      npy_v1("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", 118,
                             raw(std::vector<float>{1, 4, 2, 5, 3, 6})));
  const NpyArray matrix = read_npy(dir / "f.npy");
  ASSERT_EQ(matrix.shape, (std::vector<std::int64_t>{2, 3}));
  float read[6];
  std::memcpy(read, matrix.data, sizeof read);
  EXPECT_EQ(std::vector<float>(read, read + 6), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(read_npy_matrix_f32(dir / "f.npy").values, (std::vector<float>{1, 2, 3, 4, 5, 6}));

  // Rank 3, shape (2, 3, 4): element (i, j, k) is stored at i + 2 j + 6 k and holds 100 i + 10 j +
  // k.
  std::vector<std::int16_t> fortran(24);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k)
        fortran[i + 2 * j + 6 * k] = static_cast<std::int16_t>(100 * i + 10 * j + k);
  testing::write_text(
      dir / "t.npy",
      npy_v1("{'descr': '<i2', 'fortran_order': True, 'shape': (2, 3, 4), }", 118, raw(fortran)));
  const NpyArray cube = read_npy(dir / "t.npy");
  std::int16_t c[24];
  std::memcpy(c, cube.data, sizeof c);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) EXPECT_EQ(c[(i * 3 + j) * 4 + k], 100 * i + 10 * j + k);
}

TEST(Npy, ReadsZeroDAndVersions2And3) {
  TempDir dir;
  testing::write_text(dir / "s.npy",
                      npy_v1("{'descr': '<i8', 'fortran_order': False, 'shape': (), }", 118,
                             raw(std::vector<std::int64_t>{-42})));
  NpyArray scalar = read_npy(dir / "s.npy");
  EXPECT_EQ(scalar.dtype, DType::i64);
  EXPECT_TRUE(scalar.shape.empty());
  EXPECT_EQ(scalar.numel(), 1);
  std::int64_t value;
  std::memcpy(&value, scalar.data, 8);
  EXPECT_EQ(value, -42);

  for (int major : {2, 3}) {
    testing::write_text(dir / "v.npy",
                        npy_v2(major, "{'descr': '<i2', 'fortran_order': False, 'shape': (2,), }",
                               raw(std::vector<std::int16_t>{5, -6})));
    NpyArray array = read_npy(dir / "v.npy");
    EXPECT_EQ(array.dtype, DType::i16);
    EXPECT_EQ(array.shape, std::vector<std::int64_t>{2});
  }
}

TEST(Npy, RejectsBadFilesNamingFileAndProblem) {
  TempDir dir;
  const std::string p = (dir / "bad.npy").string();
  const std::string f4x6 = raw(std::vector<float>(6, 1.0f));
  auto dict = [](const std::string& descr, const std::string& order, const std::string& shape) {
    return "{'descr': " + descr + ", 'fortran_order': " + order + ", 'shape': " + shape + ", }";
  };

  EXPECT_EQ(error_for(dir, "PK\x03\x04 not numpy at all"),
            p + ": not a .npy file (missing the \\x93NUMPY magic)");
  EXPECT_EQ(error_for(dir, std::string("\x93NUMPY\x02\x00\x10\x00", 10)),
            p + ": truncated .npy header");
  EXPECT_EQ(error_for(dir, std::string("\x93NUMPY\x04\x00\x10\x00", 10) + "{}"),
            p + ": unsupported .npy format version 4.0 (expected 1.0, 2.0 or 3.0)");
  EXPECT_EQ(error_for(dir, npy_v1(dict("'<f4'", "False", "(2, 3)"), 118, "").substr(0, 60)),
            p + ": truncated .npy header: it declares 118 bytes, the file has 50 after the "
                "preamble");
  EXPECT_EQ(error_for(dir, npy_v1(dict("'<f4'", "False", "(2, 3)"), 118, f4x6.substr(0, 20))),
            p + ": expected 24 bytes of data for shape (2, 3) of f32, found 20 after the header "
                "(truncated)");
  EXPECT_EQ(error_for(dir, npy_v1(dict("'<f4'", "False", "(2, 3)"), 118, f4x6 + "xx")),
            p + ": expected 24 bytes of data for shape (2, 3) of f32, found 26 after the header");
  EXPECT_EQ(error_for(dir, npy_v1(dict("'>f4'", "False", "(2, 3)"), 118, f4x6)),
            p + ": big-endian arrays ('>f4') are not supported; save with "
                "arr.astype(arr.dtype.newbyteorder('<'))");
  EXPECT_EQ(error_for(dir, npy_v1(dict("'<c8'", "False", "(3,)"), 118, f4x6)),
            p + ": unsupported dtype '<c8' (supported: <f8 <f4 <f2 <i8 <i4 <i2 |i1 |u1 |b1)");
  EXPECT_EQ(error_for(dir, npy_v1(dict("'|O'", "False", "(3,)"), 118, f4x6)),
            p + ": unsupported dtype '|O' (supported: <f8 <f4 <f2 <i8 <i4 <i2 |i1 |u1 |b1)");
  EXPECT_EQ(
      error_for(dir, npy_v1(dict("[('a', '<f4'), ('b', '<i4')]", "False", "(3,)"), 118, f4x6)),
      p + ": structured or non-string 'descr' is not supported (expected e.g. '<f4')");
  EXPECT_EQ(error_for(dir, npy_v1("{'descr': '<f4', 'shape': (6,), }", 118, f4x6)),
            p + ": the .npy header has no 'fortran_order' key");
  EXPECT_EQ(error_for(dir, npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), "
                                  "'extra': 1}",
                                  118, f4x6)),
            p + ": unexpected key 'extra' in the .npy header");
  EXPECT_EQ(error_for(dir, npy_v1("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, "
                                  "'shape': (6,)}",
                                  118, f4x6)),
            p + ": duplicate key 'descr' in the .npy header");
  EXPECT_EQ(error_for(dir, npy_v1(dict("'<f4'", "False", "(-6,)"), 118, f4x6)),
            p + ": 'shape' must hold non-negative integers");
  EXPECT_EQ(error_for(dir, npy_v1(dict("'<f4'", "False", "6"), 118, f4x6)),
            p + ": 'shape' must be a tuple");
  EXPECT_EQ(error_for(dir, npy_v1(dict("'<f4'", "0", "(6,)"), 118, f4x6)),
            p + ": 'fortran_order' must be True or False");
  EXPECT_EQ(error_for(dir, npy_v1(dict("'<f4'", "False", "(4294967296, 4294967296)"), 118, f4x6)),
            p + ": shape (4294967296, 4294967296) of f32 is too large (byte count overflows)");
  EXPECT_EQ(error_for(dir, npy_v1(dict("'<f4'", "False", "(99999999999999999999,)"), 118, f4x6)),
            p + ": malformed .npy header: expected an integer that fits in 64 bits at character "
                "69");
  EXPECT_EQ(
      error_for(dir, npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (6,)", 118, f4x6)),
      p + ": malformed .npy header: expected ',' or '}' at character 118");
  EXPECT_EQ(error_for(dir, npy_v1("{'descr': '<f4' 'fortran_order': False}", 118, f4x6)),
            p + ": malformed .npy header: expected ',' or '}' at character 16");
  EXPECT_EQ(error_for(dir, npy_v1("{'descr': <f4}", 118, f4x6)),
            p + ": malformed .npy header: expected a string, number, tuple, True, False or None "
                "at character 10");
  EXPECT_EQ(error_for(dir, npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (6,)} x", 118,
                                  f4x6)),
            p + ": malformed .npy header: expected only padding after the closing '}' at "
                "character 56");
  EXPECT_EQ(
      error_for(dir, npy_v1("{'descr': '<f4, 'fortran_order': False, 'shape': (6,)}", 118, f4x6)),
      p + ": malformed .npy header: expected ',' or '}' at character 17");
}

TEST(Npy, MissingFileNamesPath) {
  TempDir dir;
  const fs::path path = dir / "none.npy";
  EXPECT_EQ(error_of(path), "cannot open " + path.string() + ": No such file or directory");
}

TEST(NpyMatrix, ReadsFloat32AndFloat16) {
  TempDir dir;
  const std::vector<float> values = {1, -2, 3.5f, 4, 5, 65504};
  write_npy(dir / "f32.npy", DType::f32, {3, 2}, values.data());
  const MatrixF32 m32 = read_npy_matrix_f32(dir / "f32.npy");
  EXPECT_EQ(m32.rows, 3);
  EXPECT_EQ(m32.cols, 2);
  EXPECT_EQ(m32.values, values);
  EXPECT_EQ(m32.row(1)[0], 3.5f);

  // 1, -2, 3.5, 4, 5, 65504 as f16 bit patterns.
  const std::vector<std::uint16_t> halves = {0x3C00, 0xC000, 0x4300, 0x4400, 0x4500, 0x7BFF};
  write_npy(dir / "f16.npy", DType::f16, {2, 3}, halves.data());
  const MatrixF32 m16 = read_npy_matrix_f32(dir / "f16.npy");
  EXPECT_EQ(m16.rows, 2);
  EXPECT_EQ(m16.cols, 3);
  EXPECT_EQ(m16.values, values);
  EXPECT_EQ(m16.row(1)[2], 65504.0f);
}

TEST(NpyMatrix, RejectsOtherRanksAndDTypes) {
  TempDir dir;
  const std::vector<float> values = {1, 2, 3};
  write_npy(dir / "v.npy", DType::f32, {3}, values.data());
  try {
    read_npy_matrix_f32(dir / "v.npy");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), (dir / "v.npy").string() +
                                         ": expected a 2-d float32 or float16 array, got a 1-d "
                                         "f32 array of shape (3,)");
  }
  const std::vector<std::int64_t> ids = {1, 2, 3, 4};
  write_npy(dir / "i.npy", DType::i64, {2, 2}, ids.data());
  try {
    read_npy_matrix_f32(dir / "i.npy");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), (dir / "i.npy").string() +
                                         ": expected a 2-d float32 or float16 array, got a 2-d "
                                         "i64 array of shape (2, 2)");
  }
}

TEST(NpyFixture, ReadsGoldenEmbeddingsWhenPresent) {
  const fs::path path =
      fs::path(VLBENCH_SHARED_FIXTURES) / "clip-tiny-quickgelu" / "golden" / "image_embeds.npy";
  if (!fs::exists(path)) GTEST_SKIP() << "shared fixture absent: " << path;
  const MatrixF32 m = read_npy_matrix_f32(path);
  EXPECT_EQ(m.rows, 8);
  EXPECT_EQ(m.cols, 32);
  const NpyArray ids = read_npy(path.parent_path() / "text_input_ids.npy");
  EXPECT_EQ(ids.dtype, DType::i64);
  EXPECT_EQ(ids.shape, (std::vector<std::int64_t>{8, 77}));
  std::int64_t first;
  std::memcpy(&first, ids.data, 8);
  EXPECT_EQ(first, 49406);  // <|startoftext|>
}

}  // namespace
}  // namespace vlbench
