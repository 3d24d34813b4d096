// The counter's rules of renovation: applications, consent, admissions, patrols, acceptance.
#include "services/counter/renovation.h"

#include <gtest/gtest.h>

#include "shared/status.h"

namespace wuye::counter {
namespace {

pb::Date D(int y, int m, int d) { return ToDate(absl::CivilDay(y, m, d)); }

pb::CreateRenovationRequest Application() {
  pb::CreateRenovationRequest req;
  req.add_items("kitchen tiles");
  for (auto kind : {pb::DOCUMENT_KIND_FLOOR_PLAN, pb::DOCUMENT_KIND_WIRING_PLAN,
                    pb::DOCUMENT_KIND_PLUMBING_PLAN, pb::DOCUMENT_KIND_UNDERTAKING}) {
    auto* d = req.add_documents();
    d->set_kind(kind);
    d->mutable_file()->set_uri("oss://e/reno/doc.pdf");
  }
  req.mutable_contractor()->set_name("Good Build Co.");
  auto* w = req.add_workers();
  w->set_name("Worker A");
  w->set_pass_number("P-1");
  *req.mutable_start_date() = D(2026, 11, 9);
  *req.mutable_end_date() = D(2026, 11, 30);
  return req;
}

pb::Renovation Approved() {
  pb::Renovation r;
  r.set_state(pb::RENOVATION_STATE_APPROVED);
  *r.mutable_start_date() = D(2026, 11, 9);
  *r.mutable_end_date() = D(2026, 11, 30);
  auto* w = r.add_workers();
  w->set_name("Worker A");
  w->set_pass_number("P-1");
  r.set_deposit_fen(200000);
  return r;
}

google::protobuf::RepeatedPtrField<std::string> Passes(std::initializer_list<const char*> list) {
  google::protobuf::RepeatedPtrField<std::string> out;
  for (const char* p : list) *out.Add() = p;
  return out;
}

const absl::CivilDay kToday(2026, 11, 9);

TEST(RenovationRules, AnApplicationNeedsItemsContractorWorkersAndAPeriod) {
  EXPECT_TRUE(CheckApplication(Application(), kToday).ok());
  auto req = Application();
  req.clear_items();
  EXPECT_EQ(ErrorField(CheckApplication(req, kToday)), "items");
  req = Application();
  req.add_items("   ");
  EXPECT_EQ(ErrorField(CheckApplication(req, kToday)), "items[1]");
  req = Application();
  req.mutable_documents(2)->set_kind(pb::DOCUMENT_KIND_UNSPECIFIED);
  EXPECT_EQ(ErrorField(CheckApplication(req, kToday)), "documents[2].kind");
  req = Application();
  req.mutable_documents(0)->mutable_file()->clear_uri();
  EXPECT_EQ(ErrorField(CheckApplication(req, kToday)), "documents[0].file.uri");
  req = Application();
  req.mutable_contractor()->clear_name();
  EXPECT_EQ(ErrorField(CheckApplication(req, kToday)), "contractor.name");
  req = Application();
  req.clear_workers();
  EXPECT_EQ(ErrorField(CheckApplication(req, kToday)), "workers");
  req = Application();
  *req.add_workers() = req.workers(0);
  EXPECT_EQ(ErrorField(CheckApplication(req, kToday)), "workers[1].pass_number");
  req = Application();
  req.clear_start_date();
  EXPECT_EQ(ErrorField(CheckApplication(req, kToday)), "start_date");
  req = Application();
  *req.mutable_start_date() = D(2026, 2, 30);
  EXPECT_EQ(ErrorField(CheckApplication(req, kToday)), "start_date");
  req = Application();
  *req.mutable_start_date() = D(2026, 11, 8);
  EXPECT_EQ(ErrorField(CheckApplication(req, kToday)), "start_date");
  req = Application();
  *req.mutable_end_date() = D(2026, 11, 8);
  EXPECT_EQ(ErrorField(CheckApplication(req, kToday)), "end_date");
  req = Application();
  *req.mutable_end_date() = D(2027, 5, 8);  // day 181
  EXPECT_EQ(ErrorField(CheckApplication(req, kToday)), "end_date");
  *req.mutable_end_date() = D(2027, 5, 7);  // day 180
  EXPECT_TRUE(CheckApplication(req, kToday).ok());
}

// 003_… Q9: 裝修平面圖、電路走向圖、給排水布置圖 and the signed 裝修責任承諾書 before approval.
TEST(RenovationRules, Q9ApprovalNeedsEveryRequiredDocumentNamingTheMissing) {
  pb::Settings s = DefaultSettings();
  pb::Renovation r = Approved();
  r.set_state(pb::RENOVATION_STATE_APPLIED);
  auto req = Application();
  *r.mutable_documents() = req.documents();
  EXPECT_TRUE(CheckDocumentsComplete(s, r).ok());
  r.mutable_documents()->erase(r.mutable_documents()->begin() + 1);  // the wiring plan
  r.mutable_documents()->RemoveLast();                               // the undertaking
  absl::Status st = CheckDocumentsComplete(s, r);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrorReason(st), "MISSING_DOCUMENTS");
  EXPECT_NE(st.message().find("wiring_plan, undertaking"), std::string::npos) << st;
  EXPECT_EQ(st.message().find("floor_plan"), std::string::npos);
  // A group that asks for less asks for less.
  s.clear_required_documents();
  s.add_required_documents(pb::DOCUMENT_KIND_FLOOR_PLAN);
  EXPECT_TRUE(CheckDocumentsComplete(s, r).ok());
}

// 003_… Q10: 08:00–12:00, 14:00–18:00; outside them only with the office's written consent.
TEST(RenovationRules, Q10WorkersComeInWithinTheWorkingHoursOrUnderConsent) {
  pb::Settings s = DefaultSettings();
  pb::Renovation r = Approved();
  auto admit = [&](int hh, int mm, absl::CivilDay day = kToday) {
    return CheckAdmission(s, r, Passes({"P-1"}), day, hh * 60 + mm);
  };
  EXPECT_EQ(*admit(8, 0), false);
  EXPECT_EQ(*admit(11, 59), false);
  EXPECT_EQ(*admit(14, 0), false);
  EXPECT_EQ(*admit(17, 59), false);
  for (auto [hh, mm] : {std::pair{7, 59}, {12, 0}, {12, 30}, {13, 59}, {18, 0}, {19, 0}}) {
    absl::StatusOr<bool> st = admit(hh, mm);
    EXPECT_EQ(ErrorReason(st.status()), "OUTSIDE_WORKING_HOURS") << hh << ":" << mm;
  }
  // A consent for 19:00–20:00 on the 9th covers 19:00 and 19:59 of that day only.
  auto* o = r.add_overtime();
  *o->mutable_date() = D(2026, 11, 9);
  o->mutable_window()->mutable_start()->set_hours(19);
  o->mutable_window()->mutable_end()->set_hours(20);
  EXPECT_EQ(*admit(19, 0), true);
  EXPECT_EQ(*admit(19, 59), true);
  EXPECT_EQ(ErrorReason(admit(20, 0).status()), "OUTSIDE_WORKING_HOURS");
  EXPECT_EQ(ErrorReason(admit(19, 30, kToday + 1).status()), "OUTSIDE_WORKING_HOURS");
  EXPECT_EQ(ErrorReason(admit(12, 30).status()), "OUTSIDE_WORKING_HOURS");
  // Settings change the hours.
  s.clear_working_hours();
  auto* w = s.add_working_hours();
  w->mutable_start()->set_hours(12);
  w->mutable_end()->set_hours(13);
  EXPECT_EQ(*admit(12, 30), false);
}

TEST(RenovationRules, WorkersComeInOnlyToAnApprovedRenovationInItsPeriodWithRegisteredPasses) {
  pb::Settings s = DefaultSettings();
  pb::Renovation r = Approved();
  EXPECT_EQ(ErrorField(CheckAdmission(s, r, Passes({"P-1", "P-9"}), kToday, 600).status()),
            "pass_numbers[1]");
  EXPECT_EQ(ErrorReason(CheckAdmission(s, r, Passes({"P-1"}), kToday - 1, 600).status()),
            "OUTSIDE_PERIOD");
  EXPECT_EQ(
      ErrorReason(CheckAdmission(s, r, Passes({"P-1"}), absl::CivilDay(2026, 12, 1), 600).status()),
      "OUTSIDE_PERIOD");
  EXPECT_TRUE(CheckAdmission(s, r, Passes({"P-1"}), absl::CivilDay(2026, 11, 30), 600).ok());
  for (auto state : {pb::RENOVATION_STATE_APPLIED, pb::RENOVATION_STATE_REJECTED,
                     pb::RENOVATION_STATE_ACCEPTED}) {
    r.set_state(state);
    EXPECT_EQ(ErrorReason(CheckAdmission(s, r, Passes({"P-1"}), kToday, 600).status()),
              "NOT_APPROVED");
  }
}

TEST(RenovationRules, Q10AConsentLiesOutsideTheWorkingHoursWithinThePeriod) {
  pb::Settings s = DefaultSettings();
  pb::Renovation r = Approved();
  pb::GrantOvertimeRequest req;
  *req.mutable_date() = D(2026, 11, 9);
  req.mutable_window()->mutable_start()->set_hours(19);
  req.mutable_window()->mutable_end()->set_hours(20);
  req.mutable_consent()->set_uri("oss://e/reno/consent.pdf");
  EXPECT_TRUE(CheckOvertime(s, r, req, kToday).ok());
  auto bad = req;
  bad.mutable_window()->mutable_start()->set_hours(17);  // 17:00–20:00 overlaps 14–18
  EXPECT_EQ(ErrorField(CheckOvertime(s, r, bad, kToday)), "window");
  bad = req;
  bad.mutable_window()->mutable_start()->set_hours(12);
  bad.mutable_window()->mutable_end()->set_hours(14);  // the lunch break: outside, fine
  EXPECT_TRUE(CheckOvertime(s, r, bad, kToday).ok());
  bad.mutable_window()->mutable_end()->set_minutes(1);  // 12:00–14:01 touches 14:00
  EXPECT_EQ(ErrorField(CheckOvertime(s, r, bad, kToday)), "window");
  bad = req;
  bad.mutable_window()->mutable_end()->set_hours(19);  // empty
  EXPECT_EQ(ErrorField(CheckOvertime(s, r, bad, kToday)), "window");
  bad = req;
  bad.mutable_window()->mutable_end()->set_hours(25);
  EXPECT_EQ(ErrorField(CheckOvertime(s, r, bad, kToday)), "window.end");
  bad = req;
  bad.clear_consent();
  EXPECT_EQ(ErrorField(CheckOvertime(s, r, bad, kToday)), "consent");
  bad = req;
  *bad.mutable_date() = D(2026, 12, 1);
  EXPECT_EQ(ErrorField(CheckOvertime(s, r, bad, kToday)), "date");
  EXPECT_EQ(ErrorField(CheckOvertime(s, r, req, kToday + 1)), "date");  // in the past
}

TEST(RenovationRules, FindingsAndPatrols) {
  google::protobuf::RepeatedPtrField<pb::PatrolFinding> f;
  EXPECT_TRUE(CheckFindings(f).ok());
  auto* x = f.Add();
  x->set_kind(pb::VIOLATION_KIND_STRUCTURE);
  x->set_note("load-bearing wall opened");
  EXPECT_TRUE(CheckFindings(f).ok());
  x->set_kind(pb::VIOLATION_KIND_UNSPECIFIED);
  EXPECT_EQ(ErrorField(CheckFindings(f)), "findings[0].kind");
  x->set_kind(pb::VIOLATION_KIND_FACADE);
  x->clear_note();
  EXPECT_EQ(ErrorField(CheckFindings(f)), "findings[0].note");
  x->set_note("ok");
  x->add_photos();
  EXPECT_EQ(ErrorField(CheckFindings(f)), "findings[0].photos[0].uri");
  x->clear_photos();
  x->set_case_id("x");
  EXPECT_EQ(ErrorField(CheckFindings(f)), "findings[0].case_id");
  x->clear_case_id();
  for (int i = 0; i < 10; ++i) *f.Add() = *x;
  EXPECT_EQ(ErrorField(CheckFindings(f)), "findings");

  pb::Renovation r = Approved();
  EXPECT_TRUE(CheckPatrol(r, kToday).ok());
  EXPECT_EQ(ErrorReason(CheckPatrol(r, kToday - 1)), "OUTSIDE_PERIOD");
  r.set_state(pb::RENOVATION_STATE_APPLIED);
  EXPECT_EQ(ErrorReason(CheckPatrol(r, kToday)), "NOT_APPROVED");
  EXPECT_EQ(ViolationKindName(pb::VIOLATION_KIND_COMMON_SPACE), "common_space");
}

TEST(RenovationRules, AcceptanceWaitsForLinkedCasesAndDeductsAtMostTheDeposit) {
  pb::Renovation r = Approved();
  pb::AcceptRenovationRequest req;
  req.set_passed(true);
  EXPECT_TRUE(CheckAcceptance(r, req).ok());
  req.set_deduction_fen(200001);
  req.set_deduction_reason("damaged lobby floor");
  EXPECT_EQ(ErrorField(CheckAcceptance(r, req)), "deduction_fen");
  req.set_deduction_fen(-1);
  EXPECT_EQ(ErrorField(CheckAcceptance(r, req)), "deduction_fen");
  req.set_deduction_fen(200000);
  EXPECT_TRUE(CheckAcceptance(r, req).ok());
  req.clear_deduction_reason();
  EXPECT_EQ(ErrorField(CheckAcceptance(r, req)), "deduction_reason");
  req.set_deduction_fen(0);
  r.set_cases_open(1);
  EXPECT_EQ(ErrorReason(CheckAcceptance(r, req)), "OPEN_CASES");
  r.set_cases_open(0);
  r.set_state(pb::RENOVATION_STATE_ACCEPTED);
  EXPECT_EQ(ErrorReason(CheckAcceptance(r, req)), "NOT_APPROVED");
}

TEST(RenovationRules, EventsCarryIdsDaysAndAmountsOnly) {
  pb::Renovation r = Approved();
  r.set_id("r");
  r.set_estate_id("e");
  r.set_unit_id("u");
  auto decided = DecidedEvent(r, absl::UnixEpoch());
  EXPECT_TRUE(decided.approved());
  EXPECT_EQ(decided.deposit_fen(), 200000);
  r.set_state(pb::RENOVATION_STATE_REJECTED);
  EXPECT_EQ(DecidedEvent(r, absl::UnixEpoch()).deposit_fen(), 0);
  EXPECT_EQ(DayNumber(absl::CivilDay(2026, 11, 9)), 20261109);
  auto missed = PatrolMissedEvent("r", "e", "u", absl::CivilDay(2026, 11, 9));
  EXPECT_EQ(missed.date().day(), 9);
  EXPECT_FALSE(AppliedEvent(r, DefaultSettings(), absl::UnixEpoch()).documents_complete());
}

}  // namespace
}  // namespace wuye::counter
