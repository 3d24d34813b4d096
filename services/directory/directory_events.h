// The payloads of the directory's events (protos/wuye/events/v1/directory_events.proto),
// made from the directory's resources: what other services need of each fact, never a
// name, a phone number or an ID number. Pure functions: no I/O.
#pragma once

#include "absl/strings/string_view.h"
#include "wuye/directory/v1/directory.pb.h"
#include "wuye/events/v1/directory_events.pb.h"

namespace wuye::directory {

events::v1::GroupCreated GroupCreatedOf(const v1::Group& group);
events::v1::EstateChanged EstateChangedOf(const v1::Estate& estate);
events::v1::BuildingCreated BuildingCreatedOf(const v1::Building& building);
events::v1::UnitChanged UnitChangedOf(const v1::Unit& unit);
// `phone_key` keys the hash of the resident's number (shared/phone_key.h); with an empty key,
// or a number that is not a caller's, phone_hash stays empty.
events::v1::ResidentChanged ResidentChangedOf(const v1::Resident& resident,
                                              absl::string_view phone_key);
events::v1::StaffChanged StaffChangedOf(const v1::Staff& staff);
events::v1::ShiftChanged ShiftChangedOf(const v1::Shift& shift, bool deleted);

}  // namespace wuye::directory
