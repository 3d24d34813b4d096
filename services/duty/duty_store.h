// The only code that knows the duty desk's tables. Every call takes the caller's group and
// filters by it; rules live in duty.h and permissions in the handlers.
#pragma once

#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "services/duty/duty.h"
#include "shared/db.h"
#include "shared/migrate.h"
#include "wuye/duty/v1/duty.pb.h"

namespace wuye {
const MigrationSet& duty_migrations();
}

namespace wuye::duty {

struct EstateCopy {
  std::string time_zone;
  DeskHours hours;
};

// A page of a list ordered by id, newest first: `before` is the last id of the previous
// page ("" for the first), `limit` the rows to read (page size + 1).
struct IdPage {
  std::string before;
  int limit = 51;
};

// Where a read of changed tasks starts: after (time, id); an empty id takes every task
// changed at `time` itself.
struct ChangeCursor {
  absl::Time time = absl::UnixEpoch();
  std::string after_id;
};

struct TaskFilter {
  std::string estate_id;    // "" for every estate of the group (all-estate tokens)
  std::vector<int> states;  // none: every state
  int kind = 0;             // 0: any
  int role = 0;             // 0: any
  bool mine = false;        // only tasks whose assignees include `caller`
  // Visibility: when `see_all` is false, only tasks addressed to one of `caller_roles` or
  // whose assignees include `caller`.
  bool see_all = false;
  std::vector<int> caller_roles;
  std::string caller;
};

class DutyStore {
 public:
  explicit DutyStore(Db& db);

  // ---- copies of the directory ----
  void UpsertEstate(pqxx::work& tx, const std::string& group, const std::string& id,
                    const EstateCopy& estate, int64_t version);
  std::optional<EstateCopy> GetEstate(pqxx::work& tx, const std::string& group,
                                      const std::string& id);
  void UpsertStaff(pqxx::work& tx, const std::string& group, const std::string& id, bool active,
                   const std::vector<int>& roles, const std::vector<std::string>& estates,
                   int64_t version);
  // The staff member's roles when active (and of the group); nullopt when unknown.
  std::optional<std::vector<int>> StaffRoles(pqxx::work& tx, const std::string& group,
                                             const std::string& id);
  // A shift keeps its tombstone: `deleted` never goes back to false.
  void UpsertShift(pqxx::work& tx, const std::string& group, const std::string& id,
                   const std::string& estate, const std::string& staff, absl::Time start,
                   absl::Time end, bool deleted);

  // ---- attendance ----
  // False when the person has an open check-in at the estate already.
  bool CheckIn(pqxx::work& tx, const std::string& group, const pb::Attendance& a);
  // The open check-in closed at `at`, or nullopt when there is none.
  std::optional<pb::Attendance> CheckOut(pqxx::work& tx, const std::string& group,
                                         const std::string& estate, const std::string& staff,
                                         absl::Time at, const std::string& note);
  std::vector<pb::Attendance> ListAttendances(pqxx::work& tx, const std::string& group,
                                              const std::string& estate, absl::Time from,
                                              absl::Time to, const std::string& staff,
                                              const IdPage& page);
  // Who is on duty at the estate at `at` in `role` (0: any), by staff id.
  std::vector<pb::OnDuty> OnDuty(pqxx::work& tx, const std::string& group,
                                 const std::string& estate, absl::Time at, int role);

  // ---- the desk and settings ----
  pb::Desk GetDesk(pqxx::work& tx, const std::string& group, const std::string& estate);
  void PutDesk(pqxx::work& tx, const std::string& group, const std::string& estate,
               const std::string& phone, absl::Time now);
  pb::Settings GetSettings(pqxx::work& tx, const std::string& group);
  void PutSettings(pqxx::work& tx, const std::string& group, const pb::Settings& s, absl::Time now);

  // ---- tasks ----
  // False when the (source event, first role) was raised before.
  bool InsertTask(pqxx::work& tx, const std::string& group, const pb::Task& task,
                  const std::string& source_event_id, ev::StaffRole first_role);
  std::optional<pb::Task> GetTask(pqxx::work& tx, const std::string& group, const std::string& id,
                                  bool for_update);
  void SaveTask(pqxx::work& tx, const std::string& group, const pb::Task& task,
                const std::string& closed_by_event_id);
  // Open, escalated or acknowledged tasks about `subject_ref`, locked.
  std::vector<pb::Task> OpenTasksAbout(pqxx::work& tx, const std::string& group,
                                       const std::string& subject_ref);
  std::vector<pb::Task> ListTasks(pqxx::work& tx, const std::string& group,
                                  const TaskFilter& filter, const IdPage& page);
  // Tasks of the estate changed after `from` (WatchTasks polls), oldest change first, with
  // the filter's visibility. The next page starts at the last task's (update_time, id).
  std::vector<pb::Task> TasksChangedSince(pqxx::work& tx, const std::string& group,
                                          const TaskFilter& filter, const ChangeCursor& from,
                                          int limit);
  // Wakes the screens watching the estate's tasks, in every replica, once `tx` commits
  // (NOTIFY on kTaskChannel; task_signal.h).
  void SignalTaskChange(pqxx::work& tx, const std::string& estate);
  // Across groups: tasks waiting for acknowledgement whose due time has come, locked with
  // SKIP LOCKED so that replicas share them. Pairs of (group, task).
  std::vector<std::pair<std::string, pb::Task>> DueTasks(pqxx::work& tx, absl::Time now, int limit);
};

}  // namespace wuye::duty
