// The domain of the duty desk (docs/api/duty.md): the ladder, the task each event raises
// and the one that closes it, acknowledgement windows, the desk's hours and its gaps.
// Pure: no I/O, no clock reads (the time is passed in).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "wuye/common/v1/common.pb.h"
#include "wuye/duty/v1/duty.pb.h"
#include "wuye/events/v1/directory_events.pb.h"
#include "wuye/events/v1/duty_events.pb.h"
#include "wuye/events/v1/envelope.pb.h"

namespace wuye::duty {

namespace pb = ::wuye::duty::v1;
namespace ev = ::wuye::events::v1;

// ---- the ladder (team lead → supervisor → estate manager) -----------------------------

// 1 team lead, 2 supervisor, 3 estate manager; 0 for every role below the ladder.
int LevelOf(ev::StaffRole role);
// The role a task goes to when nobody acknowledges it: a role below the ladder goes to the
// team lead, then the supervisor, then the estate manager; nothing above the manager.
std::optional<ev::StaffRole> NextUp(ev::StaffRole role);
// The token's name of a role ("team_lead"), "" for UNSPECIFIED; and back (nullopt when
// the name is no staff role).
std::string_view RoleName(ev::StaffRole role);
std::optional<ev::StaffRole> RoleOfName(std::string_view name);
// The roles a person can be on duty in (agent, team lead, supervisor, estate manager,
// guard, technician, care worker, cleaner, gardener, finance clerk, quality inspector): a
// valid role that is not UNSPECIFIED nor group admin.
bool IsDutyRole(ev::StaffRole role);

// ---- kinds of task --------------------------------------------------------------------

struct KindRule {
  ev::TaskKind kind;
  std::string_view code;   // "major_complaint"
  std::string_view title;  // what the screen says first: "major complaint"
  // The roles a task of this kind is raised for, one task each. Empty: the role comes
  // from the event (an escalation's level; a role gap's next level up).
  std::vector<ev::StaffRole> roles;
  absl::Duration default_window;  // acknowledgement, by default
};

// Every kind, in the enum's order.
const std::vector<KindRule>& Kinds();
// nullptr for UNSPECIFIED or an unknown number.
const KindRule* FindKind(ev::TaskKind kind);

// ---- settings -------------------------------------------------------------------------

inline constexpr absl::Duration kMinWindow = absl::Minutes(1);
inline constexpr absl::Duration kMaxWindow = absl::Hours(24 * 7);

// Each window names a known kind, at most once, within [kMinWindow, kMaxWindow] in whole
// seconds. Errors name `<field>.ack_windows`.
absl::Status CheckSettings(const pb::Settings& settings, absl::string_view field);
// The group's window for `kind`, else the kind's default.
absl::Duration AckWindow(const pb::Settings& settings, ev::TaskKind kind);
// Every kind with its window (the settings as GetSettings answers them).
pb::Settings EffectiveSettings(const pb::Settings& stored);

// ---- tasks from events ----------------------------------------------------------------

// A task to raise, before it is stored.
struct TaskDraft {
  ev::TaskKind kind = ev::TASK_KIND_UNSPECIFIED;
  ev::StaffRole role = ev::STAFF_ROLE_UNSPECIFIED;
  int level = 0;  // LevelOf(role)
  std::string estate_id;
  std::string subject_ref;  // "ticket/…", "work_order/…", …
  wuye::common::v1::Location location;
  std::string title;
  // Words naming the subject after the kind's title ("shenzhen SZ-1": a 12345 order's city
  // and number), or "": ids and the city's references only, never a name or a number of a
  // person.
  std::string subject_words;
  std::string source_event_id;  // the envelope's id
  absl::Time raised_at;         // the event's occurred_at
};

// What an event is to the desk: the tasks it raises and the subjects whose open tasks it
// closes (a ticket closed, an order completed).
struct Reading {
  std::vector<TaskDraft> raise;
  std::vector<std::string> close_refs;  // the group's open tasks about each, whatever estate
  // The open tasks about `ref` (first) of one estate (second) only: a subject whose tasks are
  // raised per estate and closed estate by estate (a 12345 endpoint's failure).
  std::vector<std::pair<std::string, std::string>> close_refs_in_estate;
};

// Whether events of `type` are read by ReadEvent (the consumer routes exactly these).
bool Reads(absl::string_view type);
// Pure: the tasks and closings of one event. An event of a type it does not read gives
// nothing; a payload that is not the message its type carries is INVALID_ARGUMENT.
absl::StatusOr<Reading> ReadEvent(const ev::Event& event);

// What a task says: the kind and the place, never a name, a number or a health field.
// `place` is words for the place ("building 3 unit 1201", "car park B2"), or "".
// `subject_words` (TaskDraft::subject_words) follow the kind's title when given.
std::string TitleOf(ev::TaskKind kind, absl::string_view place,
                    absl::string_view subject_words = "");
// "<kind>/<id>".
std::string RefOf(absl::string_view kind, absl::string_view id);

// ---- the acknowledgement timer --------------------------------------------------------

struct Step {
  ev::StaffRole role;
  int level;
  absl::Time ack_due;
};
// When a task addressed to `role` was due for acknowledgement at `ack_due` and `now` is
// at or past it: the next level up, due a new window of its kind after `now`. nullopt
// while not due, or at the top of the ladder.
std::optional<Step> EscalationOf(ev::TaskKind kind, ev::StaffRole role, absl::Time ack_due,
                                 absl::Time now, const pb::Settings& settings);
// A task whose role has nobody on duty goes one level up at once (a role gap):
// nullopt at the top.
std::optional<ev::StaffRole> GapTarget(ev::StaffRole role);

// ---- the desk (000_… 二.5) ------------------------------------------------------------

struct DeskHours {
  bool desk_24h = true;
  int opens_minute = 0;   // minutes after local midnight
  int closes_minute = 0;  // before opens_minute: open over midnight
};
// Whether the desk is open at `local_minute` (0..1439) of the estate's day.
bool DeskOpen(const DeskHours& hours, int local_minute);
// A gap (issue #22 §1): the desk is open and no agent is checked in (a roster's shift
// alone does not staff a desk: the check-in is the record of 000_… 二.1).
bool DeskGap(const DeskHours& hours, int local_minute, int agents_checked_in);
// The desk's published phone: digits, spaces, "+" and "-", 3..32 characters with at least
// 3 digits. Errors name `field`.
absl::Status CheckDutyPhone(absl::string_view phone, absl::string_view field);

}  // namespace wuye::duty
