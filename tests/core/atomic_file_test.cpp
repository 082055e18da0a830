#include <vlbench/core/atomic_file.hpp>
#include <vlbench/core/error.hpp>

#include <gtest/gtest.h>

#include "test_util.hpp"

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

namespace vlbench {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

std::vector<std::string> listing(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(AtomicFile, TempNameIsBesideTargetWithPidAndCounter) {
  TempDir dir;
  AtomicFile a(dir / "out.json");
  AtomicFile b(dir / "out.json");
  EXPECT_EQ(a.target(), dir / "out.json");
  EXPECT_EQ(a.temp_path().parent_path(), dir.path());
  const std::string prefix = "out.json.tmp-" + std::to_string(::getpid()) + "-";
  EXPECT_EQ(a.temp_path().filename().string().rfind(prefix, 0), 0u) << a.temp_path();
  EXPECT_NE(a.temp_path(), b.temp_path());
}

TEST(AtomicFile, CommitRenamesTempOverTarget) {
  TempDir dir;
  testing::write_text(dir / "out.txt", "old");
  {
    AtomicFile file(dir / "out.txt");
    testing::write_text(file.temp_path(), "new contents");
    EXPECT_EQ(read_file(dir / "out.txt"), "old");  // invisible until commit
    file.commit();
    EXPECT_FALSE(fs::exists(file.temp_path()));
  }
  EXPECT_EQ(read_file(dir / "out.txt"), "new contents");
  EXPECT_EQ(listing(dir.path()), std::vector<std::string>{"out.txt"});
}

TEST(AtomicFile, UncommittedLeavesNothing) {
  TempDir dir;
  fs::path temp;
  {
    AtomicFile file(dir / "out.txt");
    temp = file.temp_path();
    testing::write_text(temp, "partial");
    ASSERT_TRUE(fs::exists(temp));
  }
  EXPECT_FALSE(fs::exists(temp));
  EXPECT_TRUE(listing(dir.path()).empty());
}

TEST(AtomicFile, CommitWithoutTempNamesIt) {
  TempDir dir;
  AtomicFile file(dir / "out.txt");
  try {
    file.commit();
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(file.temp_path().string()), std::string::npos) << e.what();
  }
}

TEST(AtomicFile, MissingFolderIsNamed) {
  TempDir dir;
  const fs::path target = dir / "no_such_folder" / "out.txt";
  try {
    write_file_atomic(target, "x");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "cannot write " + target.string() + ": folder " +
                                         (dir / "no_such_folder").string() + " does not exist");
  }
  EXPECT_THROW(AtomicFile{target}, Error);
  EXPECT_TRUE(listing(dir.path()).empty());
}

TEST(WriteFileAtomic, WritesAndOverwrites) {
  TempDir dir;
  write_file_atomic(dir / "a.txt", "first");
  EXPECT_EQ(read_file(dir / "a.txt"), "first");
  std::string binary("a\0b\xff", 4);
  write_file_atomic(dir / "a.txt", binary);
  EXPECT_EQ(read_file(dir / "a.txt"), binary);
  write_file_atomic(dir / "empty", "");
  EXPECT_EQ(read_file(dir / "empty"), "");
  EXPECT_EQ(listing(dir.path()), (std::vector<std::string>{"a.txt", "empty"}));
}

TEST(ReadFile, ReadsLargeFile) {
  TempDir dir;
  std::string text(300000, '\0');
  for (std::size_t i = 0; i < text.size(); ++i) text[i] = static_cast<char>(i % 7 + 'a');
  testing::write_text(dir / "big", text);
  EXPECT_EQ(read_file(dir / "big"), text);
}

TEST(ReadFile, MissingFileNamesPath) {
  TempDir dir;
  const fs::path path = dir / "missing.txt";
  try {
    read_file(path);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "cannot open " + path.string() + ": No such file or directory");
  }
}

TEST(ReadFile, FolderNamesPath) {
  TempDir dir;
  try {
    read_file(dir.path());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "cannot read " + dir.path().string() + ": Is a directory");
  }
}

}  // namespace
}  // namespace vlbench
