#include "services/directory/directory.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "shared/ids.h"
#include "shared/status.h"
#include "shared/text.h"
#include "shared/zone.h"

namespace wuye::directory {
namespace {

std::string Path(absl::string_view prefix, absl::string_view field) {
  return prefix.empty() ? std::string(field) : absl::StrCat(prefix, ".", field);
}

}  // namespace

absl::StatusOr<int64_t> ParseArea(absl::string_view text, absl::string_view field) {
  constexpr absl::string_view kRule = "a decimal number of m² with at most two decimals";
  if (text.empty()) return FieldError(field, "required");
  size_t dot = text.find('.');
  absl::string_view whole = text.substr(0, dot);
  absl::string_view frac = dot == absl::string_view::npos ? "" : text.substr(dot + 1);
  auto digits = [](absl::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (whole.empty() || whole.size() > 5 || !digits(whole) || frac.size() > 2 || !digits(frac) ||
      (dot != absl::string_view::npos && frac.empty())) {
    return FieldError(field, kRule);
  }
  int64_t w = 0, f = 0;
  (void)absl::SimpleAtoi(whole, &w);
  if (!frac.empty()) (void)absl::SimpleAtoi(frac, &f);
  if (frac.size() == 1) f *= 10;
  int64_t centi = w * 100 + f;
  if (centi <= 0) return FieldError(field, "must be > 0");
  if (centi >= int64_t{100000} * 100) return FieldError(field, "must be < 100000");
  return centi;
}

std::string FormatArea(int64_t centi_m2) {
  return absl::StrFormat("%d.%02d", centi_m2 / 100, centi_m2 % 100);
}

absl::StatusOr<std::string> NormalizePhone(absl::string_view text, absl::string_view field) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c >= '0' && c <= '9') {
      out.push_back(c);
    } else if (c == '+' && i == 0) {
      out.push_back(c);
    } else if (c != ' ' && c != '-') {
      return FieldError(field, "digits, with an optional leading '+', spaces and dashes");
    }
  }
  size_t n = out.size() - (!out.empty() && out[0] == '+' ? 1 : 0);
  if (n < 7 || n > 15) return FieldError(field, "must have 7 to 15 digits");
  return out;
}

absl::Status CheckTimeZone(absl::string_view tz, absl::string_view field) {
  return CheckTimeZoneName(tz, field);
}

bool DateIsSet(const v1::Date& d) { return d.year() != 0 || d.month() != 0 || d.day() != 0; }

absl::Status CheckDate(const v1::Date& d, absl::string_view field) {
  absl::CivilDay day(d.year(), d.month(), d.day());
  if (d.year() < 1900 || d.year() > 2200 || day.year() != d.year() || day.month() != d.month() ||
      day.day() != d.day()) {
    return FieldError(field, "not a real calendar date");
  }
  return absl::OkStatus();
}

std::string DateText(const v1::Date& d) {
  if (!DateIsSet(d)) return "";
  return absl::StrFormat("%04d-%02d-%02d", d.year(), d.month(), d.day());
}

v1::Date DateFromText(absl::string_view text) {
  v1::Date d;
  int y = 0, m = 0, day = 0;
  if (text.size() == 10 && absl::SimpleAtoi(text.substr(0, 4), &y) &&
      absl::SimpleAtoi(text.substr(5, 2), &m) && absl::SimpleAtoi(text.substr(8, 2), &day)) {
    d.set_year(y);
    d.set_month(m);
    d.set_day(day);
  }
  return d;
}

absl::Status CheckTimeOfDay(const v1::TimeOfDay& t, absl::string_view field) {
  if (t.hours() < 0 || t.hours() > 23 || t.minutes() < 0 || t.minutes() > 59) {
    return FieldError(field, "hours 0..23 and minutes 0..59");
  }
  return absl::OkStatus();
}

