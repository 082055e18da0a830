#include <vlbench/core/error.hpp>
#include <vlbench/core/mapped_file.hpp>

#include <gtest/gtest.h>

#include "test_util.hpp"

#include <cstring>
#include <string>

namespace vlbench {
namespace {

using testing::TempDir;
using testing::write_text;

std::string contents(const MappedFile& file) {
  return std::string(reinterpret_cast<const char*>(file.data()), file.size());
}

TEST(MappedFile, MapsWholeFile) {
  TempDir dir;
  std::string text(10000, '\0');
  for (std::size_t i = 0; i < text.size(); ++i) text[i] = static_cast<char>(i * 31 % 251);
  write_text(dir / "a.bin", text);
  MappedFile file(dir / "a.bin");
  EXPECT_EQ(file.size(), text.size());
  EXPECT_EQ(contents(file), text);
  EXPECT_EQ(file.path(), dir / "a.bin");
}

TEST(MappedFile, EmptyFileHasNoData) {
  TempDir dir;
  write_text(dir / "empty", "");
  MappedFile file(dir / "empty");
  EXPECT_EQ(file.size(), 0u);
  EXPECT_EQ(file.data(), nullptr);
  file.release_pages();  // harmless on an empty map
}

TEST(MappedFile, MissingFileNamesPathAndReason) {
  TempDir dir;
  const auto path = dir / "missing.bin";
  try {
    MappedFile file(path);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "cannot open " + path.string() + ": " + std::strerror(ENOENT));
  }
}

TEST(MappedFile, FolderIsRejected) {
  TempDir dir;
  try {
    MappedFile file(dir.path());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "cannot map " + dir.path().string() + ": not a regular file");
  }
}

TEST(MappedFile, MoveTransfersOwnership) {
  TempDir dir;
  write_text(dir / "a", "hello");
  write_text(dir / "b", "world!");
  MappedFile a(dir / "a");
  MappedFile moved(std::move(a));
  EXPECT_EQ(a.data(), nullptr);
  EXPECT_EQ(a.size(), 0u);
  EXPECT_EQ(contents(moved), "hello");

  MappedFile b(dir / "b");
  moved = std::move(b);  // unmaps "a"'s pages and takes over "b"
  EXPECT_EQ(contents(moved), "world!");
  EXPECT_EQ(moved.path(), dir / "b");
  EXPECT_EQ(b.data(), nullptr);

  MappedFile empty;
  EXPECT_EQ(empty.size(), 0u);
  EXPECT_EQ(empty.data(), nullptr);
}

TEST(MappedFile, ReleasedPagesReadBackFromFile) {
  TempDir dir;
  std::string text(1 << 20, 'x');
  text[12345] = 'y';
  write_text(dir / "big", text);
  MappedFile file(dir / "big");
  EXPECT_EQ(contents(file), text);
  file.release_pages();
  EXPECT_EQ(contents(file), text);
}

}  // namespace
}  // namespace vlbench
