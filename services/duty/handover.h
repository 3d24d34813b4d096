// The domain of shift handovers (交接班, 000_… 二.1) and daily work logs (上班日志, 000_… 二.2)
// (docs/api/duty.md#handover-and-the-daily-log): their settings, the open refs a person
// holds and the refs they served as intake's and dispatch's events tell them, the
// deadlines of the two timers and what each finds. Pure: no I/O, no clock reads.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "wuye/duty/v1/duty.pb.h"
#include "wuye/events/v1/directory_events.pb.h"
#include "wuye/events/v1/envelope.pb.h"

namespace wuye::duty {

namespace pb = ::wuye::duty::v1;
namespace ev = ::wuye::events::v1;

// ---- settings -------------------------------------------------------------------------

// Readings, not the seed's: it asks for a handover and a daily log, not for times.
inline constexpr absl::Duration kDefaultHandoverWindow = absl::Minutes(30);
inline constexpr absl::Duration kMinHandoverWindow = absl::Minutes(5);
inline constexpr absl::Duration kMaxHandoverWindow = absl::Hours(24);
inline constexpr int kDefaultLogCutoffMinute = 10 * 60;  // 10:00 the next day

// handover_window within [5 min, 24 h] in whole seconds when set; daily_log_cutoff_minute
// in 0..1439 when set; handover_roles distinct duty roles. Errors name `<field>.<name>`.
absl::Status CheckHandoverSettings(const pb::Settings& settings, absl::string_view field);
absl::Duration HandoverWindow(const pb::Settings& settings);
int LogCutoffMinute(const pb::Settings& settings);
// The group's roles, else agent, team lead, security guard and care worker.
std::vector<ev::StaffRole> HandoverRoles(const pb::Settings& settings);
// `out` gets the three settings as they apply (the defaults filled in).
void FillHandoverSettings(const pb::Settings& stored, pb::Settings* out);

// ---- notes ----------------------------------------------------------------------------

inline constexpr int kMaxNotesChars = 4000;
// A handover's or a log's notes: text of at most 4000 characters, lines allowed, and no
// phone or ID number (CheckNoPersonalNumbers). Errors name `field`.
absl::Status CheckNotes(absl::string_view notes, absl::string_view field, bool required);

// ---- what people hold and serve, from events ------------------------------------------

// A ticket or work order as duty keeps it: who holds it and whether it is still open.
struct Holding {
  std::string ref;  // "ticket/…", "work_order/…"
  std::string estate_id;
  std::vector<std::string> holders;  // the ticket's owner; the order's workers
  bool open = false;
  int64_t version = 0;  // the producer's subject version; the newest wins
};
// One ref a person served at a moment (the day is the estate's, counted by the store).
struct ServedRef {
  std::string staff_id, estate_id, ref;
  absl::Time at;
};
struct HoldingReading {
  std::vector<Holding> holdings;
  std::vector<ServedRef> served;
};

// Whether ReadHoldings reads events of `type`.
bool ReadsHoldings(absl::string_view type);
// Pure: what one event says of who holds and served what. intake.ticket.created/changed:
// the owner holds the ticket until it is closed or cancelled, and served it that day;
// intake.callback.recorded: the agent who called served the ticket; dispatch.work_order.*:
// the workers hold the order until it is completed or cancelled, and served it on the days
// they took it, went, worked and finished. A payload of another message is refused.
absl::StatusOr<HoldingReading> ReadHoldings(const ev::Event& event);

// ---- the timers -----------------------------------------------------------------------

// When a shift ending at `shift_end` must be handed over and acknowledged by.
absl::Time HandoverDue(absl::Time shift_end, const pb::Settings& settings);
// A shift that ended more than this before duty learnt of it is history from before the
// desk kept handovers: no timer (a replay of the roster must not deduct the past).
inline constexpr absl::Duration kHandoverHorizon = absl::Hours(24);
bool TimesHandover(absl::Time shift_end, absl::Time learnt_at);

// The estate-local day of `t`.
absl::CivilDay LocalDay(absl::Time t, absl::TimeZone tz);
// The day's log cut-off: the day after `day` at the group's minute, in the estate's zone.
absl::Time LogCutoff(absl::CivilDay day, const pb::Settings& settings, absl::TimeZone tz);

// A handover as the timer finds it at the window's end.
struct HandoverFound {
  std::string incoming_staff_id;
  bool acknowledged = false;
};
// Who failed (000_… 二.1): nobody handed over → the shift's person; handed over and not
// acknowledged → the incoming person (acknowledging). nullopt when it was acknowledged, or
// when the shift's person holds no handover role (`roles`: theirs, StaffRole numbers).
struct HandoverFailure {
  std::string staff_id;
  bool acknowledging = false;
};
std::optional<HandoverFailure> HandoverVerdict(const std::string& shift_staff_id,
                                               const std::vector<int>& roles,
                                               const std::optional<HandoverFound>& handover,
                                               const pb::Settings& settings);

// "<staff id>/<yyyy-mm-dd>": the subject of duty.daily_log.missing and the log timer's key.
std::string LogKey(absl::string_view staff_id, absl::CivilDay day);

}  // namespace wuye::duty
