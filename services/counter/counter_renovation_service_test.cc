// The counter's renovation: applications, consent, admissions, patrols, acceptance over real gRPC
// (counter_test_fixture.h).
#include <thread>

#include "services/counter/counter_jobs.h"
#include "services/counter/counter_test_fixture.h"
#include "wuye/events/v1/counter_events.pb.h"

namespace wuye::counter::testing {
namespace {

using grpc::StatusCode;

class RenovationHelpers {
 public:
  static pb::CreateRenovationRequest Application(const std::string& unit,
                                                 const std::string& resident,
                                                 bool with_wiring = true,
                                                 pb::Date start = MakeDate(2026, 11, 9),
                                                 pb::Date end = MakeDate(2026, 11, 30)) {
    pb::CreateRenovationRequest req;
    req.set_request_id(NewId(absl::Now()));
    req.set_unit_id(unit);
    req.set_applicant_resident_id(resident);
    req.add_items("kitchen and bathroom tiles");
    req.add_items("move a non-bearing partition");
    for (auto kind : {pb::DOCUMENT_KIND_FLOOR_PLAN, pb::DOCUMENT_KIND_WIRING_PLAN,
                      pb::DOCUMENT_KIND_PLUMBING_PLAN, pb::DOCUMENT_KIND_UNDERTAKING}) {
      if (kind == pb::DOCUMENT_KIND_WIRING_PLAN && !with_wiring) continue;
      auto* d = req.add_documents();
      d->set_kind(kind);
      d->mutable_file()->set_uri(absl::StrCat("oss://estate/reno/", kind, ".pdf"));
    }
    req.mutable_contractor()->set_name("Good Build Co.");
    for (const char* pass : {"P-1", "P-2"}) {
      auto* w = req.add_workers();
      w->set_name("Worker");
      w->set_pass_number(pass);
    }
    *req.mutable_start_date() = start;
    *req.mutable_end_date() = end;
    return req;
  }
};

class CounterRenovationTest : public CounterServiceTest, protected RenovationHelpers {
 protected:
  pb::Renovation Apply(bool with_wiring = true, pb::Date start = MakeDate(2026, 11, 9),
                       pb::Date end = MakeDate(2026, 11, 30), std::string unit = "") {
    if (unit.empty()) unit = unit_;
    std::string owner = unit == unit_ ? owner_ : Resident(unit, estate_, ev::RESIDENT_ROLE_OWNER);
    pb::Renovation r;
    grpc::Status st = Call(&Stub::CreateRenovation, agent_tok_,
                           Application(unit, owner, with_wiring, start, end), &r);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return r;
  }
  grpc::Status Decide(const std::string& tok, const std::string& id, bool approve,
                      pb::Renovation* out, const std::string& reason = "") {
    pb::DecideRenovationRequest req;
    req.set_request_id(Rid());
    req.set_renovation_id(id);
    req.set_approve(approve);
    req.set_reason(reason);
    return Call(&Stub::DecideRenovation, tok, req, out);
  }
  pb::Renovation Approved(pb::Date start = MakeDate(2026, 11, 9),
                          pb::Date end = MakeDate(2026, 11, 30), std::string unit = "") {
    pb::Renovation r = Apply(true, start, end, unit);
    pb::Renovation out;
    EXPECT_TRUE(Decide(manager_tok_, r.id(), true, &out).ok());
    return out;
  }
  grpc::Status Admit(const std::string& id, pb::Admission* out,
                     std::initializer_list<const char*> passes = {"P-1"},
                     const std::string& tok = "") {
    pb::AdmitWorkersRequest req;
    req.set_request_id(Rid());
    req.set_renovation_id(id);
    for (const char* p : passes) req.add_pass_numbers(p);
    return Call(&Stub::AdmitWorkers, tok.empty() ? guard_tok_ : tok, req, out);
  }
  pb::GrantOvertimeRequest Overtime(const std::string& id, pb::Date date, int from, int to) {
    pb::GrantOvertimeRequest req;
    req.set_request_id(Rid());
    req.set_renovation_id(id);
    *req.mutable_date() = date;
    req.mutable_window()->mutable_start()->set_hours(from);
    req.mutable_window()->mutable_end()->set_hours(to);
    req.mutable_consent()->set_uri("oss://estate/reno/overtime-consent.pdf");
    return req;
  }
  pb::RecordPatrolRequest Patrol(const std::string& id, int findings) {
    pb::RecordPatrolRequest req;
    req.set_request_id(Rid());
    req.set_renovation_id(id);
    req.set_work_in_progress(true);
    for (int i = 0; i < findings; ++i) {
      auto* f = req.add_findings();
      f->set_kind(pb::VIOLATION_KIND_COMMON_SPACE);
      f->set_note("rubble piled on the lawn by building 3");
      f->add_photos()->set_uri("oss://estate/patrol/1.jpg");
    }
    return req;
  }
  pb::Renovation Get(const std::string& id) {
    pb::GetRenovationRequest req;
    req.set_id(id);
    pb::Renovation r;
    EXPECT_TRUE(Call(&Stub::GetRenovation, agent_tok_, req, &r).ok());
    return r;
  }
  int64_t Count(const std::string& table) {
    return Query(absl::StrCat("SELECT count(*) FROM ", table));
  }
  template <class T>
  T Payload(const ev::Event& e) {
    T t;
    EXPECT_TRUE(e.payload().UnpackTo(&t));
    return t;
  }
};

// The whole flow: 003_… Q9 (the application and its drawings), Q10 (the hours and the written
// consent), 2.6 (the daily patrol stops and reports what it finds), 000_… 二.9 (the case's
// signed record, the acceptance).
TEST_F(CounterRenovationTest, TheWholeFlowFromApplicationToAcceptance) {
  // Applied without the wiring plan: the desk takes it, the event says it is incomplete.
  pb::Renovation r = Apply(/*with_wiring=*/false);
  EXPECT_EQ(r.state(), pb::RENOVATION_STATE_APPLIED);
  EXPECT_EQ(r.version(), 1);
  auto applied = Published("counter.renovation.applied");
  ASSERT_EQ(applied.size(), 1u);
  EXPECT_EQ(applied[0].subject(), r.id());
  EXPECT_EQ(applied[0].estate_id(), estate_);
  EXPECT_EQ(applied[0].subject_version(), 1);
  auto applied_payload = Payload<ev::RenovationApplied>(applied[0]);
  EXPECT_EQ(applied_payload.unit_id(), unit_);
  EXPECT_FALSE(applied_payload.documents_complete());

  // Q9: approval refused while a drawing is missing, naming it; nothing changes.
  pb::Renovation out;
  grpc::Status st = Decide(manager_tok_, r.id(), true, &out);
  EXPECT_EQ(st.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(st), "MISSING_DOCUMENTS");
  EXPECT_NE(st.error_message().find("wiring_plan"), std::string::npos) << st.error_message();
  EXPECT_EQ(Get(r.id()).state(), pb::RENOVATION_STATE_APPLIED);
  EXPECT_TRUE(Published("counter.renovation.decided").empty());

  pb::AddRenovationDocumentsRequest add;
  add.set_request_id(Rid());
  add.set_renovation_id(r.id());
  auto* doc = add.add_documents();
  doc->set_kind(pb::DOCUMENT_KIND_WIRING_PLAN);
  doc->mutable_file()->set_uri("oss://estate/reno/wiring.pdf");
  ASSERT_TRUE(Call(&Stub::AddRenovationDocuments, agent_tok_, add, &out).ok());
  EXPECT_EQ(out.documents_size(), 4);

  // Approved with the deposit of the settings.
  ASSERT_TRUE(Decide(manager_tok_, r.id(), true, &out).ok());
  EXPECT_EQ(out.state(), pb::RENOVATION_STATE_APPROVED);
  EXPECT_EQ(out.deposit_fen(), 200000);
  EXPECT_EQ(out.decision().actor().subject(), manager_);
  auto decided = Published("counter.renovation.decided");
  ASSERT_EQ(decided.size(), 1u);
  EXPECT_EQ(decided[0].subject_version(), 2);
  auto decided_payload = Payload<ev::RenovationDecided>(decided[0]);
  EXPECT_TRUE(decided_payload.approved());
  EXPECT_EQ(decided_payload.deposit_fen(), 200000);
  EXPECT_EQ(decided_payload.unit_id(), unit_);

  // Q10: Tuesday 09:00 in, 12:30 and 19:00 refused.
  pb::Admission admission;
  clock_.Set(Shanghai(2026, 11, 10, 9, 0));
  ASSERT_TRUE(Admit(r.id(), &admission, {"P-1", "P-2"}).ok());
  EXPECT_FALSE(admission.under_overtime_consent());
  EXPECT_EQ(admission.admitted_by(), guard_);
  EXPECT_EQ(admission.pass_numbers_size(), 2);
  for (auto [hh, mm] : {std::pair{12, 30}, std::pair{19, 0}}) {
    clock_.Set(Shanghai(2026, 11, 10, hh, mm));
    st = Admit(r.id(), &admission);
    EXPECT_EQ(st.error_code(), StatusCode::FAILED_PRECONDITION) << hh;
    EXPECT_EQ(Reason(st), "OUTSIDE_WORKING_HOURS") << hh;
  }
  EXPECT_EQ(Count("renovation_admissions"), 1);

  // The office's written consent for 19:00–20:00 that day; 19:30 then comes in.
  clock_.Set(Shanghai(2026, 11, 10, 17, 0));
  ASSERT_TRUE(Call(&Stub::GrantOvertime, manager_tok_,
                   Overtime(r.id(), MakeDate(2026, 11, 10), 19, 20), &out)
                  .ok());
  ASSERT_EQ(out.overtime_size(), 1);
  EXPECT_EQ(out.overtime(0).granted_by(), manager_);
  clock_.Set(Shanghai(2026, 11, 10, 19, 30));
  ASSERT_TRUE(Admit(r.id(), &admission).ok());
  EXPECT_TRUE(admission.under_overtime_consent());

  // 2.6: the patrol finds rubble on the lawn: a case linked to the renovation.
  pb::Patrol patrol;
  ASSERT_TRUE(Call(&Stub::RecordPatrol, guard_tok_, Patrol(r.id(), 1), &patrol).ok());
  EXPECT_EQ(patrol.date().day(), 10);
  ASSERT_EQ(patrol.findings_size(), 1);
  const std::string case_id = patrol.findings(0).case_id();
  ASSERT_FALSE(case_id.empty());
  pb::GetCaseRequest get_case;
  get_case.set_id(case_id);
  pb::Case c;
  ASSERT_TRUE(Call(&Stub::GetCase, agent_tok_, get_case, &c).ok());
  EXPECT_EQ(c.kind(), pb::CASE_KIND_RENOVATION_DAMAGE);
  EXPECT_EQ(c.renovation_id(), r.id());
  EXPECT_EQ(c.location().unit_id(), unit_);
  EXPECT_EQ(c.owner_staff_id(), guard_);
  auto opened = Published("counter.case.opened");
  ASSERT_EQ(opened.size(), 1u);
  EXPECT_EQ(opened[0].subject(), case_id);
  EXPECT_EQ(Payload<ev::CaseChanged>(opened[0]).kind(), "renovation_damage");
  pb::Renovation now = Get(r.id());
  EXPECT_EQ(now.cases_open(), 1);
  EXPECT_EQ(now.cases_total(), 1);

  // Acceptance waits for the case.
  pb::AcceptRenovationRequest accept;
  accept.set_request_id(Rid());
  accept.set_renovation_id(r.id());
  accept.set_passed(true);
  accept.set_deduction_fen(50000);
  accept.set_deduction_reason("lawn by building 3 re-turfed");
  st = Call(&Stub::AcceptRenovation, manager_tok_, accept, &out);
  EXPECT_EQ(Reason(st), "OPEN_CASES");
  EXPECT_EQ(Get(r.id()).state(), pb::RENOVATION_STATE_APPROVED);

  // The case's steps and its closing with the signed record (000_… 二.9).
  pb::RecordCaseActionRequest action;
  action.set_request_id(Rid());
  action.set_case_id(case_id);
  action.set_kind(pb::CASE_ACTION_KIND_STOP_ORDER);
  action.set_note("told the contractor to clear the lawn today");
  ASSERT_TRUE(Call(&Stub::RecordCaseAction, guard_tok_, action, &c).ok());
  EXPECT_EQ(c.actions_size(), 1);
  pb::CloseCaseRequest close;
  close.set_request_id(Rid());
  close.set_case_id(case_id);
  close.set_outcome(pb::CASE_OUTCOME_CORRECTED);
  st = Call(&Stub::CloseCase, agent_tok_, close, &c);
  EXPECT_EQ(Reason(st), "NO_SIGNED_RECORD");
  close.set_request_id(Rid());
  close.mutable_signed_record()->set_uri("oss://estate/cases/record.pdf");
  close.set_signed_by("owner of 1203");
  ASSERT_TRUE(Call(&Stub::CloseCase, agent_tok_, close, &c).ok());
  EXPECT_EQ(c.state(), pb::CASE_STATE_CLOSED);
  EXPECT_EQ(Published("counter.case.closed").size(), 1u);

  ASSERT_TRUE(Call(&Stub::AcceptRenovation, manager_tok_, accept, &out).ok());
  EXPECT_EQ(out.state(), pb::RENOVATION_STATE_ACCEPTED);
  EXPECT_EQ(out.deduction_fen(), 50000);
  EXPECT_EQ(out.cases_open(), 0);
  auto accepted = Published("counter.renovation.accepted");
  ASSERT_EQ(accepted.size(), 1u);
  EXPECT_EQ(accepted[0].subject_version(), out.version());
  auto accepted_payload = Payload<ev::RenovationAccepted>(accepted[0]);
  EXPECT_EQ(accepted_payload.deposit_fen(), 200000);
  EXPECT_EQ(accepted_payload.deduction_fen(), 50000);
  EXPECT_TRUE(accepted_payload.passed());
  // Final: no more admissions.
  EXPECT_EQ(Reason(Admit(r.id(), &admission)), "NOT_APPROVED");
}

// 003_… 2.6 (每日現場巡查) and 000_… 二.9 (日常巡查記錄): each day of approved work that ends
// without a patrol is found once, by the daily check.
TEST_F(CounterRenovationTest, TheDailyCheckFindsEachDayWithoutAPatrolOnce) {
  pb::Renovation r = Approved(MakeDate(2026, 11, 9), MakeDate(2026, 11, 12));
  pb::Renovation applied_only =
      Apply(true, MakeDate(2026, 11, 9), MakeDate(2026, 11, 12), Unit(estate_, "1204"));
  pb::Patrol patrol;
  ASSERT_TRUE(Call(&Stub::RecordPatrol, guard_tok_, Patrol(r.id(), 0), &patrol).ok());
  PatrolCheck check(*db_, clock_);

  // The 9th is not over yet; then it is, and it had its patrol.
  EXPECT_EQ(*check.Tick(), 0);
  clock_.Set(Shanghai(2026, 11, 10, 0, 30));
  EXPECT_EQ(*check.Tick(), 0);
  // The 10th passed without one: found once, however often the check runs.
  clock_.Set(Shanghai(2026, 11, 11, 1, 0));
  EXPECT_EQ(*check.Tick(), 1);
  EXPECT_EQ(*check.Tick(), 0);
  auto missed = Published("counter.renovation.patrol_missed");
  ASSERT_EQ(missed.size(), 1u);
  EXPECT_EQ(missed[0].subject(), r.id());
  EXPECT_EQ(missed[0].subject_version(), 20261110);
  EXPECT_EQ(missed[0].estate_id(), estate_);
  auto payload = Payload<ev::PatrolMissed>(missed[0]);
  EXPECT_EQ(payload.unit_id(), unit_);
  EXPECT_EQ(payload.date().day(), 10);
  EXPECT_EQ(Get(r.id()).patrols_missed(), 1);

  // Days later: the 11th and 12th (the period's end), nothing after it; two replicas racing
  // find them once between them.
  clock_.Set(Shanghai(2026, 11, 20, 3, 0));
  PatrolCheck other(*db_, clock_);
  int a = 0, b = 0;
  std::thread t1([&] { a = *check.Tick(); });
  std::thread t2([&] { b = *other.Tick(); });
  t1.join();
  t2.join();
  EXPECT_EQ(a + b, 2);
  EXPECT_EQ(*check.Tick(), 0);
  EXPECT_EQ(Published("counter.renovation.patrol_missed").size(), 3u);
  EXPECT_EQ(Get(r.id()).patrols_missed(), 3);
  EXPECT_EQ(Get(applied_only.id()).patrols_missed(), 0);
  EXPECT_EQ(Count("renovation_missed_days"), 3);
}

TEST_F(CounterRenovationTest, BadApplicationsAreRefusedByFieldAndChangeNothing) {
  pb::Renovation out;
  auto req = Application(unit_, owner_);
  req.set_unit_id("nope");
  EXPECT_EQ(Field(Call(&Stub::CreateRenovation, agent_tok_, req, &out)), "unit_id");
  req = Application(NewId(absl::Now()), owner_);
  EXPECT_EQ(Call(&Stub::CreateRenovation, agent_tok_, req, &out).error_code(),
            StatusCode::NOT_FOUND);
  // A resident of another unit is not this unit's applicant.
  std::string other_unit = Unit(estate_, "1501");
  req = Application(unit_, Resident(other_unit, estate_, ev::RESIDENT_ROLE_OWNER));
  grpc::Status st = Call(&Stub::CreateRenovation, agent_tok_, req, &out);
  EXPECT_EQ(st.error_code(), StatusCode::NOT_FOUND);
  EXPECT_NE(st.error_message().find("applicant_resident_id"), std::string::npos);
  struct Bad {
    std::function<void(pb::CreateRenovationRequest&)> spoil;
    std::string field;
  };
  for (const Bad& bad : std::vector<Bad>{
           {[](auto& r) { r.clear_items(); }, "items"},
           {[](auto& r) { r.clear_workers(); }, "workers"},
           {[](auto& r) { r.mutable_contractor()->clear_name(); }, "contractor.name"},
           {[](auto& r) { r.mutable_documents(0)->mutable_file()->clear_uri(); },
            "documents[0].file.uri"},
           {[](auto& r) { *r.mutable_start_date() = MakeDate(2026, 11, 8); }, "start_date"},
           {[](auto& r) { *r.mutable_end_date() = MakeDate(2026, 11, 1); }, "end_date"},
           {[](auto& r) { r.clear_end_date(); }, "end_date"},
           {[](auto& r) { r.mutable_workers(1)->set_pass_number("P-1"); },
            "workers[1].pass_number"},
       }) {
    req = Application(unit_, owner_);
    bad.spoil(req);
    st = Call(&Stub::CreateRenovation, agent_tok_, req, &out);
    EXPECT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT) << bad.field;
    EXPECT_EQ(Field(st), bad.field);
  }
  EXPECT_EQ(Count("renovations"), 0);
  EXPECT_TRUE(Published("counter.renovation.applied").empty());
  // One renovation at a time per unit.
  Apply();
  st = Call(&Stub::CreateRenovation, agent_tok_, Application(unit_, owner_), &out);
  EXPECT_EQ(Reason(st), "RENOVATION_IN_PROGRESS");
  EXPECT_EQ(Count("renovations"), 1);
}

TEST_F(CounterRenovationTest, DecisionsAreTheOfficesAndOnce) {
  pb::Renovation r = Apply();
  pb::Renovation out;
  for (const std::string& tok : {agent_tok_, guard_tok_, inspector_tok_, finance_tok_}) {
    EXPECT_EQ(Decide(tok, r.id(), true, &out).error_code(), StatusCode::PERMISSION_DENIED);
  }
  EXPECT_EQ(Field(Decide(manager_tok_, r.id(), false, &out)), "reason");
  EXPECT_EQ(Get(r.id()).state(), pb::RENOVATION_STATE_APPLIED);
  ASSERT_TRUE(Decide(supervisor_tok_, r.id(), false, &out, "load-bearing wall to be removed").ok());
  EXPECT_EQ(out.state(), pb::RENOVATION_STATE_REJECTED);
  EXPECT_EQ(out.decision().reason(), "load-bearing wall to be removed");
  auto decided = Published("counter.renovation.decided");
  ASSERT_EQ(decided.size(), 1u);
  EXPECT_FALSE(Payload<ev::RenovationDecided>(decided[0]).approved());
  EXPECT_EQ(Payload<ev::RenovationDecided>(decided[0]).deposit_fen(), 0);
  EXPECT_EQ(Reason(Decide(manager_tok_, r.id(), true, &out)), "ALREADY_DECIDED");
  pb::AddRenovationDocumentsRequest add;
  add.set_request_id(Rid());
  add.set_renovation_id(r.id());
  auto* doc = add.add_documents();
  doc->set_kind(pb::DOCUMENT_KIND_OTHER);
  doc->mutable_file()->set_uri("oss://x");
  EXPECT_EQ(Reason(Call(&Stub::AddRenovationDocuments, agent_tok_, add, &out)), "ALREADY_DECIDED");
  add.set_request_id(Rid());
  add.mutable_documents(0)->set_kind(pb::DOCUMENT_KIND_UNSPECIFIED);
  EXPECT_EQ(Field(Call(&Stub::AddRenovationDocuments, agent_tok_, add, &out)), "documents[0].kind");
  // A rejected unit may apply again; a group admin may decide, with the group's deposit.
  pb::UpdateSettingsRequest settings;
  settings.set_request_id(Rid());
  settings.mutable_settings()->set_renovation_deposit_fen(300000);
  settings.mutable_update_mask()->add_paths("renovation_deposit_fen");
  pb::Settings s;
  ASSERT_TRUE(Call(&Stub::UpdateSettings, admin_tok_, settings, &s).ok());
  pb::Renovation again = Apply();
  ASSERT_TRUE(Decide(admin_tok_, again.id(), true, &out).ok());
  EXPECT_EQ(out.deposit_fen(), 300000);
  EXPECT_EQ(
      Payload<ev::RenovationDecided>(Published("counter.renovation.decided")[1]).deposit_fen(),
      300000);
}

TEST_F(CounterRenovationTest, AdmissionsOvertimeAndPatrolsRefuseWhatTheRulesRefuse) {
  pb::Renovation applied = Apply(true, MakeDate(2026, 11, 12), MakeDate(2026, 11, 20));
  pb::Admission a;
  pb::Renovation out;
  pb::Patrol patrol;
  EXPECT_EQ(Reason(Admit(applied.id(), &a)), "NOT_APPROVED");
  EXPECT_EQ(Reason(Call(&Stub::RecordPatrol, guard_tok_, Patrol(applied.id(), 0), &patrol)),
            "NOT_APPROVED");
  EXPECT_EQ(Reason(Call(&Stub::GrantOvertime, manager_tok_,
                        Overtime(applied.id(), MakeDate(2026, 11, 12), 19, 20), &out)),
            "NOT_APPROVED");
  ASSERT_TRUE(Decide(manager_tok_, applied.id(), true, &out).ok());
  // Today (the 9th, 09:30) is before the period.
  EXPECT_EQ(Reason(Admit(applied.id(), &a)), "OUTSIDE_PERIOD");
  EXPECT_EQ(Reason(Call(&Stub::RecordPatrol, guard_tok_, Patrol(applied.id(), 0), &patrol)),
            "OUTSIDE_PERIOD");
  clock_.Set(Shanghai(2026, 11, 12, 10, 0));
  grpc::Status st = Admit(applied.id(), &a, {"P-1", "P-404"});
  EXPECT_EQ(st.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Field(st), "pass_numbers[1]");
  EXPECT_EQ(Field(Admit(applied.id(), &a, {})), "pass_numbers");
  EXPECT_EQ(Admit(applied.id(), &a, {"P-1"}, finance_tok_).error_code(),
            StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Count("renovation_admissions"), 0);
  // Overtime: outside the hours, within the period, not in the past, the office's.
  EXPECT_EQ(Field(Call(&Stub::GrantOvertime, manager_tok_,
                       Overtime(applied.id(), MakeDate(2026, 11, 12), 17, 19), &out)),
            "window");
  EXPECT_EQ(Field(Call(&Stub::GrantOvertime, manager_tok_,
                       Overtime(applied.id(), MakeDate(2026, 11, 21), 19, 20), &out)),
            "date");
  EXPECT_EQ(Field(Call(&Stub::GrantOvertime, manager_tok_,
                       Overtime(applied.id(), MakeDate(2026, 11, 11), 19, 20), &out)),
            "date");
  auto no_consent = Overtime(applied.id(), MakeDate(2026, 11, 12), 19, 20);
  no_consent.clear_consent();
  EXPECT_EQ(Field(Call(&Stub::GrantOvertime, manager_tok_, no_consent, &out)), "consent");
  EXPECT_EQ(Call(&Stub::GrantOvertime, agent_tok_,
                 Overtime(applied.id(), MakeDate(2026, 11, 12), 19, 20), &out)
                .error_code(),
            StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Get(applied.id()).overtime_size(), 0);
  // A consent of another day does not cover today.
  ASSERT_TRUE(Call(&Stub::GrantOvertime, supervisor_tok_,
                   Overtime(applied.id(), MakeDate(2026, 11, 13), 19, 21), &out)
                  .ok());
  clock_.Set(Shanghai(2026, 11, 12, 19, 30));
  EXPECT_EQ(Reason(Admit(applied.id(), &a)), "OUTSIDE_WORKING_HOURS");
  clock_.Set(Shanghai(2026, 11, 13, 20, 59));
  EXPECT_TRUE(Admit(applied.id(), &a).ok());
  // Bad findings.
  auto bad = Patrol(applied.id(), 1);
  bad.mutable_findings(0)->clear_note();
  EXPECT_EQ(Field(Call(&Stub::RecordPatrol, guard_tok_, bad, &patrol)), "findings[0].note");
  bad = Patrol(applied.id(), 1);
  bad.mutable_findings(0)->set_kind(pb::VIOLATION_KIND_UNSPECIFIED);
  EXPECT_EQ(Field(Call(&Stub::RecordPatrol, guard_tok_, bad, &patrol)), "findings[0].kind");
  EXPECT_EQ(Count("renovation_patrols"), 0);
  EXPECT_EQ(Count("cases"), 0);
}

TEST_F(CounterRenovationTest, AcceptanceDeductsAtMostTheDepositWithAReason) {
  pb::Renovation r = Approved();
  pb::AcceptRenovationRequest req;
  req.set_request_id(Rid());
  req.set_renovation_id(r.id());
  req.set_passed(false);
  req.set_deduction_fen(200001);
  req.set_deduction_reason("stair walls repainted");
  pb::Renovation out;
  EXPECT_EQ(Field(Call(&Stub::AcceptRenovation, manager_tok_, req, &out)), "deduction_fen");
  req.set_request_id(Rid());
  req.set_deduction_fen(1000);
  req.clear_deduction_reason();
  EXPECT_EQ(Field(Call(&Stub::AcceptRenovation, manager_tok_, req, &out)), "deduction_reason");
  req.set_request_id(Rid());
  req.set_deduction_fen(-1);
  EXPECT_EQ(Field(Call(&Stub::AcceptRenovation, manager_tok_, req, &out)), "deduction_fen");
  EXPECT_EQ(Call(&Stub::AcceptRenovation, agent_tok_, req, &out).error_code(),
            StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Get(r.id()).state(), pb::RENOVATION_STATE_APPROVED);
  EXPECT_TRUE(Published("counter.renovation.accepted").empty());
  req.set_request_id(Rid());
  req.set_deduction_fen(200000);
  req.set_deduction_reason("stair walls repainted");
  ASSERT_TRUE(Call(&Stub::AcceptRenovation, manager_tok_, req, &out).ok());
  EXPECT_FALSE(out.passed());
  auto accepted = Payload<ev::RenovationAccepted>(Published("counter.renovation.accepted")[0]);
  EXPECT_FALSE(accepted.passed());
  EXPECT_EQ(accepted.deduction_fen(), 200000);
  req.set_request_id(Rid());
  EXPECT_EQ(Reason(Call(&Stub::AcceptRenovation, manager_tok_, req, &out)), "NOT_APPROVED");
}

TEST_F(CounterRenovationTest, RequestIdsReplayTheFirstAnswer) {
  auto req = Application(unit_, owner_);
  pb::Renovation first, second;
  ASSERT_TRUE(Call(&Stub::CreateRenovation, agent_tok_, req, &first).ok());
  ASSERT_TRUE(Call(&Stub::CreateRenovation, agent_tok_, req, &second).ok());
  EXPECT_EQ(first.id(), second.id());
  EXPECT_EQ(Count("renovations"), 1);
  req.add_items("and the balcony");
  grpc::Status st = Call(&Stub::CreateRenovation, agent_tok_, req, &second);
  EXPECT_EQ(Field(st), "request_id");
  EXPECT_EQ(Reason(st), "REQUEST_ID_REUSED");

  pb::DecideRenovationRequest decide;
  decide.set_request_id(Rid());
  decide.set_renovation_id(first.id());
  decide.set_approve(true);
  ASSERT_TRUE(Call(&Stub::DecideRenovation, manager_tok_, decide, &second).ok());
  ASSERT_TRUE(Call(&Stub::DecideRenovation, manager_tok_, decide, &second).ok());
  EXPECT_EQ(Published("counter.renovation.decided").size(), 1u);

  // A patrol retried opens its cases once.
  auto patrol = Patrol(first.id(), 2);
  pb::Patrol p1, p2;
  ASSERT_TRUE(Call(&Stub::RecordPatrol, guard_tok_, patrol, &p1).ok());
  ASSERT_TRUE(Call(&Stub::RecordPatrol, guard_tok_, patrol, &p2).ok());
  EXPECT_EQ(p1.id(), p2.id());
  EXPECT_EQ(Count("cases"), 2);
  EXPECT_EQ(Count("renovation_patrols"), 1);
  EXPECT_EQ(Published("counter.case.opened").size(), 2u);

  pb::AdmitWorkersRequest admit;
  admit.set_request_id(Rid());
  admit.set_renovation_id(first.id());
  admit.add_pass_numbers("P-2");
  pb::Admission a1, a2;
  ASSERT_TRUE(Call(&Stub::AdmitWorkers, guard_tok_, admit, &a1).ok());
  ASSERT_TRUE(Call(&Stub::AdmitWorkers, guard_tok_, admit, &a2).ok());
  EXPECT_EQ(a1.id(), a2.id());
  EXPECT_EQ(Count("renovation_admissions"), 1);
}

TEST_F(CounterRenovationTest, ConcurrentRetriesMakeOneRenovationAndAUnitHasOneAtATime) {
  auto req = Application(unit_, owner_);
  pb::Renovation a, b;
  grpc::Status sa, sb;
  std::thread t1([&] { sa = Call(&Stub::CreateRenovation, agent_tok_, req, &a); });
  std::thread t2([&] { sb = Call(&Stub::CreateRenovation, agent_tok_, req, &b); });
  t1.join();
  t2.join();
  ASSERT_TRUE(sa.ok() && sb.ok()) << sa.error_message() << sb.error_message();
  EXPECT_EQ(a.id(), b.id());
  EXPECT_EQ(Count("renovations"), 1);
  EXPECT_EQ(Published("counter.renovation.applied").size(), 1u);
  // Two different applications for another unit at once: one is taken.
  std::string unit = Unit(estate_, "1801");
  std::string owner = Resident(unit, estate_, ev::RESIDENT_ROLE_OWNER);
  auto r1 = Application(unit, owner), r2 = Application(unit, owner);
  std::thread t3([&] { sa = Call(&Stub::CreateRenovation, agent_tok_, r1, &a); });
  std::thread t4([&] { sb = Call(&Stub::CreateRenovation, agent_tok_, r2, &b); });
  t3.join();
  t4.join();
  EXPECT_NE(sa.ok(), sb.ok());
  EXPECT_EQ(Reason(sa.ok() ? sb : sa), "RENOVATION_IN_PROGRESS");
  EXPECT_EQ(Count("renovations"), 2);
}

TEST_F(CounterRenovationTest, OtherGroupsOtherEstatesAndOtherRolesSeeNothing) {
  pb::Renovation r = Apply();
  pb::Renovation out;
  pb::GetRenovationRequest get;
  get.set_id(r.id());
  EXPECT_EQ(Call(&Stub::GetRenovation, foreign_tok_, get, &out).error_code(),
            StatusCode::NOT_FOUND);
  EXPECT_EQ(Decide(foreign_tok_, r.id(), true, &out).error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(Call(&Stub::GetRenovation, other_estate_tok_, get, &out).error_code(),
            StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Call(&Stub::GetRenovation, finance_tok_, get, &out).error_code(),
            StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Call(&Stub::GetRenovation, tech_tok_, get, &out).error_code(),
            StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(Call(&Stub::GetRenovation, inspector_tok_, get, &out).ok());
  // An application for another group's unit: not found; for the other estate: refused.
  pb::Renovation created;
  EXPECT_EQ(Call(&Stub::CreateRenovation, foreign_tok_, Application(unit_, owner_), &created)
                .error_code(),
            StatusCode::NOT_FOUND);
  std::string far_unit = Unit(other_estate_, "0101");
  std::string far_owner = Resident(far_unit, other_estate_, ev::RESIDENT_ROLE_OWNER);
  EXPECT_EQ(Call(&Stub::CreateRenovation, agent_tok_, Application(far_unit, far_owner), &created)
                .error_code(),
            StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(
      Call(&Stub::CreateRenovation, guard_tok_, Application(unit_, owner_), &created).error_code(),
      StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Count("renovations"), 1);
  EXPECT_EQ(Get(r.id()).state(), pb::RENOVATION_STATE_APPLIED);

  // Lists: by estate, by state, paged; another estate's list refused.
  Apply(true, MakeDate(2026, 11, 9), MakeDate(2026, 11, 30), Unit(estate_, "1205"));
  pb::ListRenovationsRequest list;
  list.set_estate_id(estate_);
  list.set_page_size(1);
  pb::ListRenovationsResponse page;
  ASSERT_TRUE(Call(&Stub::ListRenovations, guard_tok_, list, &page).ok());
  EXPECT_EQ(page.renovations_size(), 1);
  ASSERT_FALSE(page.next_page_token().empty());
  list.set_page_token(page.next_page_token());
  ASSERT_TRUE(Call(&Stub::ListRenovations, guard_tok_, list, &page).ok());
  EXPECT_EQ(page.renovations_size(), 1);
  EXPECT_TRUE(page.next_page_token().empty());
  list.clear_page_token();
  list.set_state(pb::RENOVATION_STATE_APPROVED);
  ASSERT_TRUE(Call(&Stub::ListRenovations, guard_tok_, list, &page).ok());
  EXPECT_EQ(page.renovations_size(), 0);
  list.set_state(static_cast<pb::RenovationState>(42));
  EXPECT_EQ(Field(Call(&Stub::ListRenovations, guard_tok_, list, &page)), "state");
  list.set_state(pb::RENOVATION_STATE_UNSPECIFIED);
  list.set_estate_id(other_estate_);
  EXPECT_EQ(Call(&Stub::ListRenovations, guard_tok_, list, &page).error_code(),
            StatusCode::PERMISSION_DENIED);
  list.set_estate_id(estate_);
  ASSERT_TRUE(Call(&Stub::ListRenovations, foreign_tok_, list, &page).ok());
  EXPECT_EQ(page.renovations_size(), 0);

  // Patrols' list.
  pb::ListPatrolsRequest patrols;
  patrols.set_renovation_id(r.id());
  pb::ListPatrolsResponse listed;
  EXPECT_TRUE(Call(&Stub::ListPatrols, inspector_tok_, patrols, &listed).ok());
  EXPECT_EQ(Call(&Stub::ListPatrols, foreign_tok_, patrols, &listed).error_code(),
            StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace wuye::counter::testing
