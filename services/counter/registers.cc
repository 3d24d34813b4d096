#include "services/counter/registers.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "shared/ids.h"
#include "shared/proto_time.h"
#include "shared/status.h"
#include "shared/text.h"

namespace wuye::counter {
namespace {

absl::Status CheckOptionalId(absl::string_view id, absl::string_view field) {
  if (!id.empty() && !IsValidId(id)) return FieldError(field, "not a valid id");
  return absl::OkStatus();
}

absl::Status CheckName(absl::string_view name, absl::string_view field, Presence presence) {
  WUYE_RETURN_IF_ERROR(CheckText(name, field, 50, presence, Lines::kOne));
  return CheckNoPersonalNumbers(name, field);
}

// An optional due time, after `now`.
absl::Status CheckDue(const google::protobuf::Timestamp& due, bool has_due, absl::Time now,
                      absl::string_view field) {
  if (!has_due) return absl::OkStatus();
  if (FromProtoTime(due) <= now) return FieldError(field, "must be after now");
  return absl::OkStatus();
}

}  // namespace

// ---- keys -------------------------------------------------------------------------------

absl::Status CheckNewKey(const pb::CreateKeyRequest& req) {
  const auto& opens = req.opens();
  WUYE_RETURN_IF_ERROR(CheckId(opens.estate_id(), "opens.estate_id"));
  switch (opens.place_case()) {
    case common::v1::Location::kUnitId:
      WUYE_RETURN_IF_ERROR(CheckId(opens.unit_id(), "opens.unit_id"));
      break;
    case common::v1::Location::kCommonArea:
      WUYE_RETURN_IF_ERROR(CheckText(opens.common_area(), "opens.common_area", 200,
                                     Presence::kRequired, Lines::kOne));
      break;
    default:
      return FieldError("opens", "a unit_id or a common_area is required");
  }
  WUYE_RETURN_IF_ERROR(CheckText(req.number(), "number", 32, Presence::kRequired, Lines::kOne));
  return CheckText(req.label(), "label", 100, Presence::kOptional, Lines::kOne);
}

absl::Status CheckLoanRequest(const pb::LendKeyRequest& req, absl::Time now) {
  WUYE_RETURN_IF_ERROR(CheckId(req.key_id(), "key_id"));
  const bool staff = !req.borrower_staff_id().empty(), named = !req.borrower_name().empty();
  if (staff == named) {
    return FieldError("borrower_staff_id", "exactly one of borrower_staff_id and borrower_name");
  }
  if (staff) WUYE_RETURN_IF_ERROR(CheckId(req.borrower_staff_id(), "borrower_staff_id"));
  if (named)
    WUYE_RETURN_IF_ERROR(CheckName(req.borrower_name(), "borrower_name", Presence::kRequired));
  WUYE_RETURN_IF_ERROR(CheckText(req.purpose(), "purpose", 200, Presence::kRequired, Lines::kMany));
  WUYE_RETURN_IF_ERROR(CheckNoPersonalNumbers(req.purpose(), "purpose"));
  return CheckDue(req.due_time(), req.has_due_time(), now, "due_time");
}

absl::Status CanLend(pb::KeyState state) {
  if (state == pb::KEY_STATE_LENT) {
    return Refused("key_id: the key is out on a loan", "KEY_ALREADY_LENT");
  }
  if (state == pb::KEY_STATE_MISSING) {
    return Refused("key_id: the last check did not find the key", "KEY_MISSING");
  }
  return absl::OkStatus();
}

absl::Status CanReturn(pb::KeyState state) {
  if (state != pb::KEY_STATE_LENT) return Refused("key_id: the key is not lent", "KEY_NOT_LENT");
  return absl::OkStatus();
}

absl::StatusOr<CheckPlan> PlanCheck(const std::vector<KeyAtCheck>& keys,
                                    const google::protobuf::RepeatedPtrField<std::string>& found) {
  std::map<std::string, const KeyAtCheck*> by_number;
  for (const KeyAtCheck& k : keys) by_number[k.number] = &k;
  std::map<std::string, int> seen;  // number → its index in `found`
  for (int i = 0; i < found.size(); ++i) {
    const std::string field = absl::StrCat("found_numbers[", i, "]");
    auto it = by_number.find(found[i]);
    if (it == by_number.end()) return FieldError(field, "not a key of the estate");
    if (!seen.emplace(found[i], i).second) return FieldError(field, "listed twice");
    if (it->second->state == pb::KEY_STATE_LENT) {
      return Refused(absl::StrCat(field, ": the key is out on a loan; return it first"),
                     "KEY_LENT");
    }
  }
  CheckPlan plan;
  plan.registered = static_cast<int32_t>(keys.size());
  plan.found = static_cast<int32_t>(seen.size());
  for (const KeyAtCheck& k : keys) {
    pb::KeyState next;
    if (k.state == pb::KEY_STATE_LENT) {
      next = pb::KEY_STATE_LENT;
      ++plan.lent;
    } else if (seen.contains(k.number)) {
      next = pb::KEY_STATE_IN_CABINET;
    } else {
      next = pb::KEY_STATE_MISSING;
      plan.missing_numbers.push_back(k.number);
    }
    plan.changes.push_back({k.id, next});
  }
  std::sort(plan.missing_numbers.begin(), plan.missing_numbers.end());
  return plan;
}

// ---- cards ------------------------------------------------------------------------------

absl::Status CheckCardNumber(absl::string_view number, absl::string_view field) {
  return CheckText(number, field, 32, Presence::kRequired, Lines::kOne);
}

absl::Status CheckNewCard(const pb::IssueCardRequest& req) {
  WUYE_RETURN_IF_ERROR(CheckId(req.estate_id(), "estate_id"));
  if (req.kind() == pb::CARD_KIND_UNSPECIFIED || !pb::CardKind_IsValid(req.kind())) {
    return FieldError("kind", "required");
  }
  WUYE_RETURN_IF_ERROR(CheckCardNumber(req.number(), "number"));
  if (req.kind() == pb::CARD_KIND_VISITOR) {
    WUYE_RETURN_IF_ERROR(CheckName(req.holder_name(), "holder_name", Presence::kRequired));
    WUYE_RETURN_IF_ERROR(CheckOptionalId(req.unit_id(), "unit_id"));
    if (!req.resident_id().empty()) {
      return FieldError("resident_id", "only for ACCESS and IC cards");
    }
    return absl::OkStatus();
  }
  WUYE_RETURN_IF_ERROR(CheckId(req.unit_id(), "unit_id"));
  WUYE_RETURN_IF_ERROR(CheckOptionalId(req.resident_id(), "resident_id"));
  return CheckName(req.holder_name(), "holder_name", Presence::kOptional);
}

absl::Status CardIsOut(pb::CardState state, absl::string_view field) {
  if (state == pb::CARD_STATE_ISSUED) return absl::OkStatus();
  return Refused(
      absl::StrCat(field, state == pb::CARD_STATE_BLOCKED ? ": the card is blocked (reported lost)"
                                                          : ": the card was returned"),
      "CARD_NOT_ISSUED");
}

int64_t ReplacementFee(pb::CardKind kind, const pb::Settings& settings) {
  return kind == pb::CARD_KIND_VISITOR ? 0 : settings.card_replacement_fee_fen();
}

std::string CardKindWord(pb::CardKind kind) {
  switch (kind) {
    case pb::CARD_KIND_ACCESS:
      return "access";
    case pb::CARD_KIND_IC:
      return "ic";
    case pb::CARD_KIND_VISITOR:
      return "visitor";
    default:
      return "";
  }
}

// ---- registers --------------------------------------------------------------------------

absl::Status CheckNewEntry(const pb::CreateRegisterEntryRequest& req, absl::Time now) {
  WUYE_RETURN_IF_ERROR(CheckId(req.estate_id(), "estate_id"));
  if (req.kind() == pb::REGISTER_KIND_UNSPECIFIED || !pb::RegisterKind_IsValid(req.kind())) {
    return FieldError("kind", "required");
  }
  WUYE_RETURN_IF_ERROR(
      CheckText(req.description(), "description", 500, Presence::kRequired, Lines::kMany));
  WUYE_RETURN_IF_ERROR(CheckNoPersonalNumbers(req.description(), "description"));
  WUYE_RETURN_IF_ERROR(CheckName(req.person_name(), "person_name", Presence::kRequired));
  WUYE_RETURN_IF_ERROR(CheckOptionalId(req.unit_id(), "unit_id"));
  WUYE_RETURN_IF_ERROR(CheckText(req.kept_at(), "kept_at", 100, Presence::kOptional, Lines::kOne));
  if (req.has_due_time() && req.kind() != pb::REGISTER_KIND_STORAGE &&
      req.kind() != pb::REGISTER_KIND_UMBRELLA) {
    return FieldError("due_time", "only for storage and umbrella entries");
  }
  return CheckDue(req.due_time(), req.has_due_time(), now, "due_time");
}

absl::Status CheckCloseEntry(const pb::CloseRegisterEntryRequest& req) {
  WUYE_RETURN_IF_ERROR(CheckId(req.entry_id(), "entry_id"));
  WUYE_RETURN_IF_ERROR(CheckName(req.closed_to_name(), "closed_to_name", Presence::kRequired));
  WUYE_RETURN_IF_ERROR(CheckOptionalId(req.matched_entry_id(), "matched_entry_id"));
  if (!req.matched_entry_id().empty() && req.matched_entry_id() == req.entry_id()) {
    return FieldError("matched_entry_id", "must be another entry");
  }
  return absl::OkStatus();
}

absl::Status CanClose(const EntryAtClose& entry, const EntryAtClose* match) {
  if (entry.closed) return Refused("entry_id: the entry is closed", "ALREADY_CLOSED");
  if (match == nullptr) return absl::OkStatus();
  const bool pair =
      (entry.kind == pb::REGISTER_KIND_FOUND_ITEM &&
       match->kind == pb::REGISTER_KIND_LOST_REPORT) ||
      (entry.kind == pb::REGISTER_KIND_LOST_REPORT && match->kind == pb::REGISTER_KIND_FOUND_ITEM);
  if (!pair) {
    return FieldError("matched_entry_id",
                      "a found item matches a loss report only, and a loss report a found item");
  }
  if (match->estate_id != entry.estate_id) {
    return FieldError("matched_entry_id", "not an entry of the same estate");
  }
  if (match->closed) {
    return Refused("matched_entry_id: the matched entry is closed", "ALREADY_CLOSED");
  }
  return absl::OkStatus();
}

}  // namespace wuye::counter
