// The counter's rules of notices with their tickets, surveys and their responses.
#include "services/counter/notices.h"

#include <gtest/gtest.h>

#include "shared/proto_time.h"
#include "shared/status.h"

namespace wuye::counter {
namespace {

absl::Time At(int y, int m, int d, int hh, int mm) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, hh, mm, 0), absl::UTCTimeZone());
}

pb::PublishNoticeRequest WaterCut() {
  pb::PublishNoticeRequest req;
  req.set_kind(pb::NOTICE_KIND_WATER_CUT);
  req.set_title("停水通知");
  req.set_body("因管道维修,11月10日09:00至17:00停水,请提前储水。");
  *req.mutable_start_time() = ToProtoTime(At(2026, 11, 10, 1, 0));
  *req.mutable_end_time() = ToProtoTime(At(2026, 11, 10, 9, 0));
  return req;
}

// 001_… 物业客服领班 6 (制作并发放租户公告): a notice with its kind, title, body and period.
TEST(NoticesTest, ANoticeNeedsItsKindTitleBodyAndAPeriodEndingAfterItsStart) {
  EXPECT_TRUE(CheckNotice(WaterCut()).ok());
  auto field_of = [](const pb::PublishNoticeRequest& r) { return ErrorField(CheckNotice(r)); };

  auto r = WaterCut();
  r.set_kind(pb::NOTICE_KIND_UNSPECIFIED);
  EXPECT_EQ(field_of(r), "kind");
  r = WaterCut();
  r.set_kind(static_cast<pb::NoticeKind>(42));
  EXPECT_EQ(field_of(r), "kind");
  r = WaterCut();
  r.set_title(" ");
  EXPECT_EQ(field_of(r), "title");
  r = WaterCut();
  r.set_title(std::string(101, 'a'));
  EXPECT_EQ(field_of(r), "title");
  r = WaterCut();
  r.set_title("停水\n通知");
  EXPECT_EQ(field_of(r), "title");
  r = WaterCut();
  r.set_title("停水 联系 13800138000");  // the title answers tickets: no phone number
  EXPECT_EQ(field_of(r), "title");
  r = WaterCut();
  r.clear_body();
  EXPECT_EQ(field_of(r), "body");
  r = WaterCut();
  r.set_body(std::string(2001, 'a'));
  EXPECT_EQ(field_of(r), "body");
  r = WaterCut();
  r.clear_start_time();
  EXPECT_EQ(field_of(r), "start_time");
  r = WaterCut();
  r.clear_end_time();
  EXPECT_EQ(field_of(r), "end_time");
  r = WaterCut();
  *r.mutable_end_time() = r.start_time();
  EXPECT_EQ(field_of(r), "end_time");
  r = WaterCut();
  *r.mutable_end_time() = ToProtoTime(At(2026, 11, 9, 9, 0));
  EXPECT_EQ(field_of(r), "end_time");
  r = WaterCut();
  r.mutable_start_time()->set_nanos(-1);
  EXPECT_EQ(field_of(r), "start_time");
}

TEST(NoticesTest, OnlyWaterPowerAndGasCutsLinkTickets) {
  EXPECT_TRUE(IsCut(pb::NOTICE_KIND_WATER_CUT));
  EXPECT_TRUE(IsCut(pb::NOTICE_KIND_POWER_CUT));
  EXPECT_TRUE(IsCut(pb::NOTICE_KIND_GAS_CUT));
  EXPECT_FALSE(IsCut(pb::NOTICE_KIND_FIRE_DRILL));
  EXPECT_FALSE(IsCut(pb::NOTICE_KIND_HOLIDAY));
  EXPECT_FALSE(IsCut(pb::NOTICE_KIND_OTHER));
  EXPECT_FALSE(IsCut(pb::NOTICE_KIND_UNSPECIFIED));
  EXPECT_EQ(NoticeKindName(pb::NOTICE_KIND_WATER_CUT), "water_cut");
  EXPECT_EQ(NoticeKindName(pb::NOTICE_KIND_POWER_CUT), "power_cut");
  EXPECT_EQ(NoticeKindName(pb::NOTICE_KIND_GAS_CUT), "gas_cut");
  EXPECT_EQ(NoticeKindName(pb::NOTICE_KIND_FIRE_DRILL), "fire_drill");
  EXPECT_EQ(NoticeKindName(pb::NOTICE_KIND_HOLIDAY), "holiday");
  EXPECT_EQ(NoticeKindName(pb::NOTICE_KIND_OTHER), "other");
}

TEST(NoticesTest, TheAnswerIsTheTitleAndThePeriodInTheEstatesTime) {
  absl::TimeZone shanghai;
  ASSERT_TRUE(absl::LoadTimeZone("Asia/Shanghai", &shanghai));
  EXPECT_EQ(NoticeAnswer("停水通知", At(2026, 11, 10, 1, 0), At(2026, 11, 10, 9, 0), shanghai),
            "停水通知 (2026-11-10 09:00 – 2026-11-10 17:00)");
}

TEST(NoticesTest, AResolutionIsRequiredShortAndCarriesNoPhoneNumber) {
  EXPECT_TRUE(CheckResolution("供水已恢复", "resolution").ok());
  EXPECT_EQ(ErrorField(CheckResolution("", "resolution")), "resolution");
  EXPECT_EQ(ErrorField(CheckResolution(std::string(501, 'a'), "resolution")), "resolution");
  EXPECT_EQ(ErrorField(CheckResolution("call 138 0013 8000", "resolution")), "resolution");
}

