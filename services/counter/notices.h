// The counter's rules of notices with their tickets, surveys and their responses. Pure: no I/O, no
// clock.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "services/counter/counter.h"

namespace wuye::counter {

// Limits of the API (counter.proto).
inline constexpr int kMaxNoticeTitle = 100;
inline constexpr int kMaxNoticeBody = 2000;
inline constexpr int kMaxResolution = 500;
inline constexpr int kMaxLinkedTickets = 200;
inline constexpr int kMaxSurveyTitle = 100;
inline constexpr int kMaxQuestions = 30;
inline constexpr int kMaxQuestionText = 200;
inline constexpr int kMaxSurveyComment = 500;
// The five points of the satisfaction scale, very satisfied first.
inline constexpr int kSatisfactionPoints = 5;

// Whether a notice of `kind` announces a cut of a supply (water, power, gas): only a cut
// links the tickets it causes.
bool IsCut(pb::NoticeKind kind);

// The kind as events name it: "water_cut", "power_cut", "gas_cut", "fire_drill", "holiday",
// "other".
std::string NoticeKindName(pb::NoticeKind kind);

// Every input of PublishNotice, each refusal INVALID_ARGUMENT naming its field: a kind; a
// title (one line, 1..100 characters, no phone or ID number: the linked tickets are answered
// with it); a body (1..2000 characters); a period whose end is after its start.
absl::Status CheckNotice(const pb::PublishNoticeRequest& req);

// The resolution EndNotice gives the linked tickets: 1..500 characters, no phone or ID number
// (it travels in counter.notice.ended).
absl::Status CheckResolution(const std::string& resolution, absl::string_view field);

// What a linked ticket is answered with: the notice's title and its period in the estate's
// time ("停水通知 (2026-11-10 09:00 – 2026-11-10 17:00)"), never a person's data.
std::string NoticeAnswer(const std::string& title, absl::Time start, absl::Time end,
                         absl::TimeZone zone);

// Every input of CreateSurvey: a title (one line, 1..100 characters) and 1..30 questions,
// each one line of 1..200 characters ("questions[2].text").
absl::Status CheckSurvey(const pb::CreateSurveyRequest& req);

// One household's answers to a survey of `questions` questions: exactly one per question
// ("answers"), each a point of the scale ("answers[i]"); the comment optional, at most 500
// characters.
absl::Status CheckResponse(const pb::RecordSurveyResponseRequest& req, int questions);

// A survey's results from its responses' answers (each one per question, in order) and the
// estate's units known to the counter: counts per point of the scale (very satisfied first),
// satisfied_bp = (very satisfied + satisfied) / answers per question and over every answer,
// response_bp = households answered / households, each in basis points rounded down
// (shared/basis_points.h), 0 when there is nothing to divide by.
pb::SurveyResults TallySurvey(const pb::Survey& survey,
                              const std::vector<std::vector<int>>& responses, int32_t households);

}  // namespace wuye::counter
