// The domain of handovers (交接班, 000_… 二.1) and daily logs (上班日志, 000_… 二.2), pure:
// their settings and notes, what people hold and served from events, the timers' deadlines
// and who failed.
#include "services/duty/handover.h"

#include <gtest/gtest.h>

#include "shared/ids.h"
#include "shared/proto_time.h"
#include "shared/status.h"
#include "wuye/events/v1/dispatch_events.pb.h"
#include "wuye/events/v1/intake_events.pb.h"

namespace wuye::duty {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'780'000'000);
const std::string kEstate = NewId(kT0);
const std::string kOwner = NewId(kT0 + absl::Seconds(1));
const std::string kWorker = NewId(kT0 + absl::Seconds(2));

template <class T>
ev::Event EventOf(const std::string& type, const T& payload, int64_t version = 1) {
  ev::Event e;
  e.set_event_id("evt-1");
  e.set_type(type);
  e.set_group_id(NewId(kT0));
  e.set_estate_id(kEstate);
  e.set_subject_version(version);
  *e.mutable_occurred_at() = ToProtoTime(kT0);
  e.mutable_payload()->PackFrom(payload);
  return e;
}

// ---- settings: readings of the seed's "must be recorded" and "every day" -----------------

TEST(HandoverSettings, DefaultsAreReadingsAndTheGroupsOwnAreChecked) {
  pb::Settings none;
  EXPECT_EQ(HandoverWindow(none), absl::Minutes(30));
  EXPECT_EQ(LogCutoffMinute(none), 600);
  EXPECT_EQ(HandoverRoles(none).size(), 4u);
  pb::Settings filled;
  FillHandoverSettings(none, &filled);
  EXPECT_EQ(filled.handover_window().seconds(), 1800);
  EXPECT_EQ(filled.daily_log_cutoff_minute(), 600);
  EXPECT_EQ(filled.handover_roles_size(), 4);

  pb::Settings s;
  s.mutable_handover_window()->set_seconds(60);
  EXPECT_EQ(ErrorField(CheckHandoverSettings(s, "settings")), "settings.handover_window");
  s.mutable_handover_window()->set_seconds(3600);
  s.mutable_handover_window()->set_nanos(5);
  EXPECT_EQ(ErrorField(CheckHandoverSettings(s, "settings")), "settings.handover_window");
  s.mutable_handover_window()->set_nanos(0);
  s.set_daily_log_cutoff_minute(1440);
  EXPECT_EQ(ErrorField(CheckHandoverSettings(s, "settings")), "settings.daily_log_cutoff_minute");
  s.set_daily_log_cutoff_minute(0);  // midnight is a cut-off too
  s.add_handover_roles(ev::STAFF_ROLE_GROUP_ADMIN);
  EXPECT_EQ(ErrorField(CheckHandoverSettings(s, "settings")), "settings.handover_roles");
  s.clear_handover_roles();
  s.add_handover_roles(ev::STAFF_ROLE_AGENT);
  s.add_handover_roles(ev::STAFF_ROLE_AGENT);
  EXPECT_EQ(ErrorField(CheckHandoverSettings(s, "settings")), "settings.handover_roles");
  s.clear_handover_roles();
  s.add_handover_roles(ev::STAFF_ROLE_TECHNICIAN);
  EXPECT_TRUE(CheckHandoverSettings(s, "settings").ok());
  EXPECT_EQ(HandoverWindow(s), absl::Hours(1));
  EXPECT_EQ(LogCutoffMinute(s), 0);
  EXPECT_EQ(HandoverRoles(s), std::vector<ev::StaffRole>{ev::STAFF_ROLE_TECHNICIAN});
}

// 000_… 二.1 "所有值班和交接班必須記錄" with DESIGN.md §5: the record names tickets, never a
// resident's phone or ID number.
TEST(HandoverNotes, TextWithoutPhoneOrIdNumbers) {
  EXPECT_TRUE(
      CheckNotes("lift of building 3 stopped; ticket with the owner of 1201", "notes", true).ok());
  EXPECT_EQ(ErrorField(CheckNotes("", "notes", true)), "notes");
  EXPECT_TRUE(CheckNotes("", "notes", false).ok());
  EXPECT_EQ(ErrorField(CheckNotes("call her back on 138 0013 8000", "notes", true)), "notes");
  EXPECT_EQ(ErrorField(CheckNotes(std::string(4001, 'x'), "daily_log.notes", true)),
            "daily_log.notes");
}

// ---- who holds and served what ------------------------------------------------------------

TEST(Holdings, TheTicketsOwnerHoldsItUntilItIsClosed) {
  ev::TicketChanged t;
  t.set_ticket_id(NewId(kT0));
  t.set_estate_id(kEstate);
  t.set_owner_id(kOwner);
  t.set_state(ev::TICKET_STATE_DISPATCHED);
  auto r = ReadHoldings(EventOf("intake.ticket.changed", t, 3));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->holdings.size(), 1u);
  EXPECT_EQ(r->holdings[0].ref, "ticket/" + t.ticket_id());
  EXPECT_EQ(r->holdings[0].holders, std::vector<std::string>{kOwner});
  EXPECT_TRUE(r->holdings[0].open);
  EXPECT_EQ(r->holdings[0].version, 3);
  ASSERT_EQ(r->served.size(), 1u);  // 上班日志: the residents received and served
  EXPECT_EQ(r->served[0].staff_id, kOwner);
  EXPECT_EQ(r->served[0].at, kT0);
  t.set_state(ev::TICKET_STATE_CLOSED);
  r = ReadHoldings(EventOf("intake.ticket.changed", t, 4));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->holdings[0].open);
  t.set_state(ev::TICKET_STATE_CANCELLED);
  EXPECT_FALSE(ReadHoldings(EventOf("intake.ticket.changed", t, 5))->holdings[0].open);
}

