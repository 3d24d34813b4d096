#include "services/directory/directory_events.h"

#include "services/directory/directory.h"
#include "shared/phone_key.h"

namespace wuye::directory {
namespace {

namespace ev = ::wuye::events::v1;

ev::CivilDate CivilDateOf(const v1::Date& d) {
  ev::CivilDate out;
  out.set_year(d.year());
  out.set_month(d.month());
  out.set_day(d.day());
  return out;
}

int MinuteOf(const v1::TimeOfDay& t) { return t.hours() * 60 + t.minutes(); }

}  // namespace

ev::GroupCreated GroupCreatedOf(const v1::Group& group) {
  ev::GroupCreated out;
  out.set_group_id(group.id());
  out.set_name(group.name());
  return out;
}

ev::EstateChanged EstateChangedOf(const v1::Estate& estate) {
  ev::EstateChanged out;
  out.set_estate_id(estate.id());
  out.set_name(estate.name());
  out.set_time_zone(estate.time_zone());
  out.set_management_fee_fen_per_m2(estate.management_fee_fen_per_m2());
  out.set_household_count(estate.household_count());
  // An estate that names no hours has its desk open around the clock.
  out.set_desk_24h(estate.desk_24h() || (!estate.has_desk_opens() && !estate.has_desk_closes()));
  if (!out.desk_24h()) {
    out.set_desk_opens_minute(MinuteOf(estate.desk_opens()));
    out.set_desk_closes_minute(MinuteOf(estate.desk_closes()));
  }
  out.set_version(estate.version());
  return out;
}

ev::BuildingCreated BuildingCreatedOf(const v1::Building& building) {
  ev::BuildingCreated out;
  out.set_building_id(building.id());
  out.set_estate_id(building.estate_id());
  out.set_name(building.name());
  out.set_floors(building.floors());
  return out;
}

ev::UnitChanged UnitChangedOf(const v1::Unit& unit) {
  ev::UnitChanged out;
  out.set_unit_id(unit.id());
  out.set_estate_id(unit.estate_id());
  out.set_building_id(unit.building_id());
  out.set_number(unit.number());
  out.set_building_area_m2(unit.building_area_m2());
  out.set_type(static_cast<ev::UnitType>(unit.type()));
  out.set_occupancy(static_cast<ev::Occupancy>(unit.occupancy()));
  out.set_handed_over(unit.handed_over());
  out.set_floor(unit.floor());
  out.set_version(unit.version());
  if (DateIsSet(unit.handover_date()))
    *out.mutable_handover_date() = CivilDateOf(unit.handover_date());
  if (DateIsSet(unit.move_in_date()))
    *out.mutable_move_in_date() = CivilDateOf(unit.move_in_date());
  return out;
}

ev::ResidentChanged ResidentChangedOf(const v1::Resident& resident, absl::string_view phone_key) {
  ev::ResidentChanged out;
  out.set_resident_id(resident.id());
  out.set_estate_id(resident.estate_id());
  out.set_unit_id(resident.unit_id());
  out.set_role(static_cast<ev::ResidentRole>(resident.role()));
  if (DateIsSet(resident.lease_start()))
    *out.mutable_lease_start() = CivilDateOf(resident.lease_start());
  if (DateIsSet(resident.lease_end())) *out.mutable_lease_end() = CivilDateOf(resident.lease_end());
  if (DateIsSet(resident.move_out_date())) {
    *out.mutable_move_out_date() = CivilDateOf(resident.move_out_date());
  }
  if (DateIsSet(resident.date_of_birth())) {
    *out.mutable_date_of_birth() = CivilDateOf(resident.date_of_birth());
  }
  if (!phone_key.empty()) {
    // The number as intake reads a caller's; one it cannot read matches no call.
    if (auto digits = NormalizeCallerPhone(resident.phone(), "phone");
        digits.ok() && !digits->empty()) {
      out.set_phone_hash(HashPhone(phone_key, *digits));
    }
  }
  out.set_version(resident.version());
  return out;
}

ev::StaffChanged StaffChangedOf(const v1::Staff& staff) {
  ev::StaffChanged out;
  out.set_staff_id(staff.id());
  for (int role : staff.roles()) out.add_roles(static_cast<ev::StaffRole>(role));
  for (int skill : staff.skills()) out.add_skills(static_cast<ev::Skill>(skill));
  *out.mutable_home_estate_ids() = staff.home_estate_ids();
  out.set_active(staff.active());
  if (DateIsSet(staff.start_date())) *out.mutable_start_date() = CivilDateOf(staff.start_date());
  out.set_version(staff.version());
  return out;
}

ev::ShiftChanged ShiftChangedOf(const v1::Shift& shift, bool deleted) {
  ev::ShiftChanged out;
  out.set_shift_id(shift.id());
  out.set_estate_id(shift.estate_id());
  out.set_staff_id(shift.staff_id());
  if (shift.has_start_time()) *out.mutable_start_time() = shift.start_time();
  if (shift.has_end_time()) *out.mutable_end_time() = shift.end_time();
  out.set_deleted(deleted);
  return out;
}

}  // namespace wuye::directory
