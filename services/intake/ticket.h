// Intake's domain rules (DOMAIN.md §2): what makes a ticket valid, its state machine, the
// consultation deadline, how work-order states move a ticket, and the callback rule
// (mandatory cases and the monthly sample). Pure functions: no I/O, no clock (`now` is
// passed in).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "shared/phone_key.h"  // NormalizeCallerPhone, HashPhone: a caller's number
#include "shared/text.h"       // Presence
#include "wuye/directory/v1/directory.pb.h"
#include "wuye/events/v1/dispatch_events.pb.h"
#include "wuye/intake/v1/intake.pb.h"

namespace wuye::intake {

using wuye::events::v1::TicketState;

// A consultation the agent must take to a supervisor is answered within this.
inline constexpr absl::Duration kSupervisorAnswerWindow = absl::Minutes(5);
// How far back a ticket's received_time may be set on creation.
inline constexpr absl::Duration kMaxBackdating = absl::Hours(24 * 7);
inline constexpr int kMaxCallLog = 10000;
inline constexpr absl::Duration kDefaultMatchWindow = absl::Minutes(30);

// Kinds that need work on site, so become a work order in dispatch.
bool NeedsWork(wuye::common::v1::TicketKind kind);
// Kinds answered rather than worked or resolved (consultation, suggestion, praise).
bool IsAnswerable(wuye::common::v1::TicketKind kind);

// A staff id: 1..128 printable ASCII characters, no spaces.
absl::Status CheckStaffId(absl::string_view id, absl::string_view field);

// Free text a person at the desk writes that an event carries (a transfer's, a
// cancellation's, a closing's or a reopening's reason in TicketChanged, a complaint's
// finding in ComplaintVerified): CheckText's rules, and never a phone or ID number
// (docs/events.md; CheckNoPersonalNumbers). INVALID_ARGUMENT naming `field`.
absl::Status CheckEventText(absl::string_view value, absl::string_view field, int max_chars,
                            Presence presence);
// The words of a new ticket typed at the desk that its events carry: `summary`
// (intake.complaint.major, intake.work.requested), `description` (intake.work.requested)
// and `location.common_area` (every ticket event's location), under `prefix`. Each must hold
// no phone or ID number. Checked by CreateTicket after PrepareTicket; a 12345 order's words
// come from outside and are masked instead (MaskPersonalNumbers).
absl::Status CheckTicketEventText(const v1::Ticket& ticket, absl::string_view prefix);

// The earliest time intake takes from a caller (none of its records is older).
inline constexpr absl::Time kEarliestRequestTime = absl::FromUnixSeconds(946684800);  // 2000-01-01Z
// A google.protobuf.Timestamp a caller sends (a call's time, a received time, a reply's
// time) as absl::Time: INVALID_ARGUMENT naming `field` unless it is a valid Timestamp
// (nanos 0..999999999, at most 9999-12-31T23:59:59Z) and not before 2000-01-01T00:00:00Z.
// Each method still applies its own window (not in the future, at most so far back).
absl::StatusOr<absl::Time> RequestTime(const google::protobuf::Timestamp& ts,
                                       absl::string_view field);

// Checks every input field of a new ticket (the request's `ticket` at `prefix`) and
// `answer`, and fills what follows from them: the estate of the location, the received
// time (default `now`), the consultation's answer deadline. Output-only fields are cleared.
absl::Status PrepareTicket(v1::Ticket& ticket, absl::string_view answer, absl::Time now,
                           absl::string_view prefix);

// Whether `from` → `to` is a legal move of the ticket's life:
//   received → answered | dispatched | in_progress | resolved | cancelled
//   answered → closed | cancelled
//   dispatched → in_progress | resolved | cancelled
//   in_progress → resolved | cancelled
//   resolved → callback_due | closed
//   callback_due → closed | reopened
//   closed → reopened
//   reopened → dispatched | in_progress | resolved | cancelled
// A complaint is never answered or cancelled (it is closed only after its result).
bool CanMove(wuye::common::v1::TicketKind kind, TicketState from, TicketState to);
// OK, or FAILED_PRECONDITION with reason ILLEGAL_TRANSITION naming both states.
absl::Status CheckMove(wuye::common::v1::TicketKind kind, TicketState from, TicketState to);
std::string StateName(TicketState state);

// The ticket state a work order in `state` calls for, or UNSPECIFIED when none
// (cancelled, unknown). waiting/assigned → dispatched; accepted .. signed → in progress;
// completed → resolved.
TicketState TargetForWorkOrder(wuye::events::v1::WorkOrderState state);
// The move a ticket in `current` makes for the work orders it has: forward only. `all_done`
// tells whether every active order of the ticket is completed. UNSPECIFIED: no move.
TicketState NextStateForWork(TicketState current, TicketState target, bool all_done);

// When the estate's front desk receives residents (directory Estate: desk_24h, or
// desk_opens .. desk_closes, local minutes after midnight, every day alike; closing before
// opening means open over midnight, as directory.estate.* events say). Hours that open and
// close at the same minute name no hours: open around the clock.
struct DeskHours {
  bool open_24h = true;  // the residential default (000_…, 二.5: 每日24小时服务接待)
  int opens_min = 0, closes_min = 0;
};
// When a consultation received at `received` must be answered: at once, or within
// kSupervisorAnswerWindow when the agent must ask a supervisor (002_…, 2.2.2) — counted in
// the desk's open minutes only (in `tz`): from `received` when the desk is open then, else
// from its next opening, and a window the closing interrupts goes on at the next opening
// (a request at 19:58 at an 08:00–20:00 desk is due 08:03 the next day). At a 24-hour desk,
// `received` plus the window. At closing time itself the desk is closed.
absl::Time AnswerDue(absl::Time received, bool needs_supervisor, const DeskHours& desk,
                     absl::TimeZone tz);

// Whether the consultation is late at `now`.
bool IsOverdue(const v1::Ticket& ticket, absl::Time now);

// ---- Callbacks ------------------------------------------------------------------------

// The share of a month's households served that must be called back, in percent, chosen
// by the number of households served that month (004_…, 5.5.2: 以当月提供过居家服务的户数为
// 计算依据), never by the estate's size: > 300 → 10, 101..300 → 20, ≤ 100 → 30. In Chinese
// legal usage 以上 and 以下 include their number, so 300 and 100 each fall in two bands
// ("300户以上" and "100户-300户"; "100户-300户" and "100户以下"): each takes the stricter one.
int CallbackQuotaPercent(int households_served);
// ceil(percent × served / 100).
int RequiredCallbacks(int quota_percent, int households_served);

// A month's callback coverage (004_…, 5.5.2): the quota for the households served, the
// callbacks it requires, the share of the households called back (basis points, 0 when
// none was served) and whether the month meets the rule: at least the required number
// called back and no mandatory callback (5.5.2 A–D) missing.
struct CallbackCoverageFigures {
  int quota_percent = 0;
  int callbacks_required = 0;
  int32_t share_bp = 0;
  bool met = false;
};
CallbackCoverageFigures CallbackCoverageOf(int households_served, int callbacks_done,
                                           int mandatory_missing);

// An in-home service (居家服务, 004_…, 3: 家政服务、维修服务) done at a unit: a repair in
// the unit, a paid household service, or an emergency repair at a unit (not a guard's or
// a care visit). Only these count as a household served and are sampled.
bool IsInHomeService(const v1::Ticket& ticket);
// The household an in-home service served (its unit id), or "" for any other ticket.
std::string ServedHousehold(const v1::Ticket& ticket);

// The group's "new" windows (intake.proto CallbackSettings): defaults and checks.
v1::CallbackSettings DefaultCallbackSettings();
absl::Status CheckCallbackSettings(const v1::CallbackSettings& s, absl::string_view field);

// Everything the callback rule looks at when a ticket is resolved. The facts are the
// system's own (directory start dates, service contracts, the price list's launch dates),
// judged against the group's windows by StartedWithin.
struct CallbackInputs {
  wuye::common::v1::TicketKind kind = wuye::common::v1::TICKET_KIND_UNSPECIFIED;
  bool in_home = false;            // IsInHomeService
  bool new_contract = false;       // the unit has a contract in force that started recently
  bool new_service_item = false;   // the paid service's item was launched recently
  bool worker_new = false;         // a worker started recently
  bool worker_complained = false;  // a worker was complained about last time
  // Distinct households served in the estate this month, this ticket's included.
  int households_served = 0;
  // Distinct households served this month already called back or due for it, this one's
  // excluded; and whether this one's household is among them.
  int households_called = 0;
  bool household_already_called = false;
};

// Why the ticket is called back, or NOT_REQUIRED. Every complaint; then, for in-home
// services only, the mandatory cases of 5.5.2 A–D (new contract, new service item, new
// staff, complained-about staff) and otherwise the sample: a household not yet called this
// month is picked whenever the households called fall below ceil(quota × households served
// so far), the quota following the households served so far. Resolutions of one
// estate-month are decided one at a time in resolution order, so the quota holds at every
// moment of the month (and so at its end), the picks are spread over the month as the work
// comes in, and the same sequence of resolutions always gives the same picks. Other tickets
// (common areas, care visits) are not called back.
v1::CallbackReason DecideCallback(const CallbackInputs& in);
bool IsMandatory(v1::CallbackReason reason);
bool IsUnsatisfied(wuye::common::v1::Satisfaction satisfaction);

// Whether something that started on `start` is still new on `day`: started, and fewer than
// `days` days ago.
bool StartedWithin(absl::CivilDay start, absl::CivilDay day, int days);

// Service contracts: checks every input field of a new one (at `prefix`) and clears the
// output-only ones.
absl::Status PrepareContract(v1::ServiceContract& contract, absl::string_view prefix);
// A date as "YYYY-MM-DD" ("" when unset), and back (unset when not a date).
std::string DateText(const wuye::directory::v1::Date& date);
wuye::directory::v1::Date DateFromText(absl::string_view text);

// The key a ticket is counted under as a "household served": its unit, else its resident,
// else the ticket itself (a common-area job reported by nobody in particular).
std::string HouseholdKey(const v1::Ticket& ticket);

// The estate-local month of `t` as "YYYY-MM" (the zone: EstateZone, shared/zone.h), and the
// UTC range [start, end) of a month.
std::string MonthKey(absl::Time t, absl::TimeZone tz);
std::string MonthKey(int year, int month);
absl::Status CheckMonth(const wuye::common::v1::Month& month, absl::string_view field);

}  // namespace wuye::intake
