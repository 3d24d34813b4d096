#include "shared/staff_roles.h"

#include <gtest/gtest.h>

namespace wuye {
namespace {

namespace ev = ::wuye::events::v1;

TEST(StaffRoles, EveryStaffRoleHasItsTokenNameAndBack) {
  for (int n = ev::StaffRole_MIN; n <= ev::StaffRole_MAX; ++n) {
    if (!ev::StaffRole_IsValid(n) || n == ev::STAFF_ROLE_UNSPECIFIED) continue;
    auto role = static_cast<ev::StaffRole>(n);
    std::string_view name = TokenRoleName(role);
    EXPECT_FALSE(name.empty()) << ev::StaffRole_Name(role);
    EXPECT_EQ(StaffRoleOfToken(name), role) << name;
  }
  EXPECT_EQ(TokenRoleName(ev::STAFF_ROLE_UNSPECIFIED), "");
  EXPECT_EQ(TokenRoleName(static_cast<ev::StaffRole>(999)), "");
  EXPECT_EQ(StaffRoleOfToken("team_lead"), ev::STAFF_ROLE_TEAM_LEAD);
  EXPECT_EQ(StaffRoleOfToken("nurse"), std::nullopt);
  EXPECT_EQ(StaffRoleOfToken("platform_admin"), std::nullopt);
  EXPECT_EQ(StaffRoleOfToken(""), std::nullopt);
}

}  // namespace
}  // namespace wuye
