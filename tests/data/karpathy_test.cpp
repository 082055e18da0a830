// Karpathy split files: the bundled mini datasets, the shared fixture, split selection, the
// 5,000 / 1,000 test-size checks and every error, each checked for the file, entry and field.
#include "data_test_util.hpp"
#include "test_util.hpp"

#include "vlbench/core/hash.hpp"
#include "vlbench/data/dataset.hpp"

#include <nlohmann/json.hpp>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>

namespace vlbench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::open_fails;

// The gallery computed independently from a full DOM parse of the file.
struct Reference {
  std::vector<fs::path> paths;
  std::vector<std::string> ids;
  std::vector<std::string> captions;
  std::vector<std::int32_t> begin{0};
};

Reference reference(const fs::path& file, const fs::path& base, const std::string& split) {
  std::ifstream in(file);
  json doc = json::parse(in);
  Reference ref;
  for (const json& image : doc["images"]) {
    if (image["split"] != split) continue;
    fs::path relative = image["filename"].get<std::string>();
    if (image.contains("filepath")) relative = image["filepath"].get<std::string>() / relative;
    ref.paths.push_back(base / relative);
    ref.ids.push_back(std::to_string(image.contains("cocoid")
                                         ? image["cocoid"].get<std::int64_t>()
                                         : image["imgid"].get<std::int64_t>()));
    for (const json& sentence : image["sentences"]) ref.captions.push_back(sentence["raw"]);
    ref.begin.push_back(static_cast<std::int32_t>(ref.captions.size()));
  }
  return ref;
}

void expect_matches(const Dataset& d, const Reference& ref) {
  testing::expect_consistent(d);
  EXPECT_EQ(d.image_paths, ref.paths);
  EXPECT_EQ(d.image_ids, ref.ids);
  EXPECT_EQ(d.captions, ref.captions);
  EXPECT_EQ(d.image_caption_begin, ref.begin);
}

DatasetOptions any_size(const std::string& split = "test") {
  DatasetOptions options;
  options.split = split;
  options.allow_any_size = true;
  return options;
}

std::vector<std::int64_t> caption_counts(const Dataset& d) {
  std::vector<std::int64_t> counts;
  for (std::int64_t i = 0; i < d.n_images(); ++i) {
    counts.push_back(d.image_caption_begin[i + 1] - d.image_caption_begin[i]);
  }
  return counts;
}

const fs::path kCocoMini = testing::repo_path("data/coco-karpathy-mini");
const fs::path kFlickrMini = testing::repo_path("data/flickr30k-karpathy-mini");

TEST(KarpathyCoco, BundledMiniTestSplit) {
  const Dataset d = open_dataset("coco-karpathy:" + kCocoMini.string(), any_size());
  const fs::path json_path = kCocoMini / "dataset_coco.json";
  EXPECT_EQ(d.kind, "coco-karpathy");
  EXPECT_EQ(d.split, "test");
  EXPECT_EQ(d.annotation_path, json_path);
  EXPECT_EQ(d.annotation_sha256, sha256_file(json_path));
  ASSERT_EQ(d.n_images(), 16);
  EXPECT_EQ(d.n_captions(), 14 * 5 + 2 * 6);
  std::vector<std::int64_t> counts(16, 5);
  counts[2] = counts[8] = 6;
  EXPECT_EQ(caption_counts(d), counts);
  EXPECT_EQ(d.image_paths[0], kCocoMini / "val2014/COCO_val2014_000000103575.jpg");
  EXPECT_EQ(d.image_ids[0], "103575");
  EXPECT_EQ(d.captions[0], "A purple diamond to the left of a black triangle.");
  EXPECT_EQ(d.captions[2], "Two shapes: a purple diamond and a black triangle. ");
  // Image 2 holds captions 10..15; its sixth caption comes last, in file order.
  EXPECT_EQ(d.image_caption_begin[3], 16);
  EXPECT_EQ(d.captions[15],
            "There is a green square at the top and a purple diamond at the bottom.");
  EXPECT_TRUE(d.examples.empty());
  for (const fs::path& path : d.image_paths) EXPECT_TRUE(fs::is_regular_file(path)) << path;
  expect_matches(d, reference(json_path, kCocoMini, "test"));
}