pb::CreateSurveyRequest Survey(int questions) {
  pb::CreateSurveyRequest req;
  req.set_title("2026年度客户满意度调查");
  for (int i = 0; i < questions; ++i) req.add_questions()->set_text("服务态度");
  return req;
}

// 001_… line 555 (组织开展客户满意度调查): a title and one to thirty questions.
TEST(NoticesTest, ASurveyHasATitleAndOneToThirtyQuestions) {
  EXPECT_TRUE(CheckSurvey(Survey(1)).ok());
  EXPECT_TRUE(CheckSurvey(Survey(30)).ok());
  EXPECT_EQ(ErrorField(CheckSurvey(Survey(0))), "questions");
  EXPECT_EQ(ErrorField(CheckSurvey(Survey(31))), "questions");
  auto r = Survey(3);
  r.clear_title();
  EXPECT_EQ(ErrorField(CheckSurvey(r)), "title");
  r = Survey(3);
  r.set_title(std::string(101, 'x'));
  EXPECT_EQ(ErrorField(CheckSurvey(r)), "title");
  r = Survey(3);
  r.mutable_questions(2)->set_text("");
  EXPECT_EQ(ErrorField(CheckSurvey(r)), "questions[2].text");
  r = Survey(3);
  r.mutable_questions(1)->set_text(std::string(201, 'q'));
  EXPECT_EQ(ErrorField(CheckSurvey(r)), "questions[1].text");
}

// 002_… 第七章 5 (《意见调查表》的发放与回收): one answer per question on the five-point scale.
TEST(NoticesTest, AResponseAnswersEveryQuestionOnceOnTheScale) {
  pb::RecordSurveyResponseRequest r;
  r.add_answers(pb::SATISFACTION_VERY_SATISFIED);
  r.add_answers(pb::SATISFACTION_VERY_UNSATISFIED);
  EXPECT_TRUE(CheckResponse(r, 2).ok());
  EXPECT_EQ(ErrorField(CheckResponse(r, 3)), "answers");
  EXPECT_EQ(ErrorField(CheckResponse(r, 1)), "answers");
  r.set_answers(1, pb::SATISFACTION_UNSPECIFIED);
  EXPECT_EQ(ErrorField(CheckResponse(r, 2)), "answers[1]");
  r.set_answers(1, static_cast<pb::Satisfaction>(6));
  EXPECT_EQ(ErrorField(CheckResponse(r, 2)), "answers[1]");
  r.set_answers(1, pb::SATISFACTION_NEUTRAL);
  r.set_comment(std::string(501, 'c'));
  EXPECT_EQ(ErrorField(CheckResponse(r, 2)), "comment");
  r.set_comment("楼道灯常坏\n希望及时修理");
  EXPECT_TRUE(CheckResponse(r, 2).ok());
}

// 002_… 1.2.8 (进行满意度调查并进行统计分析): counts per point, the share satisfied, the
// households answered.
TEST(NoticesTest, ResultsCountEachPointAndTheSharesInBasisPoints) {
  pb::Survey s;
  s.set_id("s");
  s.set_estate_id("e");
  s.set_state(pb::SURVEY_STATE_OPEN);
  s.add_questions()->set_text("q1");
  s.add_questions()->set_text("q2");
  s.add_questions()->set_text("q3");
  std::vector<std::vector<int>> responses = {{1, 3, 5}, {2, 2, 4}, {2, 4, 1}};
  pb::SurveyResults r = TallySurvey(s, responses, 7);
  EXPECT_EQ(r.survey_id(), "s");
  EXPECT_EQ(r.estate_id(), "e");
  EXPECT_EQ(r.state(), pb::SURVEY_STATE_OPEN);
  EXPECT_EQ(r.households_answered(), 3);
  EXPECT_EQ(r.households(), 7);
  EXPECT_EQ(r.response_bp(), 4285);  // 3/7 = 42.857 %, rounded down
  ASSERT_EQ(r.questions_size(), 3);
  EXPECT_EQ(r.questions(0).text(), "q1");
  EXPECT_EQ(std::vector<int>(r.questions(0).counts().begin(), r.questions(0).counts().end()),
            (std::vector<int>{1, 2, 0, 0, 0}));
  EXPECT_EQ(r.questions(0).satisfied_bp(), 10000);
  EXPECT_EQ(std::vector<int>(r.questions(1).counts().begin(), r.questions(1).counts().end()),
            (std::vector<int>{0, 1, 1, 1, 0}));
  EXPECT_EQ(r.questions(1).satisfied_bp(), 3333);
  EXPECT_EQ(std::vector<int>(r.questions(2).counts().begin(), r.questions(2).counts().end()),
            (std::vector<int>{1, 0, 0, 1, 1}));
  EXPECT_EQ(r.questions(2).satisfied_bp(), 3333);
  EXPECT_EQ(r.satisfied_bp(), 5555);  // 5 of 9
}

TEST(NoticesTest, ResultsOfNoResponseOrNoHouseholdAreZero) {
  pb::Survey s;
  s.add_questions()->set_text("q1");
  pb::SurveyResults r = TallySurvey(s, {}, 0);
  EXPECT_EQ(r.households_answered(), 0);
  EXPECT_EQ(r.response_bp(), 0);
  EXPECT_EQ(r.satisfied_bp(), 0);
  ASSERT_EQ(r.questions_size(), 1);
  EXPECT_EQ(r.questions(0).counts_size(), 5);
  EXPECT_EQ(r.questions(0).satisfied_bp(), 0);
}

}  // namespace
}  // namespace wuye::counter
