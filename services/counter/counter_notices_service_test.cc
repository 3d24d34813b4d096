// The counter's notices with their tickets, surveys and their responses over real gRPC
// (counter_test_fixture.h).
#include <atomic>
#include <thread>

#include "services/counter/counter_test_fixture.h"
#include "wuye/events/v1/counter_events.pb.h"

namespace wuye::counter::testing {
namespace {

template <class T>
T PayloadOf(const ev::Event& e) {
  T out;
  EXPECT_TRUE(e.payload().UnpackTo(&out));
  return out;
}

std::vector<std::string> Ids(const google::protobuf::RepeatedPtrField<std::string>& ids) {
  return {ids.begin(), ids.end()};
}

class NoticesHelpers : public CounterServiceTest {
 protected:
  // A water cut today, 10:30–18:30 on the estate's clock.
  pb::PublishNoticeRequest NoticeRequest(pb::NoticeKind kind = pb::NOTICE_KIND_WATER_CUT,
                                         const std::string& estate = "") {
    pb::PublishNoticeRequest req;
    req.set_request_id(Rid());
    req.set_estate_id(estate.empty() ? estate_ : estate);
    req.set_kind(kind);
    req.set_title("停水通知");
    req.set_body("因二次供水水箱清洗,今日10:30至18:30停水,请提前储水。");
    *req.mutable_start_time() = ToProtoTime(Shanghai(2026, 11, 9, 10, 30));
    *req.mutable_end_time() = ToProtoTime(Shanghai(2026, 11, 9, 18, 30));
    return req;
  }
  pb::Notice Publish(pb::NoticeKind kind = pb::NOTICE_KIND_WATER_CUT) {
    pb::Notice n;
    grpc::Status st = Call(&Stub::PublishNotice, agent_tok_, NoticeRequest(kind), &n);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return n;
  }
  grpc::Status Link(const std::string& notice, const std::vector<std::string>& tickets,
                    pb::Notice* out, const std::string& token = "", std::string rid = "") {
    pb::LinkTicketsRequest req;
    req.set_request_id(rid.empty() ? Rid() : rid);
    req.set_notice_id(notice);
    for (const auto& t : tickets) req.add_ticket_ids(t);
    return Call(&Stub::LinkTickets, token.empty() ? agent_tok_ : token, req, out);
  }
  grpc::Status End(const std::string& notice, pb::Notice* out, const std::string& token = "",
                   const std::string& resolution = "供水已恢复") {
    pb::EndNoticeRequest req;
    req.set_request_id(Rid());
    req.set_notice_id(notice);
    req.set_resolution(resolution);
    return Call(&Stub::EndNotice, token.empty() ? agent_tok_ : token, req, out);
  }

  pb::CreateSurveyRequest SurveyRequest(const std::string& estate = "") {
    pb::CreateSurveyRequest req;
    req.set_request_id(Rid());
    req.set_estate_id(estate.empty() ? estate_ : estate);
    req.set_title("2026年第四季度客户满意度调查");
    req.add_questions()->set_text("客服人员的服务态度");
    req.add_questions()->set_text("报修处理的及时性");
    req.add_questions()->set_text("公共区域的清洁");
    return req;
  }
  pb::Survey CreateSurvey() {
    pb::Survey s;
    grpc::Status st = Call(&Stub::CreateSurvey, manager_tok_, SurveyRequest(), &s);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return s;
  }
  pb::RecordSurveyResponseRequest ResponseRequest(const std::string& survey,
                                                  const std::string& unit,
                                                  std::vector<pb::Satisfaction> answers) {
    pb::RecordSurveyResponseRequest req;
    req.set_request_id(Rid());
    req.set_survey_id(survey);
    req.set_unit_id(unit);
    for (auto a : answers) req.add_answers(a);
    return req;
  }
  grpc::Status Respond(const std::string& survey, const std::string& unit,
                       std::vector<pb::Satisfaction> answers, pb::SurveyResponse* out = nullptr,
                       const std::string& token = "") {
    pb::SurveyResponse ignored;
    return Call(&Stub::RecordSurveyResponse, token.empty() ? agent_tok_ : token,
                ResponseRequest(survey, unit, std::move(answers)), out ? out : &ignored);
  }
  pb::SurveyResults Results(const std::string& survey, const std::string& token = "") {
    pb::GetSurveyResultsRequest req;
    req.set_survey_id(survey);
    pb::SurveyResults out;
    grpc::Status st = Call(&Stub::GetSurveyResults, token.empty() ? agent_tok_ : token, req, &out);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return out;
  }
  grpc::Status Close(const std::string& survey, pb::SurveyResults* out,
                     const std::string& token = "") {
    pb::CloseSurveyRequest req;
    req.set_request_id(Rid());
    req.set_survey_id(survey);
    return Call(&Stub::CloseSurvey, token.empty() ? manager_tok_ : token, req, out);
  }