TEST(KarpathyCoco, BundledMiniOtherSplits) {
  const fs::path json_path = kCocoMini / "dataset_coco.json";
  const Dataset val = open_dataset("coco-karpathy:" + kCocoMini.string(), any_size("val"));
  EXPECT_EQ(val.split, "val");
  EXPECT_EQ(val.image_ids, (std::vector<std::string>{"176253", "567102"}));
  EXPECT_EQ(val.n_captions(), 10);
  expect_matches(val, reference(json_path, kCocoMini, "val"));

  const Dataset train = open_dataset("coco-karpathy:" + kCocoMini.string(), any_size("train"));
  ASSERT_EQ(train.n_images(), 1);
  EXPECT_EQ(train.image_paths[0], kCocoMini / "train2014/COCO_train2014_000000364533.jpg");
  EXPECT_TRUE(fs::is_regular_file(train.image_paths[0]));
  expect_matches(train, reference(json_path, kCocoMini, "train"));

  const Dataset restval = open_dataset("coco-karpathy:" + kCocoMini.string(), any_size("restval"));
  ASSERT_EQ(restval.n_images(), 1);
  EXPECT_EQ(restval.image_ids[0], "84273");
  EXPECT_TRUE(fs::is_regular_file(restval.image_paths[0]));
  expect_matches(restval, reference(json_path, kCocoMini, "restval"));
}

TEST(KarpathyCoco, SharedFixture) {
  const fs::path dir = testing::shared_datasets() / "coco-karpathy-mini";
  if (!fs::exists(dir)) GTEST_SKIP() << "shared fixtures not found at " << dir;
  const Dataset d = open_dataset("coco-karpathy:" + dir.string(), any_size());
  EXPECT_EQ(d.annotation_sha256,
            "5390ec6cfebe9766a5fbe3160aa1660813b2fd672d8e0e98035e768038447a77");
  ASSERT_EQ(d.n_images(), 8);
  EXPECT_EQ(d.n_captions(), 42);
  EXPECT_EQ(caption_counts(d), (std::vector<std::int64_t>{5, 5, 6, 5, 5, 5, 5, 6}));
  EXPECT_EQ(d.image_caption_begin, (std::vector<std::int32_t>{0, 5, 10, 16, 21, 26, 31, 36, 42}));
  EXPECT_EQ(d.image_paths[0], dir / "val2014/COCO_val2014_000000100000.jpg");
  EXPECT_EQ(d.image_ids[7], "100259");
  EXPECT_EQ(d.captions[0], "A purple triangle to the left of a black square.");
  EXPECT_EQ(d.captions[2], "Two shapes: a purple triangle and a black square. ");
  EXPECT_EQ(d.captions[41], "an image of a green triangle beside a yellow circle");
  for (const fs::path& path : d.image_paths) EXPECT_TRUE(fs::is_regular_file(path)) << path;
  expect_matches(d, reference(dir / "dataset_coco.json", dir, "test"));

  const std::pair<const char*, std::int64_t> splits[] = {{"val", 2}, {"train", 1}, {"restval", 1}};
  for (const auto& [split, n] : splits) {
    const Dataset s = open_dataset("coco-karpathy:" + dir.string(), any_size(split));
    EXPECT_EQ(s.n_images(), n) << split;
    expect_matches(s, reference(dir / "dataset_coco.json", dir, split));
  }
}

TEST(KarpathyCoco, JsonFileAsPathAndImageRoot) {
  const fs::path json_path = kCocoMini / "dataset_coco.json";
  const Dataset by_file = open_dataset("coco-karpathy:" + json_path.string(), any_size());
  EXPECT_EQ(by_file.annotation_path, json_path);
  expect_matches(by_file, reference(json_path, kCocoMini, "test"));

  DatasetOptions options = any_size();
  options.image_root = "/images/coco";
  const Dataset rooted = open_dataset("coco-karpathy:" + json_path.string(), options);
  EXPECT_EQ(rooted.image_paths[0], fs::path("/images/coco/val2014/COCO_val2014_000000103575.jpg"));
  expect_matches(rooted, reference(json_path, "/images/coco", "test"));
}

TEST(KarpathyCoco, TestSizeIsChecked) {
  EXPECT_TRUE(open_fails("coco-karpathy:" + kCocoMini.string(),
                         {(kCocoMini / "dataset_coco.json").string(),
                          "the COCO Karpathy test split has 16 images, expected 5,000 "
                          "(use --allow-any-size for other sizes)"}));
  // Other splits have no fixed size.
  DatasetOptions val;
  val.split = "val";
  EXPECT_EQ(open_dataset("coco-karpathy:" + kCocoMini.string(), val).n_images(), 2);
}

