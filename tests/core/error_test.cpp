#include <vlbench/core/error.hpp>

#include <gtest/gtest.h>

namespace vlbench {
namespace {

TEST(Error, FailFormatsOneLineMessage) {
  try {
    fail("{}: expected {} columns, got {}", "data.csv", 3, 5);
    FAIL() << "fail() returned";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "data.csv: expected 3 columns, got 5");
  }
}

TEST(Error, ErrorIsARuntimeError) {
  EXPECT_THROW(fail("x"), std::runtime_error);
}

TEST(Error, AssertPassesWhenTrue) {
  int evaluations = 0;
  VLB_ASSERT(++evaluations == 1);
  EXPECT_EQ(evaluations, 1);  // the condition is evaluated exactly once
}

TEST(ErrorDeathTest, AssertPrintsExpressionAndLocationThenAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const int two = 2;
  EXPECT_DEATH(VLB_ASSERT(two == 3),
               "vlbench: internal error: assertion `two == 3` failed at .*error_test\\.cpp:[0-9]+");
}

}  // namespace
}  // namespace vlbench
