#include "services/counter/handover.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "shared/id_number.h"
#include "shared/status.h"
#include "shared/text.h"
#include "wuye/events/v1/directory_events.pb.h"

namespace wuye::counter {
namespace {

std::string StateWord(pb::HandoverState s) {
  std::string name = pb::HandoverState_Name(s);
  return name.empty() ? absl::StrCat(static_cast<int>(s)) : name.substr(15);  // "HANDOVER_STATE_"
}

std::string DefectWord(pb::DefectState s) {
  std::string name = pb::DefectState_Name(s);
  return name.empty() ? absl::StrCat(static_cast<int>(s)) : name.substr(13);  // "DEFECT_STATE_"
}

}  // namespace

absl::Status CheckHandoverStep(pb::HandoverState state, pb::HandoverState needed,
                               absl::string_view step) {
  if (state == needed) return absl::OkStatus();
  return Refused(absl::StrCat("handover: ", step, " only in state ", StateWord(needed), " (it is ",
                              StateWord(state), ")"),
                 "HANDOVER_OUT_OF_ORDER");
}

bool HandedOver(pb::HandoverState state) { return state >= pb::HANDOVER_STATE_SIGNED; }

absl::Status CheckOwner(int role, const std::string& resident_unit, const std::string& unit,
                        const std::optional<absl::CivilDay>& move_out, absl::CivilDay today) {
  if (role != ::wuye::events::v1::RESIDENT_ROLE_OWNER || resident_unit != unit) {
    return Refused("resident_id: not an owner of the unit in the directory", "NOT_THE_OWNER");
  }
  if (move_out && *move_out <= today) {
    return Refused("resident_id: the resident has moved out of the unit", "NOT_THE_OWNER");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> CheckOwnerIdNumber(absl::string_view id_number,
                                               const std::optional<absl::CivilDay>& birth,
                                               absl::CivilDay today) {
  WUYE_ASSIGN_OR_RETURN(std::string id, CanonicalIdNumber(id_number, "id_number", today));
  if (birth && IdBirthDate(id) != *birth) {
    return FieldError("id_number", "its birth date is not the resident's date of birth");
  }
  return id;
}

absl::Status CheckHandoverDay(absl::CivilDay day, absl::CivilDay today) {
  if (day > today) {
    return FieldError("handover_date", "must not be in the future (the estate's day)");
  }
  return absl::OkStatus();
}

absl::Status CheckMoveInDay(absl::CivilDay day, absl::CivilDay today, absl::CivilDay handed_over) {
  if (day > today) {
    return FieldError("move_in_date", "must not be in the future (the estate's day)");
  }
  if (day < handed_over) return FieldError("move_in_date", "must not be before the hand-over day");
  return absl::OkStatus();
}

absl::Status CheckFileRef(const pb::FileRef& ref, absl::string_view field) {
  WUYE_RETURN_IF_ERROR(
      CheckText(ref.uri(), absl::StrCat(field, ".uri"), 300, Presence::kRequired, Lines::kOne));
  return CheckText(ref.title(), absl::StrCat(field, ".title"), 100, Presence::kOptional,
                   Lines::kOne);
}

absl::Status CheckFileRefs(const google::protobuf::RepeatedPtrField<pb::FileRef>& refs,
                           absl::string_view field, int min, int max) {
  if (refs.size() < min) return FieldError(field, absl::StrCat("at least ", min, " required"));
  if (refs.size() > max) return FieldError(field, absl::StrCat("at most ", max));
  for (int i = 0; i < refs.size(); ++i) {
    WUYE_RETURN_IF_ERROR(CheckFileRef(refs[i], absl::StrCat(field, "[", i, "]")));
  }
  return absl::OkStatus();
}

absl::Status CheckKeySets(const google::protobuf::RepeatedPtrField<pb::KeySet>& keys,
                          absl::string_view field) {
  if (keys.empty()) return FieldError(field, "at least one set of keys required");
  if (keys.size() > 20) return FieldError(field, "at most 20 sets");
  for (int i = 0; i < keys.size(); ++i) {
    const std::string f = absl::StrCat(field, "[", i, "]");
    WUYE_RETURN_IF_ERROR(
        CheckText(keys[i].kind(), f + ".kind", 50, Presence::kRequired, Lines::kOne));
    if (keys[i].count() < 1 || keys[i].count() > 50) {
      return FieldError(f + ".count", "must be 1 to 50");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> CanonicalMeterValue(absl::string_view value, absl::string_view field) {
  const std::string rule = "an exact decimal with at most two places, e.g. \"12.5\"";
  size_t dot = value.find('.');
  absl::string_view whole = value.substr(0, dot);
  absl::string_view frac = dot == absl::string_view::npos ? "" : value.substr(dot + 1);
  if (whole.empty() || whole.size() > 9 || frac.size() > 2 ||
      (dot != absl::string_view::npos && frac.empty())) {
    return FieldError(field, rule);
  }
  for (absl::string_view part : {whole, frac}) {
    for (char c : part) {
      if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return FieldError(field, rule);
    }
  }
  size_t first = whole.find_first_not_of('0');
  std::string out(first == absl::string_view::npos ? "0" : whole.substr(first));
  if (!frac.empty()) absl::StrAppend(&out, ".", frac);
  return out;
}

absl::Status CheckReadings(google::protobuf::RepeatedPtrField<pb::MeterValue>* readings,
                           absl::string_view field) {
  if (readings->empty()) return FieldError(field, "at least one reading required");
  std::set<int> kinds;
  for (int i = 0; i < readings->size(); ++i) {
    pb::MeterValue* r = readings->Mutable(i);
    const std::string f = absl::StrCat(field, "[", i, "]");
    if (r->kind() == pb::METER_KIND_UNSPECIFIED || !pb::MeterKind_IsValid(r->kind())) {
      return FieldError(f + ".kind", "must be water, electricity or gas");
    }
    if (!kinds.insert(r->kind()).second) return FieldError(f + ".kind", "given twice");
    WUYE_ASSIGN_OR_RETURN(std::string v, CanonicalMeterValue(r->value(), f + ".value"));
    r->set_value(v);
  }
  return absl::OkStatus();
}

std::string MeterName(pb::MeterKind kind) {
  switch (kind) {
    case pb::METER_KIND_WATER:
      return "water";
    case pb::METER_KIND_ELECTRICITY:
      return "electricity";
    case pb::METER_KIND_GAS:
      return "gas";
    default:
      return "";
  }
}

absl::CivilDay AddMonths(absl::CivilDay day, int months) {
  absl::CivilMonth month = absl::CivilMonth(day) + months;
  absl::CivilDay last = absl::CivilDay(month + 1) - 1;
  absl::CivilDay same(month.year(), month.month(), day.day());
  return same > last ? last : same;
}

Warranty WarrantyOf(absl::CivilDay handover, int months, absl::CivilDay recorded) {
  Warranty w;
  if (months <= 0) return w;
  absl::CivilDay until = AddMonths(handover, months);  // the first day not covered
  w.end = until - 1;
  w.under = recorded < until;
  return w;
}

bool DefectClosed(pb::DefectState state) {
  return state == pb::DEFECT_STATE_ACCEPTED || state == pb::DEFECT_STATE_WITHDRAWN;
}

absl::Status CheckDefectMove(pb::DefectState from, pb::DefectState to, bool under_warranty) {
  if (DefectClosed(from)) {
    return Refused(absl::StrCat("defect: ", DefectWord(from), " is final"), "DEFECT_CLOSED");
  }
  auto illegal = [&] {
    return Refused(
        absl::StrCat("defect: cannot go from ", DefectWord(from), " to ", DefectWord(to)),
        "ILLEGAL_STATE_MOVE");
  };
  switch (to) {
    case pb::DEFECT_STATE_WITHDRAWN:
      return absl::OkStatus();
    case pb::DEFECT_STATE_SENT_TO_DEVELOPER:
    case pb::DEFECT_STATE_AGREED_WITH_OWNER: {
      // From RECORDED, or back from REPAIRED when the owner rejects the repair.
      if (from != pb::DEFECT_STATE_RECORDED && from != pb::DEFECT_STATE_REPAIRED) return illegal();
      if (to == pb::DEFECT_STATE_SENT_TO_DEVELOPER && !under_warranty) {
        return Refused(
            "defect: past its warranty; the repair is agreed with the owner (AGREED_WITH_OWNER)",
            "NOT_UNDER_WARRANTY");
      }
      if (to == pb::DEFECT_STATE_AGREED_WITH_OWNER && under_warranty) {
        return Refused("defect: under warranty; it goes to the developer (SENT_TO_DEVELOPER)",
                       "UNDER_WARRANTY");
      }
      return absl::OkStatus();
    }
    case pb::DEFECT_STATE_REPAIRED:
      if (from != pb::DEFECT_STATE_SENT_TO_DEVELOPER &&
          from != pb::DEFECT_STATE_AGREED_WITH_OWNER) {
        return illegal();
      }
      return absl::OkStatus();
    case pb::DEFECT_STATE_ACCEPTED:
      if (from != pb::DEFECT_STATE_REPAIRED) return illegal();
      return absl::OkStatus();
    default:
      return illegal();
  }
}

absl::Status CheckDefectMoveFields(pb::DefectState to, const std::string& note,
                                   const pb::FileRef* signature) {
  const bool note_required =
      to == pb::DEFECT_STATE_SENT_TO_DEVELOPER || to == pb::DEFECT_STATE_AGREED_WITH_OWNER;
  WUYE_RETURN_IF_ERROR(CheckText(
      note, "note", 500, note_required ? Presence::kRequired : Presence::kOptional, Lines::kMany));
  WUYE_RETURN_IF_ERROR(CheckNoPersonalNumbers(note, "note"));
  if (to == pb::DEFECT_STATE_ACCEPTED) {
    if (signature == nullptr) return FieldError("signature", "the owner's signature is required");
    return CheckFileRef(*signature, "signature");
  }
  if (signature != nullptr) return FieldError("signature", "only when the owner accepts");
  return absl::OkStatus();
}

absl::Status CheckDefectDescription(absl::string_view text, absl::string_view field) {
  WUYE_RETURN_IF_ERROR(CheckText(text, field, 500, Presence::kRequired, Lines::kMany));
  return CheckNoPersonalNumbers(text, field);
}

bool ClaimSucceeded(pb::DefectState to, bool under_warranty) {
  return to == pb::DEFECT_STATE_ACCEPTED && under_warranty;
}

}  // namespace wuye::counter
