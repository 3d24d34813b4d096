// The counter's tables of notices with their tickets, surveys and their responses. Every call takes
// the caller's group and filters by it.
#pragma once

#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "services/counter/notices.h"
#include "shared/db.h"
#include "shared/paging.h"

namespace wuye::counter {

class NoticesStore {
 public:
  explicit NoticesStore(Db& db);

  // ---- notices ----
  void InsertNotice(pqxx::work& tx, const std::string& group, const pb::Notice& n);
  // The notice with its linked tickets (in the order linked); `for_update` locks its row.
  std::optional<pb::Notice> GetNotice(pqxx::work& tx, const std::string& group,
                                      const std::string& id, bool for_update);
  // Notices of an estate, oldest first, in `state` when given; page.size + 1 rows at most.
  std::vector<pb::Notice> ListNotices(pqxx::work& tx, const std::string& group,
                                      const std::string& estate, pb::NoticeState state,
                                      const PageRequest& page);
  // Links the tickets (each once) and bumps the notice's version.
  void LinkTickets(pqxx::work& tx, const std::string& group, const std::string& notice,
                   const std::vector<std::string>& tickets, absl::Time now);
  void EndNotice(pqxx::work& tx, const std::string& group, const std::string& notice,
                 const std::string& resolution, absl::Time now);

  // ---- surveys ----
  void InsertSurvey(pqxx::work& tx, const std::string& group, const pb::Survey& s);
  // The survey and, once closed, the households counted then (else -1).
  std::optional<pb::Survey> GetSurvey(pqxx::work& tx, const std::string& group,
                                      const std::string& id, bool for_update,
                                      int32_t* households_at_close = nullptr);
  std::vector<pb::Survey> ListSurveys(pqxx::work& tx, const std::string& group,
                                      const std::string& estate, pb::SurveyState state,
                                      const PageRequest& page);
  // Records the response; false when the unit has answered the survey already.
  bool InsertResponse(pqxx::work& tx, const std::string& group, const pb::SurveyResponse& r);
  bool HasResponse(pqxx::work& tx, const std::string& group, const std::string& survey,
                   const std::string& unit);
  // Every response's answers (one per question, in order), oldest first.
  std::vector<std::vector<int>> ResponseAnswers(pqxx::work& tx, const std::string& group,
                                                const std::string& survey);
  void CloseSurvey(pqxx::work& tx, const std::string& group, const std::string& survey,
                   int32_t households, absl::Time now);
};

}  // namespace wuye::counter
