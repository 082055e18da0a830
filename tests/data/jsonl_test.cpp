// jsonl:FILE — {"image": ..., "captions": [...]} per line: the bundled mini dataset and errors.
#include "data_test_util.hpp"
#include "test_util.hpp"

#include "vlbench/core/hash.hpp"
#include "vlbench/data/dataset.hpp"

#include <gtest/gtest.h>

namespace vlbench {
namespace {

namespace fs = std::filesystem;
using testing::open_fails;

const fs::path kMini = testing::repo_path("data/jsonl-mini");

TEST(Jsonl, BundledMini) {
  const fs::path file = kMini / "captions.jsonl";
  const Dataset d = open_dataset("jsonl:" + file.string());
  testing::expect_consistent(d);
  EXPECT_EQ(d.kind, "jsonl");
  EXPECT_EQ(d.split, "all");
  EXPECT_EQ(d.annotation_path, file);
  EXPECT_EQ(d.annotation_sha256, sha256_file(file));
  ASSERT_EQ(d.n_images(), 6);
  EXPECT_EQ(d.image_caption_begin, (std::vector<std::int32_t>{0, 1, 3, 6, 7, 9, 12}));
  EXPECT_EQ(d.image_ids[0], "images/yellow_triangle_green_diamond.jpg");
  EXPECT_EQ(d.image_paths[0], kMini / "images/yellow_triangle_green_diamond.jpg");
  EXPECT_EQ(d.captions[0], "a yellow triangle above a green diamond");
  EXPECT_EQ(d.captions[5], "two circles");
  EXPECT_EQ(d.caption_image[5], 2);
  EXPECT_TRUE(d.examples.empty());
  for (const fs::path& path : d.image_paths) EXPECT_TRUE(fs::is_regular_file(path)) << path;
}

TEST(Jsonl, BlankLinesExtraFieldsAndImageRoot) {
  testing::TempDir dir;
  testing::write_text(dir / "mine.jsonl",
                      "\n{\"image\": \"a/b.jpg\", \"captions\": [\"one\", \"two\"], \"x\": 1}\n"
                      "   \n{\"image\": \"c.png\", \"captions\": [\"three\"]}");
  const Dataset d = open_dataset("jsonl:" + (dir / "mine.jsonl").string());
  testing::expect_consistent(d);
  EXPECT_EQ(d.image_paths, (std::vector<fs::path>{dir / "a/b.jpg", dir / "c.png"}));
  EXPECT_EQ(d.image_ids, (std::vector<std::string>{"a/b.jpg", "c.png"}));
  EXPECT_EQ(d.captions, (std::vector<std::string>{"one", "two", "three"}));
  EXPECT_EQ(d.caption_image, (std::vector<std::int32_t>{0, 0, 1}));

  DatasetOptions options;
  options.image_root = "/photos";
  options.split = "test";  // ignored
  const Dataset rooted = open_dataset("jsonl:" + (dir / "mine.jsonl").string(), options);
  EXPECT_EQ(rooted.split, "all");
  EXPECT_EQ(rooted.image_paths[0], fs::path("/photos/a/b.jpg"));
}

class JsonlErrors : public ::testing::Test {
 protected:
  ::testing::AssertionResult fails(const std::string& text,
                                   std::initializer_list<std::string> parts) {
    testing::write_text(file(), text);
    return open_fails("jsonl:" + file().string(), parts);
  }
  fs::path file() const { return dir_ / "captions.jsonl"; }
  std::string where(int line) const { return file().string() + ":" + std::to_string(line); }
  testing::TempDir dir_;
};

constexpr const char* kLine = R"({"image": "a.jpg", "captions": ["x"]})";

TEST_F(JsonlErrors, SyntaxErrorNamesTheLine) {
  EXPECT_TRUE(fails(std::string(kLine) + "\n" + kLine + "\n{\"image\": \"b.jpg\", captions}\n",
                    {where(3) + ":20: invalid JSON"}));
  EXPECT_TRUE(fails(std::string(kLine) + "\n{\"image\": \"b.jpg\"\n",
                    {where(2) + ":18: invalid JSON", "unexpected end of input"}));
  // Valid syntax, but a number no JSON number type holds (nlohmann's out_of_range).
  EXPECT_TRUE(fails(std::string(kLine) + "\n{\"image\": \"b.jpg\", \"x\": 1e400}\n",
                    {where(2) + ": malformed JSON", "number overflow parsing '1e400'"}));
}

TEST_F(JsonlErrors, FieldProblemsNameTheLineAndField) {
  const std::string ok = std::string(kLine) + "\n";
  EXPECT_TRUE(fails(ok + R"({"captions": ["x"]})", {where(2) + ": field 'image' missing"}));
  EXPECT_TRUE(fails(ok + R"({"image": 3, "captions": ["x"]})",
                    {where(2) + ": field 'image' must be a string, got a number"}));
  EXPECT_TRUE(
      fails(ok + R"({"image": "", "captions": ["x"]})", {where(2) + ": field 'image' is empty"}));
  EXPECT_TRUE(fails(ok + R"({"image": "b.jpg"})", {where(2) + ": field 'captions' missing"}));
  EXPECT_TRUE(fails(ok + R"({"image": "b.jpg", "captions": "x"})",
                    {where(2) + ": field 'captions' must be a list, got a string"}));
  EXPECT_TRUE(fails(ok + R"({"image": "b.jpg", "captions": []})",
                    {where(2) + ": field 'captions' is empty"}));
  EXPECT_TRUE(fails(ok + ok + R"({"image": "b.jpg", "captions": ["x", {"t": 1}]})",
                    {where(3) + ": captions[1] must be a string, got an object"}));
  EXPECT_TRUE(fails("\"a.jpg\"\n", {where(1) + ": expected a JSON object, got a string"}));
}

TEST_F(JsonlErrors, EmptyFile) {
  EXPECT_TRUE(fails("", {file().string() + ": no images"}));
}

}  // namespace
}  // namespace vlbench
