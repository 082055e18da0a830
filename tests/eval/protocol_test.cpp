#include "eval/eval_test_util.hpp"

#include <vlbench/core/error.hpp>
#include <vlbench/eval/protocol.hpp>

#include <gtest/gtest.h>

namespace vlbench {
namespace {

using testing::make_dataset;

// Image 1 has 6 captions, as a few real COCO images do.
const Dataset kDataset = make_dataset({5, 6, 5});

TEST(Protocol, StandardUsesEveryCaptionBothWays) {
  const RetrievalTask t2i = make_task(kDataset, Protocol::standard, Direction::t2i);
  ASSERT_EQ(t2i.n_queries(), 16);
  ASSERT_EQ(t2i.n_gallery(), 3);
  // Caption 10 is the 6th caption of image 1; caption 11 the first of image 2.
  EXPECT_EQ(t2i.target_ids[t2i.target_begin[10]], 1);
  EXPECT_EQ(t2i.target_ids[t2i.target_begin[11]], 2);
  for (std::int64_t q = 0; q < t2i.n_queries(); ++q) {
    EXPECT_EQ(t2i.target_begin[q + 1] - t2i.target_begin[q], 1);
  }

  const RetrievalTask i2t = make_task(kDataset, Protocol::standard, Direction::i2t);
  ASSERT_EQ(i2t.n_queries(), 3);
  ASSERT_EQ(i2t.n_gallery(), 16);
  EXPECT_EQ(i2t.target_begin, (std::vector<std::int64_t>{0, 5, 11, 16}));
  EXPECT_EQ(i2t.target_ids[5], 5);
  EXPECT_EQ(i2t.target_ids[10], 10);
}

TEST(Protocol, SeedUsesFirstCaptionsForTextToImageOnly) {
  const RetrievalTask t2i = make_task(kDataset, Protocol::seed, Direction::t2i);
  EXPECT_EQ(t2i.query_rows, (std::vector<std::int32_t>{0, 5, 11}));
  EXPECT_EQ(t2i.target_ids, (std::vector<std::int32_t>{0, 1, 2}));
  const RetrievalTask i2t = make_task(kDataset, Protocol::seed, Direction::i2t);
  EXPECT_EQ(i2t.n_gallery(), 16);
  EXPECT_EQ(i2t.target_begin.back(), 16);
}

TEST(Protocol, SymmetricUsesFirstCaptionsBothWays) {
  const RetrievalTask t2i = make_task(kDataset, Protocol::symmetric, Direction::t2i);
  EXPECT_EQ(t2i.query_rows, (std::vector<std::int32_t>{0, 5, 11}));
  const RetrievalTask i2t = make_task(kDataset, Protocol::symmetric, Direction::i2t);
  EXPECT_EQ(i2t.gallery_rows, (std::vector<std::int32_t>{0, 5, 11}));
  EXPECT_EQ(i2t.target_ids, (std::vector<std::int32_t>{0, 1, 2}));
  EXPECT_EQ(i2t.target_begin, (std::vector<std::int64_t>{0, 1, 2, 3}));
}

TEST(Protocol, NamesRoundTripAndUnknownIsAnError) {
  for (Protocol p : {Protocol::seed, Protocol::standard, Protocol::symmetric}) {
    EXPECT_EQ(parse_protocol(protocol_name(p)), p);
  }
  try {
    parse_protocol("karpathy");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'karpathy'"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("seed, standard or symmetric"), std::string::npos);
  }
}

}  // namespace
}  // namespace vlbench