// A Karpathy-style file with `n_test` test images of one caption each plus one val image.
std::string sized_file(int n_test, bool coco) {
  std::string images;
  for (int i = 0; i <= n_test; ++i) {
    const char* split = i < n_test ? "test" : "val";
    images += fmt::format(R"({}{{{}"filename": "{}.jpg", "imgid": {}, "split": "{}", )"
                          R"("sentences": [{{"raw": "caption {}"}}]}})",
                          i ? ", " : "", coco ? R"("filepath": "val2014", )" : "", i, i, split, i);
  }
  return fmt::format(R"({{"images": [{}], "dataset": "{}"}})", images, coco ? "coco" : "flickr30k");
}

TEST(KarpathyCoco, ExactlyFiveThousandTestImagesPass) {
  testing::TempDir dir;
  testing::write_text(dir / "dataset_coco.json", sized_file(5000, true));
  const Dataset d = open_dataset("coco-karpathy:" + dir.path().string());
  EXPECT_EQ(d.n_images(), 5000);
  EXPECT_EQ(d.captions[4999], "caption 4999");
  EXPECT_EQ(d.image_ids[4999], "4999");  // no cocoid: the imgid

  testing::write_text(dir / "dataset_coco.json", sized_file(4999, true));
  EXPECT_TRUE(open_fails("coco-karpathy:" + dir.path().string(),
                         {"test split has 4999 images, expected 5,000"}));
  EXPECT_EQ(open_dataset("coco-karpathy:" + dir.path().string(), any_size()).n_images(), 4999);
}

TEST(KarpathyFlickr, BundledMini) {
  const Dataset d = open_dataset("flickr30k-karpathy:" + kFlickrMini.string(), any_size());
  const fs::path json_path = kFlickrMini / "dataset_flickr30k.json";
  EXPECT_EQ(d.kind, "flickr30k-karpathy");
  EXPECT_EQ(d.annotation_path, json_path);
  EXPECT_EQ(d.annotation_sha256, sha256_file(json_path));
  ASSERT_EQ(d.n_images(), 10);
  EXPECT_EQ(d.n_captions(), 50);
  EXPECT_EQ(caption_counts(d), std::vector<std::int64_t>(10, 5));
  EXPECT_EQ(d.image_paths[0], kFlickrMini / "839723437.jpg");
  EXPECT_EQ(d.image_ids[0], "1");  // the imgid: Flickr30k has no cocoid
  EXPECT_EQ(d.captions[5], "A black diamond is above a red circle on a cream background.");
  for (const fs::path& path : d.image_paths) EXPECT_TRUE(fs::is_regular_file(path)) << path;
  expect_matches(d, reference(json_path, kFlickrMini, "test"));

  for (const char* split : {"train", "val"}) {
    const Dataset s = open_dataset("flickr30k-karpathy:" + json_path.string(), any_size(split));
    EXPECT_EQ(s.n_images(), 2) << split;
    expect_matches(s, reference(json_path, kFlickrMini, split));
  }
  EXPECT_TRUE(open_fails("flickr30k-karpathy:" + kFlickrMini.string(),
                         {json_path.string(),
                          "the Flickr30k Karpathy test split has 10 images, expected 1,000 "
                          "(use --allow-any-size for other sizes)"}));
}

TEST(KarpathyFlickr, ExactlyOneThousandTestImagesPass) {
  testing::TempDir dir;
  testing::write_text(dir / "dataset_flickr30k.json", sized_file(1000, false));
  const Dataset d = open_dataset("flickr30k-karpathy:" + dir.path().string());
  EXPECT_EQ(d.n_images(), 1000);
  EXPECT_EQ(d.image_paths[999], dir / "999.jpg");
  testing::write_text(dir / "dataset_flickr30k.json", sized_file(1001, false));
  EXPECT_TRUE(
      open_fails("flickr30k-karpathy:" + dir.path().string(), {"has 1001 images, expected 1,000"}));
}

TEST(KarpathyFlickr, HonoursFilepathWhenPresent) {
  testing::TempDir dir;
  testing::write_text(dir / "dataset_flickr30k.json",
                      R"({"images": [{"filename": "1.jpg", "imgid": 0, "split": "test",
                          "sentences": [{"raw": "a"}]},
                         {"filepath": "extra", "filename": "2.jpg", "imgid": 1,
                          "split": "test", "sentences": [{"raw": "b"}]}],
                          "dataset": "flickr30k"})");
  const Dataset d = open_dataset("flickr30k-karpathy:" + dir.path().string(), any_size());
  EXPECT_EQ(d.image_paths, (std::vector<fs::path>{dir / "1.jpg", dir / "extra/2.jpg"}));
  EXPECT_EQ(d.image_ids, (std::vector<std::string>{"0", "1"}));
}

