#include "services/counter/renovation.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "services/counter/handover.h"  // CheckFileRef, shared by the areas
#include "shared/civil_date.h"
#include "shared/proto_time.h"
#include "shared/status.h"
#include "shared/text.h"

namespace wuye::counter {
namespace {

std::string EnumName(const std::string& full, absl::string_view prefix) {
  return absl::AsciiStrToLower(absl::StripPrefix(full, prefix));
}

absl::Status NotApproved() {
  return WithReason(absl::FailedPreconditionError("renovation: not approved"), "NOT_APPROVED");
}

absl::Status OutsidePeriod() {
  return WithReason(absl::FailedPreconditionError("renovation: today is outside its period"),
                    "OUTSIDE_PERIOD");
}

bool ValidTime(const pb::TimeOfDay& t) {
  return t.hours() >= 0 && t.minutes() >= 0 && t.minutes() <= 59 &&
         (t.hours() < 24 || (t.hours() == 24 && t.minutes() == 0));
}

}  // namespace

absl::Status CheckDocuments(const google::protobuf::RepeatedPtrField<pb::RenovationDocument>& docs,
                            const std::string& field) {
  for (int i = 0; i < docs.size(); ++i) {
    const std::string f = absl::StrCat(field, "[", i, "]");
    pb::DocumentKind kind = docs[i].kind();
    if (kind == pb::DOCUMENT_KIND_UNSPECIFIED || !pb::DocumentKind_IsValid(kind)) {
      return FieldError(f + ".kind", "must be a document kind");
    }
    WUYE_RETURN_IF_ERROR(CheckFileRef(docs[i].file(), f + ".file"));
  }
  return absl::OkStatus();
}

absl::Status CheckApplication(const pb::CreateRenovationRequest& req, absl::CivilDay today) {
  if (req.items().empty() || req.items_size() > kMaxRenovationItems) {
    return FieldError("items", "one to 20 items");
  }
  for (int i = 0; i < req.items_size(); ++i) {
    WUYE_RETURN_IF_ERROR(CheckText(req.items(i), absl::StrCat("items[", i, "]"), 200,
                                   Presence::kRequired, Lines::kOne));
  }
  if (req.documents_size() > kMaxRenovationDocuments) {
    return FieldError("documents", "at most 20 documents");
  }
  WUYE_RETURN_IF_ERROR(CheckDocuments(req.documents(), "documents"));
  WUYE_RETURN_IF_ERROR(
      CheckText(req.contractor().name(), "contractor.name", 100, Presence::kRequired, Lines::kOne));
  WUYE_RETURN_IF_ERROR(CheckText(req.contractor().licence_number(), "contractor.licence_number", 32,
                                 Presence::kOptional, Lines::kOne));
  if (req.workers().empty() || req.workers_size() > kMaxWorkers) {
    return FieldError("workers", "one to 50 workers");
  }
  std::set<std::string> passes;
  for (int i = 0; i < req.workers_size(); ++i) {
    const std::string f = absl::StrCat("workers[", i, "]");
    WUYE_RETURN_IF_ERROR(
        CheckText(req.workers(i).name(), f + ".name", 50, Presence::kRequired, Lines::kOne));
    WUYE_RETURN_IF_ERROR(CheckText(req.workers(i).pass_number(), f + ".pass_number", 32,
                                   Presence::kRequired, Lines::kOne));
    if (!passes.insert(req.workers(i).pass_number()).second) {
      return FieldError(f + ".pass_number", "is given twice");
    }
  }
  if (!req.has_start_date()) return FieldError("start_date", "required");
  WUYE_ASSIGN_OR_RETURN(absl::CivilDay start, DayOf(req.start_date(), "start_date"));
  if (!req.has_end_date()) return FieldError("end_date", "required");
  WUYE_ASSIGN_OR_RETURN(absl::CivilDay end, DayOf(req.end_date(), "end_date"));
  if (start < today) return FieldError("start_date", "must not be before today");
  if (end < start) return FieldError("end_date", "must not be before start_date");
  if (end - start + 1 > kMaxRenovationDays) return FieldError("end_date", "at most 180 days");
  return absl::OkStatus();
}

std::vector<pb::DocumentKind> MissingDocuments(
    const pb::Settings& s, const google::protobuf::RepeatedPtrField<pb::RenovationDocument>& docs) {
  std::vector<pb::DocumentKind> missing;
  for (int kind : s.required_documents()) {
    bool found = false;
    for (const auto& d : docs) found = found || d.kind() == kind;
    if (!found) missing.push_back(static_cast<pb::DocumentKind>(kind));
  }
  return missing;
}

std::string DocumentKindName(pb::DocumentKind kind) {
  return EnumName(pb::DocumentKind_Name(kind), "DOCUMENT_KIND_");
}

absl::Status CheckDocumentsComplete(const pb::Settings& s, const pb::Renovation& r) {
  std::vector<pb::DocumentKind> missing = MissingDocuments(s, r.documents());
  if (missing.empty()) return absl::OkStatus();
  std::vector<std::string> names;
  for (pb::DocumentKind k : missing) names.push_back(DocumentKindName(k));
  return WithReason(absl::FailedPreconditionError(
                        absl::StrCat("documents: missing ", absl::StrJoin(names, ", "))),
                    "MISSING_DOCUMENTS");
}

absl::CivilDay StartOf(const pb::Renovation& r) {
  return absl::CivilDay(r.start_date().year(), r.start_date().month(), r.start_date().day());
}
absl::CivilDay EndOf(const pb::Renovation& r) {
  return absl::CivilDay(r.end_date().year(), r.end_date().month(), r.end_date().day());
}
bool InPeriod(const pb::Renovation& r, absl::CivilDay day) {
  return day >= StartOf(r) && day <= EndOf(r);
}

absl::Status CheckOvertime(const pb::Settings& s, const pb::Renovation& r,
                           const pb::GrantOvertimeRequest& req, absl::CivilDay today) {
  if (!req.has_date()) return FieldError("date", "required");
  WUYE_ASSIGN_OR_RETURN(absl::CivilDay day, DayOf(req.date(), "date"));
  if (!req.has_window()) return FieldError("window", "required");
  const pb::DayWindow& w = req.window();
  if (!ValidTime(w.start()))
    return FieldError("window.start", "must be a time from 00:00 to 24:00");
  if (!ValidTime(w.end())) return FieldError("window.end", "must be a time from 00:00 to 24:00");
  const int a = MinuteOf(w.start()), b = MinuteOf(w.end());
  if (b <= a) return FieldError("window", "must end after it starts");
  for (const auto& hours : s.working_hours()) {
    if (a < MinuteOf(hours.end()) && MinuteOf(hours.start()) < b) {
      return FieldError("window", "must lie outside the working hours");
    }
  }
  if (!req.has_consent()) return FieldError("consent", "required");
  WUYE_RETURN_IF_ERROR(CheckFileRef(req.consent(), "consent"));
  if (day < today) return FieldError("date", "must not be in the past");
  if (!InPeriod(r, day)) return FieldError("date", "must be within the renovation's period");
  return absl::OkStatus();
}

absl::StatusOr<bool> CheckAdmission(const pb::Settings& s, const pb::Renovation& r,
                                    const google::protobuf::RepeatedPtrField<std::string>& passes,
                                    absl::CivilDay day, int minute) {
  if (r.state() != pb::RENOVATION_STATE_APPROVED) return NotApproved();
  if (!InPeriod(r, day)) return OutsidePeriod();
  for (int i = 0; i < passes.size(); ++i) {
    bool registered = false;
    for (const auto& w : r.workers()) registered = registered || w.pass_number() == passes[i];
    if (!registered) {
      return FieldError(absl::StrCat("pass_numbers[", i, "]"), "is not a registered worker's pass");
    }
  }
  // 003_… Q10: 08:00–12:00, 14:00–18:00 (the settings); outside, only with consent.
  if (InWindows(s.working_hours(), minute)) return false;
  for (const auto& o : r.overtime()) {
    if (o.date().year() == day.year() && o.date().month() == day.month() &&
        o.date().day() == day.day() && minute >= MinuteOf(o.window().start()) &&
        minute < MinuteOf(o.window().end())) {
      return true;
    }
  }
  return WithReason(
      absl::FailedPreconditionError("renovation: outside the working hours without consent"),
      "OUTSIDE_WORKING_HOURS");
}

absl::Status CheckFindings(const google::protobuf::RepeatedPtrField<pb::PatrolFinding>& findings) {
  if (findings.size() > kMaxPatrolFindings) return FieldError("findings", "at most 10 findings");
  for (int i = 0; i < findings.size(); ++i) {
    const std::string f = absl::StrCat("findings[", i, "]");
    const auto& x = findings[i];
    if (x.kind() == pb::VIOLATION_KIND_UNSPECIFIED || !pb::ViolationKind_IsValid(x.kind())) {
      return FieldError(f + ".kind", "must be a violation kind");
    }
    WUYE_RETURN_IF_ERROR(CheckText(x.note(), f + ".note", 500, Presence::kRequired, Lines::kMany));
    WUYE_RETURN_IF_ERROR(CheckNoPersonalNumbers(x.note(), f + ".note"));
    if (x.photos_size() > kMaxFindingPhotos) return FieldError(f + ".photos", "at most 10 photos");
    for (int j = 0; j < x.photos_size(); ++j) {
      WUYE_RETURN_IF_ERROR(CheckFileRef(x.photos(j), absl::StrCat(f, ".photos[", j, "]")));
    }
    if (!x.case_id().empty()) return FieldError(f + ".case_id", "is set by the counter");
  }
  return absl::OkStatus();
}

absl::Status CheckPatrol(const pb::Renovation& r, absl::CivilDay day) {
  if (r.state() != pb::RENOVATION_STATE_APPROVED) return NotApproved();
  if (!InPeriod(r, day)) return OutsidePeriod();
  return absl::OkStatus();
}

std::string ViolationKindName(pb::ViolationKind kind) {
  return EnumName(pb::ViolationKind_Name(kind), "VIOLATION_KIND_");
}

absl::Status CheckAcceptance(const pb::Renovation& r, const pb::AcceptRenovationRequest& req) {
  if (req.deduction_fen() < 0) return FieldError("deduction_fen", "must not be negative");
  WUYE_RETURN_IF_ERROR(CheckText(req.deduction_reason(), "deduction_reason", 500,
                                 Presence::kOptional, Lines::kMany));
  WUYE_RETURN_IF_ERROR(CheckNoPersonalNumbers(req.deduction_reason(), "deduction_reason"));
  if (req.deduction_fen() > 0) {
    WUYE_RETURN_IF_ERROR(CheckText(req.deduction_reason(), "deduction_reason", 500,
                                   Presence::kRequired, Lines::kMany));
  }
  if (r.state() != pb::RENOVATION_STATE_APPROVED) return NotApproved();
  if (req.deduction_fen() > r.deposit_fen()) {
    return FieldError("deduction_fen", "must not exceed the deposit");
  }
  if (r.cases_open() > 0) {
    return WithReason(absl::FailedPreconditionError(absl::StrCat("renovation: ", r.cases_open(),
                                                                 " linked case(s) still open")),
                      "OPEN_CASES");
  }
  return absl::OkStatus();
}

events::v1::RenovationApplied AppliedEvent(const pb::Renovation& r, const pb::Settings& s,
                                           absl::Time at) {
  events::v1::RenovationApplied e;
  e.set_renovation_id(r.id());
  e.set_estate_id(r.estate_id());
  e.set_unit_id(r.unit_id());
  e.set_documents_complete(MissingDocuments(s, r.documents()).empty());
  *e.mutable_at() = ToProtoTime(at);
  return e;
}

events::v1::RenovationDecided DecidedEvent(const pb::Renovation& r, absl::Time at) {
  events::v1::RenovationDecided e;
  e.set_renovation_id(r.id());
  e.set_estate_id(r.estate_id());
  e.set_unit_id(r.unit_id());
  e.set_approved(r.state() == pb::RENOVATION_STATE_APPROVED);
  e.set_deposit_fen(e.approved() ? r.deposit_fen() : 0);
  *e.mutable_at() = ToProtoTime(at);
  return e;
}

events::v1::RenovationAccepted AcceptedEvent(const pb::Renovation& r, absl::Time at) {
  events::v1::RenovationAccepted e;
  e.set_renovation_id(r.id());
  e.set_estate_id(r.estate_id());
  e.set_unit_id(r.unit_id());
  e.set_deposit_fen(r.deposit_fen());
  e.set_deduction_fen(r.deduction_fen());
  e.set_passed(r.passed());
  *e.mutable_at() = ToProtoTime(at);
  return e;
}

events::v1::PatrolMissed PatrolMissedEvent(const std::string& renovation_id,
                                           const std::string& estate_id, const std::string& unit_id,
                                           absl::CivilDay day) {
  events::v1::PatrolMissed e;
  e.set_renovation_id(renovation_id);
  e.set_estate_id(estate_id);
  e.set_unit_id(unit_id);
  *e.mutable_date() = CivilDateOf(day);
  return e;
}

int64_t DayNumber(absl::CivilDay day) { return day.year() * 10000 + day.month() * 100 + day.day(); }

}  // namespace wuye::counter
