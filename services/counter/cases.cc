#include "services/counter/cases.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "shared/proto_time.h"
#include "shared/status.h"
#include "shared/text.h"

namespace wuye::counter {
namespace {

absl::Status CaseClosed() {
  return WithReason(absl::FailedPreconditionError("case: already closed"), "CASE_CLOSED");
}

absl::Status NoSignedRecord(absl::string_view what) {
  return WithReason(absl::FailedPreconditionError(absl::StrCat(
                        "signed_record: the written record signed by the person responsible is "
                        "required (",
                        what, ")")),
                    "NO_SIGNED_RECORD");
}

}  // namespace

std::string CaseKindName(pb::CaseKind kind) {
  return absl::AsciiStrToLower(absl::StripPrefix(pb::CaseKind_Name(kind), "CASE_KIND_"));
}

absl::Status CheckNewCase(const pb::CreateCaseRequest& req) {
  if (req.kind() == pb::CASE_KIND_UNSPECIFIED || !pb::CaseKind_IsValid(req.kind())) {
    return FieldError("kind", "must be a case kind");
  }
  WUYE_RETURN_IF_ERROR(
      CheckText(req.description(), "description", 1000, Presence::kRequired, Lines::kMany));
  return CheckNoPersonalNumbers(req.description(), "description");
}

absl::Status CheckCaseAction(const pb::Case& c, const pb::RecordCaseActionRequest& req) {
  if (req.kind() == pb::CASE_ACTION_KIND_UNSPECIFIED || !pb::CaseActionKind_IsValid(req.kind())) {
    return FieldError("kind", "must be an action kind");
  }
  WUYE_RETURN_IF_ERROR(CheckText(req.note(), "note", 1000, Presence::kRequired, Lines::kMany));
  WUYE_RETURN_IF_ERROR(CheckNoPersonalNumbers(req.note(), "note"));
  WUYE_RETURN_IF_ERROR(CheckText(req.authority(), "authority", 100,
                                 req.kind() == pb::CASE_ACTION_KIND_REPORT_TO_AUTHORITY
                                     ? Presence::kRequired
                                     : Presence::kOptional,
                                 Lines::kOne));
  if (c.state() != pb::CASE_STATE_OPEN) return CaseClosed();
  if (c.actions_size() >= kMaxCaseActions) {
    return WithReason(absl::FailedPreconditionError("case: at most 200 actions"),
                      "TOO_MANY_ACTIONS");
  }
  return absl::OkStatus();
}

absl::Status CheckClose(const pb::Case& c, const pb::CloseCaseRequest& req) {
  if (req.outcome() == pb::CASE_OUTCOME_UNSPECIFIED || !pb::CaseOutcome_IsValid(req.outcome())) {
    return FieldError("outcome", "must be an outcome");
  }
  if (!req.signed_record().uri().empty()) {
    WUYE_RETURN_IF_ERROR(CheckText(req.signed_record().uri(), "signed_record.uri", 300,
                                   Presence::kRequired, Lines::kOne));
  }
  WUYE_RETURN_IF_ERROR(CheckText(req.signed_record().title(), "signed_record.title", 100,
                                 Presence::kOptional, Lines::kOne));
  WUYE_RETURN_IF_ERROR(
      CheckText(req.signed_by(), "signed_by", 100, Presence::kOptional, Lines::kOne));
  WUYE_RETURN_IF_ERROR(CheckText(req.note(), "note", 1000, Presence::kOptional, Lines::kMany));
  WUYE_RETURN_IF_ERROR(CheckNoPersonalNumbers(req.note(), "note"));
  if (c.state() != pb::CASE_STATE_OPEN) return CaseClosed();
  // 000_… 二.7–9: 處理過程及處理結果必須形成書面材料, 由相關責任人簽字.
  if (!CheckText(req.signed_record().uri(), "", 300, Presence::kRequired, Lines::kOne).ok()) {
    return NoSignedRecord("no record");
  }
  if (!CheckText(req.signed_by(), "", 100, Presence::kRequired, Lines::kOne).ok()) {
    return NoSignedRecord("no signer");
  }
  return absl::OkStatus();
}

absl::Status CheckInspection(const pb::InspectCaseRequest& req) {
  WUYE_RETURN_IF_ERROR(CheckText(req.note(), "note", 500,
                                 req.handled() ? Presence::kOptional : Presence::kRequired,
                                 Lines::kMany));
  return CheckNoPersonalNumbers(req.note(), "note");
}

events::v1::CaseChanged CaseEvent(const pb::Case& c, absl::Time at) {
  events::v1::CaseChanged e;
  e.set_case_id(c.id());
  e.set_estate_id(c.estate_id());
  e.set_kind(CaseKindName(c.kind()));
  if (c.location().place_case() == wuye::common::v1::Location::kUnitId) {
    e.set_unit_id(c.location().unit_id());
  }
  e.set_owner_staff_id(c.owner_staff_id());
  e.set_closed(c.state() == pb::CASE_STATE_CLOSED);
  *e.mutable_at() = ToProtoTime(at);
  return e;
}

}  // namespace wuye::counter