TEST(Holdings, AnOrdersWorkersHoldItAndServeItByDoingIt) {
  ev::WorkOrderChanged o;
  o.set_work_order_id(NewId(kT0));
  o.set_estate_id(kEstate);
  o.add_worker_ids(kWorker);
  o.add_worker_ids(kWorker);
  o.add_worker_ids("not-an-id");
  o.set_state(ev::WORK_ORDER_STATE_ASSIGNED);
  auto r = ReadHoldings(EventOf("dispatch.work_order.assigned", o));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->holdings.size(), 1u);
  EXPECT_EQ(r->holdings[0].holders, std::vector<std::string>{kWorker});
  EXPECT_TRUE(r->holdings[0].open);
  EXPECT_TRUE(r->served.empty());  // assigned is not served: it may be declined
  o.set_state(ev::WORK_ORDER_STATE_ON_SITE);
  *o.mutable_at() = ToProtoTime(kT0 + absl::Hours(1));
  r = ReadHoldings(EventOf("dispatch.work_order.on_site", o));
  ASSERT_EQ(r->served.size(), 1u);
  EXPECT_EQ(r->served[0].ref, "work_order/" + o.work_order_id());
  EXPECT_EQ(r->served[0].at, kT0 + absl::Hours(1));
  o.set_state(ev::WORK_ORDER_STATE_COMPLETED);
  r = ReadHoldings(EventOf("dispatch.work_order.completed", o));
  EXPECT_FALSE(r->holdings[0].open);
  EXPECT_EQ(r->served.size(), 1u);
}

