#include "services/counter/notices.h"

#include "absl/strings/str_cat.h"
#include "shared/basis_points.h"
#include "shared/status.h"
#include "shared/text.h"

namespace wuye::counter {

bool IsCut(pb::NoticeKind kind) {
  return kind == pb::NOTICE_KIND_WATER_CUT || kind == pb::NOTICE_KIND_POWER_CUT ||
         kind == pb::NOTICE_KIND_GAS_CUT;
}

std::string NoticeKindName(pb::NoticeKind kind) {
  switch (kind) {
    case pb::NOTICE_KIND_WATER_CUT:
      return "water_cut";
    case pb::NOTICE_KIND_POWER_CUT:
      return "power_cut";
    case pb::NOTICE_KIND_GAS_CUT:
      return "gas_cut";
    case pb::NOTICE_KIND_FIRE_DRILL:
      return "fire_drill";
    case pb::NOTICE_KIND_HOLIDAY:
      return "holiday";
    default:
      return "other";
  }
}

absl::Status CheckNotice(const pb::PublishNoticeRequest& req) {
  if (req.kind() == pb::NOTICE_KIND_UNSPECIFIED || !pb::NoticeKind_IsValid(req.kind())) {
    return FieldError("kind", "required: one of the notice kinds");
  }
  WUYE_RETURN_IF_ERROR(
      CheckText(req.title(), "title", kMaxNoticeTitle, Presence::kRequired, Lines::kOne));
  WUYE_RETURN_IF_ERROR(CheckNoPersonalNumbers(req.title(), "title"));
  WUYE_RETURN_IF_ERROR(
      CheckText(req.body(), "body", kMaxNoticeBody, Presence::kRequired, Lines::kMany));
  if (!req.has_start_time()) return FieldError("start_time", "required");
  if (!req.has_end_time()) return FieldError("end_time", "required");
  if (req.start_time().nanos() < 0 || req.start_time().nanos() >= 1000000000 ||
      req.start_time().seconds() <= 0) {
    return FieldError("start_time", "not a valid time");
  }
  if (req.end_time().nanos() < 0 || req.end_time().nanos() >= 1000000000 ||
      req.end_time().seconds() > 253402300799) {  // 9999-12-31T23:59:59Z
    return FieldError("end_time", "not a valid time");
  }
  if (req.end_time().seconds() < req.start_time().seconds() ||
      (req.end_time().seconds() == req.start_time().seconds() &&
       req.end_time().nanos() <= req.start_time().nanos())) {
    return FieldError("end_time", "must be after start_time");
  }
  return absl::OkStatus();
}

absl::Status CheckResolution(const std::string& resolution, absl::string_view field) {
  WUYE_RETURN_IF_ERROR(
      CheckText(resolution, field, kMaxResolution, Presence::kRequired, Lines::kMany));
  return CheckNoPersonalNumbers(resolution, field);
}

std::string NoticeAnswer(const std::string& title, absl::Time start, absl::Time end,
                         absl::TimeZone zone) {
  constexpr char kFormat[] = "%Y-%m-%d %H:%M";
  return absl::StrCat(title, " (", absl::FormatTime(kFormat, start, zone), " – ",
                      absl::FormatTime(kFormat, end, zone), ")");
}

absl::Status CheckSurvey(const pb::CreateSurveyRequest& req) {
  WUYE_RETURN_IF_ERROR(
      CheckText(req.title(), "title", kMaxSurveyTitle, Presence::kRequired, Lines::kOne));
  if (req.questions().empty()) return FieldError("questions", "at least one");
  if (req.questions_size() > kMaxQuestions) {
    return FieldError("questions", absl::StrCat("at most ", kMaxQuestions));
  }
  for (int i = 0; i < req.questions_size(); ++i) {
    WUYE_RETURN_IF_ERROR(CheckText(req.questions(i).text(), absl::StrCat("questions[", i, "].text"),
                                   kMaxQuestionText, Presence::kRequired, Lines::kOne));
  }
  return absl::OkStatus();
}

absl::Status CheckResponse(const pb::RecordSurveyResponseRequest& req, int questions) {
  if (req.answers_size() != questions) {
    return FieldError("answers", absl::StrCat("one per question: ", questions));
  }
  for (int i = 0; i < req.answers_size(); ++i) {
    int a = req.answers(i);
    if (a < pb::SATISFACTION_VERY_SATISFIED || a > pb::SATISFACTION_VERY_UNSATISFIED) {
      return FieldError(absl::StrCat("answers[", i, "]"), "one of the five points of the scale");
    }
  }
  WUYE_RETURN_IF_ERROR(
      CheckText(req.comment(), "comment", kMaxSurveyComment, Presence::kOptional, Lines::kMany));
  return CheckNoPersonalNumbers(req.comment(), "comment");
}

pb::SurveyResults TallySurvey(const pb::Survey& survey,
                              const std::vector<std::vector<int>>& responses, int32_t households) {
  pb::SurveyResults out;
  out.set_survey_id(survey.id());
  out.set_estate_id(survey.estate_id());
  out.set_state(survey.state());
  out.set_households_answered(static_cast<int32_t>(responses.size()));
  out.set_households(households);
  out.set_response_bp(BasisPoints(out.households_answered(), households, 0));
  int64_t all = 0, all_satisfied = 0;
  for (int q = 0; q < survey.questions_size(); ++q) {
    int64_t counts[kSatisfactionPoints] = {0, 0, 0, 0, 0};
    int64_t answers = 0;
    for (const auto& r : responses) {
      if (q >= static_cast<int>(r.size())) continue;
      int point = r[q];
      if (point < pb::SATISFACTION_VERY_SATISFIED || point > pb::SATISFACTION_VERY_UNSATISFIED) {
        continue;
      }
      ++counts[point - 1];
      ++answers;
    }
    pb::QuestionResult* qr = out.add_questions();
    qr->set_text(survey.questions(q).text());
    for (int64_t c : counts) qr->add_counts(static_cast<int32_t>(c));
    int64_t satisfied = counts[0] + counts[1];
    qr->set_satisfied_bp(BasisPoints(satisfied, answers, 0));
    all += answers;
    all_satisfied += satisfied;
  }
  out.set_satisfied_bp(BasisPoints(all_satisfied, all, 0));
  return out;
}

}  // namespace wuye::counter