absl::Status PrepareEstate(v1::Estate& e, absl::string_view prefix) {
  WUYE_RETURN_IF_ERROR(
      CheckText(e.name(), Path(prefix, "name"), 200, Presence::kRequired, Lines::kOne));
  if (e.time_zone().empty()) e.set_time_zone(kDefaultEstateZone);
  WUYE_RETURN_IF_ERROR(CheckTimeZone(e.time_zone(), Path(prefix, "time_zone")));
  // The desk: 24 hours (000_…, 二.5: 实行每日24小时服务接待) unless hours are given; the
  // residential default. Other estates default to 08:00-20:00.
  bool hours = e.has_desk_opens() || e.has_desk_closes();
  if (e.desk_24h() && hours) {
    return FieldError(Path(prefix, "desk_24h"), "not with desk_opens / desk_closes");
  }
  if (!e.desk_24h() && !hours) {
    if (e.kind() == v1::ESTATE_KIND_UNSPECIFIED || e.kind() == v1::ESTATE_KIND_RESIDENTIAL) {
      e.set_desk_24h(true);
    } else {
      e.mutable_desk_opens()->set_hours(8);
      e.mutable_desk_closes()->set_hours(20);
    }
  }
  if (!e.desk_24h()) {
    WUYE_RETURN_IF_ERROR(CheckTimeOfDay(e.desk_opens(), Path(prefix, "desk_opens")));
    WUYE_RETURN_IF_ERROR(CheckTimeOfDay(e.desk_closes(), Path(prefix, "desk_closes")));
    if (e.desk_opens().hours() * 60 + e.desk_opens().minutes() >=
        e.desk_closes().hours() * 60 + e.desk_closes().minutes()) {
      return FieldError(Path(prefix, "desk_closes"), "must be after desk_opens");
    }
  }
  if (!e.duty_phone().empty()) {
    WUYE_ASSIGN_OR_RETURN(std::string phone,
                          NormalizePhone(e.duty_phone(), Path(prefix, "duty_phone")));
    e.set_duty_phone(phone);
  }
  if (e.kind() == v1::ESTATE_KIND_UNSPECIFIED) e.set_kind(v1::ESTATE_KIND_RESIDENTIAL);
  if (!v1::EstateKind_IsValid(e.kind())) return FieldError(Path(prefix, "kind"), "unknown kind");
  if (e.management_fee_fen_per_m2() <= 0) {
    return FieldError(Path(prefix, "management_fee_fen_per_m2"), "must be > 0");
  }
  if (e.management_fee_fen_per_m2() > 100000) {
    return FieldError(Path(prefix, "management_fee_fen_per_m2"), "must be at most 100000");
  }
  if (e.household_count() < 0) return FieldError(Path(prefix, "household_count"), "must be >= 0");
  if (e.address().size() > 500) return FieldError(Path(prefix, "address"), "at most 500 bytes");
  return absl::OkStatus();
}

absl::Status UpdateDeskHours(v1::Estate& e, const v1::Estate& in,
                             const google::protobuf::FieldMask& m, absl::string_view prefix) {
  bool opens = MaskHas(m, "desk_opens"), closes = MaskHas(m, "desk_closes");
  if (opens) *e.mutable_desk_opens() = in.desk_opens();
  if (closes) *e.mutable_desk_closes() = in.desk_closes();
  if (MaskHas(m, "desk_24h")) {
    e.set_desk_24h(in.desk_24h());
    if (in.desk_24h() && !opens && !closes) {
      e.clear_desk_opens();
      e.clear_desk_closes();
    }
    if (!in.desk_24h() && !e.has_desk_opens() && !e.has_desk_closes()) {
      return FieldError(Path(prefix, "desk_opens"), "required when desk_24h is turned off");
    }
  } else if (opens || closes) {
    e.set_desk_24h(false);  // hours given: no longer around the clock
  }
  return absl::OkStatus();
}

absl::Status PrepareBuilding(v1::Building& b, absl::string_view prefix) {
  if (!IsValidId(b.estate_id())) return FieldError(Path(prefix, "estate_id"), "not a valid id");
  WUYE_RETURN_IF_ERROR(
      CheckText(b.name(), Path(prefix, "name"), 64, Presence::kRequired, Lines::kOne));
  if (b.floors() < 0 || b.floors() > 300) return FieldError(Path(prefix, "floors"), "0..300");
  return absl::OkStatus();
}

