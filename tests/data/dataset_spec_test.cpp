// open_dataset(): "KIND:PATH" parsing and locating the annotation file.
#include "data_test_util.hpp"
#include "test_util.hpp"

#include "vlbench/data/dataset.hpp"

#include <gtest/gtest.h>

namespace vlbench {
namespace {

namespace fs = std::filesystem;
using testing::open_fails;

constexpr const char* kKinds = "coco-karpathy, flickr30k-karpathy, winoground, jsonl";

TEST(DatasetSpec, WithoutColonShowsTheExpectedForm) {
  EXPECT_TRUE(open_fails("data/coco", {"dataset spec 'data/coco'", "expected KIND:PATH", kKinds}));
  EXPECT_TRUE(open_fails("", {"dataset spec ''", "expected KIND:PATH"}));
}

TEST(DatasetSpec, UnknownKindListsTheKinds) {
  EXPECT_TRUE(open_fails("coco:/data/coco", {"unknown kind 'coco'", kKinds}));
  EXPECT_TRUE(open_fails("Winoground:/x", {"unknown kind 'Winoground'", kKinds}));
}

TEST(DatasetSpec, EmptyPath) {
  EXPECT_TRUE(open_fails("winoground:", {"dataset spec 'winoground:'", "empty PATH", "KIND:PATH"}));
}

TEST(DatasetSpec, MissingAnnotationFileIsNamed) {
  testing::TempDir dir;
  EXPECT_TRUE(open_fails("coco-karpathy:" + dir.path().string(),
                         {(dir / "dataset_coco.json").string(), "annotation file not found"}));
  EXPECT_TRUE(open_fails("flickr30k-karpathy:" + dir.path().string(),
                         {(dir / "dataset_flickr30k.json").string(), "not found"}));
  EXPECT_TRUE(open_fails("winoground:" + dir.path().string(),
                         {(dir / "examples.jsonl").string(), "not found"}));
  EXPECT_TRUE(open_fails("jsonl:" + (dir / "none.jsonl").string(),
                         {(dir / "none.jsonl").string(), "annotation file not found"}));
  EXPECT_TRUE(open_fails("coco-karpathy:" + (dir / "gone").string(),
                         {(dir / "gone").string(), "not found", "dataset_coco.json"}));
  EXPECT_TRUE(open_fails("jsonl:" + dir.path().string(),
                         {dir.path().string(), "is a folder", "expects the JSON Lines file"}));
}

TEST(DatasetSpec, PathMayHoldColons) {
  // Only the first ':' separates KIND from PATH.
  testing::TempDir dir;
  const fs::path file = dir / "a:b.jsonl";
  testing::write_text(file, R"({"image": "x:y.jpg", "captions": ["c"]})");
  const Dataset d = open_dataset("jsonl:" + file.string());
  EXPECT_EQ(d.annotation_path, file);
  EXPECT_EQ(d.image_paths[0], dir / "x:y.jpg");
}

TEST(DatasetSpec, RelativePathsStayRelative) {
  testing::TempDir dir;
  testing::write_text(dir / "c.jsonl", R"({"image": "i.jpg", "captions": ["c"]})");
  const fs::path old_cwd = fs::current_path();
  fs::current_path(dir.path());
  Dataset d;
  try {
    d = open_dataset("jsonl:c.jsonl");
  } catch (...) {
    fs::current_path(old_cwd);
    throw;
  }
  fs::current_path(old_cwd);
  EXPECT_EQ(d.annotation_path, fs::path("c.jsonl"));
  EXPECT_EQ(d.image_paths[0], fs::path("i.jpg"));
}

}  // namespace
}  // namespace vlbench