TEST(KarpathyCoco, IdsAcceptIntegersAndStrings) {
  testing::TempDir dir;
  testing::write_text(dir / "dataset_coco.json",
                      R"({"images": [
   {"filepath": "a", "filename": "1.jpg", "cocoid": "COCO-1", "imgid": 5, "split": "test",
    "sentences": [{"raw": "x"}]},
   {"filepath": "a", "filename": "2.jpg", "imgid": 6, "split": "test",
    "sentences": [{"raw": "y"}]},
   {"filepath": "a", "filename": "3.jpg", "split": "test", "sentences": [{"raw": "z"}]}]})");
  const Dataset d = open_dataset("coco-karpathy:" + dir.path().string(), any_size());
  EXPECT_EQ(d.image_ids, (std::vector<std::string>{"COCO-1", "6", "3.jpg"}));
}

// Tokens are skipped without being built, whatever their shape; fields after them still count.
TEST(KarpathyCoco, TokensOfAnyShapeAreSkipped) {
  testing::TempDir dir;
  testing::write_text(dir / "dataset_coco.json",
                      R"({"images": [{"filepath": "f", "filename": "1.jpg", "sentences": [
   {"tokens": {"x": [1, {"tokens": 2, "raw": 3}], "y": null}, "raw": "first", "imgid": 0},
   {"tokens": "t", "raw": "second"}, {"raw": "third", "tokens": [["a"], []]}],
   "tokens": [1], "split": "test", "cocoid": 9}]})");
  const Dataset d = open_dataset("coco-karpathy:" + dir.path().string(), any_size());
  EXPECT_EQ(d.captions, (std::vector<std::string>{"first", "second", "third"}));
  EXPECT_EQ(d.image_ids, std::vector<std::string>{"9"});
  EXPECT_EQ(d.image_paths, std::vector<fs::path>{dir / "f/1.jpg"});
}

// ---- errors -------------------------------------------------------------------------------

class KarpathyErrors : public ::testing::Test {
 protected:
  // Writes dataset_coco.json and returns the spec that opens it (any size, test split).
  std::string write(const std::string& text) {
    testing::write_text(file(), text);
    return "coco-karpathy:" + dir_.path().string();
  }
  fs::path file() const { return dir_ / "dataset_coco.json"; }
  ::testing::AssertionResult fails(const std::string& text,
                                   std::initializer_list<std::string> parts,
                                   const std::string& split = "test") {
    return open_fails(write(text), parts, any_size(split));
  }

  testing::TempDir dir_;
};

constexpr const char* kGood =
    R"({"filepath": "val2014", "filename": "a.jpg", "cocoid": 7, "split": "test", )"
    R"("sentences": [{"raw": "r"}]})";

TEST_F(KarpathyErrors, UnknownSplitListsTheKnownOnes) {
  EXPECT_TRUE(fails(std::string(R"({"images": [)") + kGood + "]}",
                    {"unknown split 'dev'", "test, val, train, restval"}, "dev"));
}

TEST_F(KarpathyErrors, SyntaxErrorNamesFileLineAndColumn) {
  EXPECT_TRUE(fails("{\"images\": [\n  {\"filepath\": \"val2014\",\n   \"filename\": x}]}",
                    {file().string() + ":3:16: invalid JSON", "invalid literal"}));
  EXPECT_TRUE(fails(std::string("{\"images\": [\n") + kGood + "\n",
                    {file().string() + ":3:1: invalid JSON", "unexpected end of input"}));
  EXPECT_TRUE(fails(std::string(R"({"images": [)") + kGood + "]}\n}",
                    {file().string() + ":2:1: invalid JSON", "expected end of input"}));
  EXPECT_TRUE(fails("", {file().string() + ":1:1: invalid JSON"}));
}

TEST_F(KarpathyErrors, TopLevelShape) {
  EXPECT_TRUE(fails("[1, 2]", {file().string(), "expected a JSON object with an 'images' list"}));
  EXPECT_TRUE(fails(R"({"dataset": "coco"})", {file().string(), "field 'images' missing"}));
  EXPECT_TRUE(fails(R"({"images": {"a": 1}})",
                    {file().string(), "field 'images' must be a list, got an object"}));
  EXPECT_TRUE(fails(R"({"images": 3})", {"field 'images' must be a list, got a number"}));
  EXPECT_TRUE(fails(std::string(R"({"images": [)") + kGood + ", 5]}",
                    {file().string() + ": images[1]: expected a JSON object, got a number"}));
  EXPECT_TRUE(fails(std::string(R"({"images": [)") + kGood + ", [1]]}",
                    {"images[1]: expected a JSON object, got a list"}));
}

