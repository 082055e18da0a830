// Winoground examples.jsonl: the bundled mini dataset, the shared fixture and every error.
#include "data_test_util.hpp"
#include "test_util.hpp"

#include "vlbench/core/hash.hpp"
#include "vlbench/data/dataset.hpp"

#include <gtest/gtest.h>

namespace vlbench {
namespace {

namespace fs = std::filesystem;
using testing::open_fails;

const fs::path kMini = testing::repo_path("data/winoground-mini");

TEST(Winoground, BundledMini) {
  DatasetOptions options;
  options.split = "val";  // ignored: Winoground has one split
  const Dataset d = open_dataset("winoground:" + kMini.string(), options);
  testing::expect_consistent(d);
  EXPECT_EQ(d.kind, "winoground");
  EXPECT_EQ(d.split, "all");
  EXPECT_EQ(d.annotation_path, kMini / "examples.jsonl");
  EXPECT_EQ(d.annotation_sha256, sha256_file(kMini / "examples.jsonl"));
  ASSERT_EQ(d.examples.size(), 8u);
  ASSERT_EQ(d.n_images(), 16);
  ASSERT_EQ(d.n_captions(), 16);
  for (std::int32_t i = 0; i < 16; ++i) {
    EXPECT_EQ(d.caption_image[i], i);
    EXPECT_EQ(d.image_caption_begin[i], i);
    const std::string name = "ex_" + std::to_string(i / 2) + "_img_" + std::to_string(i % 2);
    EXPECT_EQ(d.image_ids[i], name);
    EXPECT_EQ(d.image_paths[i], kMini / "images" / (name + ".png"));
    EXPECT_TRUE(fs::is_regular_file(d.image_paths[i])) << d.image_paths[i];
  }
  EXPECT_EQ(d.captions[0], "a red circle above a blue square");
  EXPECT_EQ(d.captions[1], "a blue square above a red circle");
  EXPECT_EQ(d.captions[15], "a small green diamond left of a big yellow triangle");
  std::vector<std::string> collapsed;
  for (const WinogroundExample& e : d.examples) collapsed.push_back(e.collapsed_tag);
  EXPECT_EQ(collapsed, (std::vector<std::string>{"Object", "Relation", "Both", "Object", "Relation",
                                                 "Relation", "Object", "Both"}));
  EXPECT_EQ(d.examples[3].id, "3");
  EXPECT_EQ(d.examples[3].tag, "Noun");
  EXPECT_EQ(d.examples[3].secondary_tag, "Symbolic");
  EXPECT_EQ(d.examples[6].secondary_tag, "Pragmatics");
  EXPECT_EQ(d.examples[5].num_main_preds, 2);
  EXPECT_EQ(d.examples[0].num_main_preds, 1);
}

TEST(Winoground, SharedFixture) {
  const fs::path dir = testing::shared_datasets() / "winoground-mini";
  if (!fs::exists(dir)) GTEST_SKIP() << "shared fixtures not found at " << dir;
  const Dataset d = open_dataset("winoground:" + (dir / "examples.jsonl").string());
  testing::expect_consistent(d);
  EXPECT_EQ(d.annotation_sha256,
            "30f6ce3202d7f216bc98647fd6ff31ee18a3056814f83f496e73da6cf1b61948");
  ASSERT_EQ(d.examples.size(), 6u);
  ASSERT_EQ(d.n_images(), 12);
  EXPECT_EQ(d.image_ids[7], "ex_3_img_1");
  EXPECT_EQ(d.image_paths[7], dir / "images/ex_3_img_1.png");
  EXPECT_EQ(d.captions[6], "a blue triangle left of a orange triangle");
  EXPECT_EQ(d.captions[7], "a orange triangle left of a blue triangle");
  EXPECT_EQ(d.caption_image[7], 7);
  EXPECT_EQ(d.examples[5].id, "5");
  EXPECT_EQ(d.examples[5].tag, "Both");
  EXPECT_EQ(d.examples[5].collapsed_tag, "Both");
  EXPECT_EQ(d.examples[1].collapsed_tag, "Relation");
  for (const fs::path& path : d.image_paths) EXPECT_TRUE(fs::is_regular_file(path)) << path;
}

std::string example(int id, const std::string& extra = "") {
  return "{\"id\": " + std::to_string(id) + ", \"caption_0\": \"c" + std::to_string(2 * id) +
         "\", \"caption_1\": \"c" + std::to_string(2 * id + 1) + "\", \"image_0\": \"ex_" +
         std::to_string(id) + "_img_0\", \"image_1\": \"ex_" + std::to_string(id) +
         "_img_1\", \"tag\": \"Noun\", \"secondary_tag\": \"\", \"num_main_preds\": 1" + extra +
         ", \"collapsed_tag\": \"Object\"}";
}

TEST(Winoground, BlankLinesStringIdsAndImageRoot) {
  testing::TempDir dir;
  testing::write_text(dir / "examples.jsonl",
                      example(0) + "\r\n\n  \n" +
                          R"({"id": "x7", "caption_0": "a", "caption_1": "b", "image_0": "p", )"
                          R"("image_1": "q", "tag": "Verb", "secondary_tag": "Series", )"
                          R"("num_main_preds": 2, "collapsed_tag": "Relation"})"
                          "\n\n");
  DatasetOptions options;
  options.image_root = "/elsewhere";
  const Dataset d = open_dataset("winoground:" + dir.path().string(), options);
  testing::expect_consistent(d);
  ASSERT_EQ(d.examples.size(), 2u);
  EXPECT_EQ(d.examples[1].id, "x7");
  EXPECT_EQ(d.examples[1].secondary_tag, "Series");
  EXPECT_EQ(d.captions, (std::vector<std::string>{"c0", "c1", "a", "b"}));
  EXPECT_EQ(d.image_paths[3], fs::path("/elsewhere/q.png"));
  EXPECT_EQ(d.image_ids[2], "p");
}

class WinogroundErrors : public ::testing::Test {
 protected:
  ::testing::AssertionResult fails(const std::string& text,
                                   std::initializer_list<std::string> parts) {
    testing::write_text(dir_ / "examples.jsonl", text);
    return open_fails("winoground:" + dir_.path().string(), parts);
  }
  std::string where(int line) const {
    return (dir_ / "examples.jsonl").string() + ":" + std::to_string(line);
  }
  testing::TempDir dir_;
};

// The column is nlohmann's: the last byte read, here the end of the unexpected "a".
TEST_F(WinogroundErrors, SyntaxErrorNamesTheLine) {
  EXPECT_TRUE(fails(example(0) + "\n\n" + "{\"id\": 1, \"caption_0\" \"a\"}\n",
                    {where(3) + ":25: invalid JSON", "expected ':'"}));
}

TEST_F(WinogroundErrors, EveryFieldIsRequired) {
  const std::string full = example(1);
  for (const std::string field : {"id", "caption_0", "caption_1", "image_0", "image_1", "tag",
                                  "secondary_tag", "num_main_preds", "collapsed_tag"}) {
    // Remove `"field": value` from the example.
    std::string line = full;
    const std::size_t start = line.find("\"" + field + "\"");
    ASSERT_NE(start, std::string::npos) << field;
    std::size_t end = line.find_first_of(",}", line.find(':', start));
    if (line[end] == ',') ++end;
    line.erase(start, end - start);
    if (line.find(", }") != std::string::npos) line.replace(line.find(", }"), 3, "}");
    EXPECT_TRUE(
        fails(example(0) + "\n" + line + "\n", {where(2) + ": field '" + field + "' missing"}))
        << line;
  }
}

TEST_F(WinogroundErrors, MistypedFields) {
  std::string bad = example(6);
  bad.replace(bad.find("\"c13\""), 5, "13");
  EXPECT_TRUE(fails(example(0) + "\n\n" + example(1) + "\n" + example(2) + "\n" + example(3) +
                        "\n" + example(4) + "\n" + bad + "\n",
                    {where(7) + ": field 'caption_1' must be a string, got a number"}));
  std::string preds = example(0);
  preds.replace(preds.find("\"num_main_preds\": 1"), 19, "\"num_main_preds\": \"1\"");
  EXPECT_TRUE(fails(preds, {where(1) + ": field 'num_main_preds' must be an integer, got a "
                                       "string"}));
  std::string id = example(0);
  id.replace(id.find("\"id\": 0"), 7, "\"id\": [0]");
  EXPECT_TRUE(fails(id, {where(1) + ": field 'id' must be an integer or a string, got a list"}));
  std::string image = example(0);
  image.replace(image.find("\"ex_0_img_1\""), 12, "\"\"");
  EXPECT_TRUE(fails(image, {where(1) + ": field 'image_1' is empty"}));
  EXPECT_TRUE(fails("[1]\n", {where(1) + ": expected a JSON object, got a list"}));
}

TEST_F(WinogroundErrors, EmptyFile) {
  EXPECT_TRUE(fails("\n \n", {(dir_ / "examples.jsonl").string() + ": no examples"}));
}

}  // namespace
}  // namespace vlbench
