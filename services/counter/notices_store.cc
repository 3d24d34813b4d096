#include "services/counter/notices_store.h"

#include "absl/strings/numbers.h"
#include "shared/proto_time.h"
#include "shared/sql.h"

namespace wuye::counter {
namespace {

using sql::Stamp;
using sql::Text;

sql::Statements statements;

constexpr char kNoticeColumns[] =
    "n.id, n.estate_id, n.kind, n.title, n.body, " WUYE_SQL_MICROS("n.start_time") ", " WUYE_SQL_MICROS(
        "n.end_time") ", n.state, n.resolution, " WUYE_SQL_MICROS("n.ended_at") ", n.published_by, "
                      "n.version, " WUYE_SQL_MICROS("n.created_at") ", "
                      "COALESCE((SELECT array_agg(t.ticket_id::text ORDER BY t.seq) "
                      "FROM notice_tickets t WHERE t.notice_id = n.id), '{}') ";

pb::Notice NoticeOf(const pqxx::row& r) {
  pb::Notice n;
  n.set_id(Text(r[0]));
  n.set_estate_id(Text(r[1]));
  n.set_kind(static_cast<pb::NoticeKind>(r[2].as<int>()));
  n.set_title(Text(r[3]));
  n.set_body(Text(r[4]));
  *n.mutable_start_time() = Stamp(r[5]);
  *n.mutable_end_time() = Stamp(r[6]);
  n.set_state(static_cast<pb::NoticeState>(r[7].as<int>()));
  n.set_resolution(Text(r[8]));
  if (!r[9].is_null()) *n.mutable_ended_time() = Stamp(r[9]);
  n.set_published_by(Text(r[10]));
  n.set_version(r[11].as<int64_t>());
  *n.mutable_create_time() = Stamp(r[12]);
  for (auto& t : ParsePgArray(r[13])) n.add_ticket_ids(std::move(t));
  return n;
}

constexpr char kSurveyColumns[] =
    "id, estate_id, title, questions, state, " WUYE_SQL_MICROS("open_time") ", " WUYE_SQL_MICROS(
        "close_time") ", created_by, version, COALESCE(households, -1) ";

pb::Survey SurveyOf(const pqxx::row& r) {
  pb::Survey s;
  s.set_id(Text(r[0]));
  s.set_estate_id(Text(r[1]));
  s.set_title(Text(r[2]));
  for (auto& q : ParsePgArray(r[3])) s.add_questions()->set_text(std::move(q));
  s.set_state(static_cast<pb::SurveyState>(r[4].as<int>()));
  *s.mutable_open_time() = Stamp(r[5]);
  if (!r[6].is_null()) *s.mutable_close_time() = Stamp(r[6]);
  s.set_created_by(Text(r[7]));
  s.set_version(r[8].as<int64_t>());
  return s;
}

int64_t Micros(const google::protobuf::Timestamp& ts) { return sql::Micros(FromProtoTime(ts)); }

}  // namespace

NoticesStore::NoticesStore(Db& db) { statements.PrepareOn(db); }

// ---- notices --------------------------------------------------------------------------------

const sql::Statement kNoticeInsert = statements.Add(
    "ct_notice_insert",
    "INSERT INTO notices (id, group_id, estate_id, kind, title, body, start_time, end_time, state, "
    "published_by, version, created_at) VALUES ($1, $2, $3, $4, $5, $6, " WUYE_SQL_TIME(
        "$7") ", " WUYE_SQL_TIME("$8") ", $9, $10, $11, " WUYE_SQL_TIME("$12") ")");

void NoticesStore::InsertNotice(pqxx::work& tx, const std::string& group, const pb::Notice& n) {
  tx.exec_prepared(kNoticeInsert, n.id(), group, n.estate_id(), static_cast<int>(n.kind()),
                   n.title(), n.body(), Micros(n.start_time()), Micros(n.end_time()),
                   static_cast<int>(n.state()), n.published_by(), n.version(),
                   Micros(n.create_time()));
}

const sql::Statement kNoticeGet =
    statements.Add("ct_notice_get", std::string("SELECT ") + kNoticeColumns +
                                        "FROM notices n WHERE n.group_id = $1 AND n.id = $2");
const sql::Statement kNoticeGetForUpdate = statements.Add(
    "ct_notice_get_for_update", std::string("SELECT ") + kNoticeColumns +
                                    "FROM notices n WHERE n.group_id = $1 AND n.id = $2 "
                                    "FOR UPDATE OF n");

std::optional<pb::Notice> NoticesStore::GetNotice(pqxx::work& tx, const std::string& group,
                                                  const std::string& id, bool for_update) {
  pqxx::result r = tx.exec_prepared(for_update ? kNoticeGetForUpdate : kNoticeGet, group, id);
  if (r.empty()) return std::nullopt;
  return NoticeOf(r[0]);
}

const sql::Statement kNoticeList = statements.Add(
    "ct_notice_list", std::string("SELECT ") + kNoticeColumns +
                          "FROM notices n WHERE n.group_id = $1 AND n.estate_id = $2 "
                          "AND ($3 = 0 OR n.state = $3) AND n.id > " WUYE_SQL_AFTER("$4") " "
                          "ORDER BY n.id LIMIT $5");

std::vector<pb::Notice> NoticesStore::ListNotices(pqxx::work& tx, const std::string& group,
                                                  const std::string& estate, pb::NoticeState state,
                                                  const PageRequest& page) {
  std::vector<pb::Notice> out;
  for (const auto& row : tx.exec_prepared(kNoticeList, group, estate, static_cast<int>(state),
                                          page.after, page.size + 1)) {
    out.push_back(NoticeOf(row));
  }
  return out;
}

const sql::Statement kTicketLink =
    statements.Add("ct_notice_ticket_link",
                   "INSERT INTO notice_tickets (notice_id, ticket_id, linked_at) "
                   "VALUES ($1, $2, " WUYE_SQL_TIME("$3") ") ON CONFLICT DO NOTHING");
const sql::Statement kNoticeBump = statements.Add(
    "ct_notice_bump", "UPDATE notices SET version = version + 1 WHERE group_id = $1 AND id = $2");

void NoticesStore::LinkTickets(pqxx::work& tx, const std::string& group, const std::string& notice,
                               const std::vector<std::string>& tickets, absl::Time now) {
  for (const auto& ticket : tickets) {
    tx.exec_prepared(kTicketLink, notice, ticket, sql::Micros(now));
  }
  tx.exec_prepared(kNoticeBump, group, notice);
}

const sql::Statement kNoticeEnd = statements.Add(
    "ct_notice_end",
    "UPDATE notices SET state = $3, resolution = $4, ended_at = " WUYE_SQL_TIME("$5") ", "
    "version = version + 1 WHERE group_id = $1 AND id = $2");

void NoticesStore::EndNotice(pqxx::work& tx, const std::string& group, const std::string& notice,
                             const std::string& resolution, absl::Time now) {
  tx.exec_prepared(kNoticeEnd, group, notice, static_cast<int>(pb::NOTICE_STATE_ENDED), resolution,
                   sql::Micros(now));
}

// ---- surveys --------------------------------------------------------------------------------

const sql::Statement kSurveyInsert = statements.Add(
    "ct_survey_insert",
    "INSERT INTO surveys (id, group_id, estate_id, title, questions, state, open_time, "
    "created_by, version) VALUES ($1, $2, $3, $4, $5::text[], $6, " WUYE_SQL_TIME(
        "$7") ", $8, $9)");

void NoticesStore::InsertSurvey(pqxx::work& tx, const std::string& group, const pb::Survey& s) {
  std::vector<std::string> questions;
  for (const auto& q : s.questions()) questions.push_back(q.text());
  tx.exec_prepared(kSurveyInsert, s.id(), group, s.estate_id(), s.title(), PgArray(questions),
                   static_cast<int>(s.state()), Micros(s.open_time()), s.created_by(), s.version());
}

const sql::Statement kSurveyGet =
    statements.Add("ct_survey_get", std::string("SELECT ") + kSurveyColumns +
                                        "FROM surveys WHERE group_id = $1 AND id = $2");
const sql::Statement kSurveyGetForUpdate =
    statements.Add("ct_survey_get_for_update", std::string("SELECT ") + kSurveyColumns +
                                                   "FROM surveys WHERE group_id = $1 AND id = $2 "
                                                   "FOR UPDATE");

std::optional<pb::Survey> NoticesStore::GetSurvey(pqxx::work& tx, const std::string& group,
                                                  const std::string& id, bool for_update,
                                                  int32_t* households_at_close) {
  pqxx::result r = tx.exec_prepared(for_update ? kSurveyGetForUpdate : kSurveyGet, group, id);
  if (r.empty()) return std::nullopt;
  if (households_at_close) *households_at_close = r[0][9].as<int32_t>();
  return SurveyOf(r[0]);
}

const sql::Statement kSurveyList = statements.Add(
    "ct_survey_list", std::string("SELECT ") + kSurveyColumns +
                          "FROM surveys WHERE group_id = $1 AND estate_id = $2 "
                          "AND ($3 = 0 OR state = $3) AND id > " WUYE_SQL_AFTER("$4") " "
                          "ORDER BY id LIMIT $5");

std::vector<pb::Survey> NoticesStore::ListSurveys(pqxx::work& tx, const std::string& group,
                                                  const std::string& estate, pb::SurveyState state,
                                                  const PageRequest& page) {
  std::vector<pb::Survey> out;
  for (const auto& row : tx.exec_prepared(kSurveyList, group, estate, static_cast<int>(state),
                                          page.after, page.size + 1)) {
    out.push_back(SurveyOf(row));
  }
  return out;
}

const sql::Statement kResponseInsert = statements.Add(
    "ct_survey_response_insert",
    "INSERT INTO survey_responses (id, group_id, survey_id, unit_id, answers, comment, created_at) "
    "VALUES ($1, $2, $3, $4, $5::smallint[], $6, " WUYE_SQL_TIME("$7") ") "
    "ON CONFLICT (survey_id, unit_id) DO NOTHING");

bool NoticesStore::InsertResponse(pqxx::work& tx, const std::string& group,
                                  const pb::SurveyResponse& r) {
  std::vector<std::string> answers;
  for (int a : r.answers()) answers.push_back(std::to_string(a));
  pqxx::result res = tx.exec_prepared(kResponseInsert, r.id(), group, r.survey_id(), r.unit_id(),
                                      PgArray(answers), r.comment(), Micros(r.create_time()));
  return res.affected_rows() == 1;
}

const sql::Statement kResponseExists =
    statements.Add("ct_survey_response_exists",
                   "SELECT count(*) FROM survey_responses WHERE group_id = $1 AND survey_id = $2 "
                   "AND unit_id = $3");

bool NoticesStore::HasResponse(pqxx::work& tx, const std::string& group, const std::string& survey,
                               const std::string& unit) {
  return tx.exec_prepared(kResponseExists, group, survey, unit)[0][0].as<int64_t>() > 0;
}

const sql::Statement kResponseAnswers = statements.Add(
    "ct_survey_response_answers",
    "SELECT answers FROM survey_responses WHERE group_id = $1 AND survey_id = $2 ORDER BY id");

std::vector<std::vector<int>> NoticesStore::ResponseAnswers(pqxx::work& tx,
                                                            const std::string& group,
                                                            const std::string& survey) {
  std::vector<std::vector<int>> out;
  for (const auto& row : tx.exec_prepared(kResponseAnswers, group, survey)) {
    std::vector<int> answers;
    for (const auto& text : ParsePgArray(row[0])) {
      int a = 0;
      answers.push_back(absl::SimpleAtoi(text, &a) ? a : 0);
    }
    out.push_back(std::move(answers));
  }
  return out;
}

const sql::Statement kSurveyClose = statements.Add(
    "ct_survey_close",
    "UPDATE surveys SET state = $3, close_time = " WUYE_SQL_TIME("$4") ", households = $5, "
    "version = version + 1 WHERE group_id = $1 AND id = $2");

void NoticesStore::CloseSurvey(pqxx::work& tx, const std::string& group, const std::string& survey,
                               int32_t households, absl::Time now) {
  tx.exec_prepared(kSurveyClose, group, survey, static_cast<int>(pb::SURVEY_STATE_CLOSED),
                   sql::Micros(now), households);
}

}  // namespace wuye::counter
