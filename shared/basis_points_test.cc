#include "shared/basis_points.h"

#include <limits>

#include "gtest/gtest.h"

namespace wuye {
namespace {

// Issue 21, item 3: one rounding rule for every share (billing's collection rate and arrears
// share, performance's callback coverage, intake's callback share): down.
TEST(BasisPoints, RoundsDown) {
  EXPECT_EQ(BasisPoints(95, 100, 0), 9500);
  EXPECT_EQ(BasisPoints(9499999, 10000000, 0), 9499);  // 94.99999 % is not 95 %
  EXPECT_EQ(BasisPoints(1, 3, 0), 3333);
  EXPECT_EQ(BasisPoints(2, 3, 0), 6666);
  EXPECT_EQ(BasisPoints(10, 10, 0), 10000);
}

TEST(BasisPoints, EmptyWholeAndNothingDone) {
  EXPECT_EQ(BasisPoints(5, 0, 10000), 10000);
  EXPECT_EQ(BasisPoints(0, 0, 0), 0);
  EXPECT_EQ(BasisPoints(3, -1, 7), 7);
  EXPECT_EQ(BasisPoints(0, 10, 7), 0);
  EXPECT_EQ(BasisPoints(-4, 10, 7), 0);
}

TEST(BasisPoints, LargeAndOverFullValues) {
  EXPECT_EQ(BasisPoints(12, 10, 0), 12000);  // not capped at 100 %
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(BasisPoints(kMax, kMax, 0), 10000);  // no overflow in part * 10000
  EXPECT_EQ(BasisPoints(kMax, 1, 0), std::numeric_limits<int32_t>::max());
}

}  // namespace
}  // namespace wuye
