// The counter's violation and dispute cases, their actions and inspections over real gRPC
// (counter_test_fixture.h).
#include "services/counter/counter_test_fixture.h"
#include "wuye/events/v1/counter_events.pb.h"

namespace wuye::counter::testing {
namespace {

using grpc::StatusCode;

class CounterCasesTest : public CounterServiceTest {
 protected:
  pb::CreateCaseRequest NewCase(pb::CaseKind kind = pb::CASE_KIND_ILLEGAL_BUILDING) {
    pb::CreateCaseRequest req;
    req.set_request_id(Rid());
    req.set_kind(kind);
    req.mutable_location()->set_estate_id(estate_);
    req.mutable_location()->set_unit_id(unit_);
    req.set_description("a shed built on the roof terrace");
    return req;
  }
  pb::Case Open(const std::string& tok = "") {
    pb::Case c;
    grpc::Status st = Call(&Stub::CreateCase, tok.empty() ? agent_tok_ : tok, NewCase(), &c);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return c;
  }
  grpc::Status Inspect(const std::string& tok, const std::string& id, bool handled,
                       const std::string& note, pb::Case* out, std::string rid = "") {
    pb::InspectCaseRequest req;
    req.set_request_id(rid.empty() ? Rid() : rid);
    req.set_case_id(id);
    req.set_handled(handled);
    req.set_note(note);
    return Call(&Stub::InspectCase, tok, req, out);
  }
  pb::CloseCaseRequest Close(const std::string& id) {
    pb::CloseCaseRequest req;
    req.set_request_id(Rid());
    req.set_case_id(id);
    req.set_outcome(pb::CASE_OUTCOME_CORRECTED);
    req.mutable_signed_record()->set_uri("oss://estate/cases/record.pdf");
    req.set_signed_by("owner of 1203");
    return req;
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

// 000_… 二.7: 私搭亂建 … 勸告、報告並協助有關部門依法處理, 書面材料由相關責任人簽字.
TEST_F(CounterCasesTest, Clause7ACaseIsAdvisedReportedAndClosedWithItsSignedRecord) {
  pb::Case c = Open();
  EXPECT_EQ(c.state(), pb::CASE_STATE_OPEN);
  EXPECT_EQ(c.owner_staff_id(), agent_);
  EXPECT_EQ(c.version(), 1);
  auto opened = Published("counter.case.opened");
  ASSERT_EQ(opened.size(), 1u);
  EXPECT_EQ(opened[0].subject(), c.id());
  EXPECT_EQ(opened[0].subject_version(), 1);
  auto payload = Payload<ev::CaseChanged>(opened[0]);
  EXPECT_EQ(payload.kind(), "illegal_building");
  EXPECT_EQ(payload.unit_id(), unit_);
  EXPECT_EQ(payload.owner_staff_id(), agent_);
  EXPECT_FALSE(payload.closed());

  pb::RecordCaseActionRequest action;
  action.set_request_id(Rid());
  action.set_case_id(c.id());
  action.set_kind(pb::CASE_ACTION_KIND_ADVICE);
  action.set_note("advised the owner to take it down within a week");
  ASSERT_TRUE(Call(&Stub::RecordCaseAction, agent_tok_, action, &c).ok());
  action.set_request_id(Rid());
  action.set_kind(pb::CASE_ACTION_KIND_REPORT_TO_AUTHORITY);
  action.set_note("not taken down; reported");
  EXPECT_EQ(Field(Call(&Stub::RecordCaseAction, agent_tok_, action, &c)), "authority");
  action.set_authority("urban management bureau");
  ASSERT_TRUE(Call(&Stub::RecordCaseAction, agent_tok_, action, &c).ok());
  ASSERT_EQ(c.actions_size(), 2);
  EXPECT_EQ(c.actions(1).authority(), "urban management bureau");
  EXPECT_EQ(c.actions(1).change().actor().subject(), agent_);

  // Without the signed record, or without who signed it: refused, nothing changes.
  auto close = Close(c.id());
  close.clear_signed_record();
  grpc::Status st = Call(&Stub::CloseCase, agent_tok_, close, &c);
  EXPECT_EQ(st.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(st), "NO_SIGNED_RECORD");
  close = Close(c.id());
  close.clear_signed_by();
  EXPECT_EQ(Reason(Call(&Stub::CloseCase, agent_tok_, close, &c)), "NO_SIGNED_RECORD");
  close = Close(c.id());
  close.set_outcome(pb::CASE_OUTCOME_UNSPECIFIED);
  EXPECT_EQ(Field(Call(&Stub::CloseCase, agent_tok_, close, &c)), "outcome");
  EXPECT_EQ(Call(&Stub::CloseCase, guard_tok_, Close(c.id()), &c).error_code(),
            StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(Published("counter.case.closed").empty());

  close = Close(c.id());
  close.set_outcome(pb::CASE_OUTCOME_HANDED_TO_AUTHORITY);
  close.set_note("the bureau handles it");
  ASSERT_TRUE(Call(&Stub::CloseCase, agent_tok_, close, &c).ok());
  EXPECT_EQ(c.state(), pb::CASE_STATE_CLOSED);
  EXPECT_EQ(c.signed_by(), "owner of 1203");
  EXPECT_EQ(c.close_note(), "the bureau handles it");
  EXPECT_EQ(c.version(), 4);
  auto closed = Published("counter.case.closed");
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].subject_version(), 4);
  EXPECT_TRUE(Payload<ev::CaseChanged>(closed[0]).closed());
  // Closed is closed.
  EXPECT_EQ(Reason(Call(&Stub::CloseCase, agent_tok_, Close(c.id()), &c)), "CASE_CLOSED");
  action.set_request_id(Rid());
  EXPECT_EQ(Reason(Call(&Stub::RecordCaseAction, agent_tok_, action, &c)), "CASE_CLOSED");
}

// 000_… 二.7–9: 定期或不定期進行檢查, 如發現未處理 … 每發現一件扣服務質量標準分值50分: the
// finding is charged to the case's owner (performance takes the −50).
TEST_F(CounterCasesTest, Clause7To9AnInspectorFindsACaseNotHandled) {
  pb::CreateCaseRequest req = NewCase(pb::CASE_KIND_NEIGHBOUR_DISPUTE);
  req.set_owner_staff_id(guard_);
  pb::Case c;
  ASSERT_TRUE(Call(&Stub::CreateCase, agent_tok_, req, &c).ok());
  EXPECT_EQ(c.owner_staff_id(), guard_);

  pb::Case out;
  for (const std::string& tok : {agent_tok_, manager_tok_, supervisor_tok_, guard_tok_}) {
    EXPECT_EQ(Inspect(tok, c.id(), false, "nothing done", &out).error_code(),
              StatusCode::PERMISSION_DENIED);
  }
  EXPECT_EQ(Field(Inspect(inspector_tok_, c.id(), false, "", &out)), "note");
  EXPECT_EQ(Count("case_inspections"), 0);

  const std::string rid = Rid();
  ASSERT_TRUE(Inspect(inspector_tok_, c.id(), false, "no mediation in ten days", &out, rid).ok());
  EXPECT_EQ(out.found_unhandled(), 1);
  EXPECT_GT(out.last_inspection_time().seconds(), 0);
  // The same request again: the same answer, one finding.
  ASSERT_TRUE(Inspect(inspector_tok_, c.id(), false, "no mediation in ten days", &out, rid).ok());
  auto found = Published("counter.case.found_unhandled");
  ASSERT_EQ(found.size(), 1u);
  auto payload = Payload<ev::CaseFoundUnhandled>(found[0]);
  EXPECT_EQ(payload.case_id(), c.id());
  EXPECT_EQ(payload.owner_staff_id(), guard_);
  EXPECT_EQ(payload.estate_id(), estate_);
  EXPECT_EQ(found[0].subject(), payload.inspection_id());
  EXPECT_EQ(found[0].estate_id(), estate_);
  EXPECT_FALSE(payload.inspector_staff_id().empty());
  // Found handled: recorded, no finding.
  ASSERT_TRUE(Inspect(inspector_tok_, c.id(), true, "", &out).ok());
  EXPECT_EQ(out.found_unhandled(), 1);
  EXPECT_EQ(Published("counter.case.found_unhandled").size(), 1u);
  EXPECT_EQ(Count("case_inspections"), 2);
  // A group admin may inspect too.
  ASSERT_TRUE(Inspect(admin_tok_, c.id(), false, "still nothing", &out).ok());
  EXPECT_EQ(out.found_unhandled(), 2);
  EXPECT_EQ(Published("counter.case.found_unhandled").size(), 2u);
}

TEST_F(CounterCasesTest, BadCasesAreRefusedByFieldAndChangeNothing) {
  pb::Case c;
  struct Bad {
    std::function<void(pb::CreateCaseRequest&)> spoil;
    std::string field;
    StatusCode code;
  };
  const std::string stranger = NewId(absl::Now());
  const std::string other_unit = Unit(other_estate_, "0202");
  for (const Bad& bad : std::vector<Bad>{
           {[](auto& r) { r.set_kind(pb::CASE_KIND_UNSPECIFIED); }, "kind",
            StatusCode::INVALID_ARGUMENT},
           {[](auto& r) { r.clear_description(); }, "description", StatusCode::INVALID_ARGUMENT},
           {[](auto& r) { r.mutable_location()->clear_place(); }, "location",
            StatusCode::INVALID_ARGUMENT},
           {[](auto& r) { r.mutable_location()->set_estate_id("x"); }, "location.estate_id",
            StatusCode::INVALID_ARGUMENT},
           {[](auto& r) { r.mutable_location()->set_unit_id("x"); }, "location.unit_id",
            StatusCode::INVALID_ARGUMENT},
           {[](auto& r) { r.mutable_location()->set_common_area(" "); }, "location.common_area",
            StatusCode::INVALID_ARGUMENT},
           {[](auto& r) { r.set_owner_staff_id("x"); }, "owner_staff_id",
            StatusCode::INVALID_ARGUMENT},
           {[&](auto& r) { r.mutable_location()->set_unit_id(stranger); }, "",
            StatusCode::NOT_FOUND},
           {[&](auto& r) { r.mutable_location()->set_unit_id(other_unit); }, "",
            StatusCode::NOT_FOUND},
           {[&](auto& r) { r.set_owner_staff_id(stranger); }, "", StatusCode::NOT_FOUND},
       }) {
    auto req = NewCase();
    bad.spoil(req);
    grpc::Status st = Call(&Stub::CreateCase, agent_tok_, req, &c);
    EXPECT_EQ(st.error_code(), bad.code) << bad.field << " " << st.error_message();
    if (!bad.field.empty()) EXPECT_EQ(Field(st), bad.field);
  }
  // A member of staff of another estate does not own this estate's cases.
  auto req = NewCase();
  req.set_owner_staff_id(Staff(other_estate_));
  EXPECT_EQ(Call(&Stub::CreateCase, agent_tok_, req, &c).error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(Count("cases"), 0);
  EXPECT_TRUE(Published("counter.case.opened").empty());
  // A common area is a place too; a guard may open a case.
  req = NewCase(pb::CASE_KIND_RULES_BREACH);
  req.mutable_location()->set_common_area("car park B2");
  ASSERT_TRUE(Call(&Stub::CreateCase, guard_tok_, req, &c).ok());
  EXPECT_EQ(Payload<ev::CaseChanged>(Published("counter.case.opened")[0]).unit_id(), "");
  // Actions: by field.
  pb::RecordCaseActionRequest action;
  action.set_request_id(Rid());
  action.set_case_id(c.id());
  action.set_kind(pb::CASE_ACTION_KIND_MEDIATION);
  EXPECT_EQ(Field(Call(&Stub::RecordCaseAction, agent_tok_, action, &c)), "note");
  action.set_note("talked to both");
  action.set_kind(pb::CASE_ACTION_KIND_UNSPECIFIED);
  EXPECT_EQ(Field(Call(&Stub::RecordCaseAction, agent_tok_, action, &c)), "kind");
  action.set_case_id("x");
  EXPECT_EQ(Field(Call(&Stub::RecordCaseAction, agent_tok_, action, &c)), "case_id");
}

TEST_F(CounterCasesTest, RequestIdsReplayTheFirstAnswer) {
  auto req = NewCase();
  pb::Case first, second;
  ASSERT_TRUE(Call(&Stub::CreateCase, agent_tok_, req, &first).ok());
  ASSERT_TRUE(Call(&Stub::CreateCase, agent_tok_, req, &second).ok());
  EXPECT_EQ(first.id(), second.id());
  EXPECT_EQ(Count("cases"), 1);
  EXPECT_EQ(Published("counter.case.opened").size(), 1u);
  req.set_description("something else");
  grpc::Status st = Call(&Stub::CreateCase, agent_tok_, req, &second);
  EXPECT_EQ(Reason(st), "REQUEST_ID_REUSED");
  auto close = Close(first.id());
  ASSERT_TRUE(Call(&Stub::CloseCase, agent_tok_, close, &second).ok());
  ASSERT_TRUE(Call(&Stub::CloseCase, agent_tok_, close, &second).ok());
  EXPECT_EQ(second.state(), pb::CASE_STATE_CLOSED);
  EXPECT_EQ(Published("counter.case.closed").size(), 1u);
}

TEST_F(CounterCasesTest, OtherGroupsOtherEstatesAndOtherRolesSeeNothing) {
  pb::Case c = Open();
  pb::Case out;
  pb::GetCaseRequest get;
  get.set_id(c.id());
  EXPECT_EQ(Call(&Stub::GetCase, foreign_tok_, get, &out).error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(Inspect(foreign_tok_, c.id(), false, "x", &out).error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(Call(&Stub::CloseCase, foreign_tok_, Close(c.id()), &out).error_code(),
            StatusCode::NOT_FOUND);
  EXPECT_EQ(Call(&Stub::GetCase, other_estate_tok_, get, &out).error_code(),
            StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Call(&Stub::CloseCase, other_estate_tok_, Close(c.id()), &out).error_code(),
            StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Call(&Stub::GetCase, finance_tok_, get, &out).error_code(),
            StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Call(&Stub::CreateCase, tech_tok_, NewCase(), &out).error_code(),
            StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Call(&Stub::CreateCase, foreign_tok_, NewCase(), &out).error_code(),
            StatusCode::NOT_FOUND);
  EXPECT_EQ(Call(&Stub::CreateCase, other_estate_tok_, NewCase(), &out).error_code(),
            StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(Call(&Stub::GetCase, inspector_tok_, get, &out).ok());
  EXPECT_EQ(out.state(), pb::CASE_STATE_OPEN);
  EXPECT_EQ(Count("cases"), 1);
  EXPECT_EQ(Count("case_inspections"), 0);

  // Lists: by estate and filters, paged.
  pb::Case dispute;
  ASSERT_TRUE(
      Call(&Stub::CreateCase, agent_tok_, NewCase(pb::CASE_KIND_NEIGHBOUR_DISPUTE), &dispute).ok());
  pb::ListCasesRequest list;
  list.set_estate_id(estate_);
  list.set_page_size(1);
  pb::ListCasesResponse page;
  ASSERT_TRUE(Call(&Stub::ListCases, inspector_tok_, list, &page).ok());
  EXPECT_EQ(page.cases_size(), 1);
  list.set_page_token(page.next_page_token());
  ASSERT_TRUE(Call(&Stub::ListCases, inspector_tok_, list, &page).ok());
  EXPECT_EQ(page.cases_size(), 1);
  EXPECT_TRUE(page.next_page_token().empty());
  list.clear_page_token();
  list.set_page_size(0);
  list.set_kind(pb::CASE_KIND_NEIGHBOUR_DISPUTE);
  ASSERT_TRUE(Call(&Stub::ListCases, agent_tok_, list, &page).ok());
  ASSERT_EQ(page.cases_size(), 1);
  EXPECT_EQ(page.cases(0).id(), dispute.id());
  list.set_kind(pb::CASE_KIND_UNSPECIFIED);
  list.set_renovation_id(NewId(absl::Now()));
  ASSERT_TRUE(Call(&Stub::ListCases, agent_tok_, list, &page).ok());
  EXPECT_EQ(page.cases_size(), 0);
  list.set_renovation_id("x");
  EXPECT_EQ(Field(Call(&Stub::ListCases, agent_tok_, list, &page)), "renovation_id");
  list.clear_renovation_id();
  list.set_estate_id(other_estate_);
  EXPECT_EQ(Call(&Stub::ListCases, agent_tok_, list, &page).error_code(),
            StatusCode::PERMISSION_DENIED);
  list.set_estate_id(estate_);
  ASSERT_TRUE(Call(&Stub::ListCases, foreign_tok_, list, &page).ok());
  EXPECT_EQ(page.cases_size(), 0);
}

}  // namespace
}  // namespace wuye::counter::testing
