#include <vlbench/core/error.hpp>
#include <vlbench/eval/compare.hpp>

#include <gtest/gtest.h>

namespace vlbench {
namespace {

TEST(Compare, EveryMetricOfEveryDirection) {
  PerQuery a, b;
  for (int q = 0; q < 200; ++q) {
    a.t2i_rank.push_back(q % 4 == 0 ? 1 : 20);  // R@1 = 0.25
    b.t2i_rank.push_back(q % 2 == 0 ? 1 : 20);  // R@1 = 0.50, fixes queries, breaks none
    a.i2t_rank.push_back(3);
    b.i2t_rank.push_back(3);
  }
  const auto result = compare_per_query(a, b, {500, 1}, 2);
  ASSERT_EQ(result.size(), 10u);
  EXPECT_EQ(result[0].name, "t2i.r1");
  EXPECT_DOUBLE_EQ(result[0].result.a, 0.25);
  EXPECT_DOUBLE_EQ(result[0].result.b, 0.5);
  EXPECT_DOUBLE_EQ(result[0].result.diff.value, 0.25);
  EXPECT_LT(result[0].result.p_value, 0.01);
  EXPECT_EQ(result[4].name, "t2i.median_rank");
  EXPECT_DOUBLE_EQ(result[4].result.a, 20.0);
  EXPECT_DOUBLE_EQ(result[4].result.b, 10.5);
  EXPECT_EQ(result[5].name, "i2t.r1");
  EXPECT_EQ(result[5].result.p_value, 1.0);  // identical
}

TEST(Compare, WinogroundOutcomes) {
  PerQuery a, b;
  a.winoground_outcome = {7, 0, 1, 2};
  b.winoground_outcome = {7, 7, 1, 2};
  const auto result = compare_per_query(a, b, {200, 1}, 1);
  ASSERT_EQ(result.size(), 3u);
  EXPECT_EQ(result[2].name, "winoground.group");
  EXPECT_DOUBLE_EQ(result[2].result.a, 0.25);
  EXPECT_DOUBLE_EQ(result[2].result.b, 0.5);
}

TEST(Compare, DifferentQueriesAreAnError) {
  PerQuery a, b;
  a.t2i_rank = {1, 2, 3};
  b.t2i_rank = {1, 2};
  try {
    compare_per_query(a, b, {100, 0}, 1);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("A has 3 per-query values, B has 2"), std::string::npos);
  }
}

}  // namespace
}  // namespace vlbench