namespace {
// The fields a created and an imported unit share (Unit and ImportedUnit).
template <class UnitLike>
absl::Status PrepareUnitFields(UnitLike& u, absl::string_view prefix) {
  WUYE_RETURN_IF_ERROR(
      CheckText(u.number(), Path(prefix, "number"), 32, Presence::kRequired, Lines::kOne));
  WUYE_ASSIGN_OR_RETURN(int64_t area,
                        ParseArea(u.building_area_m2(), Path(prefix, "building_area_m2")));
  u.set_building_area_m2(FormatArea(area));
  if (u.type() == v1::UNIT_TYPE_UNSPECIFIED) u.set_type(v1::UNIT_TYPE_APARTMENT);
  if (u.occupancy() == v1::OCCUPANCY_UNSPECIFIED) u.set_occupancy(v1::OCCUPANCY_VACANT);
  if (!v1::UnitType_IsValid(u.type())) return FieldError(Path(prefix, "type"), "unknown type");
  if (!v1::Occupancy_IsValid(u.occupancy())) {
    return FieldError(Path(prefix, "occupancy"), "unknown occupancy");
  }
  if (u.floor() < -10 || u.floor() > 300) return FieldError(Path(prefix, "floor"), "-10..300");
  // Hand-over and move-in days (003_…, Q4 and Q6): real dates, a cleared one is unset, and
  // nobody moves in before the unit is handed over.
  if (!DateIsSet(u.handover_date())) u.clear_handover_date();
  if (!DateIsSet(u.move_in_date())) u.clear_move_in_date();
  if (u.has_handover_date()) {
    WUYE_RETURN_IF_ERROR(CheckDate(u.handover_date(), Path(prefix, "handover_date")));
  }
  if (u.has_move_in_date()) {
    WUYE_RETURN_IF_ERROR(CheckDate(u.move_in_date(), Path(prefix, "move_in_date")));
    if (u.has_handover_date() && DateText(u.move_in_date()) < DateText(u.handover_date())) {
      return FieldError(Path(prefix, "move_in_date"), "not before handover_date");
    }
  }
  return absl::OkStatus();
}
}  // namespace

absl::Status PrepareUnit(v1::Unit& u, absl::string_view prefix) {
  if (!IsValidId(u.building_id())) {
    return FieldError(Path(prefix, "building_id"), "not a valid id");
  }
  return PrepareUnitFields(u, prefix);
}

absl::Status PrepareImportedUnit(v1::ImportedUnit& u, absl::string_view prefix) {
  WUYE_RETURN_IF_ERROR(CheckText(u.building_name(), Path(prefix, "building_name"), 64,
                                 Presence::kRequired, Lines::kOne));
  return PrepareUnitFields(u, prefix);
}

absl::Status PrepareResident(v1::Resident& r, absl::string_view prefix, const v1::Date& today) {
  if (!IsValidId(r.unit_id())) return FieldError(Path(prefix, "unit_id"), "not a valid id");
  WUYE_RETURN_IF_ERROR(
      CheckText(r.name(), Path(prefix, "name"), 100, Presence::kRequired, Lines::kOne));
  if (!r.phone().empty()) {
    WUYE_ASSIGN_OR_RETURN(std::string phone, NormalizePhone(r.phone(), Path(prefix, "phone")));
    r.set_phone(phone);
  }
  if (r.role() == v1::RESIDENT_ROLE_UNSPECIFIED || !v1::ResidentRole_IsValid(r.role())) {
    return FieldError(Path(prefix, "role"), "owner, tenant or family");
  }
  if (r.has_date_of_birth()) {
    WUYE_RETURN_IF_ERROR(CheckDate(r.date_of_birth(), Path(prefix, "date_of_birth")));
    if (DateText(r.date_of_birth()) > DateText(today)) {
      return FieldError(Path(prefix, "date_of_birth"), "must not be in the future");
    }
  }
  if (r.has_lease_start())
    WUYE_RETURN_IF_ERROR(CheckDate(r.lease_start(), Path(prefix, "lease_start")));
  if (r.has_lease_end()) WUYE_RETURN_IF_ERROR(CheckDate(r.lease_end(), Path(prefix, "lease_end")));
  if (r.has_lease_start() && r.has_lease_end() &&
      DateText(r.lease_end()) < DateText(r.lease_start())) {
    return FieldError(Path(prefix, "lease_end"), "must not be before lease_start");
  }
  if ((r.has_lease_start() || r.has_lease_end()) && r.role() != v1::RESIDENT_ROLE_TENANT) {
    return FieldError(Path(prefix, "lease_start"), "only tenants have a lease");
  }
  // The move-out day (000_…, 二.5: only a resident's call counts): a real date, and a tenant
  // does not move out before the lease starts.
  if (!DateIsSet(r.move_out_date())) r.clear_move_out_date();
  if (r.has_move_out_date()) {
    WUYE_RETURN_IF_ERROR(CheckDate(r.move_out_date(), Path(prefix, "move_out_date")));
    if (r.has_lease_start() && DateText(r.move_out_date()) < DateText(r.lease_start())) {
      return FieldError(Path(prefix, "move_out_date"), "must not be before lease_start");
    }
  }
  return absl::OkStatus();
}