TEST(Holdings, TheCallbackAgentServedTheTicket_OthersAreNothing_BadPayloadsRefused) {
  ev::CallbackRecorded c;
  c.set_ticket_id(NewId(kT0));
  c.set_estate_id(kEstate);
  c.set_agent_id(kOwner);
  auto r = ReadHoldings(EventOf("intake.callback.recorded", c));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->holdings.empty());
  ASSERT_EQ(r->served.size(), 1u);
  EXPECT_EQ(r->served[0].ref, "ticket/" + c.ticket_id());
  EXPECT_TRUE(ReadsHoldings("intake.ticket.created"));
  EXPECT_FALSE(ReadsHoldings("intake.complaint.major"));
  auto none = ReadHoldings(EventOf("intake.complaint.major", c));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->holdings.empty() && none->served.empty());
  EXPECT_EQ(ReadHoldings(EventOf("intake.ticket.created", c)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// ---- the timers ---------------------------------------------------------------------------

// 000_… 二.2 "每位員工每天有上班日志": the log of a day is due by the group's cut-off the next
// morning, in the estate's own zone.
TEST(DailyLogTimer, TheCutOffIsTheNextMorningInTheEstatesZone) {
  absl::TimeZone shanghai;
  ASSERT_TRUE(absl::LoadTimeZone("Asia/Shanghai", &shanghai));
  absl::CivilDay day(2026, 3, 2);
  pb::Settings s;
  EXPECT_EQ(LogCutoff(day, s, shanghai),
            absl::FromCivil(absl::CivilSecond(2026, 3, 3, 2, 0, 0), absl::UTCTimeZone()));
  s.set_daily_log_cutoff_minute(0);
  EXPECT_EQ(LogCutoff(day, s, shanghai),
            absl::FromCivil(absl::CivilSecond(2026, 3, 2, 16, 0, 0), absl::UTCTimeZone()));
  // 23:30 UTC on the 1st is already the 2nd in Shanghai.
  EXPECT_EQ(LocalDay(absl::FromCivil(absl::CivilSecond(2026, 3, 1, 23, 30, 0), absl::UTCTimeZone()),
                     shanghai),
            day);
  EXPECT_EQ(LogKey("s1", day), "s1/2026-03-02");
}

// 000_… 二.1 "(如發現交接班異常、未記錄或不全,每發現一處扣…10分)": at the window's end, a
// shift not handed over is the outgoing person's failure, one not acknowledged the incoming
// person's; an acknowledged one is nobody's.
TEST(HandoverTimer, WhoFailedAtTheWindowsEnd) {
  pb::Settings s;
  EXPECT_EQ(HandoverDue(kT0, s), kT0 + absl::Minutes(30));
  std::vector<int> agent = {ev::STAFF_ROLE_AGENT};
  auto none = HandoverVerdict("out", agent, std::nullopt, s);
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(none->staff_id, "out");
  EXPECT_FALSE(none->acknowledging);
  auto unacknowledged = HandoverVerdict("out", agent, HandoverFound{"in", false}, s);
  ASSERT_TRUE(unacknowledged.has_value());
  EXPECT_EQ(unacknowledged->staff_id, "in");
  EXPECT_TRUE(unacknowledged->acknowledging);
  EXPECT_FALSE(HandoverVerdict("out", agent, HandoverFound{"in", true}, s).has_value());
  // A role that keeps no round-the-clock post hands nothing over (the group may add it).
  std::vector<int> gardener = {ev::STAFF_ROLE_GARDENER};
  EXPECT_FALSE(HandoverVerdict("out", gardener, std::nullopt, s).has_value());
  EXPECT_FALSE(HandoverVerdict("out", {}, std::nullopt, s).has_value());
  s.add_handover_roles(ev::STAFF_ROLE_GARDENER);
  EXPECT_TRUE(HandoverVerdict("out", gardener, std::nullopt, s).has_value());
  // A roster replayed from before the desk kept handovers is not timed.
  EXPECT_TRUE(TimesHandover(kT0, kT0 + absl::Hours(23)));
  EXPECT_FALSE(TimesHandover(kT0, kT0 + absl::Hours(25)));
}

}  // namespace
}  // namespace wuye::duty
