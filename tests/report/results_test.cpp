#include "test_util.hpp"

#include <vlbench/core/atomic_file.hpp>
#include <vlbench/core/error.hpp>
#include <vlbench/report/results.hpp>

#include <gtest/gtest.h>

namespace vlbench {
namespace {

using testing::TempDir;

Dataset tiny_dataset() {
  Dataset d;
  d.kind = "coco-karpathy";
  d.split = "test";
  d.annotation_path = "dataset_coco.json";
  d.annotation_sha256 = std::string(64, 'a');
  d.image_paths = {"a.jpg", "b.jpg"};
  d.captions = {"x", "y", "z"};
  d.caption_image = {0, 0, 1};
  d.image_caption_begin = {0, 2, 3};
  return d;
}

EvalResult tiny_result() {
  EvalResult r;
  r.protocol = "standard";
  RetrievalMetrics t2i;
  t2i.direction = Direction::t2i;
  t2i.n_queries = 3;
  t2i.n_gallery = 2;
  t2i.r1 = {0.5836, 0.57, 0.598};
  t2i.r5 = {1, 1, 1};
  t2i.r10 = {1, 1, 1};
  t2i.mrr = {0.75, 0.5, 1};
  t2i.median_rank = {1.5, 1, 2};
  t2i.ties = 1;
  t2i.ranks = {1, 2, 1};
  RetrievalMetrics i2t = t2i;
  i2t.direction = Direction::i2t;
  i2t.n_queries = 2;
  i2t.n_gallery = 3;
  i2t.ranks = {3, 1};
  r.t2i = t2i;
  r.i2t = i2t;
  return r;
}

ResultsContext tiny_context() {
  ResultsContext c;
  c.model = {{"name", "clip-x"}};
  c.embeddings = nlohmann::ordered_json::object();
  c.command = "eval";
  return c;
}

TEST(Results, WriteReadRoundTripKeepsPerQueryValues) {
  TempDir dir;
  const EvalResult result = tiny_result();
  write_results(dir / "r.json", make_results_document(tiny_dataset(), result, tiny_context()),
                result);
  const LoadedResults loaded = read_results(dir / "r.json");
  EXPECT_EQ(loaded.document["schema"], "vlbench.results/1");
  EXPECT_EQ(loaded.document["per_query"], "r.per_query.npy");
  EXPECT_EQ(loaded.document["per_query_layout"]["i2t_rank"], nlohmann::ordered_json({3, 2}));
  EXPECT_EQ(loaded.per_query.t2i_rank, (std::vector<std::int32_t>{1, 2, 1}));
  EXPECT_EQ(loaded.per_query.i2t_rank, (std::vector<std::int32_t>{3, 1}));
  EXPECT_TRUE(loaded.per_query.winoground_outcome.empty());
  EXPECT_DOUBLE_EQ(loaded.document["metrics"]["t2i"]["r1"]["value"].get<double>(), 0.5836);
  EXPECT_EQ(loaded.document["dataset"]["captions"], 3);
}

TEST(Results, MarkdownShowsPercentWithIntervals) {
  TempDir dir;
  const EvalResult result = tiny_result();
  write_results(dir / "r.json", make_results_document(tiny_dataset(), result, tiny_context()),
                result);
  const std::string md = render_markdown({read_results(dir / "r.json")});
  EXPECT_NE(md.find("| clip-x | coco-karpathy (test) | standard | 58.4 [57.0, 59.8] | 100.0 "
                    "[100.0, 100.0] |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| clip-x | coco-karpathy (test) | standard | t2i | 3 | 2 | 1.5 [1.0, 2.0] | "
                    "0.750 [0.500, 1.000] | 1 |"),
            std::string::npos)
      << md;
  const std::string csv = render_csv({read_results(dir / "r.json")});
  EXPECT_NE(csv.find("clip-x,coco-karpathy,test,standard,t2i.r1,0.5836,0.57,0.598,3\n"),
            std::string::npos)
      << csv;
}

TEST(Results, BadDocumentsAreNamedErrors) {
  TempDir dir;
  const auto message_of = [](const std::filesystem::path& p) -> std::string {
    try {
      read_results(p);
    } catch (const Error& e) {
      return e.what();
    }
    return "(no error)";
  };
  testing::write_text(dir / "other.json", R"({"schema": "something/2"})");
  EXPECT_NE(message_of(dir / "other.json").find("schema is \"something/2\""), std::string::npos);
  testing::write_text(dir / "broken.json", "{\"schema\": ");
  EXPECT_NE(message_of(dir / "broken.json").find("broken.json: not valid JSON"), std::string::npos);
  testing::write_text(dir / "huge.json", R"({"schema": 1e400})");  // out_of_range, not syntax
  EXPECT_NE(message_of(dir / "huge.json").find("huge.json: not valid JSON ([json.exception."
                                               "out_of_range.406] number overflow"),
            std::string::npos)
      << message_of(dir / "huge.json");

  const EvalResult result = tiny_result();
  write_results(dir / "r.json", make_results_document(tiny_dataset(), result, tiny_context()),
                result);
  std::filesystem::remove(dir / "r.per_query.npy");
  EXPECT_NE(message_of(dir / "r.json").find("r.per_query.npy"), std::string::npos);
}

TEST(Results, CompareRefusesDifferentDatasets) {
  TempDir dir;
  const EvalResult result = tiny_result();
  Dataset other = tiny_dataset();
  other.annotation_sha256 = std::string(64, 'b');
  write_results(dir / "a.json", make_results_document(tiny_dataset(), result, tiny_context()),
                result);
  write_results(dir / "b.json", make_results_document(other, result, tiny_context()), result);
  try {
    compare_results(read_results(dir / "a.json"), read_results(dir / "b.json"), {100, 0}, 1);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not comparable: dataset sha256 differs"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace vlbench
