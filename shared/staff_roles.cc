#include "shared/staff_roles.h"

#include "shared/auth.h"

namespace wuye {
namespace {

namespace ev = ::wuye::events::v1;

struct Pair {
  ev::StaffRole role;
  std::string_view name;
};
constexpr Pair kPairs[] = {
    {ev::STAFF_ROLE_AGENT, roles::kAgent},
    {ev::STAFF_ROLE_TEAM_LEAD, roles::kTeamLead},
    {ev::STAFF_ROLE_SUPERVISOR, roles::kSupervisor},
    {ev::STAFF_ROLE_ESTATE_MANAGER, roles::kEstateManager},
    {ev::STAFF_ROLE_TECHNICIAN, roles::kTechnician},
    {ev::STAFF_ROLE_CLEANER, roles::kCleaner},
    {ev::STAFF_ROLE_GARDENER, roles::kGardener},
    {ev::STAFF_ROLE_SECURITY_GUARD, roles::kSecurityGuard},
    {ev::STAFF_ROLE_CARE_WORKER, roles::kCareWorker},
    {ev::STAFF_ROLE_FINANCE_CLERK, roles::kFinanceClerk},
    {ev::STAFF_ROLE_QUALITY_INSPECTOR, roles::kQualityInspector},
    {ev::STAFF_ROLE_GROUP_ADMIN, roles::kGroupAdmin},
};

}  // namespace

std::string_view TokenRoleName(ev::StaffRole role) {
  for (const Pair& p : kPairs) {
    if (p.role == role) return p.name;
  }
  return "";
}

std::optional<ev::StaffRole> StaffRoleOfToken(std::string_view name) {
  for (const Pair& p : kPairs) {
    if (p.name == name) return p.role;
  }
  return std::nullopt;
}

}  // namespace wuye
