// The dispatch domain (DOMAIN.md §3), pure: the work-order state machine, SLA clocks in the
// estate's time zone, the automatic choice of a worker, escalation and repeat repairs. No
// I/O and no clock reads: the time is passed in.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "shared/text.h"
#include "shared/work_calendar.h"
#include "shared/zone.h"
#include "wuye/dispatch/v1/dispatch.pb.h"
#include "wuye/events/v1/eldercare_events.pb.h"
#include "wuye/events/v1/intake_events.pb.h"

namespace wuye::dispatch {

namespace pb = ::wuye::dispatch::v1;
using State = ::wuye::events::v1::WorkOrderState;

inline constexpr size_t kMaxSignatureImageBytes = 256 * 1024;
// A quantity of paid work in thousandths of its unit: at most 10 000 hours or m².
inline constexpr int64_t kMaxQuantityMilli = 10'000'000;
// How far back a request's received_time may lie (as intake allows for tickets).
inline constexpr absl::Duration kMaxReceivedAge = absl::Hours(24 * 7);

// Who acts and when.
struct Act {
  ::wuye::common::v1::Actor actor;
  absl::Time now;
};

// -- input ------------------------------------------------------------------------------

// Checks a new order from CreateWorkOrder (fields named under `field`) and clears what is
// output only. received_time, when given, lies within kMaxReceivedAge before `now`.
absl::Status PrepareWorkOrder(pb::WorkOrder& order, absl::string_view field, absl::Time now);
// 0 (none) or 1..kMaxQuantityMilli.
absl::Status CheckQuantity(int64_t quantity_milli, absl::string_view field);
absl::Status CheckSignature(const pb::Signature& signature, absl::string_view field,
                            absl::Time now);

// The order a work request from the front desk asks for, with what intake may leave open
// filled in: the request's estate when the location names none; its category, else by the
// ticket's kind (an elderly-care request: a care visit; paid service: an errand; else
// civil works); its priority, else EMERGENCY for an emergency and SMALL otherwise; a
// scheduled job 24 hours after `now`; the description cut to kMaxRequestDescription
// characters. Not yet checked (PrepareWorkOrder) and of no group.
inline constexpr size_t kMaxRequestDescription = 2000;
pb::WorkOrder OrderOfRequest(const ::wuye::events::v1::WorkRequested& request, absl::Time now);
// When the SLA clock of a requested order starts: when the desk received the request (the
// ticket's received_time), else when it was requested, else `now`; never after `now`.
absl::Time SlaStartOfRequest(const ::wuye::events::v1::WorkRequested& request, absl::Time now);
// The order an elderly-care emergency raises (000_…, 13: 為救護車帶路): an emergency job for
// the security guards, at the elder's unit (else the estate gate), to meet the ambulance and
// guide it to the elder. Not yet checked (PrepareWorkOrder) and of no group. Its SLA clock
// starts when the emergency was raised, never after `now`.
pb::WorkOrder OrderOfElderEmergency(const ::wuye::events::v1::ElderEmergency& emergency);
absl::Time SlaStartOfEmergency(const ::wuye::events::v1::ElderEmergency& emergency, absl::Time now);
// At most `max` code points of `text`, cut at a character boundary.
std::string ClipChars(const std::string& text, size_t max);

// -- SLA --------------------------------------------------------------------------------

// The documents' defaults (DOMAIN.md §3), in kDefaultEstateZone (shared/zone.h).
pb::SlaPolicy DefaultPolicy();
// `over`'s non-zero fields over `base`'s.
pb::SlaPolicy MergePolicy(const pb::SlaPolicy& base, const pb::SlaPolicy& over);
// Ranges of a policy update (0 = inherit is allowed everywhere).
absl::Status CheckPolicy(const pb::SlaPolicy& policy, absl::string_view field);
// The escalation steps of a priority: its `escalations` entry over the policy's
// accept_within / escalate_every.
struct EscalationSteps {
  absl::Duration accept_within;
  absl::Duration every;
};
EscalationSteps StepsFor(const pb::SlaPolicy& policy, ::wuye::common::v1::Priority priority);

// Whether `t` falls in the emergency daytime window [day_start, day_end) local time.
bool IsDaytime(const pb::SlaPolicy& policy, absl::TimeZone zone, absl::Time t);

enum class SlaEvent { kNone, kWarning, kBreach };
// What is due on the order's clock at `now`: a breach once the deadline passed (no late
// warning then), a warning once past warn_at.
SlaEvent SlaDue(const pb::WorkOrder& order, absl::Time now);
// Marks the event fired.
void FireSla(pb::WorkOrder& order, SlaEvent event, const Act& act);
// When the clock next needs attention (while paused: the pause's look-at time until it
// fired); InfiniteFuture when never.
absl::Time NextSlaTime(const pb::WorkOrder& order);

// -- SLA clocks on the working calendar (issue 27 §1) ------------------------------------

// What an SLA kind counts, from the policy's enum (UNSPECIFIED: elapsed).
::wuye::SlaClock ClockKindOf(::wuye::common::v1::SlaClock clock);

// An order's clock as the policy sets it when the order is made: its name, what it counts
// and its window (an emergency's minutes and a scheduled order's time always elapsed).
struct SlaSpec {
  std::string name;
  ::wuye::common::v1::SlaClock kind = ::wuye::common::v1::SLA_CLOCK_ELAPSED;
  absl::Duration window;
};
// The clock of an order of `priority` whose clock starts at `start` (scheduled orders: due
// at `scheduled`, never before `start`). An emergency's "on_site" clock (004_…, 5.2.5) has
// emergency_day_minutes when `start` lies in [day_start, day_end) in `zone`, else
// emergency_night_minutes.
SlaSpec SpecFor(const pb::SlaPolicy& policy, absl::TimeZone zone,
                ::wuye::common::v1::Priority priority, absl::Time start, absl::Time scheduled);

// The estate's calendar and zone that an order's clock counts on.
struct SlaCalendar {
  WorkCalendar calendar;
  absl::TimeZone zone;
};

// Whether the order's clock keeps its progress (orders made before issue 27 do not: their
// deadline is fixed).
bool HasProgress(const pb::WorkOrder& order);
// Starts the clock at `start` with `spec`; the warning at `warning_percent` of the window.
void StartClock(pb::WorkOrder& order, const SlaSpec& spec, int warning_percent, absl::Time start,
                const SlaCalendar& cal, absl::Time now);
// Brings the progress (and the progress as if never paused) to `at` on `cal`.
void SettleClock(pb::WorkOrder& order, absl::Time at, const SlaCalendar& cal);
// The due and warning times from the progress on `cal`, and the due time's reason. A
// warning or breach already fired whose time moves after `now` fires again at its new time.
void RecomputeClock(pb::WorkOrder& order, const SlaCalendar& cal, absl::Time now);
// What the clock counts on changed from `before` to `after` (a working calendar, or the zone
// it counts in; issue 27): the clock is settled on `before` up to `at` (never before its own
// settled time: what was settled stays) and its times computed forward on `after`. When
// its due or warning time moved (a time already run out on `before` stays), a "retimed"
// step records it (`why`, the old and new due;
// by `act`, the system) and true is returned; otherwise the order is left as it was.
bool RetimeClock(pb::WorkOrder& order, absl::Time at, const SlaCalendar& before,
                 const SlaCalendar& after, const std::string& why, const Act& act);
// After the clock stopped (work done, on site, completed, cancelled): settles it, records
// whether it was met counting pauses and as if never paused, and ends an active pause
// (a requested one is withdrawn). Nothing for a clock already finished.
void FinishClock(pb::WorkOrder& order, const SlaCalendar& cal, const Act& act);

// -- pauses (issue 27 §2) ---------------------------------------------------------------

// The seeded list: 住户不在家, 住户改约, 等住户自购配件.
pb::PauseReasons DefaultPauseReasons();
absl::Status CheckPauseReasons(const pb::PauseReasons& reasons, absl::string_view field);
// The label of `code` in the list; nullopt when it is not there.
std::optional<std::string> PauseLabel(const pb::PauseReasons& reasons, const std::string& code);
absl::Status CheckAgreement(const pb::PauseAgreement& agreement, absl::string_view field,
                            absl::Time now);
// The pause now active or requested (nullptr when none).
const pb::Pause* OpenPause(const pb::WorkOrder& order);
// The longest a pause runs before somebody looks at it (the policy's max_pause_hours; 72 h
// by default, a reading: the seeds are silent on pauses).
inline constexpr int kDefaultMaxPauseHours = 72;
absl::Duration MaxPause(const pb::SlaPolicy& policy);
// A pause's resume_by (issue 27 §2): after `now` and at most `max_pause` after it.
absl::Status CheckResumeBy(const google::protobuf::Timestamp& resume_by, absl::Time now,
                           absl::Duration max_pause, absl::string_view field);
// A pause with the resident's agreement stops the clock at once ("paused"); without, it is
// requested ("pause_requested") and the clock runs. FAILED_PRECONDITION: the work is done
// or the order closed (NOT_PAUSABLE), its clock stopped (SLA_STOPPED), an emergency's
// on-site clock (EMERGENCY_NOT_PAUSABLE: 004_…, 5.2.5's minutes to be on site are not
// stopped by anyone's agreement), already paused (ALREADY_PAUSED), a pause waiting for
// approval (PAUSE_REQUESTED). `resume_by` (checked by CheckResumeBy) is kept on the pause;
// once the clock stops the pause is looked at then, else `max_pause` after it stopped
// (look_at_time).
absl::Status PauseOrder(pb::WorkOrder& order, const std::string& pause_id, const std::string& code,
                        const std::string& label, const std::string& note,
                        const pb::PauseAgreement* agreement, const SlaCalendar& cal, const Act& act,
                        std::optional<absl::Time> resume_by = std::nullopt,
                        absl::Duration max_pause = absl::Hours(kDefaultMaxPauseHours));
// A supervisor approves (the clock stops from now: "paused"; looked at as PauseOrder says)
// or refuses ("pause_refused") a requested pause; FAILED_PRECONDITION NO_PAUSE_REQUESTED
// when there is none, EMERGENCY_NOT_PAUSABLE for an approval on an emergency's on-site
// clock (a pause requested before that rule may only be refused).
absl::Status DecidePause(pb::WorkOrder& order, bool approve, const std::string& note,
                         const SlaCalendar& cal, const Act& act,
                         absl::Duration max_pause = absl::Hours(kDefaultMaxPauseHours));
// Whether the order's active pause reached its look-at time at `now` with nobody having
// been told yet (issue 27 §2: a pause never runs unseen).
bool PauseOverdueDue(const pb::WorkOrder& order, absl::Time now);
// Marks the active pause overdue ("pause_overdue", once per pause).
void FirePauseOverdue(pb::WorkOrder& order, const Act& act);
// Ends the active pause ("resumed"); FAILED_PRECONDITION NOT_PAUSED when the clock runs.
absl::Status ResumeOrder(pb::WorkOrder& order, const SlaCalendar& cal, const Act& act);

google::protobuf::Duration ToProtoDuration(absl::Duration d);
absl::Duration FromProtoDuration(const google::protobuf::Duration& d);

// -- state machine ----------------------------------------------------------------------

bool IsOpen(State state);
// FAILED_PRECONDITION (reason ILLEGAL_STATE_MOVE) unless `from` → `to` is a legal move.
absl::Status CheckMove(State from, State to);

// The staff still on the order (assigned and not declined).
std::vector<std::string> ActiveWorkers(const pb::WorkOrder& order);
bool IsActiveWorker(const pb::WorkOrder& order, const std::string& staff_id);

// How an order of `origin` at its location is signed off (000_…, 二.5: 上门服务 is signed
// by the resident): work in a unit from a ticket or staff → RESIDENT; common areas,
// preventive inspections and ambulance guidance → CHECK.
pb::SignOff SignOffFor(const pb::WorkOrder& order);
// A repair for the repeat-repair count: unpaid work of a repair trade from a ticket or
// staff (not paid cleaning, elderly-care emergencies or preventive inspections).
bool IsRepair(const pb::WorkOrder& order);

// A new order: WAITING until assigned, with its "created" step and its sign-off.
void Open(pb::WorkOrder& order, pb::Origin origin, const Act& act);

// -- prices (billing's lists; 004_…, 5.6.1) ---------------------------------------------

// A price a paid job can be quoted at.
struct ListPrice {
  int64_t price_fen = 0;
  std::string per;     // "job", "hour", "m2"
  std::string source;  // "estate" or "standard"
};
// unit price × quantity (thousandths), rounded half up to the fen.
int64_t QuoteFen(int64_t unit_price_fen, int64_t quantity_milli);
// Prices the order at `price` (nullopt: no price known, the quote stays 0 and the order
// cannot start). Per job the quantity defaults to one job; per hour or m² a missing
// quantity leaves the quote 0 until the agreement names one.
void ApplyPrice(pb::WorkOrder& order, const std::optional<ListPrice>& price);
// The resident's agreement to the price (before the work starts): prices the order afresh
// at `price` with `quantity_milli` (0: the order's) and records who and when.
absl::Status AgreePrice(pb::WorkOrder& order, const std::optional<ListPrice>& price,
                        const std::string& resident_id, int64_t quantity_milli,
                        absl::Time agreed_at, const Act& act);
// Each mutates `order` (adding a history step) or returns an error and leaves it as it was.
absl::Status Assign(pb::WorkOrder& order, const std::vector<std::string>& staff_ids,
                    const std::string& assigned_by, const std::string& reason, const Act& act);
// No one to assign (nobody eligible): the order waits.
absl::Status Wait(pb::WorkOrder& order, const std::string& reason, const Act& act);
absl::Status Accept(pb::WorkOrder& order, const std::string& staff_id, const Act& act);
// True in `all_declined` when nobody is left (the order is WAITING again).
absl::Status Decline(pb::WorkOrder& order, const std::string& staff_id, const std::string& reason,
                     const Act& act, bool* all_declined);
// `staff_id` empty: a manager records it.
absl::Status Progress(pb::WorkOrder& order, pb::ProgressStep step, const std::string& staff_id,
                      const Act& act);
// `signature.resident_id` is the signer, already checked against the unit.
absl::Status Sign(pb::WorkOrder& order, const pb::Signature& signature, const Act& act);
// RESIDENT orders: `may_waive`: the caller may complete without the resident's signature.
// CHECK orders: `may_check`: the caller is a team lead or above or a quality inspector;
// the check is recorded with `reason` as its note.
absl::Status Complete(pb::WorkOrder& order, bool without_signature, const std::string& reason,
                      bool may_waive, bool may_check, const Act& act);
// An elderly-care emergency: the care staff on shift are told (000_…, item 13: the guard
// guides the ambulance; the care staff are informed).
void InformCare(pb::WorkOrder& order, const std::vector<std::string>& care_staff, const Act& act);
absl::Status Cancel(pb::WorkOrder& order, const std::string& reason, const Act& act);

// The event type of the order's last step: "dispatch.work_order.<what>" or
// "dispatch.sla.<warning|breached>".
std::string EventType(const std::string& what);
// The time the order's pauses held its clock stopped up to `at` (wall time): each pause from
// when the clock stopped to when it ran again, or to `at` while it is still paused.
absl::Duration PausedTime(const pb::WorkOrder& order, absl::Time at);
// The event payload of the order as it is.
::wuye::events::v1::WorkOrderChanged ToEvent(const pb::WorkOrder& order,
                                             const std::string& staff_id, const std::string& reason,
                                             absl::Time at);

// -- assignment -------------------------------------------------------------------------

// The directory skill (wuye.directory.v1.Skill) a category needs.
int SkillFor(::wuye::common::v1::WorkCategory category);

struct Candidate {
  std::string staff_id;
  int open_orders = 0;
  std::optional<absl::Time> last_assigned;  // nullopt: never assigned
};
// Ranks eligible staff: fewest open orders, then least recently assigned (never first),
// then id. The decision names the chosen one (or nobody) and why.
pb::AssignmentDecision ChooseWorker(std::vector<Candidate> eligible, absl::Time now);

// -- escalation -------------------------------------------------------------------------

struct Escalation {
  int level = 0;  // 1 team lead, 2 supervisor, 3 estate manager
  std::string reason;
};
// When the order next escalates (InfiniteFuture: never): WAITING at once; ASSIGNED and not
// accepted after accept_within; any open order before work done once its SLA warning time
// passed. Each further level waits escalate_every after the last.
absl::Time NextEscalationTime(const pb::WorkOrder& order, const pb::SlaPolicy& policy);
std::optional<Escalation> EscalationDue(const pb::WorkOrder& order, const pb::SlaPolicy& policy,
                                        absl::Time now);
void ApplyEscalation(pb::WorkOrder& order, const Escalation& escalation, const Act& act);

// -- repeat repairs ---------------------------------------------------------------------

// `repairs`: completed repair orders of one unit and category within the policy's window,
// including this one. True when a preventive inspection is due and none was raised since
// `window_start` (`raised_in_window`).
bool NeedsPreventive(const pb::SlaPolicy& policy, int repairs, bool raised_in_window);

}  // namespace wuye::dispatch