TEST_F(KarpathyErrors, OtherTopLevelFieldsAreSkipped) {
  const Dataset d = open_dataset(write(std::string(R"({"info": {"images": [1, {"x": []}]},)") +
                                       R"("images": [)" + kGood + R"(], "dataset": "coco"})"),
                                 any_size());
  EXPECT_EQ(d.image_ids, std::vector<std::string>{"7"});
}

TEST_F(KarpathyErrors, MissingAndMistypedFieldsNameTheEntry) {
  const std::string head = std::string(R"({"images": [)") + kGood + ", ";
  const std::string entry = file().string() + ": images[1] (cocoid 391895)";
  EXPECT_TRUE(fails(head + R"({"filepath": "v", "filename": "b.jpg", "cocoid": 391895,
                               "split": "test"}]})",
                    {entry + ": field 'sentences' missing"}));
  EXPECT_TRUE(fails(head + R"({"filepath": "v", "filename": "b.jpg", "cocoid": 391895,
                               "split": "test", "sentences": []}]})",
                    {entry + ": field 'sentences' is empty"}));
  EXPECT_TRUE(fails(head + R"({"filepath": "v", "filename": "b.jpg", "cocoid": 391895,
                               "split": "test", "sentences": "x"}]})",
                    {entry + ": field 'sentences' must be a list, got a string"}));
  EXPECT_TRUE(fails(head + R"({"filepath": "v", "cocoid": 391895, "split": "test",
                               "sentences": [{"raw": "a"}]}]})",
                    {entry + ": field 'filename' missing"}));
  EXPECT_TRUE(fails(head + R"({"filename": "b.jpg", "cocoid": 391895, "split": "test",
                               "sentences": [{"raw": "a"}]}]})",
                    {entry + ": field 'filepath' missing"}));
  EXPECT_TRUE(fails(head + R"({"filepath": "v", "filename": "b.jpg", "cocoid": 391895,
                               "split": 1, "sentences": [{"raw": "a"}]}]})",
                    {entry + ": field 'split' must be a string, got a number"}));
  EXPECT_TRUE(fails(head + R"({"filepath": "v", "filename": "b.jpg", "cocoid": 391895,
                               "sentences": [{"raw": "a"}]}]})",
                    {entry + ": field 'split' missing"}));
  EXPECT_TRUE(fails(head + R"({"filepath": "v", "filename": "b.jpg", "cocoid": 391895,
                               "split": "test", "sentences": [{"raw": "a"}, {"tokens": []}]}]})",
                    {entry + ": sentences[1]: field 'raw' missing"}));
  EXPECT_TRUE(fails(head + R"({"filepath": "v", "filename": "b.jpg", "cocoid": 391895,
                               "split": "test", "sentences": [{"raw": null}]}]})",
                    {entry + ": sentences[0]: field 'raw' must be a string, got null"}));
  EXPECT_TRUE(fails(head + R"({"filepath": "v", "filename": "b.jpg", "cocoid": 391895,
                               "split": "test", "sentences": ["a"]}]})",
                    {entry + ": sentences[0]: expected a JSON object, got a string"}));
  EXPECT_TRUE(fails(head + R"({"filepath": "v", "filename": "b.jpg", "cocoid": 1.5,
                               "split": "test", "sentences": [{"raw": "a"}]}]})",
                    {file().string() + ": images[1]: field 'cocoid' must be an integer or a "
                                       "string, got a number"}));
  // Entries of other splits are only checked for their split.
  EXPECT_EQ(open_dataset(write(head + R"({"split": "train"}]})"), any_size()).n_images(), 1);
}

TEST_F(KarpathyErrors, ImageWithoutCaptionsInAnotherSplitIsIgnored) {
  const std::string text = std::string(R"({"images": [)") + kGood +
                           R"(, {"filepath": "v", "filename": "b.jpg", "imgid": 3,
                                 "split": "val", "sentences": []}]})";
  EXPECT_EQ(open_dataset(write(text), any_size()).n_images(), 1);
  EXPECT_TRUE(
      fails(text, {file().string() + ": images[1] (imgid 3): field 'sentences' is empty"}, "val"));
}

TEST_F(KarpathyErrors, NoImageInTheSplit) {
  EXPECT_TRUE(fails(std::string(R"({"images": [)") + kGood + "]}",
                    {file().string(), "no images with split 'restval'"}, "restval"));
  EXPECT_TRUE(fails(R"({"images": []})", {file().string(), "no images with split 'test'"}));
}

}  // namespace
}  // namespace vlbench