  int64_t Rows(const std::string& table) { return Query("SELECT count(*) FROM " + table); }
  std::string Snapshot() {
    return absl::StrCat(Rows("notices"), "/", Rows("notice_tickets"), "/", Rows("surveys"), "/",
                        Rows("survey_responses"), "/", Rows("wuye_outbox"), "/",
                        Query("SELECT COALESCE(sum(version), 0) FROM notices"), "/",
                        Query("SELECT COALESCE(sum(version), 0) FROM surveys"));
  }
};

using CounterNoticesTest = NoticesHelpers;

// 001_… 物业客服领班 6 (制作并发放租户公告) and issue #25 §5: a water cut links the tickets it
// causes, answered once with the notice, and resolves them together when it ends.
TEST_F(CounterNoticesTest, AWaterCutLinksItsTicketsAndEndsThemTogether) {
  pb::Notice n = Publish();
  EXPECT_EQ(n.state(), pb::NOTICE_STATE_PUBLISHED);
  EXPECT_EQ(n.estate_id(), estate_);
  EXPECT_EQ(n.kind(), pb::NOTICE_KIND_WATER_CUT);
  EXPECT_EQ(n.version(), 1);
  EXPECT_EQ(n.published_by(), agent_);
  auto published = Published("counter.notice.published");
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].subject(), n.id());
  EXPECT_EQ(published[0].estate_id(), estate_);
  EXPECT_EQ(published[0].group_id(), group_);
  auto np = PayloadOf<ev::NoticePublished>(published[0]);
  EXPECT_EQ(np.notice_id(), n.id());
  EXPECT_EQ(np.estate_id(), estate_);
  EXPECT_EQ(np.kind(), "water_cut");
  EXPECT_EQ(FromProtoTime(np.start_time()), Shanghai(2026, 11, 9, 10, 30));
  EXPECT_EQ(FromProtoTime(np.end_time()), Shanghai(2026, 11, 9, 18, 30));

  std::string t1 = Ticket(estate_), t2 = Ticket(estate_, ev::TICKET_STATE_ANSWERED),
              t3 = Ticket(estate_);
  std::string elsewhere = Ticket(other_estate_);
  std::string closed = Ticket(estate_, ev::TICKET_STATE_CLOSED);

