// The mainland ID-number check (GB 11643-1999): check characters, canonical form, birth
// dates, and errors that never echo the number.
#include "shared/id_number.h"

#include <gtest/gtest.h>

#include "shared/status.h"

namespace wuye {
namespace {

using absl::CivilDay;

TEST(IdNumberTest, CheckCharactersOfGb11643) {
  EXPECT_EQ(IdCheckCharacter("11010519491231002"), 'X');
  EXPECT_EQ(IdCheckCharacter("11010519660307123"), '9');
  EXPECT_EQ(IdCheckCharacter("44030419640229004"), '9');
}

TEST(IdNumberTest, CanonicalFormAndBirthDate) {
  auto ok = CanonicalIdNumber("11010519491231002x", "id_number", CivilDay(2026, 11, 24));
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(*ok, "11010519491231002X");
  EXPECT_EQ(IdBirthDate(*ok), CivilDay(1949, 12, 31));
}

TEST(IdNumberTest, BadNumbersNameTheFieldAndNeverEchoIt) {
  for (const char* bad : {"", "1101051949123100", "11010519491231002X1", "1101051949123100AX",
                          "110105194912310021", "110105196502290041", "110105202612310010"}) {
    auto st = CanonicalIdNumber(bad, "request.id_number", CivilDay(2026, 11, 24));
    ASSERT_FALSE(st.ok()) << bad;
    EXPECT_EQ(st.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(ErrorField(st.status()), "request.id_number");
    if (*bad) {
      EXPECT_EQ(std::string(st.status().message()).find(bad), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace wuye
