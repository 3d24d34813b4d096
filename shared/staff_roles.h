// The directory's staff roles (wuye.events.v1.StaffRole, the same numbers as the
// directory API's) and the role names tokens carry (shared/auth.h, roles::).
#pragma once

#include <optional>
#include <string_view>

#include "wuye/events/v1/directory_events.pb.h"

namespace wuye {

// "team_lead" for STAFF_ROLE_TEAM_LEAD; "" for UNSPECIFIED or a number of no role.
std::string_view TokenRoleName(events::v1::StaffRole role);
// The staff role a token's role name stands for; nullopt for a name of no staff role
// ("platform_admin", "nurse", "clinic", "service", ...).
std::optional<events::v1::StaffRole> StaffRoleOfToken(std::string_view name);

}  // namespace wuye