absl::Status PrepareStaff(v1::Staff& s, absl::string_view prefix) {
  WUYE_RETURN_IF_ERROR(
      CheckText(s.name(), Path(prefix, "name"), 100, Presence::kRequired, Lines::kOne));
  if (!s.phone().empty()) {
    WUYE_ASSIGN_OR_RETURN(std::string phone, NormalizePhone(s.phone(), Path(prefix, "phone")));
    s.set_phone(phone);
  }
  if (s.roles().empty()) return FieldError(Path(prefix, "roles"), "at least one role");
  for (int r : s.roles()) {
    if (r == v1::STAFF_ROLE_UNSPECIFIED || !v1::StaffRole_IsValid(r)) {
      return FieldError(Path(prefix, "roles"), "unknown role");
    }
  }
  for (int k : s.skills()) {
    if (k == v1::SKILL_UNSPECIFIED || !v1::Skill_IsValid(k)) {
      return FieldError(Path(prefix, "skills"), "unknown skill");
    }
  }
  if (s.home_estate_ids().empty()) {
    return FieldError(Path(prefix, "home_estate_ids"), "at least one estate");
  }
  for (const auto& id : s.home_estate_ids()) {
    if (!IsValidId(id)) return FieldError(Path(prefix, "home_estate_ids"), "not a valid id");
  }
  if (s.has_start_date())
    WUYE_RETURN_IF_ERROR(CheckDate(s.start_date(), Path(prefix, "start_date")));
  return absl::OkStatus();
}

absl::Status CheckShift(const v1::Shift& s, absl::string_view prefix) {
  if (!IsValidId(s.estate_id())) return FieldError(Path(prefix, "estate_id"), "not a valid id");
  if (!IsValidId(s.staff_id())) return FieldError(Path(prefix, "staff_id"), "not a valid id");
  if (!s.has_start_time()) return FieldError(Path(prefix, "start_time"), "required");
  if (!s.has_end_time()) return FieldError(Path(prefix, "end_time"), "required");
  int64_t start = s.start_time().seconds(), end = s.end_time().seconds();
  if (end - start < 60)
    return FieldError(Path(prefix, "end_time"), "at least 1 minute after start_time");
  if (end - start > int64_t{24} * 3600) {
    return FieldError(Path(prefix, "end_time"), "at most 24 hours after start_time");
  }
  return absl::OkStatus();
}

absl::Status CheckMask(const google::protobuf::FieldMask& mask,
                       std::initializer_list<absl::string_view> allowed) {
  if (mask.paths().empty()) return FieldError("update_mask", "name at least one field");
  for (const auto& path : mask.paths()) {
    if (std::find(allowed.begin(), allowed.end(), path) == allowed.end()) {
      return FieldError("update_mask", absl::StrCat("field ", path, " cannot be updated"));
    }
  }
  return absl::OkStatus();
}

bool MaskHas(const google::protobuf::FieldMask& mask, absl::string_view path) {
  return std::find(mask.paths().begin(), mask.paths().end(), path) != mask.paths().end();
}

}  // namespace wuye::directory
