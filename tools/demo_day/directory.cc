// The morning: the demo group as the directory has it (wuye-demo loaded it): its estates,
// their buildings, units and residents, and the staff.
#include "absl/strings/match.h"
#include "tools/demo_day/day.h"

namespace wuye::demo {

absl::Status Day::LoadDirectory() {
  std::string token = Admin();
  dirpb::ListEstatesRequest le;
  le.set_page_size(1000);
  dirpb::ListEstatesResponse estates;
  WUYE_RETURN_IF_ERROR(Call("directory.ListEstates", token,
                            [&](auto* ctx) { return dir_->ListEstates(ctx, le, &estates); }));
  for (const auto& e : estates.estates()) {
    for (const v1::EstatePlan& plan : script_->estate()) {
      if (!absl::StartsWith(e.name(), plan.name_prefix())) continue;
      const std::string& key = plan.key();
      Estate& es = estates_[key];
      es.key = key;
      es.id = e.id();
      es.name = e.name();
      es.time_zone = e.time_zone();
      es.households = e.household_count();
    }
  }
  if (estates_.size() != static_cast<size_t>(script_->estate_size())) {
    return absl::FailedPreconditionError(
        "directory: the demo estates are not there (run wuye-demo without the day first)");
  }
  for (auto& [key, es] : estates_) {
    dirpb::ListBuildingsRequest lb;
    lb.set_estate_id(es.id);
    lb.set_page_size(1000);
    dirpb::ListBuildingsResponse buildings;
    WUYE_RETURN_IF_ERROR(Call("directory.ListBuildings", token,
                              [&](auto* ctx) { return dir_->ListBuildings(ctx, lb, &buildings); }));
    std::map<std::string, std::string> building_names;
    for (const auto& b : buildings.buildings()) building_names[b.id()] = b.name();
    dirpb::ListUnitsRequest lu;
    lu.set_estate_id(es.id);
    lu.set_page_size(1000);
    do {
      dirpb::ListUnitsResponse page;
      WUYE_RETURN_IF_ERROR(Call("directory.ListUnits", token,
                                [&](auto* ctx) { return dir_->ListUnits(ctx, lu, &page); }));
      for (const auto& u : page.units()) {
        es.units.push_back(u);
        es.unit_keys[u.id()] =
            absl::StrCat(key, "/", building_names[u.building_id()], "/", u.number());
      }
      lu.set_page_token(page.next_page_token());
    } while (!lu.page_token().empty());
    dirpb::ListResidentsRequest lr;
    lr.set_estate_id(es.id);
    lr.set_page_size(1000);
    dirpb::ListResidentsResponse residents;
    WUYE_RETURN_IF_ERROR(Call("directory.ListResidents", token,
                              [&](auto* ctx) { return dir_->ListResidents(ctx, lr, &residents); }));
    for (const auto& r : residents.residents()) es.residents[r.name()] = r;
  }
  dirpb::ListStaffRequest ls;
  ls.set_page_size(1000);
  dirpb::ListStaffResponse staff;
  WUYE_RETURN_IF_ERROR(Call("directory.ListStaff", token,
                            [&](auto* ctx) { return dir_->ListStaff(ctx, ls, &staff); }));
  for (const auto& st : staff.staff()) {
    staff_[st.name()] = st;
    staff_names_[st.id()] = st.name();
  }
  Log(absl::StrFormat("directory: %d estates, %d staff", estates_.size(), staff_.size()));
  return absl::OkStatus();
}

}  // namespace wuye::demo
