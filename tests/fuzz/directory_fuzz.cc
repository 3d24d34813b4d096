// The directory's validation: any request bytes through the domain checks give OK or a
// field error, never a crash; and what passes is in canonical form.
#include <cstdlib>

#include "services/directory/directory.h"
#include "tests/fuzz/fuzz.h"

namespace v1 = wuye::directory::v1;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  v1::ImportUnitsRequest request;  // the richest: buildings, units, areas, floors
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
  for (auto& unit : *request.mutable_units()) {
    (void)wuye::directory::PrepareImportedUnit(unit, "units");
  }
  v1::Date today;
  today.set_year(2026);
  today.set_month(11);
  today.set_day(24);
  // Reuse the bytes for the other entry points: a resident, a staff member, an estate.
  v1::Resident resident;
  if (resident.ParseFromArray(data, static_cast<int>(size))) {
    (void)wuye::directory::PrepareResident(resident, "resident", today);
  }
  v1::Staff staff;
  if (staff.ParseFromArray(data, static_cast<int>(size))) {
    (void)wuye::directory::PrepareStaff(staff, "staff");
  }
  v1::Estate estate;
  if (estate.ParseFromArray(data, static_cast<int>(size))) {
    (void)wuye::directory::PrepareEstate(estate, "estate");
  }
  v1::Unit unit;
  if (unit.ParseFromArray(data, static_cast<int>(size)) &&
      wuye::directory::PrepareUnit(unit, "unit").ok()) {
    // Canonical areas round-trip.
    auto area = wuye::directory::ParseArea(unit.building_area_m2(), "unit.building_area_m2");
    if (!area.ok() || wuye::directory::FormatArea(*area) != unit.building_area_m2()) std::abort();
  }
  return 0;
}