  // A ticket of another estate, then a closed one: refused by name, nothing linked.
  pb::Notice out;
  grpc::Status st = Link(n.id(), {t1, elsewhere}, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
  EXPECT_EQ(Field(st), "ticket_ids[1]");
  st = Link(n.id(), {t1, t2, closed}, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << st.error_message();
  EXPECT_EQ(Reason(st), "TICKET_CLOSED");
  EXPECT_NE(st.error_message().find("ticket_ids[2]"), std::string::npos) << st.error_message();
  EXPECT_EQ(Rows("notice_tickets"), 0);
  EXPECT_TRUE(Published("counter.notice.tickets_linked").empty());

  ASSERT_TRUE(Link(n.id(), {t1, t2}, &out).ok());
  EXPECT_EQ(Ids(out.ticket_ids()), (std::vector<std::string>{t1, t2}));
  EXPECT_EQ(out.version(), 2);
  // t2 again with t3: only t3 is new.
  ASSERT_TRUE(Link(n.id(), {t2, t3}, &out).ok());
  EXPECT_EQ(Ids(out.ticket_ids()), (std::vector<std::string>{t1, t2, t3}));
  EXPECT_EQ(out.version(), 3);
  // Linking a ticket twice changes nothing.
  ASSERT_TRUE(Link(n.id(), {t1, t3}, &out).ok());
  EXPECT_EQ(out.version(), 3);
  EXPECT_EQ(Rows("notice_tickets"), 3);

  auto linked = Published("counter.notice.tickets_linked");
  ASSERT_EQ(linked.size(), 2u);
  auto l1 = PayloadOf<ev::NoticeTickets>(linked[0]);
  auto l2 = PayloadOf<ev::NoticeTickets>(linked[1]);
  EXPECT_EQ(linked[0].subject(), n.id());
  EXPECT_EQ(linked[0].subject_version(), 2);
  EXPECT_EQ(linked[1].subject_version(), 3);
  EXPECT_EQ(l1.notice_id(), n.id());
  EXPECT_EQ(l1.estate_id(), estate_);
  EXPECT_EQ(Ids(l1.ticket_ids()), (std::vector<std::string>{t1, t2}));
  EXPECT_EQ(Ids(l2.ticket_ids()), (std::vector<std::string>{t3}));
  EXPECT_EQ(l1.answer(), "停水通知 (2026-11-09 10:30 – 2026-11-09 18:30)");

  clock_.Advance(absl::Hours(9));
  pb::Notice ended;
  ASSERT_TRUE(End(n.id(), &ended).ok());
  EXPECT_EQ(ended.state(), pb::NOTICE_STATE_ENDED);
  EXPECT_EQ(ended.resolution(), "供水已恢复");
  EXPECT_EQ(FromProtoTime(ended.ended_time()), clock_.Now());
  EXPECT_EQ(ended.version(), 4);
  auto end_events = Published("counter.notice.ended");
  ASSERT_EQ(end_events.size(), 1u);
  EXPECT_EQ(end_events[0].subject_version(), 4);
  auto e = PayloadOf<ev::NoticeTickets>(end_events[0]);
  EXPECT_EQ(Ids(e.ticket_ids()), (std::vector<std::string>{t1, t2, t3}));
  EXPECT_EQ(e.answer(), "供水已恢复");
  EXPECT_EQ(FromProtoTime(e.at()), clock_.Now());

  // Once only; and an ended notice links no more.
  std::string before = Snapshot();
  st = End(n.id(), &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(st), "ALREADY_ENDED");
  st = Link(n.id(), {Ticket(estate_)}, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(st), "NOTICE_ENDED");
  EXPECT_EQ(Snapshot(), before);

  // Read back.
  pb::GetNoticeRequest get;
  get.set_id(n.id());
  pb::Notice got;
  ASSERT_TRUE(Call(&Stub::GetNotice, guard_tok_, get, &got).ok());
  EXPECT_EQ(Ids(got.ticket_ids()), (std::vector<std::string>{t1, t2, t3}));
  EXPECT_EQ(got.state(), pb::NOTICE_STATE_ENDED);
}

TEST_F(CounterNoticesTest, OnlyACutLinksTicketsAndEachMustBeKnownInTheGroup) {
  std::string t = Ticket(estate_);
  pb::Notice drill = Publish(pb::NOTICE_KIND_FIRE_DRILL);
  pb::Notice out;
  grpc::Status st = Link(drill.id(), {t}, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(st), "NOT_A_CUT");

  pb::Notice cut = Publish(pb::NOTICE_KIND_POWER_CUT);
  // Unknown, and another group's ticket (of an estate id the group does not have).
  std::string foreign = Ticket(foreign_estate_, ev::TICKET_STATE_RECEIVED, other_group_);
  for (const auto& missing : {NewId(absl::Now()), foreign}) {
    st = Link(cut.id(), {t, missing}, &out);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message();
    EXPECT_NE(st.error_message().find("ticket_ids[1]"), std::string::npos) << st.error_message();
  }
  // Input checks.
  st = Link(cut.id(), {}, &out);
  EXPECT_EQ(Field(st), "ticket_ids");
  st = Link(cut.id(), {t, "not-an-id"}, &out);
  EXPECT_EQ(Field(st), "ticket_ids[1]");
  st = Link(cut.id(), std::vector<std::string>(201, t), &out);
  EXPECT_EQ(Field(st), "ticket_ids");
  st = Link("bad", {t}, &out);
  EXPECT_EQ(Field(st), "notice_id");
  st = Link(NewId(absl::Now()), {t}, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Rows("notice_tickets"), 0);
  EXPECT_TRUE(Published("counter.notice.tickets_linked").empty());

  // A gas cut links too; a fire drill still ends (with no ticket).
  pb::PublishNoticeRequest gas = NoticeRequest(pb::NOTICE_KIND_GAS_CUT);
  pb::Notice gas_notice;
  ASSERT_TRUE(Call(&Stub::PublishNotice, agent_tok_, gas, &gas_notice).ok());
  EXPECT_TRUE(Link(gas_notice.id(), {t}, &out).ok());
  ASSERT_TRUE(End(drill.id(), &out).ok());
  auto ended = Published("counter.notice.ended");
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_TRUE(PayloadOf<ev::NoticeTickets>(ended[0]).ticket_ids().empty());
}

TEST_F(CounterNoticesTest, BadNoticesAreRefusedByFieldAndChangeNothing) {
  std::string before = Snapshot();
  auto field_of = [&](const pb::PublishNoticeRequest& req) {
    pb::Notice n;
    grpc::Status st = Call(&Stub::PublishNotice, agent_tok_, req, &n);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
    return Field(st);
  };
  auto r = NoticeRequest();
  r.set_estate_id("x");
  EXPECT_EQ(field_of(r), "estate_id");
  r = NoticeRequest();
  r.set_kind(pb::NOTICE_KIND_UNSPECIFIED);
  EXPECT_EQ(field_of(r), "kind");
  r = NoticeRequest();
  r.clear_title();
  EXPECT_EQ(field_of(r), "title");
  r = NoticeRequest();
  r.set_body(std::string(2001, 'b'));
  EXPECT_EQ(field_of(r), "body");
  r = NoticeRequest();
  r.clear_start_time();
  EXPECT_EQ(field_of(r), "start_time");
  r = NoticeRequest();
  *r.mutable_end_time() = r.start_time();
  EXPECT_EQ(field_of(r), "end_time");
  r = NoticeRequest();
  *r.mutable_end_time() = ToProtoTime(Shanghai(2026, 11, 9, 8, 0));
  EXPECT_EQ(field_of(r), "end_time");

  pb::Notice n = Publish();
  before = Snapshot();
  pb::Notice out;
  grpc::Status st = End(n.id(), &out, "", "");
  EXPECT_EQ(Field(st), "resolution");
  st = End(n.id(), &out, "", std::string(501, 'r'));
  EXPECT_EQ(Field(st), "resolution");
  st = End(n.id(), &out, "", "恢复供水,详询 13800138000");
  EXPECT_EQ(Field(st), "resolution");
  st = End("nope", &out);
  EXPECT_EQ(Field(st), "notice_id");
  st = End(NewId(absl::Now()), &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);

  pb::ListNoticesRequest list;
  pb::ListNoticesResponse listed;
  st = Call(&Stub::ListNotices, agent_tok_, list, &listed);
  EXPECT_EQ(Field(st), "estate_id");
  list.set_estate_id(estate_);
  list.set_state(static_cast<pb::NoticeState>(9));
  st = Call(&Stub::ListNotices, agent_tok_, list, &listed);
  EXPECT_EQ(Field(st), "state");
  pb::GetNoticeRequest get;
  get.set_id("x");
  st = Call(&Stub::GetNotice, agent_tok_, get, &out);
  EXPECT_EQ(Field(st), "id");
  EXPECT_EQ(Snapshot(), before);
}

TEST_F(CounterNoticesTest, NoticesAreListedByEstateAndStatePageByPage) {
  pb::Notice a = Publish(), b = Publish(pb::NOTICE_KIND_HOLIDAY), c = Publish();
  pb::Notice out;
  ASSERT_TRUE(End(b.id(), &out).ok());
  pb::PublishNoticeRequest elsewhere = NoticeRequest(pb::NOTICE_KIND_OTHER, other_estate_);
  ASSERT_TRUE(Call(&Stub::PublishNotice, admin_tok_, elsewhere, &out).ok());

  pb::ListNoticesRequest req;
  req.set_estate_id(estate_);
  req.set_page_size(2);
  pb::ListNoticesResponse page1, page2;
  ASSERT_TRUE(Call(&Stub::ListNotices, inspector_tok_, req, &page1).ok());
  ASSERT_EQ(page1.notices_size(), 2);
  EXPECT_EQ(page1.notices(0).id(), a.id());
  EXPECT_EQ(page1.notices(1).id(), b.id());
  ASSERT_FALSE(page1.next_page_token().empty());
  req.set_page_token(page1.next_page_token());
  ASSERT_TRUE(Call(&Stub::ListNotices, inspector_tok_, req, &page2).ok());
  ASSERT_EQ(page2.notices_size(), 1);
  EXPECT_EQ(page2.notices(0).id(), c.id());
  EXPECT_TRUE(page2.next_page_token().empty());
  // The token was made for other filters.
  req.set_state(pb::NOTICE_STATE_ENDED);
  EXPECT_EQ(Field(Call(&Stub::ListNotices, inspector_tok_, req, &page2)), "page_token");

  req.clear_page_token();
  req.set_page_size(0);
  pb::ListNoticesResponse ended;
  ASSERT_TRUE(Call(&Stub::ListNotices, tech_tok_, req, &ended).ok());
  ASSERT_EQ(ended.notices_size(), 1);
  EXPECT_EQ(ended.notices(0).id(), b.id());
}

TEST_F(CounterNoticesTest, RequestIdsAreHonoured) {
  pb::PublishNoticeRequest req = NoticeRequest();
  pb::Notice first, again;
  ASSERT_TRUE(Call(&Stub::PublishNotice, agent_tok_, req, &first).ok());
  ASSERT_TRUE(Call(&Stub::PublishNotice, agent_tok_, req, &again).ok());
  EXPECT_EQ(first.id(), again.id());
  EXPECT_EQ(Rows("notices"), 1);
  EXPECT_EQ(Published("counter.notice.published").size(), 1u);
  req.set_title("停电通知");
  grpc::Status st = Call(&Stub::PublishNotice, agent_tok_, req, &again);
  EXPECT_EQ(Reason(st), "REQUEST_ID_REUSED");
  EXPECT_EQ(Rows("notices"), 1);

  // Concurrent retries of one call publish one notice.
  pb::PublishNoticeRequest racing = NoticeRequest();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      pb::Notice n;
      if (Call(&Stub::PublishNotice, agent_tok_, racing, &n).ok()) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 4);
  EXPECT_EQ(Rows("notices"), 2);

  std::string t1 = Ticket(estate_), t2 = Ticket(estate_);
  std::string rid = Rid();
  pb::Notice linked, replayed;
  ASSERT_TRUE(Link(first.id(), {t1}, &linked, "", rid).ok());
  ASSERT_TRUE(Link(first.id(), {t1}, &replayed, "", rid).ok());
  EXPECT_EQ(replayed.version(), linked.version());
  st = Link(first.id(), {t2}, &replayed, "", rid);
  EXPECT_EQ(Reason(st), "REQUEST_ID_REUSED");
  EXPECT_EQ(Published("counter.notice.tickets_linked").size(), 1u);

  pb::EndNoticeRequest end;
  end.set_request_id(Rid());
  end.set_notice_id(first.id());
  end.set_resolution("供水已恢复");
  pb::Notice e1, e2;
  ASSERT_TRUE(Call(&Stub::EndNotice, agent_tok_, end, &e1).ok());
  ASSERT_TRUE(Call(&Stub::EndNotice, agent_tok_, end, &e2).ok());
  EXPECT_EQ(e1.version(), e2.version());
  EXPECT_EQ(Published("counter.notice.ended").size(), 1u);
}

TEST_F(CounterNoticesTest, AnotherGroupFindsNothingAndAnotherEstatesTokenIsRefused) {
  pb::Notice n = Publish();
  pb::Survey s = CreateSurvey();
  std::string t = Ticket(estate_);
  std::string before = Snapshot();

  pb::Notice out;
  pb::GetNoticeRequest get;
  get.set_id(n.id());
  EXPECT_EQ(Call(&Stub::GetNotice, foreign_tok_, get, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Link(n.id(), {t}, &out, foreign_tok_).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(End(n.id(), &out, foreign_tok_).error_code(), grpc::StatusCode::NOT_FOUND);
  pb::GetSurveyRequest gs;
  gs.set_id(s.id());
  pb::Survey sout;
  EXPECT_EQ(Call(&Stub::GetSurvey, foreign_tok_, gs, &sout).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(
      Respond(s.id(), unit_,
              {pb::SATISFACTION_SATISFIED, pb::SATISFACTION_SATISFIED, pb::SATISFACTION_SATISFIED},
              nullptr, foreign_tok_)
          .error_code(),
      grpc::StatusCode::NOT_FOUND);
  pb::GetSurveyResultsRequest gr;
  gr.set_survey_id(s.id());
  pb::SurveyResults rout;
  EXPECT_EQ(Call(&Stub::GetSurveyResults, foreign_tok_, gr, &rout).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Close(s.id(), &rout, foreign_tok_).error_code(), grpc::StatusCode::NOT_FOUND);
  pb::ListNoticesRequest list;
  list.set_estate_id(estate_);
  pb::ListNoticesResponse listed;
  ASSERT_TRUE(Call(&Stub::ListNotices, foreign_tok_, list, &listed).ok());
  EXPECT_EQ(listed.notices_size(), 0);
  pb::ListSurveysRequest slist;
  slist.set_estate_id(estate_);
  pb::ListSurveysResponse slisted;
  ASSERT_TRUE(Call(&Stub::ListSurveys, foreign_tok_, slist, &slisted).ok());
  EXPECT_EQ(slisted.surveys_size(), 0);

  // A token of the group's other estate.
  auto denied = [](const grpc::Status& st) {
    return st.error_code() == grpc::StatusCode::PERMISSION_DENIED;
  };
  EXPECT_TRUE(denied(Call(&Stub::PublishNotice, other_estate_tok_, NoticeRequest(), &out)));
  EXPECT_TRUE(denied(Call(&Stub::GetNotice, other_estate_tok_, get, &out)));
  EXPECT_TRUE(denied(Call(&Stub::ListNotices, other_estate_tok_, list, &listed)));
  EXPECT_TRUE(denied(Link(n.id(), {t}, &out, other_estate_tok_)));
  EXPECT_TRUE(denied(End(n.id(), &out, other_estate_tok_)));
  EXPECT_TRUE(denied(Call(&Stub::GetSurvey, other_estate_tok_, gs, &sout)));
  EXPECT_TRUE(denied(Call(&Stub::ListSurveys, other_estate_tok_, slist, &slisted)));
  EXPECT_TRUE(denied(
      Respond(s.id(), unit_,
              {pb::SATISFACTION_SATISFIED, pb::SATISFACTION_SATISFIED, pb::SATISFACTION_SATISFIED},
              nullptr, other_estate_tok_)));
  EXPECT_TRUE(denied(Call(&Stub::GetSurveyResults, other_estate_tok_, gr, &rout)));
  std::string other_manager = TestToken(group_, {other_estate_}, {"estate_manager"}, "m-9");
  EXPECT_TRUE(denied(Call(&Stub::CreateSurvey, other_manager, SurveyRequest(), &sout)));
  EXPECT_TRUE(denied(Close(s.id(), &rout, other_manager)));
  EXPECT_EQ(Snapshot(), before);
}

TEST_F(CounterNoticesTest, RolesThatMayNotAreRefused) {
  pb::Notice n = Publish();
  pb::Survey s = CreateSurvey();
  std::string t = Ticket(estate_);
  std::string before = Snapshot();
  auto denied = [](const grpc::Status& st) {
    return st.error_code() == grpc::StatusCode::PERMISSION_DENIED;
  };
  pb::Notice out;
  pb::Survey sout;
  pb::SurveyResults rout;
  pb::GetNoticeRequest get;
  get.set_id(n.id());
  pb::ListNoticesRequest list;
  list.set_estate_id(estate_);
  pb::ListNoticesResponse listed;
  pb::GetSurveyRequest gs;
  gs.set_id(s.id());
  pb::GetSurveyResultsRequest gr;
  gr.set_survey_id(s.id());
  const std::vector<pb::Satisfaction> answers(3, pb::SATISFACTION_SATISFIED);
  // A finance clerk does none of it.
  EXPECT_TRUE(denied(Call(&Stub::PublishNotice, finance_tok_, NoticeRequest(), &out)));
  EXPECT_TRUE(denied(Call(&Stub::GetNotice, finance_tok_, get, &out)));
  EXPECT_TRUE(denied(Call(&Stub::ListNotices, finance_tok_, list, &listed)));
  EXPECT_TRUE(denied(Link(n.id(), {t}, &out, finance_tok_)));
  EXPECT_TRUE(denied(End(n.id(), &out, finance_tok_)));
  EXPECT_TRUE(denied(Call(&Stub::CreateSurvey, finance_tok_, SurveyRequest(), &sout)));
  EXPECT_TRUE(denied(Call(&Stub::GetSurvey, finance_tok_, gs, &sout)));
  EXPECT_TRUE(denied(Respond(s.id(), unit_, answers, nullptr, finance_tok_)));
  EXPECT_TRUE(denied(Call(&Stub::GetSurveyResults, finance_tok_, gr, &rout)));
  EXPECT_TRUE(denied(Close(s.id(), &rout, finance_tok_)));
  // Guards and technicians read notices, never publish, link or end them, nor see surveys.
  EXPECT_TRUE(Call(&Stub::GetNotice, guard_tok_, get, &out).ok());
  EXPECT_TRUE(Call(&Stub::GetNotice, tech_tok_, get, &out).ok());
  EXPECT_TRUE(denied(Call(&Stub::PublishNotice, guard_tok_, NoticeRequest(), &out)));
  EXPECT_TRUE(denied(Link(n.id(), {t}, &out, tech_tok_)));
  EXPECT_TRUE(denied(End(n.id(), &out, guard_tok_)));
  EXPECT_TRUE(denied(Call(&Stub::GetSurvey, guard_tok_, gs, &sout)));
  // An agent takes a household's answers but neither creates nor closes a survey.
  EXPECT_TRUE(denied(Call(&Stub::CreateSurvey, agent_tok_, SurveyRequest(), &sout)));
  EXPECT_TRUE(denied(Close(s.id(), &rout, agent_tok_)));
  // A quality inspector reads the results but records nothing.
  EXPECT_TRUE(Call(&Stub::GetSurveyResults, inspector_tok_, gr, &rout).ok());
  EXPECT_TRUE(denied(Respond(s.id(), unit_, answers, nullptr, inspector_tok_)));
  EXPECT_TRUE(denied(Call(&Stub::PublishNotice, inspector_tok_, NoticeRequest(), &out)));
  EXPECT_EQ(Snapshot(), before);
  // A supervisor may create one.
  EXPECT_TRUE(Call(&Stub::CreateSurvey, supervisor_tok_, SurveyRequest(), &sout).ok());
}

// 001_… line 555 (组织开展客户满意度调查和服务质量评估工作) and 002_… 第七章 5 (《意见调查表》的
// 发放与回收): a survey's forms collected once per household, tallied, closed as the office's
// figure.
TEST_F(CounterNoticesTest, ASurveyTakesEachHouseholdOnceAndClosesWithItsFigures) {
  std::string u2 = Unit(estate_, "1204"), u3 = Unit(estate_, "1205");
  std::string far = Unit(other_estate_, "0101");  // not a household of this estate
  pb::Survey s = CreateSurvey();
  EXPECT_EQ(s.state(), pb::SURVEY_STATE_OPEN);
  EXPECT_EQ(s.questions_size(), 3);
  EXPECT_EQ(s.created_by(), manager_);
  EXPECT_EQ(FromProtoTime(s.open_time()), clock_.Now());

  pb::SurveyResponse r1;
  ASSERT_TRUE(Respond(s.id(), unit_,
                      {pb::SATISFACTION_VERY_SATISFIED, pb::SATISFACTION_SATISFIED,
                       pb::SATISFACTION_NEUTRAL},
                      &r1)
                  .ok());
  EXPECT_EQ(r1.unit_id(), unit_);
  EXPECT_EQ(r1.answers_size(), 3);
  ASSERT_TRUE(Respond(s.id(), u2,
                      {pb::SATISFACTION_SATISFIED, pb::SATISFACTION_UNSATISFIED,
                       pb::SATISFACTION_VERY_UNSATISFIED})
                  .ok());

  // The same household again, whatever its answers: refused.
  std::string before = Snapshot();
  grpc::Status st = Respond(s.id(), unit_,
                            {pb::SATISFACTION_VERY_UNSATISFIED, pb::SATISFACTION_VERY_UNSATISFIED,
                             pb::SATISFACTION_VERY_UNSATISFIED});
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Reason(st), "ALREADY_ANSWERED");
  // One answer per question, each on the scale; a unit of the estate, known to the counter.
  EXPECT_EQ(Field(Respond(s.id(), u3, {pb::SATISFACTION_SATISFIED})), "answers");
  EXPECT_EQ(Field(Respond(s.id(), u3,
                          {pb::SATISFACTION_SATISFIED, pb::SATISFACTION_UNSPECIFIED,
                           pb::SATISFACTION_SATISFIED})),
            "answers[1]");
  const std::vector<pb::Satisfaction> fine(3, pb::SATISFACTION_SATISFIED);
  EXPECT_EQ(Field(Respond(s.id(), far, fine)), "unit_id");
  st = Respond(s.id(), NewId(absl::Now()), fine);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(st.error_message().find("unit_id"), std::string::npos);
  EXPECT_EQ(Field(Respond(s.id(), "x", fine)), "unit_id");
  EXPECT_EQ(Field(Respond("x", u3, fine)), "survey_id");
  EXPECT_EQ(Respond(NewId(absl::Now()), u3, fine).error_code(), grpc::StatusCode::NOT_FOUND);
  pb::RecordSurveyResponseRequest long_comment = ResponseRequest(s.id(), u3, fine);
  long_comment.set_comment(std::string(501, 'c'));
  pb::SurveyResponse ignored;
  EXPECT_EQ(Field(Call(&Stub::RecordSurveyResponse, agent_tok_, long_comment, &ignored)),
            "comment");
  EXPECT_EQ(Snapshot(), before);

  // Households: the estate's three units; two answered.
  pb::SurveyResults r = Results(s.id(), inspector_tok_);
  EXPECT_EQ(r.survey_id(), s.id());
  EXPECT_EQ(r.estate_id(), estate_);
  EXPECT_EQ(r.state(), pb::SURVEY_STATE_OPEN);
  EXPECT_EQ(r.households_answered(), 2);
  EXPECT_EQ(r.households(), 3);
  EXPECT_EQ(r.response_bp(), 6666);
  ASSERT_EQ(r.questions_size(), 3);
  EXPECT_EQ(r.questions(0).text(), "客服人员的服务态度");
  auto counts = [&](int q) {
    return std::vector<int>(r.questions(q).counts().begin(), r.questions(q).counts().end());
  };
  EXPECT_EQ(counts(0), (std::vector<int>{1, 1, 0, 0, 0}));
  EXPECT_EQ(counts(1), (std::vector<int>{0, 1, 0, 1, 0}));
  EXPECT_EQ(counts(2), (std::vector<int>{0, 0, 1, 0, 1}));
  EXPECT_EQ(r.questions(0).satisfied_bp(), 10000);
  EXPECT_EQ(r.questions(1).satisfied_bp(), 5000);
  EXPECT_EQ(r.questions(2).satisfied_bp(), 0);
  EXPECT_EQ(r.satisfied_bp(), 5000);  // 3 of 6 answers

  clock_.Advance(absl::Hours(24));
  pb::SurveyResults closed;
  ASSERT_TRUE(Close(s.id(), &closed, supervisor_tok_).ok());
  EXPECT_EQ(closed.state(), pb::SURVEY_STATE_CLOSED);
  EXPECT_EQ(closed.households_answered(), 2);
  EXPECT_EQ(closed.satisfied_bp(), 5000);
  auto events = Published("counter.survey.closed");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].subject(), s.id());
  EXPECT_EQ(events[0].estate_id(), estate_);
  EXPECT_EQ(events[0].subject_version(), 2);
  auto e = PayloadOf<ev::SurveyClosed>(events[0]);
  EXPECT_EQ(e.survey_id(), s.id());
  EXPECT_EQ(e.estate_id(), estate_);
  EXPECT_EQ(e.households_answered(), 2);
  EXPECT_EQ(e.households(), 3);
  EXPECT_EQ(e.satisfied_bp(), 5000);
  EXPECT_EQ(e.response_bp(), 6666);
  EXPECT_EQ(FromProtoTime(e.at()), clock_.Now());

  // Closed: no more answers, no second close; its households stay those counted then.
  before = Snapshot();
  st = Respond(s.id(), u3, fine);
  EXPECT_EQ(Reason(st), "SURVEY_CLOSED");
  st = Close(s.id(), &closed);
  EXPECT_EQ(Reason(st), "ALREADY_CLOSED");
  EXPECT_EQ(Snapshot(), before);
  Unit(estate_, "1206");
  EXPECT_EQ(Results(s.id()).households(), 3);
  pb::GetSurveyRequest gs;
  gs.set_id(s.id());
  pb::Survey got;
  ASSERT_TRUE(Call(&Stub::GetSurvey, agent_tok_, gs, &got).ok());
  EXPECT_EQ(got.state(), pb::SURVEY_STATE_CLOSED);
  EXPECT_EQ(FromProtoTime(got.close_time()), clock_.Now());
  EXPECT_EQ(got.version(), 2);
}

TEST_F(CounterNoticesTest, ConcurrentResponsesOfOneHouseholdRecordOne) {
  pb::Survey s = CreateSurvey();
  std::atomic<int> ok{0}, answered{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      grpc::Status st = Respond(s.id(), unit_,
                                {static_cast<pb::Satisfaction>(1 + i % 5),
                                 pb::SATISFACTION_SATISFIED, pb::SATISFACTION_SATISFIED});
      if (st.ok()) ++ok;
      if (Reason(st) == "ALREADY_ANSWERED") ++answered;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(answered.load(), 5);
  EXPECT_EQ(Rows("survey_responses"), 1);
}

TEST_F(CounterNoticesTest, BadSurveysAreRefusedByFieldAndRequestIdsHonoured) {
  std::string before = Snapshot();
  auto field_of = [&](const pb::CreateSurveyRequest& req) {
    pb::Survey s;
    grpc::Status st = Call(&Stub::CreateSurvey, manager_tok_, req, &s);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
    return Field(st);
  };
  auto r = SurveyRequest();
  r.set_estate_id("");
  EXPECT_EQ(field_of(r), "estate_id");
  r = SurveyRequest();
  r.clear_title();
  EXPECT_EQ(field_of(r), "title");
  r = SurveyRequest();
  r.clear_questions();
  EXPECT_EQ(field_of(r), "questions");
  r = SurveyRequest();
  for (int i = 0; i < 28; ++i) r.add_questions()->set_text("q");
  EXPECT_EQ(field_of(r), "questions");
  r = SurveyRequest();
  r.mutable_questions(1)->set_text(" ");
  EXPECT_EQ(field_of(r), "questions[1].text");
  pb::ListSurveysRequest list;
  pb::ListSurveysResponse listed;
  EXPECT_EQ(Field(Call(&Stub::ListSurveys, agent_tok_, list, &listed)), "estate_id");
  pb::SurveyResults out;
  EXPECT_EQ(Field(Close("x", &out)), "survey_id");
  EXPECT_EQ(Close(NewId(absl::Now()), &out).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Snapshot(), before);

  pb::CreateSurveyRequest req = SurveyRequest();
  pb::Survey a, b;
  ASSERT_TRUE(Call(&Stub::CreateSurvey, manager_tok_, req, &a).ok());
  ASSERT_TRUE(Call(&Stub::CreateSurvey, manager_tok_, req, &b).ok());
  EXPECT_EQ(a.id(), b.id());
  EXPECT_EQ(Rows("surveys"), 1);
  req.set_title("另一份");
  EXPECT_EQ(Reason(Call(&Stub::CreateSurvey, manager_tok_, req, &b)), "REQUEST_ID_REUSED");

  pb::RecordSurveyResponseRequest resp =
      ResponseRequest(a.id(), unit_, std::vector<pb::Satisfaction>(3, pb::SATISFACTION_SATISFIED));
  pb::SurveyResponse r1, r2;
  ASSERT_TRUE(Call(&Stub::RecordSurveyResponse, agent_tok_, resp, &r1).ok());
  ASSERT_TRUE(Call(&Stub::RecordSurveyResponse, agent_tok_, resp, &r2).ok());
  EXPECT_EQ(r1.id(), r2.id());
  EXPECT_EQ(Rows("survey_responses"), 1);

  pb::CloseSurveyRequest close;
  close.set_request_id(Rid());
  close.set_survey_id(a.id());
  pb::SurveyResults c1, c2;
  ASSERT_TRUE(Call(&Stub::CloseSurvey, manager_tok_, close, &c1).ok());
  ASSERT_TRUE(Call(&Stub::CloseSurvey, manager_tok_, close, &c2).ok());
  EXPECT_EQ(c1.households_answered(), c2.households_answered());
  EXPECT_EQ(Published("counter.survey.closed").size(), 1u);

  // Listed by state.
  pb::Survey open;
  ASSERT_TRUE(Call(&Stub::CreateSurvey, manager_tok_, SurveyRequest(), &open).ok());
  list.set_estate_id(estate_);
  list.set_state(pb::SURVEY_STATE_OPEN);
  ASSERT_TRUE(Call(&Stub::ListSurveys, inspector_tok_, list, &listed).ok());
  ASSERT_EQ(listed.surveys_size(), 1);
  EXPECT_EQ(listed.surveys(0).id(), open.id());
  list.set_state(pb::SURVEY_STATE_UNSPECIFIED);
  ASSERT_TRUE(Call(&Stub::ListSurveys, inspector_tok_, list, &listed).ok());
  EXPECT_EQ(listed.surveys_size(), 2);
}

}  // namespace
}  // namespace wuye::counter::testing
