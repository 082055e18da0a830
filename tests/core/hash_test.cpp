#include <vlbench/core/error.hpp>
#include <vlbench/core/hash.hpp>

#include <gtest/gtest.h>

#include "test_util.hpp"

#include <string>

namespace vlbench {
namespace {

// FIPS 180-2 / NIST test vectors.
constexpr const char* kEmpty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr const char* kAbc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr const char* kMillionA =
    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";

TEST(Sha256, KnownVectorsForBytes) {
  EXPECT_EQ(sha256_bytes(""), kEmpty);
  EXPECT_EQ(sha256_bytes("abc"), kAbc);
  EXPECT_EQ(sha256_bytes(std::string(1000000, 'a')), kMillionA);
}

TEST(Sha256, KnownVectorsForFiles) {
  testing::TempDir dir;
  testing::write_text(dir / "empty", "");
  testing::write_text(dir / "abc", "abc");
  testing::write_text(dir / "a", std::string(1000000, 'a'));
  EXPECT_EQ(sha256_file(dir / "empty"), kEmpty);
  EXPECT_EQ(sha256_file(dir / "abc"), kAbc);
  EXPECT_EQ(sha256_file(dir / "a"), kMillionA);
}

TEST(Sha256, FileLargerThanOneReadMatchesBytes) {
  testing::TempDir dir;
  std::string text(3 * (1 << 20) + 17, '\0');
  for (std::size_t i = 0; i < text.size(); ++i) text[i] = static_cast<char>(i % 253);
  testing::write_text(dir / "big", text);
  EXPECT_EQ(sha256_file(dir / "big"), sha256_bytes(text));
}

TEST(Sha256, MissingFileNamesPath) {
  testing::TempDir dir;
  const auto path = dir / "nope.bin";
  try {
    sha256_file(path);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot open " + path.string()), std::string::npos)
        << e.what();
  }
}

TEST(Sha256, FolderNamesPath) {
  testing::TempDir dir;
  try {
    sha256_file(dir.path());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot read " + dir.path().string()), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace vlbench
