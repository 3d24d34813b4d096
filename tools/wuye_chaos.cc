// wuye-chaos: drives mixed flows across the suite while scripts/chaos.sh kills services and
// restarts Redis and PostgreSQL under it, then checks what every service holds against what
// was accepted. One flow: a paid-service ticket in intake → the work order dispatch makes of
// it, assigned automatically → accepted, its price agreed by the resident, en route, on
// site, done, signed (every tenth refused: a supervisor completes without the signature) →
// the charge billing posts from the completion → a payment for it (every seventh sent twice,
// as a payment gateway does).
//
// Beside the flows: every --elder_every-th flow writes a resident to the directory, enrols
// them in eldercare once eldercare has heard of them, records a visit and a sick-bed day
// (eldercare's enrolment fees reach billing as charges); every --timer_every-th flow of the
// first half raises, in an estate of its own whose SLA policy gives emergencies one minute,
// an emergency repair (dispatch's SLA warning and breach and its escalations, durable timers)
// and a consultation due at once (intake's overdue timer; with --duty, the task duty raises
// of it, whose acknowledgement window the run sets to a minute, escalates: duty's timer),
// a lock repair nobody there can do (dispatch keeps the order WAITING and escalates it), a
// complaint that came in 57 minutes ago, whose written reply the group's settings make due
// an hour (elapsed) after it came in, and a 12345 order imported through intake's csv port,
// received now and due, as the city gives it, in three minutes (intake's due-soon warning
// of each, at once, and its overdue, three minutes later: durable timers).
// Half-way, a billing run of the timers' estate starts (billing's run executor, a durable
// job): it must finish with one monthly bill per unit; and a locksmith comes on shift there:
// dispatch's retry of waiting orders must assign each lock repair once. A second run, of
// last month, opens a month already past its close (its bills fell due on the 15th):
// billing's collection close must fix it once.
// Duty, from the start: the group's settings send its notifications to a local gateway in
// this process (--notify; the service needs --duty_gateway_allow_http and a gateway secret,
// which scripts/chaos.sh gives it), put the daily log's cut-off at midnight and the handover
// window at its least, five minutes; two agents of the timers' estate have shifts that
// ended yesterday (no handover, no log: duty's handover and daily-log timers), and no agent
// ever checks in at the estates' 24-hour desks (duty's desk-gap timer, one task a desk).
// With --slow_timers (the default; scripts/chaos.sh CHAOS_SLOW_TIMERS), the calendar
// estate: in UTC-11, an elder with a sick-bed day today and a renovation from today,
// approved; then the estate moves to UTC+14, so that its day ends at once: eldercare's
// settlement must charge the care day once and the counter's patrol check must find each
// day without a patrol once. Those two look every five minutes and the handover is due five
// minutes after duty learns of the shift, so the drain waits six minutes after they were
// armed.
// After the drain, every timer that fell due must have fired exactly once: counted from the
// services' databases (their outboxes, kept a day, and their own rows) and, for the
// notifier, from what the gateway received (a repeat of a delivery with the same
// Idempotency-Key is counted apart, as resent: the gateway drops it). Totals and one
// `FIGURE chaos_timers kind=… due=… once=… twice=… missing=…` line a kind.
//
//   wuye-chaos --flows=200 --concurrency=16 --pg_url=postgresql://.../postgres
//              --directory=... --intake=... --dispatch=... --billing=... --eldercare=...
//              --duty=... --counter=...
//
// Each service flag is one address or a comma list of its replicas' addresses
// (127.0.0.1:20052,127.0.0.1:20152): calls go round robin over them, and a replica that is
// down is left out until it answers again.
//
// Every call carries a request_id fixed by the run and the flow, and is retried on
// UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED and INTERNAL (a service killed or its database
// restarting), so a retry after a lost answer is the case the services promise to handle.
// After the flows, it waits for the fault script to stop (--faults_done_file) and measures
// how long the backlog takes to drain: until every service's database (read directly, read
// only) holds exactly what the flows were answered. It prints flows accepted, lost, applied
// twice, the ledger's imbalance and the drain time, and writes them as JSON (--json_out).
// Exit 0 when nothing was lost or applied twice and the ledger balances.
#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <microhttpd.h>
#include <netinet/in.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "shared/auth.h"
#include "shared/proto_time.h"
#include "shared/secret.h"
#include "shared/sql.h"
#include "shared/status.h"
#include "tools/rpc_client.h"
#include "shared/zone.h"
#include "wuye/billing/v1/billing.grpc.pb.h"
#include "wuye/counter/v1/counter.grpc.pb.h"
#include "wuye/directory/v1/directory.grpc.pb.h"
#include "wuye/dispatch/v1/dispatch.grpc.pb.h"
#include "wuye/duty/v1/duty.grpc.pb.h"
#include "wuye/eldercare/v1/eldercare.grpc.pb.h"
#include "wuye/events/v1/billing_events.pb.h"
#include "wuye/events/v1/duty_events.pb.h"
#include "wuye/events/v1/eldercare_events.pb.h"
#include "wuye/events/v1/envelope.pb.h"
#include "wuye/intake/v1/intake.grpc.pb.h"

ABSL_FLAG(std::string, directory, "127.0.0.1:50051", "directory host:port[,host:port...]");
ABSL_FLAG(std::string, intake, "127.0.0.1:50052", "intake host:port[,host:port...]");
ABSL_FLAG(std::string, dispatch, "127.0.0.1:50053", "dispatch host:port[,host:port...]");
ABSL_FLAG(std::string, billing, "127.0.0.1:50054", "billing host:port[,host:port...]");
ABSL_FLAG(std::string, eldercare, "",
          "eldercare host:port[,host:port...]; empty: no eldercare flows");
ABSL_FLAG(std::string, duty, "",
          "duty host:port[,host:port...]; empty: its task escalations are not checked");
ABSL_FLAG(std::string, counter, "",
          "counter host:port[,host:port...]; empty: its patrol check is not driven");
ABSL_FLAG(bool, slow_timers, true,
          "also drive the timers that fall due five minutes after they are armed at the "
          "earliest (duty's handover window, eldercare's settlement and the counter's patrol "
          "check, which look every five minutes): the drain then waits for them");
ABSL_FLAG(bool, notify, true,
          "receive duty's notifications on a local HTTP gateway (the duty service needs "
          "--duty_gateway_allow_http and a gateway secret; without them none is counted)");
ABSL_FLAG(int, elder_every, 20, "every n-th flow also enrols an elder (0: none)");
ABSL_FLAG(int, timer_every, 25,
          "every n-th flow of the first half also raises an emergency and a consultation whose "
          "timers fall due during the run (0: none)");
ABSL_FLAG(std::string, pg_url, "",
          "the suite's PostgreSQL, any database (checks read wuye_<service>)");
ABSL_FLAG(std::string, jwt_secret_file, ".local/jwt-secret", "the services' HS256 secret");
ABSL_FLAG(std::string, run, "", "names this run's request ids (default: the time)");
ABSL_FLAG(int, flows, 200, "flows to drive");
ABSL_FLAG(int, concurrency, 16, "flows in flight at once");
ABSL_FLAG(int, units, 400, "units of the chaos estate (flows spread over them)");
ABSL_FLAG(int, technicians, 12, "plumbers on shift");
ABSL_FLAG(absl::Duration, step_budget, absl::Seconds(240), "how long one step may keep retrying");
ABSL_FLAG(std::string, flows_done_file, "", "created when the flows are done (fault script stops)");
ABSL_FLAG(std::string, faults_done_file, "", "the fault script creates it when it has stopped");
ABSL_FLAG(absl::Duration, drain_timeout, absl::Seconds(180), "how long the backlog may take");
ABSL_FLAG(std::string, json_out, "", "write the figures here as JSON");

namespace {

namespace dir = ::wuye::directory::v1;
namespace itk = ::wuye::intake::v1;
namespace dsp = ::wuye::dispatch::v1;
namespace bil = ::wuye::billing::v1;
namespace eld = ::wuye::eldercare::v1;
namespace dty = ::wuye::duty::v1;
namespace ctr = ::wuye::counter::v1;
namespace common = ::wuye::common::v1;
namespace ev = ::wuye::events::v1;
using ::wuye::tools::Await;
using ::wuye::tools::Call;
using ::wuye::tools::Mint;

constexpr char kItem[] = "CHAOS_FIX";
constexpr int64_t kPriceFen = 8800;
constexpr char kZone[] = "Asia/Shanghai";  // the chaos estates'

void Say(const std::string& s) { std::cerr << "chaos: " << s << std::endl; }
[[noreturn]] void Die(const std::string& s) { wuye::tools::Die("chaos", s); }

std::string ReadSecret(const std::string& path) { return wuye::tools::ReadJwtSecret("chaos", path); }

void Must(const grpc::Status& st, const std::string& what) {
  if (!st.ok()) Die(absl::StrCat(what, ": ", st.error_code(), " ", st.error_message()));
}

// Duty's notifications as a group's gateway receives them: a local HTTP server (127.0.0.1,
// a free port) that answers 200 to every POST and counts the deliveries of each
// Idempotency-Key (the notification's id). It checks no signature: notifier_test does.
class GatewayReceiver {
 public:
  GatewayReceiver() {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = 0;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    daemon_ = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
                               nullptr, nullptr, &GatewayReceiver::Access, this,
                               MHD_OPTION_SOCK_ADDR, reinterpret_cast<sockaddr*>(&addr),
                               MHD_OPTION_END);
    if (daemon_ == nullptr) return;
    const MHD_DaemonInfo* info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
    if (info != nullptr) port_ = info->port;
  }
  ~GatewayReceiver() {
    if (daemon_ != nullptr) MHD_stop_daemon(daemon_);
  }
  GatewayReceiver(const GatewayReceiver&) = delete;
  GatewayReceiver& operator=(const GatewayReceiver&) = delete;

  bool ok() const { return daemon_ != nullptr && port_ != 0; }
  std::string url() const { return absl::StrCat("http://127.0.0.1:", port_, "/wuye-duty"); }
  // Deliveries by Idempotency-Key.
  std::map<std::string, int> Deliveries() const {
    std::lock_guard<std::mutex> lock(mu_);
    return deliveries_;
  }

 private:
  static MHD_Result Access(void* cls, MHD_Connection* connection, const char* /*url*/,
                           const char* method, const char* /*version*/,
                           const char* /*upload_data*/, size_t* upload_data_size,
                           void** con_cls) {
    auto* self = static_cast<GatewayReceiver*>(cls);
    static int started;
    if (*con_cls == nullptr) {  // the headers: the body follows
      *con_cls = &started;
      return MHD_YES;
    }
    if (*upload_data_size > 0) {  // the body: read and dropped
      *upload_data_size = 0;
      return MHD_YES;
    }
    unsigned int code = MHD_HTTP_OK;
    if (std::string(method) != "POST") {
      code = MHD_HTTP_METHOD_NOT_ALLOWED;
    } else if (const char* key =
                   MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "Idempotency-Key")) {
      std::lock_guard<std::mutex> lock(self->mu_);
      ++self->deliveries_[key];
    } else {
      code = MHD_HTTP_BAD_REQUEST;
    }
    MHD_Response* response = MHD_create_response_from_buffer(0, nullptr, MHD_RESPMEM_PERSISTENT);
    MHD_Result result = MHD_queue_response(connection, code, response);
    MHD_destroy_response(response);
    return result;
  }

  MHD_Daemon* daemon_ = nullptr;
  uint16_t port_ = 0;
  mutable std::mutex mu_;
  std::map<std::string, int> deliveries_;
};

struct Suite {
  std::unique_ptr<dir::DirectoryService::Stub> directory;
  std::unique_ptr<itk::IntakeService::Stub> intake;
  std::unique_ptr<dsp::DispatchService::Stub> dispatch;
  std::unique_ptr<bil::BillingService::Stub> billing;
  std::unique_ptr<eld::ElderCareService::Stub> eldercare;  // null: no eldercare flows
  std::unique_ptr<dty::DutyService::Stub> duty;            // null: duty not checked
  std::unique_ptr<ctr::CounterService::Stub> counter;      // null: no patrol check
  GatewayReceiver* receiver = nullptr;  // duty's notifications; null: not counted
  std::string group_id, estate_id;
  std::vector<std::string> units;
  std::vector<std::string> residents;  // of units[i], for the flows' units
  // The timers' estate: its own units and plumbers, emergencies due within a minute.
  std::string timer_estate_id;
  std::vector<std::string> timer_units;
  std::string billing_run_id;                          // of the timers' estate, started half-way
  bool locksmith_on_shift = false;                     // there, from half-way
  std::string admin, agent, supervisor, clerk, carer;  // tokens
  // Duty's handover and daily-log timers: agents of the timers' estate, each with a shift
  // that ended yesterday (its handover is due the handover window after duty learns of it,
  // its day's log at the cut-off, midnight here).
  std::set<std::string> handover_staff;  // and the team lead
  int past_shifts = 0;
  // The calendar estate: an estate whose day the run ends by moving it a day ahead (its
  // time zone from UTC-11 to UTC+14), so that eldercare's settlement of its care day and the
  // counter's patrol check of its renovation fall due; both look every five minutes.
  std::string calendar_estate_id;
  std::vector<std::string> calendar_units;
  std::string renovation_id;
  absl::Time slow_armed_at = absl::InfinitePast();  // when the slow timers were armed
  std::string previous_run_id;  // billing's run of last month: its collection is past close
};

// An estate of the group with `units` units and `technicians` plumbers on shift for the
// next 12 hours; its id, and the units' ids into `unit_ids`.
std::string MakeEstate(Suite& s, const std::string& tag, const std::string& name, int units,
                       int technicians, std::vector<std::string>& unit_ids, absl::Duration budget,
                       const std::string& zone = kZone) {
  dir::Estate estate;
  {
    dir::CreateEstateRequest req;
    req.set_request_id("chaos-estate-" + tag);
    req.mutable_estate()->set_name(name);
    req.mutable_estate()->set_time_zone(zone);
    req.mutable_estate()->set_management_fee_fen_per_m2(150);
    req.mutable_estate()->set_household_count(units);
    Must(Call(
             s.admin, [&](auto* c) { return s.directory->CreateEstate(c, req, &estate); }, budget),
         "CreateEstate");
  }
  const std::string estate_id = estate.id();
  {
    dir::ImportUnitsRequest req;
    req.set_request_id("chaos-units-" + tag);
    req.set_estate_id(estate_id);
    for (int i = 0; i < units; ++i) {
      dir::ImportedUnit* u = req.add_units();
      u->set_building_name(absl::StrCat("B", i / 100 + 1));
      u->set_number(absl::StrFormat("%04d", i % 100 + 101));
      u->set_building_area_m2("88.50");
      u->set_occupancy(dir::OCCUPANCY_SELF_OCCUPIED);
      u->set_handed_over(true);
      u->set_floor(i % 100 / 4 + 1);
    }
    dir::ImportUnitsResponse resp;
    Must(Call(
             s.admin, [&](auto* c) { return s.directory->ImportUnits(c, req, &resp); }, budget),
         "ImportUnits");
    dir::ListUnitsRequest list;
    list.set_estate_id(estate_id);
    list.set_page_size(1000);
    do {
      dir::ListUnitsResponse page;
      Must(Call(
               s.admin, [&](auto* c) { return s.directory->ListUnits(c, list, &page); }, budget),
           "ListUnits");
      for (const auto& u : page.units()) unit_ids.push_back(u.id());
      list.set_page_token(page.next_page_token());
    } while (!list.page_token().empty());
  }
  const absl::Time now = absl::Now();
  for (int t = 0; t < technicians; ++t) {
    dir::CreateStaffRequest req;
    req.set_request_id(absl::StrCat("chaos-tech-", tag, "-", t));
    dir::Staff* st = req.mutable_staff();
    st->set_name(absl::StrCat("Plumber ", t + 1));
    st->add_roles(dir::STAFF_ROLE_TECHNICIAN);
    st->add_skills(dir::SKILL_PLUMBING);
    st->add_home_estate_ids(estate_id);
    st->mutable_start_date()->set_year(2020);
    st->mutable_start_date()->set_month(1);
    st->mutable_start_date()->set_day(1);
    dir::Staff made;
    Must(Call(
             s.admin, [&](auto* c) { return s.directory->CreateStaff(c, req, &made); }, budget),
         "CreateStaff");
    dir::CreateShiftRequest shift;
    shift.set_request_id(absl::StrCat("chaos-shift-", tag, "-", t));
    shift.mutable_shift()->set_estate_id(estate_id);
    shift.mutable_shift()->set_staff_id(made.id());
    *shift.mutable_shift()->mutable_start_time() = wuye::ToProtoTime(now - absl::Minutes(5));
    *shift.mutable_shift()->mutable_end_time() = wuye::ToProtoTime(now + absl::Hours(12));
    dir::Shift made_shift;
    Must(Call(
             s.admin, [&](auto* c) { return s.directory->CreateShift(c, shift, &made_shift); },
             budget),
         "CreateShift");
  }
  return estate_id;
}

// The chaos group: one estate, its units, a resident of each unit a flow uses, plumbers on
// shift for the next 12 hours, and the price of the paid item in billing (published to
// dispatch).
void Setup(Suite& s, const std::string& secret, const std::string& run, absl::Duration budget) {
  const std::string platform = Mint(secret, "", "wuye-chaos", wuye::roles::kPlatformAdmin);
  dir::Group group;
  {
    dir::CreateGroupRequest req;
    req.set_request_id("chaos-group-" + run);
    req.mutable_group()->set_name("Chaos group " + run);
    Must(Call(
             platform, [&](auto* c) { return s.directory->CreateGroup(c, req, &group); }, budget),
         "CreateGroup");
  }
  s.group_id = group.id();
  s.admin = Mint(secret, s.group_id, "wuye-chaos", wuye::roles::kGroupAdmin);
  s.agent = Mint(secret, s.group_id, "chaos-agent", wuye::roles::kAgent);
  s.supervisor = Mint(secret, s.group_id, "chaos-supervisor", wuye::roles::kSupervisor);
  s.clerk = Mint(secret, s.group_id, "chaos-clerk", wuye::roles::kFinanceClerk);
  s.carer = Mint(secret, s.group_id, "chaos-carer", wuye::roles::kCareWorker);
  // Duty's settings first, before duty raises any task of the group (a desk without an
  // agent is one as soon as duty learns of the estate): the acknowledgement window of an
  // overdue consultation a minute; the handover window its least, five minutes; the daily
  // log due at midnight; and the notifications to the local gateway.
  if (s.duty && absl::GetFlag(FLAGS_timer_every) > 0) {
    auto update = [&](bool with_gateway) {
      dty::UpdateSettingsRequest set;
      set.set_request_id(absl::StrCat("chaos-duty-settings-", run, with_gateway ? "" : "-plain"));
      dty::AckWindow* w = set.mutable_settings()->add_ack_windows();
      w->set_kind(ev::TASK_KIND_CONSULTATION_OVERDUE);
      w->mutable_window()->set_seconds(60);
      set.mutable_update_mask()->add_paths("ack_windows");
      set.mutable_settings()->set_daily_log_cutoff_minute(0);
      set.mutable_update_mask()->add_paths("daily_log_cutoff_minute");
      if (absl::GetFlag(FLAGS_slow_timers)) {
        set.mutable_settings()->mutable_handover_window()->set_seconds(300);
        set.mutable_update_mask()->add_paths("handover_window");
      }
      if (with_gateway) {
        set.mutable_settings()->set_notification_gateway_url(s.receiver->url());
        set.mutable_update_mask()->add_paths("notification_gateway_url");
      }
      dty::Settings out;
      return Call(
          s.admin, [&](auto* c) { return s.duty->UpdateSettings(c, set, &out); }, budget);
    };
    grpc::Status st = grpc::Status(grpc::INVALID_ARGUMENT, "no receiver");
    if (s.receiver != nullptr) st = update(true);
    if (st.error_code() == grpc::INVALID_ARGUMENT) {
      if (s.receiver != nullptr) {
        Say(absl::StrCat("duty refuses the local gateway (", st.error_message(),
                         "): its notifications are not counted"));
      }
      s.receiver = nullptr;
      st = update(false);
    }
    Must(st, "UpdateSettings (duty)");
  }
  s.estate_id = MakeEstate(s, run, "Chaos Gardens", absl::GetFlag(FLAGS_units),
                           absl::GetFlag(FLAGS_technicians), s.units, budget);
  // The resident who agrees the price and signs (dispatch checks they live in the unit).
  const size_t used = std::min<size_t>(s.units.size(), absl::GetFlag(FLAGS_flows));
  for (size_t i = 0; i < used; ++i) {
    dir::CreateResidentRequest req;
    req.set_request_id(absl::StrCat("chaos-resident-", run, "-", i));
    req.mutable_resident()->set_unit_id(s.units[i]);
    req.mutable_resident()->set_name(absl::StrCat("Resident ", i + 1));
    req.mutable_resident()->set_role(dir::RESIDENT_ROLE_OWNER);
    dir::Resident made;
    Must(Call(
             s.admin, [&](auto* c) { return s.directory->CreateResident(c, req, &made); }, budget),
         "CreateResident");
    s.residents.push_back(made.id());
  }
  // The timers' estate: three plumbers, and emergencies on site within a minute, escalated
  // after a minute not accepted and every minute after (dispatch's durable timers).
  if (absl::GetFlag(FLAGS_timer_every) > 0) {
    s.timer_estate_id =
        MakeEstate(s, run + "-timers", "Chaos Timers", 20, 3, s.timer_units, budget);
    dsp::UpdateSlaPolicyRequest req;
    req.set_request_id("chaos-sla-" + run);
    dsp::SlaPolicy* p = req.mutable_policy();
    p->set_estate_id(s.timer_estate_id);
    p->set_emergency_day_minutes(1);
    p->set_emergency_night_minutes(1);
    dsp::PriorityEscalation* e = p->add_escalations();
    e->set_priority(common::PRIORITY_EMERGENCY);
    e->set_accept_within_minutes(1);
    e->set_escalate_every_minutes(1);
    dsp::SlaPolicy made;
    grpc::Status st;
    // Dispatch learns of the estate from the directory's event: NOT_FOUND until then.
    Await(
        [&] {
          st = Call(
              s.admin, [&](auto* c) { return s.dispatch->UpdateSlaPolicy(c, req, &made); }, budget);
          return st.error_code() != grpc::NOT_FOUND;
        },
        budget);
    Must(st, "UpdateSlaPolicy");
    // A complaint's written reply is due an hour after it came in, counted elapsed: the
    // least window intake takes (1..2160 hours), and a clock that runs at any hour
    // (RunTimerFlow's complaints came in almost that hour ago). The flows raise no other
    // complaint.
    {
      itk::UpdateCallbackSettingsRequest set;
      set.set_request_id("chaos-intake-settings-" + run);
      set.mutable_settings()->set_complaint_reply_hours(1);
      set.mutable_settings()->set_complaint_reply_clock(common::SLA_CLOCK_ELAPSED);
      set.mutable_update_mask()->add_paths("complaint_reply_hours");
      set.mutable_update_mask()->add_paths("complaint_reply_clock");
      itk::CallbackSettings out;
      Must(Call(
               s.admin, [&](auto* c) { return s.intake->UpdateCallbackSettings(c, set, &out); },
               budget),
           "UpdateCallbackSettings (intake)");
    }
    // Duty's task of an overdue consultation goes to the team lead on duty (one is, here);
    // not acknowledged within a minute, to the supervisor, a minute later to the estate
    // manager.
    if (s.duty) {
      dir::CreateStaffRequest lead;
      lead.set_request_id("chaos-team-lead-" + run);
      lead.mutable_staff()->set_name("Team lead");
      lead.mutable_staff()->add_roles(dir::STAFF_ROLE_TEAM_LEAD);
      lead.mutable_staff()->add_home_estate_ids(s.timer_estate_id);
      lead.mutable_staff()->mutable_start_date()->set_year(2020);
      lead.mutable_staff()->mutable_start_date()->set_month(1);
      lead.mutable_staff()->mutable_start_date()->set_day(1);
      dir::Staff made_lead;
      Must(Call(
               s.admin, [&](auto* c) { return s.directory->CreateStaff(c, lead, &made_lead); },
               budget),
           "CreateStaff (team lead)");
      dir::CreateShiftRequest shift;
      shift.set_request_id("chaos-team-lead-shift-" + run);
      shift.mutable_shift()->set_estate_id(s.timer_estate_id);
      shift.mutable_shift()->set_staff_id(made_lead.id());
      *shift.mutable_shift()->mutable_start_time() =
          wuye::ToProtoTime(absl::Now() - absl::Minutes(5));
      *shift.mutable_shift()->mutable_end_time() = wuye::ToProtoTime(absl::Now() + absl::Hours(12));
      dir::Shift made_shift;
      Must(Call(
               s.admin, [&](auto* c) { return s.directory->CreateShift(c, shift, &made_shift); },
               budget),
           "CreateShift (team lead)");
      s.handover_staff.insert(made_lead.id());
      // Two agents whose shifts ended yesterday: nobody handed over (duty.handover.missing
      // once the handover window has passed since duty learnt of the shift) and no daily
      // log of the day (duty.daily_log.missing at once: its cut-off, midnight, is past).
      for (int k = 0; k < 2; ++k) {
        dir::CreateStaffRequest agent;
        agent.set_request_id(absl::StrCat("chaos-agent-", run, "-", k));
        agent.mutable_staff()->set_name(absl::StrCat("Agent ", k + 1));
        agent.mutable_staff()->add_roles(dir::STAFF_ROLE_AGENT);
        agent.mutable_staff()->add_home_estate_ids(s.timer_estate_id);
        agent.mutable_staff()->mutable_start_date()->set_year(2020);
        agent.mutable_staff()->mutable_start_date()->set_month(1);
        agent.mutable_staff()->mutable_start_date()->set_day(1);
        dir::Staff made_agent;
        Must(Call(
                 s.admin,
                 [&](auto* c) { return s.directory->CreateStaff(c, agent, &made_agent); },
                 budget),
             "CreateStaff (agent)");
        dir::CreateShiftRequest past;
        past.set_request_id(absl::StrCat("chaos-agent-shift-", run, "-", k));
        past.mutable_shift()->set_estate_id(s.timer_estate_id);
        past.mutable_shift()->set_staff_id(made_agent.id());
        *past.mutable_shift()->mutable_start_time() =
            wuye::ToProtoTime(absl::Now() - absl::Hours(30));
        *past.mutable_shift()->mutable_end_time() =
            wuye::ToProtoTime(absl::Now() - absl::Hours(22));
        dir::Shift made_past;
        Must(Call(
                 s.admin,
                 [&](auto* c) { return s.directory->CreateShift(c, past, &made_past); }, budget),
             "CreateShift (agent, yesterday)");
        s.handover_staff.insert(made_agent.id());
        ++s.past_shifts;
      }
    }
  }
  {
    bil::SetStandardPriceRequest req;
    req.set_request_id("chaos-std-price-" + run);
    req.mutable_price()->set_item_code(kItem);
    req.mutable_price()->set_name("Chaos fix");
    req.mutable_price()->set_price_fen(kPriceFen);
    req.mutable_price()->set_per("job");
    bil::StandardPrice made;
    Must(Call(
             s.admin, [&](auto* c) { return s.billing->SetStandardPrice(c, req, &made); }, budget),
         "SetStandardPrice");
    bil::PublishEstatePriceRequest pub;
    pub.set_request_id("chaos-estate-price-" + run);
    pub.mutable_price()->set_estate_id(s.estate_id);
    pub.mutable_price()->set_item_code(kItem);
    pub.mutable_price()->set_price_fen(kPriceFen);
    bil::EstatePrice published;
    Must(Call(
             s.admin, [&](auto* c) { return s.billing->PublishEstatePrice(c, pub, &published); },
             budget),
         "PublishEstatePrice");
  }
}

// How far a flow got; the checker expects exactly this much in every service.
enum class Reached { kNothing, kTicket, kOrder, kCompleted, kCharged, kPaid };

struct FlowResult {
  Reached reached = Reached::kNothing;
  bool unsigned_completion = false;
  bool paid_twice = false;
  std::string failed_step;
  std::string order_id;
};

FlowResult RunFlow(const Suite& s, const std::string& run, int i, absl::Duration budget) {
  FlowResult r;
  const std::string rid = absl::StrCat("chaos-", run, "-", i, "-");
  const std::string unit = s.units[i % s.units.size()];
  const std::string resident = s.residents[i % s.residents.size()];
  auto fail = [&](std::string step, const grpc::Status& st) {
    r.failed_step = absl::StrCat(step, ": ", st.error_code(), " ", st.error_message());
    return r;
  };

  itk::Ticket ticket;
  {
    itk::CreateTicketRequest req;
    req.set_request_id(rid + "ticket");
    itk::Ticket* t = req.mutable_ticket();
    t->set_estate_id(s.estate_id);
    t->mutable_location()->set_unit_id(unit);
    t->set_channel(common::CHANNEL_APP);
    t->set_kind(common::TICKET_KIND_PAID_SERVICE);
    t->set_summary(absl::StrCat("Chaos flow ", i));
    t->set_category(common::WORK_CATEGORY_PLUMBING);
    t->set_priority(common::PRIORITY_SMALL);
    t->set_service_item_code(kItem);
    t->set_resident_id(resident);
    // Intake learns the estate from directory's event (late while Redis or intake is down):
    // NOT_FOUND until then.
    grpc::Status st;
    for (const absl::Time give_up = absl::Now() + budget;;) {
      st = Call(
          s.agent, [&](auto* c) { return s.intake->CreateTicket(c, req, &ticket); }, budget);
      if (st.error_code() != grpc::NOT_FOUND || absl::Now() > give_up) break;
      absl::SleepFor(absl::Milliseconds(200));
    }
    if (!st.ok()) return fail("CreateTicket", st);
  }
  r.reached = Reached::kTicket;

  // The order dispatch made of the ticket, once intake has heard of it and it is assigned.
  dsp::WorkOrder order;
  bool assigned = Await(
      [&] {
        if (r.order_id.empty()) {
          itk::GetTicketRequest get;
          get.set_id(ticket.id());
          itk::Ticket now;
          if (!Call(
                   s.agent, [&](auto* c) { return s.intake->GetTicket(c, get, &now); }, budget)
                   .ok() ||
              now.work_order_ids().empty()) {
            return false;
          }
          r.order_id = now.work_order_ids(0);
        }
        dsp::GetWorkOrderRequest get;
        get.set_id(r.order_id);
        return Call(
                   s.supervisor, [&](auto* c) { return s.dispatch->GetWorkOrder(c, get, &order); },
                   budget)
                   .ok() &&
               order.state() != ev::WORK_ORDER_STATE_WAITING && !order.workers().empty();
      },
      budget);
  if (!assigned) return fail("await assignment", grpc::Status(grpc::DEADLINE_EXCEEDED, "timeout"));
  r.reached = Reached::kOrder;
  const std::string worker = order.workers(0).staff_id();

  auto step = [&](const std::string& name, auto&& rpc) -> grpc::Status {
    dsp::WorkOrder out;
    return Call(
        s.supervisor, [&](auto* c) { return rpc(c, &out); }, budget);
  };
  grpc::Status st = step("accept", [&](auto* c, auto* out) {
    dsp::AcceptWorkOrderRequest req;
    req.set_request_id(rid + "accept");
    req.set_id(r.order_id);
    req.set_staff_id(worker);
    return s.dispatch->AcceptWorkOrder(c, req, out);
  });
  if (!st.ok()) return fail("AcceptWorkOrder", st);
  // The resident agrees the price before the plumber sets out. Dispatch may not have heard
  // of the resident or of billing's price yet (its copies lag a restart of Redis or of
  // billing's relay): those answers are retried.
  Await(
      [&] {
        st = step("agree", [&](auto* c, auto* out) {
          dsp::AgreePriceRequest req;
          req.set_request_id(rid + "agree");
          req.set_id(r.order_id);
          return s.dispatch->AgreePrice(c, req, out);
        });
        const bool no_price_yet = st.error_code() == grpc::FAILED_PRECONDITION &&
                                  absl::StrContains(st.error_message(), "price of the item");
        return st.error_code() != grpc::INVALID_ARGUMENT && !no_price_yet;
      },
      budget);
  if (!st.ok()) return fail("AgreePrice", st);
  for (auto [name, progress] : {std::pair{"en-route", dsp::PROGRESS_STEP_EN_ROUTE},
                                std::pair{"on-site", dsp::PROGRESS_STEP_ON_SITE},
                                std::pair{"done", dsp::PROGRESS_STEP_WORK_DONE}}) {
    st = step(name, [&](auto* c, auto* out) {
      dsp::RecordProgressRequest req;
      req.set_request_id(rid + name);
      req.set_id(r.order_id);
      req.set_step(progress);
      req.set_staff_id(worker);
      return s.dispatch->RecordProgress(c, req, out);
    });
    if (!st.ok()) return fail(absl::StrCat("RecordProgress ", name), st);
  }
  r.unsigned_completion = i % 10 == 3;
  if (!r.unsigned_completion) {
    st = step("sign", [&](auto* c, auto* out) {
      dsp::SignWorkOrderRequest req;
      req.set_request_id(rid + "sign");
      req.set_id(r.order_id);
      req.mutable_signature()->set_resident_name("Resident");
      req.mutable_signature()->set_method(dsp::SIGN_METHOD_DEVICE);
      return s.dispatch->SignWorkOrder(c, req, out);
    });
    if (!st.ok()) return fail("SignWorkOrder", st);
  }
  st = step("complete", [&](auto* c, auto* out) {
    dsp::CompleteWorkOrderRequest req;
    req.set_request_id(rid + "complete");
    req.set_id(r.order_id);
    if (r.unsigned_completion) {
      req.set_without_signature(true);
      req.set_reason("the resident refused to sign");
    }
    return s.dispatch->CompleteWorkOrder(c, req, out);
  });
  if (!st.ok()) return fail("CompleteWorkOrder", st);
  r.reached = Reached::kCompleted;

  // The charge billing posts for the completed paid order.
  bil::Bill charge;
  const std::string source = "work_order:" + r.order_id;
  bool charged = Await(
      [&] {
        bil::ListBillsRequest req;
        req.set_estate_id(s.estate_id);
        req.set_unit_id(unit);
        req.set_page_size(1000);
        bil::ListBillsResponse resp;
        if (!Call(
                 s.clerk, [&](auto* c) { return s.billing->ListBills(c, req, &resp); }, budget)
                 .ok()) {
          return false;
        }
        for (const auto& b : resp.bills()) {
          if (b.source() == source) {
            charge = b;
            return true;
          }
        }
        return false;
      },
      budget);
  if (!charged) return fail("await charge", grpc::Status(grpc::DEADLINE_EXCEEDED, "timeout"));
  r.reached = Reached::kCharged;

  r.paid_twice = i % 7 == 5;
  for (int attempt = 0; attempt < (r.paid_twice ? 2 : 1); ++attempt) {
    bil::RecordPaymentRequest req;
    req.set_request_id(absl::StrCat(rid, "pay-", attempt));  // the gateway's second delivery
    bil::Payment* p = req.mutable_payment();
    p->set_unit_id(unit);
    p->set_amount_fen(charge.amount_fen());
    p->set_method(bil::PAYMENT_METHOD_WECHAT_PAY);
    p->set_external_txn_no(absl::StrCat("chaos-", run, "-", i));
    p->set_bill_id(charge.id());
    bil::Payment out;
    st = Call(
        s.clerk, [&](auto* c) { return s.billing->RecordPayment(c, req, &out); }, budget);
    if (!st.ok() && !(attempt == 1 && st.error_code() == grpc::ALREADY_EXISTS)) {
      return fail("RecordPayment", st);
    }
  }
  r.reached = Reached::kPaid;
  return r;
}

// A mainland ID number (GB 11643: region, birth date, sequence, check character) born on
// the given day: what eldercare checks against the resident's date of birth.
std::string IdNumber(int year, int month, int day, int seq) {
  std::string body = absl::StrFormat("310115%04d%02d%02d%03d", year, month, day, seq % 1000);
  static constexpr int kWeights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  int sum = 0;
  for (int k = 0; k < 17; ++k) sum += (body[k] - '0') * kWeights[k];
  return body + "10X98765432"[sum % 11];
}

// An owner of `unit`, born on the day given, in the directory.
grpc::Status CreateOwner(const Suite& s, const std::string& request_id, const std::string& unit,
                         const std::string& name, int year, int month, int day,
                         absl::Duration budget, dir::Resident* out) {
  dir::CreateResidentRequest req;
  req.set_request_id(request_id);
  req.mutable_resident()->set_unit_id(unit);
  req.mutable_resident()->set_name(name);
  req.mutable_resident()->set_role(dir::RESIDENT_ROLE_OWNER);
  req.mutable_resident()->mutable_date_of_birth()->set_year(year);
  req.mutable_resident()->mutable_date_of_birth()->set_month(month);
  req.mutable_resident()->mutable_date_of_birth()->set_day(day);
  return Call(s.admin, [&](auto* c) { return s.directory->CreateResident(c, req, out); }, budget);
}

// The resident enrolled in eldercare (consent signed an hour ago, a family contact) once
// eldercare has heard of them from the directory's event: NOT_FOUND until then.
grpc::Status Enrol(const Suite& s, const std::string& request_id, const std::string& resident_id,
                   const std::string& id_number, const std::string& signed_by,
                   int visit_every_days, absl::Duration budget, eld::Elder* out) {
  eld::EnrolElderRequest req;
  req.set_request_id(request_id);
  req.set_resident_id(resident_id);
  req.set_id_number(id_number);
  eld::Consent* consent = req.mutable_consent();
  consent->set_scope("home elderly care and health records");
  consent->set_version("2026-01");
  *consent->mutable_signed_at() = wuye::ToProtoTime(absl::Now() - absl::Hours(1));
  consent->set_signed_by(signed_by);
  eld::FamilyContact* c = req.add_family_contacts();
  c->set_name("Family");
  c->set_relation("child");
  c->set_phone("13800138000");
  if (visit_every_days > 0) req.set_visit_every_days(visit_every_days);
  grpc::Status st;
  Await(
      [&] {
        st = Call(s.agent, [&](auto* ctx) { return s.eldercare->EnrolElder(ctx, req, out); },
                  budget);
        return st.error_code() != grpc::NOT_FOUND;
      },
      budget);
  return st;
}

// A sick-bed day of the elder on their enrolment day (eldercare's today in the estate's
// zone: never in the future).
grpc::Status RecordSickbedDay(const Suite& s, const std::string& request_id,
                              const eld::Elder& elder, absl::Duration budget) {
  eld::RecordCareDayRequest req;
  req.set_request_id(request_id);
  req.set_elder_id(elder.id());
  *req.mutable_day() = elder.enrolled_on();
  req.set_kind(eld::CARE_KIND_SICKBED);
  req.set_supervision_note("Dressing changed; temperature normal.");
  eld::CareDay out;
  return Call(s.carer, [&](auto* ctx) { return s.eldercare->RecordCareDay(ctx, req, &out); },
              budget);
}

// What a side flow did, for the checks.
struct SideResult {
  bool resident = false, enrolled = false, visited = false, care_day = false;  // eldercare
  bool consultation = false, emergency = false, waiting = false;                // timers
  bool hotline = false, complaint = false;  // intake's deadline timers, due by intake_due
  absl::Time intake_due = absl::InfinitePast();
  std::string failed_step;
};

// A directory write (a new resident, aged 76, owner of a flow's unit), their enrolment in
// eldercare once eldercare has heard of them, a visit and a sick-bed day.
SideResult RunElderFlow(const Suite& s, const std::string& run, int i, absl::Duration budget) {
  SideResult r;
  const std::string rid = absl::StrCat("chaos-", run, "-", i, "-elder-");
  auto fail = [&](std::string step, const grpc::Status& st) {
    r.failed_step = absl::StrCat(step, ": ", st.error_code(), " ", st.error_message());
    return r;
  };
  const absl::CivilDay today = absl::ToCivilDay(absl::Now(), wuye::EstateZone(kZone));
  const int year = static_cast<int>(today.year()) - 76 - (i / 1000) % 10, month = 3,
            day = 1 + (i / 20) % 28;
  dir::Resident resident;
  grpc::Status st = CreateOwner(s, rid + "resident", s.units[i % s.units.size()],
                                absl::StrCat("Elder ", i), year, month, day, budget, &resident);
  if (!st.ok()) return fail("CreateResident (elder)", st);
  r.resident = true;
  eld::Elder elder;
  st = Enrol(s, rid + "enrol", resident.id(), IdNumber(year, month, day, i),
             absl::StrCat("Elder ", i), 7, budget, &elder);
  if (!st.ok()) return fail("EnrolElder", st);
  r.enrolled = true;
  {
    eld::RecordVisitRequest req;
    req.set_request_id(rid + "visit");
    req.set_elder_id(elder.id());
    *req.mutable_visited_at() = elder.create_time();
    req.set_observations("In good spirits; medicine box refilled.");
    req.set_care_plan_followed(true);
    eld::Visit out;
    st = Call(s.carer, [&](auto* ctx) { return s.eldercare->RecordVisit(ctx, req, &out); },
              budget);
    if (!st.ok()) return fail("RecordVisit", st);
  }
  r.visited = true;
  st = RecordSickbedDay(s, rid + "careday", elder, budget);
  if (!st.ok()) return fail("RecordCareDay", st);
  r.care_day = true;
  return r;
}

// The calendar estate (--slow_timers): in UTC-11, a resident aged 76 of its first unit,
// enrolled in eldercare with a sick-bed day today, and a renovation of the unit from today,
// approved (the counter looks at it from today). Then the estate moves to UTC+14: its today
// is a day or two later, so the care day is one to settle (eldercare's settlement) and
// the renovation's days so far had no patrol (the counter's check): both are durable
// timers that look every five minutes.
constexpr char kCalendarZone[] = "Pacific/Pago_Pago", kCalendarZoneAfter[] = "Pacific/Kiritimati";

SideResult SetupCalendar(Suite& s, const std::string& run, absl::Duration budget) {
  SideResult r;
  const std::string rid = absl::StrCat("chaos-", run, "-calendar-");
  auto fail = [&](std::string step, const grpc::Status& st) {
    r.failed_step = absl::StrCat(step, ": ", st.error_code(), " ", st.error_message());
    return r;
  };
  s.calendar_estate_id = MakeEstate(s, run + "-calendar", "Chaos Calendar", 2, 0,
                                    s.calendar_units, budget, kCalendarZone);
  const absl::TimeZone zone = wuye::EstateZone(kCalendarZone);
  const int year = static_cast<int>(absl::ToCivilDay(absl::Now(), zone).year()) - 76;
  dir::Resident resident;
  grpc::Status st = CreateOwner(s, rid + "resident", s.calendar_units[0], "Calendar elder", year,
                                3, 1, budget, &resident);
  if (!st.ok()) return fail("CreateResident (calendar)", st);
  r.resident = true;
  if (s.eldercare) {
    eld::Elder elder;
    st = Enrol(s, rid + "enrol", resident.id(), IdNumber(year, 3, 1, 999), "Calendar elder", 0,
               budget, &elder);
    if (!st.ok()) return fail("EnrolElder (calendar)", st);
    r.enrolled = true;
    st = RecordSickbedDay(s, rid + "careday", elder, budget);
    if (!st.ok()) return fail("RecordCareDay (calendar)", st);
    r.care_day = true;
  }
  if (s.counter) {
    ctr::Renovation made;
    // The counter learns of the unit and the resident from the directory's events:
    // NOT_FOUND until then. Today is the estate's (UTC-11).
    Await(
        [&] {
          const absl::CivilDay today = absl::ToCivilDay(absl::Now(), zone);
          const absl::CivilDay end = today + 29;
          ctr::CreateRenovationRequest req;
          req.set_request_id(absl::StrCat(rid, "renovation-", today.day()));
          req.set_unit_id(s.calendar_units[0]);
          req.set_applicant_resident_id(resident.id());
          req.add_items("Kitchen tiles replaced");
          for (auto kind : {ctr::DOCUMENT_KIND_FLOOR_PLAN, ctr::DOCUMENT_KIND_WIRING_PLAN,
                            ctr::DOCUMENT_KIND_PLUMBING_PLAN, ctr::DOCUMENT_KIND_UNDERTAKING,
                            ctr::DOCUMENT_KIND_CONTRACTOR_LICENCE}) {
            ctr::RenovationDocument* d = req.add_documents();
            d->set_kind(kind);
            d->mutable_file()->set_uri(
                absl::StrCat("oss://chaos/renovation/", static_cast<int>(kind), ".pdf"));
          }
          req.mutable_contractor()->set_name("Chaos Decorators");
          ctr::Worker* w = req.add_workers();
          w->set_name("Tiler");
          w->set_pass_number("CHAOS-1");
          req.mutable_start_date()->set_year(static_cast<int32_t>(today.year()));
          req.mutable_start_date()->set_month(today.month());
          req.mutable_start_date()->set_day(today.day());
          req.mutable_end_date()->set_year(static_cast<int32_t>(end.year()));
          req.mutable_end_date()->set_month(end.month());
          req.mutable_end_date()->set_day(end.day());
          st = Call(
              s.agent, [&](auto* c) { return s.counter->CreateRenovation(c, req, &made); },
              budget);
          // Before the counter has the estate's zone, its today is another day.
          return st.error_code() != grpc::NOT_FOUND &&
                 !(st.error_code() == grpc::INVALID_ARGUMENT &&
                   absl::StrContains(st.error_message(), "start_date"));
        },
        budget);
    if (!st.ok()) return fail("CreateRenovation (calendar)", st);
    ctr::DecideRenovationRequest decide;
    decide.set_request_id(rid + "approve");
    decide.set_renovation_id(made.id());
    decide.set_approve(true);
    ctr::Renovation approved;
    st = Call(
        s.supervisor,
        [&](auto* c) { return s.counter->DecideRenovation(c, decide, &approved); }, budget);
    if (!st.ok()) return fail("DecideRenovation (calendar)", st);
    s.renovation_id = made.id();
  }
  {
    dir::UpdateEstateRequest req;
    req.set_request_id(rid + "zone");
    req.mutable_estate()->set_id(s.calendar_estate_id);
    req.mutable_estate()->set_time_zone(kCalendarZoneAfter);
    req.mutable_update_mask()->add_paths("time_zone");
    dir::Estate out;
    st = Call(
        s.admin, [&](auto* c) { return s.directory->UpdateEstate(c, req, &out); }, budget);
    if (!st.ok()) return fail("UpdateEstate (calendar zone)", st);
  }
  s.slow_armed_at = absl::Now();
  return r;
}

// How long after RunTimerFlow makes them intake's deadline timers of a 12345 order and of a
// complaint's written reply are due. Intake looks for both every minute on each replica:
// the due-soon warning fires at the first look (its time has come already), the overdue at
// the first look past the due time. Three minutes leave the warning a few looks before
// its deadline (one looked at only after it is not due: the overdue says it all).
constexpr absl::Duration kIntakeDueIn = absl::Minutes(3);

// In the timers' estate: a consultation left unanswered (due at once: intake publishes it
// overdue, once), an emergency repair nobody accepts (dispatch warns at 80 % of its
// one-minute SLA, breaches it, escalates each minute: each once), a lock repair nobody
// there can do (dispatch keeps it WAITING and escalates it; once a locksmith comes on shift
// half-way, its retry of waiting orders assigns it: once), a complaint nobody answers and a
// 12345 order nobody replies to (intake publishes each due soon and overdue: each once).
// The complaint came in 57 minutes ago (CreateTicket takes a received_time up to 7 days
// back): its reply, an hour elapsed (Setup), is due in three minutes, its warning (a third
// of the window before) at once. The order, imported as the city's csv file gives it, was
// received now and is due in three minutes (a due_time the city gave): its warning, a
// working day before its due time but never before its receipt, at once.
SideResult RunTimerFlow(const Suite& s, const std::string& run, int i, absl::Duration budget) {
  SideResult r;
  const std::string rid = absl::StrCat("chaos-", run, "-", i, "-timer-");
  const std::string unit = s.timer_units[i % s.timer_units.size()];
  enum Kind { kConsultation, kEmergency, kWaiting, kComplaint };
  for (Kind kind : {kConsultation, kEmergency, kWaiting, kComplaint}) {
    const bool emergency = kind == kEmergency;
    const char* name = kind == kConsultation ? "consultation"
                       : emergency           ? "emergency"
                       : kind == kWaiting    ? "lock"
                                             : "complaint";
    itk::CreateTicketRequest req;
    req.set_request_id(rid + name);
    itk::Ticket* t = req.mutable_ticket();
    t->set_estate_id(s.timer_estate_id);
    t->mutable_location()->set_unit_id(unit);
    t->set_channel(common::CHANNEL_APP);
    if (kind == kWaiting) {
      t->set_kind(common::TICKET_KIND_REPAIR_UNIT);
      t->set_summary(absl::StrCat("Chaos jammed lock ", i));
      t->set_category(common::WORK_CATEGORY_LOCKSMITH);
      t->set_priority(common::PRIORITY_SMALL);
    } else if (emergency) {
      t->set_kind(common::TICKET_KIND_REPAIR_UNIT);
      t->set_summary(absl::StrCat("Chaos burst pipe ", i));
      t->set_category(common::WORK_CATEGORY_PLUMBING);
      t->set_priority(common::PRIORITY_EMERGENCY);
    } else if (kind == kComplaint) {
      t->set_kind(common::TICKET_KIND_COMPLAINT);
      t->set_summary(absl::StrCat("Chaos complaint ", i));
      const absl::Time received = absl::Now() - (absl::Hours(1) - kIntakeDueIn);
      *t->mutable_received_time() = wuye::ToProtoTime(received);
      r.intake_due = std::max(r.intake_due, received + absl::Hours(1));
    } else {
      t->set_kind(common::TICKET_KIND_CONSULTATION);
      t->set_summary(absl::StrCat("Chaos question ", i));
    }
    itk::Ticket made;
    grpc::Status st;
    // Intake learns of the estate from the directory's event: NOT_FOUND until then.
    Await(
        [&] {
          st = Call(
              s.agent, [&](auto* c) { return s.intake->CreateTicket(c, req, &made); }, budget);
          return st.error_code() != grpc::NOT_FOUND;
        },
        budget);
    if (!st.ok()) {
      r.failed_step = absl::StrCat("CreateTicket (", name, "): ", st.error_code(), " ",
                                   st.error_message());
      return r;
    }
    (kind == kConsultation ? r.consultation
     : emergency           ? r.emergency
     : kind == kWaiting    ? r.waiting
                           : r.complaint) = true;
  }
  // The 12345 order: one line of the city's csv file (taken again with the same request_id,
  // or as the same order number, it changes nothing).
  const absl::Time received = absl::Now(), due = received + kIntakeDueIn;
  itk::ImportHotlineOrdersRequest req;
  req.set_request_id(rid + "hotline");
  req.set_format("csv");
  req.set_city("chaos");
  req.set_content(absl::StrCat(
      "order_number,received_time,due_time,estate,unit_id,category,content\r\n", "chaos-", run, "-",
      i, ",", absl::FormatTime(absl::RFC3339_sec, received, absl::UTCTimeZone()), ",",
      absl::FormatTime(absl::RFC3339_sec, due, absl::UTCTimeZone()), ",", s.timer_estate_id, ",",
      unit, ",Chaos,Chaos hotline complaint ", i, "\r\n"));
  itk::ImportHotlineOrdersResponse imported;
  grpc::Status st = Call(
      s.agent, [&](auto* c) { return s.intake->ImportHotlineOrders(c, req, &imported); }, budget);
  if (st.ok() && (imported.lines_size() != 1 ||
                  imported.lines(0).outcome() == itk::HotlineLineResult::OUTCOME_REFUSED)) {
    st = grpc::Status(grpc::FAILED_PRECONDITION,
                      imported.lines_size() == 1
                          ? absl::StrCat("refused on ", imported.lines(0).field(), ": ",
                                         imported.lines(0).reason())
                          : absl::StrCat(imported.lines_size(), " lines"));
  }
  if (!st.ok()) {
    r.failed_step = absl::StrCat("ImportHotlineOrders: ", st.error_code(), " ", st.error_message());
    return r;
  }
  r.hotline = true;
  r.intake_due = std::max(r.intake_due, due);
  return r;
}

// Half-way: a locksmith joins the timers' estate, on shift from now (dispatch's retry then
// assigns the lock repairs waiting there). "" or the step that failed.
std::string PutLocksmithOnShift(const Suite& s, const std::string& run, absl::Duration budget) {
  dir::CreateStaffRequest req;
  req.set_request_id("chaos-locksmith-" + run);
  dir::Staff* st = req.mutable_staff();
  st->set_name("Locksmith");
  st->add_roles(dir::STAFF_ROLE_TECHNICIAN);
  st->add_skills(dir::SKILL_LOCKSMITH);
  st->add_home_estate_ids(s.timer_estate_id);
  st->mutable_start_date()->set_year(2020);
  st->mutable_start_date()->set_month(1);
  st->mutable_start_date()->set_day(1);
  dir::Staff made;
  grpc::Status status = Call(
      s.admin, [&](auto* c) { return s.directory->CreateStaff(c, req, &made); }, budget);
  if (!status.ok()) return absl::StrCat("CreateStaff: ", status.error_code(), " ", status.error_message());
  dir::CreateShiftRequest shift;
  shift.set_request_id("chaos-locksmith-shift-" + run);
  shift.mutable_shift()->set_estate_id(s.timer_estate_id);
  shift.mutable_shift()->set_staff_id(made.id());
  *shift.mutable_shift()->mutable_start_time() = wuye::ToProtoTime(absl::Now() - absl::Minutes(1));
  *shift.mutable_shift()->mutable_end_time() = wuye::ToProtoTime(absl::Now() + absl::Hours(12));
  dir::Shift made_shift;
  status = Call(
      s.admin, [&](auto* c) { return s.directory->CreateShift(c, shift, &made_shift); }, budget);
  if (!status.ok()) return absl::StrCat("CreateShift: ", status.error_code(), " ", status.error_message());
  return "";
}

// What the services hold for the run's group, read from their databases.
struct Holdings {
  int64_t tickets = 0, tickets_resolved = 0;
  int64_t orders = 0, orders_distinct = 0, orders_completed = 0, preventive = 0;
  int64_t charges = 0, charges_distinct = 0;
  int64_t payments = 0, payments_distinct = 0;
  int64_t ledger_sum = 0;
  int64_t unsigned_lines = 0;  // performance: one line per order completed unsigned
  // The side flows: the directory's residents, eldercare's elders, visits, care days and
  // charges, and billing's bills of those charges.
  int64_t residents = 0, elders = 0, visits = 0, care_days = 0, elder_charges = 0;
  int64_t elder_bills = 0, elder_bills_distinct = 0;
  // The timers' estate: consultations and emergency orders, and their timers.
  int64_t consultations = 0, overdue_events = 0, overdue_subjects = 0;
  int64_t emergencies = 0, emergencies_distinct = 0, emergencies_settled = 0;
  int64_t waiting = 0, waiting_distinct = 0, waiting_assigned = 0;  // lock repairs
  // The 12345 orders and complaints there, whose deadlines are intake's timers.
  int64_t hotline_orders = 0, complaints = 0;
  int64_t timers_due = 0, timers_once = 0, timers_twice = 0, timers_missing = 0;
  // The same by kind of timer (the sums above are theirs).
  struct Tally {
    int64_t due = 0, once = 0, twice = 0, missing = 0;
    int64_t skipped = 0;  // warnings whose deadline came first: not due
  };
  std::map<std::string, Tally> timer_kinds;
  int64_t notifications_resent = 0;  // a delivery again with its Idempotency-Key
  int64_t warnings_skipped = 0;      // breached (overdue) before its warning's tick: none due
  // The billing run: its state (3 done), units, and the monthly bills it issued.
  int64_t run_state = 0, run_units = 0, run_bills = 0, run_bills_distinct = 0;
  // Duty: the tasks of the overdue consultations, and those whose escalation is overdue.
  int64_t duty_tasks = 0, duty_escalations = 0, duty_late = 0;
};

// The level of a duty task's role (services/duty: team lead 1, supervisor 2, manager 3).
int LevelOfRole(int role) {
  switch (role) {
    case ev::STAFF_ROLE_TEAM_LEAD:
      return 1;
    case ev::STAFF_ROLE_SUPERVISOR:
      return 2;
    case ev::STAFF_ROLE_ESTATE_MANAGER:
      return 3;
    default:
      return 0;
  }
}

// One timer of `kind` that fell due and fired `fired` times: once, twice or more (the
// extra firings), never.
void TallyTimer(Holdings& h, const std::string& kind, int64_t fired) {
  Holdings::Tally& t = h.timer_kinds[kind];
  ++t.due;
  ++h.timers_due;
  if (fired == 1) ++t.once, ++h.timers_once;
  if (fired == 0) ++t.missing, ++h.timers_missing;
  if (fired > 1) t.twice += fired - 1, h.timers_twice += fired - 1;
}

// Firings of `kind` that no timer due explains (a step beyond the level reached).
void Extra(Holdings& h, const std::string& kind, int64_t n) {
  if (n <= 0) return;
  h.timer_kinds[kind].twice += n;
  h.timers_twice += n;
}

// Counts each durable timer of the timers' estate that fell due: once, twice or more (the
// extra firings), never. A consultation's overdue event (one per ticket); an emergency
// order's SLA warning and breach, and each escalation level it reached (one step each).
void CountTimers(Holdings& h, const std::map<std::string, int>& overdue_by_ticket,
                 const std::vector<std::string>& consultation_ids,
                 const std::vector<dsp::WorkOrder>& orders) {
  for (const std::string& id : consultation_ids) {
    auto it = overdue_by_ticket.find(id);
    TallyTimer(h, "consultation_overdue", it == overdue_by_ticket.end() ? 0 : it->second);
  }
  for (const dsp::WorkOrder& o : orders) {
    int warned = 0, breached = 0;
    std::map<int, int> escalated;  // level → steps
    for (const dsp::Step& step : o.history()) {
      if (step.what() == "sla_warning") ++warned;
      if (step.what() == "sla_breached") ++breached;
      if (step.what() == "escalated") ++escalated[step.escalation_level()];
    }
    if (warned == 0 && breached > 0) {
      ++h.warnings_skipped;  // the breach was due first: the warning is not
    } else if (o.sla_warned() || warned > 0) {
      TallyTimer(h, "sla_warning", warned);
    }
    if (o.sla_breached() || breached > 0) TallyTimer(h, "sla_breach", breached);
    for (int level = 1; level <= o.escalation_level(); ++level) {
      TallyTimer(h, "order_escalation", escalated[level]);
    }
    for (const auto& [level, n] : escalated) {
      if (level < 1 || level > o.escalation_level()) Extra(h, "order_escalation", n);
    }
    h.emergencies_settled += o.sla_breached() && o.escalation_level() >= 1;
  }
}

// Dispatch's retry of waiting orders: each lock repair WAITING until the locksmith came on
// shift is assigned once after (one "assigned" step), or never if the locksmith never came.
// Its escalation while it waited is a durable timer too (level 1 at once: CountTimers).
void CountRetries(Holdings& h, const std::vector<dsp::WorkOrder>& orders, bool locksmith) {
  std::set<std::string> tickets;
  for (const dsp::WorkOrder& o : orders) {
    tickets.insert(o.ticket_id());
    int assigned = 0;
    for (const dsp::Step& step : o.history()) assigned += step.what() == "assigned";
    h.waiting_assigned += assigned > 0;
    if (!locksmith) continue;
    TallyTimer(h, "waiting_retry", assigned);
    for (int level = 1; level <= o.escalation_level(); ++level) {
      int steps = 0;
      for (const dsp::Step& step : o.history()) {
        steps += step.what() == "escalated" && step.escalation_level() == level;
      }
      TallyTimer(h, "order_escalation", steps);
    }
  }
  h.waiting = static_cast<int64_t>(orders.size());
  h.waiting_distinct = static_cast<int64_t>(tickets.size());
}

std::string DbUrl(const std::string& admin, const std::string& db) {
  size_t slash = admin.rfind('/');
  size_t query = admin.find('?', slash);
  return admin.substr(0, slash + 1) + db + (query == std::string::npos ? "" : admin.substr(query));
}

template <class... Args>
int64_t One(const std::string& url, const std::string& sql, const Args&... args) {
  pqxx::connection conn(url);
  pqxx::nontransaction tx(conn);
  const pqxx::row row = tx.exec_params1(sql, args...);
  return row[0].as<int64_t>(0);
}

// A local date of an estate's zone as PostgreSQL computes it, `ago` before now.
#define CHAOS_LOCAL_DAY(ago) \
  "((now() - interval '" ago "') AT TIME ZONE COALESCE(NULLIF(e.time_zone, ''), 'Asia/Shanghai'))::date"

absl::CivilDay DayOfText(const std::string& text) {
  absl::CivilDay day;
  absl::ParseCivilTime(text, &day);
  return day;
}

// The events of `types` in a service's outbox (kept a day) of the run's group.
std::vector<ev::Event> OutboxEvents(pqxx::nontransaction& tx, const std::string& group,
                                    const std::string& types) {
  std::vector<ev::Event> out;
  for (const auto& row :
       tx.exec(absl::StrCat("SELECT envelope FROM wuye_outbox WHERE type IN (", types, ")"))) {
    ev::Event e;
    if (!e.ParseFromString(wuye::sql::Bytes(row[0])) || e.group_id() != group) continue;
    out.push_back(std::move(e));
  }
  return out;
}

// Intake's deadline timers of the group: each 12345 order's reply due soon and overdue, each
// complaint's written reply due soon and overdue (RunTimerFlow), counted from intake's
// outbox (the events, kept a day) and the tickets' rows (the times, and whether each was
// published). A timer fell due when its event was published, or its time passed 90 s ago
// (intake looks every minute) with the answer still owed. A warning marked published
// without its event was looked at only after its deadline: not due (the overdue says it).
void CountIntakeDeadlines(Holdings& h, pqxx::nontransaction& tx, const std::string& group) {
  struct Timer {
    const char* kind;
    const char* event;
    const char* at;         // its time on the ticket's row
    const char* published;  // marked when it was looked at
    const char* owed;       // a ticket of the timer whose answer is still owed
    bool warning;
  };
  static constexpr Timer kTimers[] = {
      {"hotline_due_soon", "intake.hotline.due_soon", "hotline_warn_at",
       "hotline_due_soon_published", "hotline_order IS NOT NULL AND hotline_replied_at IS NULL",
       true},
      {"hotline_overdue", "intake.hotline.overdue", "external_due_at", "hotline_overdue_published",
       "hotline_order IS NOT NULL AND hotline_replied_at IS NULL", false},
      {"complaint_reply_due_soon", "intake.complaint.reply_due_soon", "reply_warn_at",
       "reply_due_soon_published", "reply_due_at IS NOT NULL AND reply_given_at IS NULL", true},
      {"complaint_reply_overdue", "intake.complaint.reply_overdue", "reply_due_at",
       "reply_overdue_published", "reply_due_at IS NOT NULL AND reply_given_at IS NULL", false},
  };
  std::map<std::pair<std::string, std::string>, int> fired;  // (event, ticket) → events
  for (const ev::Event& e :
       OutboxEvents(tx, group,
                    "'intake.hotline.due_soon', 'intake.hotline.overdue', "
                    "'intake.complaint.reply_due_soon', 'intake.complaint.reply_overdue'")) {
    ++fired[{e.type(), e.subject()}];
  }
  for (const Timer& timer : kTimers) {
    for (const auto& row : tx.exec_params(
             absl::StrCat("SELECT id::text, ", timer.published,
                          " FROM tickets WHERE group_id = $1 AND (", timer.published, " OR (",
                          timer.owed, " AND ", timer.at, " <= now() - interval '90 seconds'))"),
             group)) {
      auto it = fired.find({timer.event, row[0].as<std::string>()});
      const int n = it == fired.end() ? 0 : it->second;
      if (it != fired.end()) fired.erase(it);
      if (timer.warning && n == 0 && row[1].as<bool>()) {
        ++h.timer_kinds[timer.kind].skipped;
        ++h.warnings_skipped;
        continue;
      }
      TallyTimer(h, timer.kind, n);
    }
  }
  // An event of a ticket none of whose timers fell due: fired beside the one owed.
  for (const Timer& timer : kTimers) {
    for (const auto& [key, n] : fired) {
      if (key.first == timer.event) Extra(h, timer.kind, n);
    }
  }
}

// The timers beside the flows' own: eldercare's settlement of care days, the counter's
// patrol check, billing's collection close, duty's handover and daily-log timers, its desk
// gap and its notifier. Each is counted from what the service published or recorded, like
// CountTimers: once, twice or more, never.
void CountLaterTimers(Holdings& h, const std::string& admin, const Suite& s) {
  const std::string& group = s.group_id;
  if (s.eldercare) {
    // Per elder and kind of care: the days due (ended six minutes ago in the estate's zone,
    // past one look of the settlement, which looks every five; or charged already), those
    // charged, and the days the charges of that kind count (a day charged twice counts
    // twice there).
    pqxx::connection conn(DbUrl(admin, "wuye_eldercare"));
    pqxx::nontransaction tx(conn);
    std::map<std::pair<std::string, int>, int64_t> charged_days;
    for (const auto& row : tx.exec_params(
             "SELECT elder_id::text, kind, sum(quantity)::bigint FROM charges WHERE group_id = $1 "
             "AND kind IN ($2, $3) GROUP BY 1, 2",
             group, static_cast<int>(ev::ELDER_FEE_KIND_SICKBED_DAYS),
             static_cast<int>(ev::ELDER_FEE_KIND_HOSPICE_DAYS))) {
      const int care_kind = row[1].as<int>() == ev::ELDER_FEE_KIND_SICKBED_DAYS
                                ? eld::CARE_KIND_SICKBED
                                : eld::CARE_KIND_HOSPICE;
      charged_days[{row[0].as<std::string>(), care_kind}] = row[2].as<int64_t>();
    }
    for (const auto& row : tx.exec_params(
             "SELECT d.elder_id::text, d.kind, count(*) FILTER (WHERE d.charge_id IS NOT NULL OR "
             "d.day < " CHAOS_LOCAL_DAY("6 minutes") "), count(d.charge_id) FROM care_days d "
             "LEFT JOIN dir_estates e ON e.id = d.estate_id WHERE d.group_id = $1 GROUP BY 1, 2",
             group)) {
      const int64_t due = row[2].as<int64_t>(), charged = row[3].as<int64_t>();
      for (int64_t k = 0; k < due; ++k) TallyTimer(h, "settlement", k < charged ? 1 : 0);
      Extra(h, "settlement",
            std::max<int64_t>(0, charged_days[{row[0].as<std::string>(), row[1].as<int>()}] -
                                     charged));
    }
  }
  if (s.counter && !s.renovation_id.empty()) {
    // The renovation's days from its start (its first day to check, approved that day)
    // that ended six minutes ago in the estate's zone (the check looks every five), or
    // that were found missed already: one counter.renovation.patrol_missed each.
    pqxx::connection conn(DbUrl(admin, "wuye_counter"));
    pqxx::nontransaction tx(conn);
    std::map<int64_t, int> missed;  // yyyymmdd → events
    for (const ev::Event& e : OutboxEvents(tx, group, "'counter.renovation.patrol_missed'")) {
      if (e.subject() == s.renovation_id) ++missed[e.subject_version()];
    }
    auto rows = tx.exec_params(
        "SELECT r.start_date::text, r.end_date::text, " CHAOS_LOCAL_DAY("6 minutes") "::text, "
        CHAOS_LOCAL_DAY("0 seconds") "::text FROM renovations r LEFT JOIN dir_estates e ON "
        "e.id = r.estate_id WHERE r.id = $1",
        s.renovation_id);
    if (!rows.empty()) {
      const absl::CivilDay start = DayOfText(rows[0][0].as<std::string>()),
                           end = DayOfText(rows[0][1].as<std::string>()),
                           settled = DayOfText(rows[0][2].as<std::string>()),
                           today = DayOfText(rows[0][3].as<std::string>());
      for (absl::CivilDay day = start; day <= end && day < today; ++day) {
        const int64_t number = day.year() * 10000 + day.month() * 100 + day.day();
        auto it = missed.find(number);
        const int fired = it == missed.end() ? 0 : it->second;
        if (day < settled || fired > 0) TallyTimer(h, "patrol_check", fired);
        if (it != missed.end()) missed.erase(it);
      }
      for (const auto& [day, n] : missed) Extra(h, "patrol_check", n);  // a day not ended
    }
  }
  {
    // Each month of the group past its close (its due day + the grace; the closer looks
    // every 5 s) or fixed: one final billing.collection.reported.
    pqxx::connection conn(DbUrl(admin, "wuye_billing"));
    pqxx::nontransaction tx(conn);
    std::map<std::string, int> finals;  // "<estate>/<yyyy-mm>" → final events
    for (const ev::Event& e : OutboxEvents(tx, group, "'billing.collection.reported'")) {
      ev::CollectionReported report;
      if (e.payload().UnpackTo(&report) && report.final()) ++finals[e.subject()];
    }
    for (const auto& row : tx.exec_params(
             "SELECT r.estate_id::text || '/' || to_char(r.period, 'YYYY-MM') FROM "
             "collection_reports r LEFT JOIN billing_settings s ON s.group_id = r.group_id WHERE "
             "r.group_id = $1 AND (r.final OR r.due_at + COALESCE(s.grace_days, 0) * interval "
             "'24 hours' <= now() - interval '15 seconds')",
             group)) {
      TallyTimer(h, "collection_close", finals[row[0].as<std::string>()]);
    }
  }
  if (s.duty && !s.timer_estate_id.empty()) {
    // What the gateway received, first: each delivery's notification and task change were
    // committed before it was sent, so the reads below see them.
    std::map<std::string, int> deliveries;
    if (s.receiver != nullptr) deliveries = s.receiver->Deliveries();
    pqxx::connection conn(DbUrl(admin, "wuye_duty"));
    pqxx::nontransaction tx(conn);
    std::map<std::string, int> handovers, logs;  // subject → missing events
    std::set<std::pair<std::string, int64_t>> changes;  // tasks raised or escalated, version
    for (const ev::Event& e :
         OutboxEvents(tx, group,
                      "'duty.handover.missing', 'duty.daily_log.missing', 'duty.task.raised', "
                      "'duty.task.escalated'")) {
      if (e.type() == "duty.handover.missing") {
        ++handovers[e.subject()];
      } else if (e.type() == "duty.daily_log.missing") {
        ++logs[e.subject()];
      } else {
        changes.insert({e.subject(), e.subject_version()});
      }
    }
    // The handover and log timers that fell due (the job looks every 10 s) or fired. A
    // handover is owed by the run's agents and team lead (the plumbers' roles owe none:
    // their timers fire without an event); a day's log by whoever was on duty that day.
    for (const auto& row : tx.exec_params(
             "SELECT kind, key, staff_id::text FROM duty_timers WHERE group_id = $1 AND "
             "(fired_at IS NOT NULL OR due_at <= now() - interval '20 seconds')",
             group)) {
      const std::string key = row[1].as<std::string>();
      if (row[0].as<int>() == 1) {
        if (s.handover_staff.count(row[2].as<std::string>())) {
          TallyTimer(h, "handover", handovers[key]);
        }
      } else {
        TallyTimer(h, "daily_log", logs[key]);
      }
    }
    // Each desk of the group open around the clock, where no agent ever checked in: one
    // desk-gap task (kind 14).
    for (const auto& row : tx.exec_params(
             "SELECT (SELECT count(*) FROM tasks t WHERE t.group_id = e.group_id AND t.kind = $2 "
             "AND t.subject_ref = 'desk/' || e.id::text) FROM dir_estates e WHERE e.group_id = $1 "
             "AND e.desk_24h",
             group, static_cast<int>(ev::TASK_KIND_DESK_GAP))) {
      TallyTimer(h, "desk_gap", row[0].as<int64_t>());
    }
    // Each task raised or escalated: its notification received by the gateway, once
    // (a repeat with the same Idempotency-Key, after a replica died between the send and
    // its mark, is dropped by the gateway: counted apart as resent).
    if (s.receiver != nullptr) {
      std::map<std::pair<std::string, int64_t>, std::string> rows;
      for (const auto& row : tx.exec_params(
               "SELECT task_id::text, task_version, id::text FROM notifications WHERE group_id = "
               "$1",
               group)) {
        rows[{row[0].as<std::string>(), row[1].as<int64_t>()}] = row[2].as<std::string>();
      }
      for (const auto& change : changes) {
        auto row = rows.find(change);
        auto got = row == rows.end() ? deliveries.end() : deliveries.find(row->second);
        TallyTimer(h, "notifier", got == deliveries.end() ? 0 : 1);
        if (got != deliveries.end()) {
          h.notifications_resent += got->second - 1;
          deliveries.erase(got);
        }
      }
      // A delivery of no task change of the group: sent beside the one owed.
      for (const auto& [key, n] : deliveries) Extra(h, "notifier", n);
    }
  }
}

absl::StatusOr<Holdings> Read(const std::string& admin, const Suite& s) {
  const std::string& group = s.group_id;
  Holdings h;
  try {
    const std::string intake = DbUrl(admin, "wuye_intake"),
                      dispatch = DbUrl(admin, "wuye_dispatch"),
                      billing = DbUrl(admin, "wuye_billing"),
                      performance = DbUrl(admin, "wuye_performance");
    // The flows' estate (the timers' has tickets and orders of its own).
    h.tickets = One(intake, "SELECT count(*) FROM tickets WHERE group_id = $1 AND estate_id = $2",
                    group, s.estate_id);
    // resolved, callback due, closed (events/v1 TicketState 5, 6, 7)
    h.tickets_resolved = One(intake,
                             "SELECT count(*) FROM tickets WHERE group_id = $1 AND estate_id = $2 "
                             "AND state IN (5, 6, 7)",
                             group, s.estate_id);
    // Orders made of tickets (origin 2); dispatch also raises preventive inspections (origin
    // 4) after the third repair of a unit within 90 days, which the flows trigger too.
    h.orders = One(dispatch,
                   "SELECT count(*) FROM work_orders WHERE group_id = $1 AND estate_id = $2 AND "
                   "origin = 2",
                   group, s.estate_id);
    h.preventive =
        One(dispatch, "SELECT count(*) FROM work_orders WHERE group_id = $1 AND origin = 4", group);
    h.orders_distinct = One(dispatch,
                            "SELECT count(DISTINCT origin_ref) FROM work_orders WHERE group_id = "
                            "$1 AND estate_id = $2 AND origin = 2",
                            group, s.estate_id);
    h.orders_completed = One(
        dispatch,
        "SELECT count(*) FROM work_orders WHERE group_id = $1 AND origin = 2 AND state = 8", group);
    h.charges =
        One(billing,
            "SELECT count(*) FROM bills WHERE group_id = $1 AND source LIKE 'work_order:%'", group);
    h.charges_distinct = One(billing,
                             "SELECT count(DISTINCT source) FROM bills WHERE group_id = $1 AND "
                             "source LIKE 'work_order:%'",
                             group);
    h.payments = One(billing, "SELECT count(*) FROM payments WHERE group_id = $1", group);
    h.payments_distinct = One(
        billing, "SELECT count(DISTINCT external_txn_no) FROM payments WHERE group_id = $1", group);
    h.ledger_sum =
        One(billing, "SELECT COALESCE(sum(amount_fen), 0) FROM ledger_entries WHERE group_id = $1",
            group);
    h.unsigned_lines =
        One(performance,
            "SELECT count(*) FROM lines WHERE group_id = $1 AND rule = 'work_unsigned'", group);

    const std::string directory = DbUrl(admin, "wuye_directory");
    h.residents = One(directory, "SELECT count(*) FROM residents WHERE group_id = $1", group);
    if (s.eldercare) {
      const std::string eldercare = DbUrl(admin, "wuye_eldercare");
      h.elders = One(eldercare, "SELECT count(*) FROM elders WHERE group_id = $1", group);
      h.visits = One(eldercare, "SELECT count(*) FROM visits WHERE group_id = $1", group);
      h.care_days = One(eldercare, "SELECT count(*) FROM care_days WHERE group_id = $1", group);
      h.elder_charges = One(
          eldercare, "SELECT count(*) FROM charges WHERE group_id = $1 AND amount_fen > 0", group);
      h.elder_bills = One(
          billing, "SELECT count(*) FROM bills WHERE group_id = $1 AND source LIKE 'eldercare:%'",
          group);
      h.elder_bills_distinct = One(billing,
                                   "SELECT count(DISTINCT source) FROM bills WHERE group_id = $1 "
                                   "AND source LIKE 'eldercare:%'",
                                   group);
      // The clinic's management fee of a settlement is owed by the clinic, not a unit:
      // billing posts it to the ledger (one transaction a charge, its ref unique), no bill.
      const int64_t clinic_fees = One(billing,
                                      "SELECT count(*) FROM ledger_txns WHERE group_id = $1 AND "
                                      "kind = 'eldercare_clinic_fee'",
                                      group);
      h.elder_bills += clinic_fees;
      h.elder_bills_distinct += clinic_fees;
    }
    if (!s.timer_estate_id.empty()) {
      std::vector<std::string> consultations;
      std::map<std::string, int> overdue;
      std::vector<dsp::WorkOrder> orders, waiting;
      {
        pqxx::connection conn(intake);
        pqxx::nontransaction tx(conn);
        for (const auto& row :
             tx.exec_params("SELECT id::text FROM tickets WHERE group_id = $1 AND estate_id = $2 "
                            "AND kind = 1",
                            group, s.timer_estate_id)) {
          consultations.push_back(row[0].as<std::string>());
        }
        auto made = tx.exec_params1(
            "SELECT count(*) FILTER (WHERE hotline_order IS NOT NULL), count(*) FILTER (WHERE "
            "reply_due_at IS NOT NULL) FROM tickets WHERE group_id = $1 AND estate_id = $2",
            group, s.timer_estate_id);
        h.hotline_orders = made[0].as<int64_t>();
        h.complaints = made[1].as<int64_t>();
        CountIntakeDeadlines(h, tx, group);
        // Each overdue consultation's event, as intake's outbox holds it (kept a day).
        for (const auto& row : tx.exec(
                 "SELECT envelope FROM wuye_outbox WHERE type = 'intake.consultation.overdue'")) {
          ev::Event e;
          if (!e.ParseFromString(wuye::sql::Bytes(row[0]))) continue;
          if (e.group_id() != group) continue;
          ++overdue[e.subject()];
          ++h.overdue_events;
        }
      }
      {
        pqxx::connection conn(dispatch);
        pqxx::nontransaction tx(conn);
        for (const auto& row :
             tx.exec_params("SELECT data FROM work_orders WHERE group_id = $1 AND estate_id = $2",
                            group, s.timer_estate_id)) {
          dsp::WorkOrder o;
          if (!o.ParseFromString(wuye::sql::Bytes(row[0]))) continue;
          if (o.category() == common::WORK_CATEGORY_LOCKSMITH) {
            waiting.push_back(std::move(o));
          } else {
            orders.push_back(std::move(o));
          }
        }
      }
      h.consultations = static_cast<int64_t>(consultations.size());
      h.overdue_subjects = static_cast<int64_t>(overdue.size());
      h.emergencies = static_cast<int64_t>(orders.size());
      std::set<std::string> refs;
      for (const auto& o : orders) refs.insert(o.ticket_id());
      h.emergencies_distinct = static_cast<int64_t>(refs.size());
      CountTimers(h, overdue, consultations, orders);
      CountRetries(h, waiting, s.locksmith_on_shift);
    }
    if (!s.billing_run_id.empty()) {
      pqxx::connection conn(billing);
      pqxx::nontransaction tx(conn);
      auto run = tx.exec_params(
          "SELECT state, units_total, period, estate_id FROM billing_runs WHERE id = $1",
          s.billing_run_id);
      if (!run.empty()) {
        h.run_state = run[0][0].as<int64_t>();
        h.run_units = run[0][1].as<int64_t>();
        auto bills = tx.exec_params1(
            "SELECT count(*), count(DISTINCT unit_id) FROM bills WHERE group_id = $1 AND "
            "estate_id = $2 AND kind = 1 AND period = $3",
            group, run[0][3].as<std::string>(), run[0][2].as<std::string>());
        h.run_bills = bills[0].as<int64_t>();
        h.run_bills_distinct = bills[1].as<int64_t>();
      }
      // One durable job: done once, one bill per unit it counted.
      Holdings::Tally& t = h.timer_kinds["billing_run"];
      ++t.due, ++h.timers_due;
      if (h.run_state == 3 && h.run_bills_distinct == h.run_units) ++t.once, ++h.timers_once;
      if (h.run_state != 3) ++t.missing, ++h.timers_missing;
      Extra(h, "billing_run", h.run_bills - h.run_bills_distinct);
    }
    if (!s.timer_estate_id.empty() && s.duty) {
      // Each task's escalations: one duty.task.escalated per level it climbed.
      pqxx::connection conn(DbUrl(admin, "wuye_duty"));
      pqxx::nontransaction tx(conn);
      // Each task's level when raised (a role nobody holds on duty is skipped at once:
      // not an escalation of the timer's), and its escalations since.
      std::map<std::string, int> escalated, raised_level;
      for (const auto& row :
           tx.exec("SELECT type, envelope FROM wuye_outbox WHERE type IN ('duty.task.raised', "
                   "'duty.task.escalated')")) {
        ev::Event e;
        if (!e.ParseFromString(wuye::sql::Bytes(row[1])) || e.group_id() != group) continue;
        if (row[0].as<std::string>() == "duty.task.raised") {
          ev::TaskChanged raised;
          if (e.payload().UnpackTo(&raised)) raised_level[e.subject()] = raised.level();
        } else {
          ++escalated[e.subject()];
          ++h.duty_escalations;
        }
      }
      for (const auto& row : tx.exec_params(
               "SELECT id::text, level, first_role, (state IN (1, 2) AND level < 3 AND "
               "ack_due_at < now() - interval '10 seconds') FROM tasks WHERE group_id = $1 AND "
               "estate_id = $2 AND kind = $3",
               group, s.timer_estate_id, static_cast<int>(ev::TASK_KIND_CONSULTATION_OVERDUE))) {
        ++h.duty_tasks;
        const std::string id = row[0].as<std::string>();
        const auto raised = raised_level.find(id);
        const int climbed =
            row[1].as<int>() -
            (raised == raised_level.end() ? LevelOfRole(row[2].as<int>()) : raised->second);
        const int fired = escalated[id];
        // Each level climbed a timer, each escalation event one firing.
        for (int k = 0; k < climbed; ++k) TallyTimer(h, "duty_escalation", k < fired ? 1 : 0);
        Extra(h, "duty_escalation", std::max(0, fired - climbed));
        h.duty_late += row[3].as<bool>();  // due 10 s ago and not escalated: not yet settled
      }
    }
    CountLaterTimers(h, admin, s);

  } catch (const std::exception& e) {
    return absl::UnavailableError(e.what());
  }
  return h;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("wuye-chaos: flows across the suite under faults, then a check");
  absl::ParseCommandLine(argc, argv);
  const std::string pg = absl::GetFlag(FLAGS_pg_url);
  if (pg.empty()) Die("--pg_url is required (the checks read the services' databases)");
  std::string run = absl::GetFlag(FLAGS_run);
  if (run.empty()) run = absl::FormatTime("%Y%m%d%H%M%S", absl::Now(), absl::UTCTimeZone());
  const absl::Duration budget = absl::GetFlag(FLAGS_step_budget);
  const int flows = absl::GetFlag(FLAGS_flows);

  // One channel per service over all its replicas: "ipv4:" with their addresses, round
  // robin (a replica that is down is skipped until it answers again).
  auto channel = [](const std::string& addresses) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    args.SetLoadBalancingPolicyName("round_robin");
    // One address (perhaps a name) as it is; a list of host:port as IPv4 addresses.
    const bool as_is = !absl::StrContains(addresses, ',') || absl::StrContains(addresses, ":///") ||
                       absl::StartsWith(addresses, "ipv");
    return grpc::CreateCustomChannel(as_is ? addresses : "ipv4:" + addresses,
                                     grpc::InsecureChannelCredentials(), args);
  };
  Suite s;
  s.directory = dir::DirectoryService::NewStub(channel(absl::GetFlag(FLAGS_directory)));
  s.intake = itk::IntakeService::NewStub(channel(absl::GetFlag(FLAGS_intake)));
  s.dispatch = dsp::DispatchService::NewStub(channel(absl::GetFlag(FLAGS_dispatch)));
  s.billing = bil::BillingService::NewStub(channel(absl::GetFlag(FLAGS_billing)));
  if (std::string e = absl::GetFlag(FLAGS_eldercare); !e.empty()) {
    s.eldercare = eld::ElderCareService::NewStub(channel(e));
  }
  if (std::string d = absl::GetFlag(FLAGS_duty); !d.empty()) {
    s.duty = dty::DutyService::NewStub(channel(d));
  }
  if (std::string c = absl::GetFlag(FLAGS_counter); !c.empty()) {
    s.counter = ctr::CounterService::NewStub(channel(c));
  }
  std::unique_ptr<GatewayReceiver> receiver;
  if (s.duty && absl::GetFlag(FLAGS_notify)) {
    receiver = std::make_unique<GatewayReceiver>();
    if (receiver->ok()) {
      s.receiver = receiver.get();
    } else {
      Say("the local gateway did not start: duty's notifications are not counted");
    }
  }
  const bool slow = absl::GetFlag(FLAGS_slow_timers);
  Setup(s, ReadSecret(absl::GetFlag(FLAGS_jwt_secret_file)), run, budget);
  // The handover timers of the agents' shifts run from now.
  if (slow && s.past_shifts > 0) s.slow_armed_at = absl::Now();
  std::vector<SideResult> calendar_results(1);
  if (slow && !s.timer_estate_id.empty() && (s.eldercare || s.counter)) {
    calendar_results[0] = SetupCalendar(s, run, budget);
  }
  Say(absl::StrCat("group ", s.group_id, ", ", s.units.size(), " units; driving ", flows,
                   " flows, ", absl::GetFlag(FLAGS_concurrency), " at a time"));

  std::vector<FlowResult> results(flows);
  std::vector<SideResult> elder_results(flows), timer_results(flows);
  const int elder_every = s.eldercare ? absl::GetFlag(FLAGS_elder_every) : 0;
  const int timer_every = s.timer_estate_id.empty() ? 0 : absl::GetFlag(FLAGS_timer_every);
  std::string billing_run_id, billing_run_failure;  // written by the one flow that starts it
  std::string previous_run_id;                       // last month's, likewise
  std::string locksmith_failure;                     // likewise, the locksmith's shift
  std::atomic<int> next{0}, finished{0};
  const absl::Time start = absl::Now();
  std::vector<std::thread> workers;
  for (int w = 0; w < absl::GetFlag(FLAGS_concurrency); ++w) {
    workers.emplace_back([&] {
      for (int i; (i = next.fetch_add(1)) < flows;) {
        // The timers in the first half only: they fall due (a minute) before the drain ends.
        if (timer_every > 0 && i % timer_every == 0 && i < flows / 2) {
          timer_results[i] = RunTimerFlow(s, run, i, budget);
        }
        if (timer_every > 0 && i == flows / 2) {
          // The billing run of the timers' estate, this month in the estate's zone.
          const absl::CivilMonth month(absl::ToCivilDay(absl::Now(), wuye::EstateZone(kZone)));
          bil::StartBillingRunRequest req;
          req.set_request_id("chaos-billing-run-" + run);
          req.set_estate_id(s.timer_estate_id);
          req.mutable_period()->set_year(static_cast<int32_t>(month.year()));
          req.mutable_period()->set_month(month.month());
          bil::BillingRun made;
          grpc::Status st = Call(
              s.clerk, [&](auto* c) { return s.billing->StartBillingRun(c, req, &made); }, budget);
          if (st.ok()) {
            billing_run_id = made.id();
          } else {
            billing_run_failure =
                absl::StrCat("StartBillingRun: ", st.error_code(), " ", st.error_message());
          }
          // And last month's: its bills fell due on the 15th, so its collection is past its
          // close as soon as the run opens it (billing's collection close, a durable timer).
          const absl::CivilMonth last = month - 1;
          req.set_request_id("chaos-billing-run-last-month-" + run);
          req.mutable_period()->set_year(static_cast<int32_t>(last.year()));
          req.mutable_period()->set_month(last.month());
          st = Call(
              s.clerk, [&](auto* c) { return s.billing->StartBillingRun(c, req, &made); }, budget);
          if (st.ok()) {
            previous_run_id = made.id();
          } else if (billing_run_failure.empty()) {
            billing_run_failure = absl::StrCat("StartBillingRun (last month): ", st.error_code(),
                                               " ", st.error_message());
          }
          locksmith_failure = PutLocksmithOnShift(s, run, budget);
        }
        if (elder_every > 0 && i % elder_every == elder_every / 2) {
          elder_results[i] = RunElderFlow(s, run, i, budget);
        }
        results[i] = RunFlow(s, run, i, budget);
        int done = finished.fetch_add(1) + 1;
        if (done % std::max(1, flows / 10) == 0) Say(absl::StrCat(done, "/", flows, " flows"));
      }
    });
  }
  for (auto& t : workers) t.join();
  const double flow_seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (std::string f = absl::GetFlag(FLAGS_flows_done_file); !f.empty())
    std::ofstream(f) << "done\n";

  // What the services must hold: exactly what the flows were answered.
  int64_t accepted = 0, ordered = 0, completed = 0, unsigned_done = 0, charged = 0, paid = 0;
  std::map<std::string, std::pair<int, std::string>> failures;  // step → count, first error
  for (const FlowResult& r : results) {
    accepted += r.reached >= Reached::kTicket;
    ordered += r.reached >= Reached::kOrder;
    completed += r.reached >= Reached::kCompleted;
    unsigned_done += r.reached >= Reached::kCompleted && r.unsigned_completion;
    charged += r.reached >= Reached::kCharged;
    paid += r.reached >= Reached::kPaid;
    if (r.failed_step.empty()) continue;
    auto& [n, first] = failures[r.failed_step.substr(0, r.failed_step.find(':'))];
    if (n++ == 0) first = r.failed_step;
  }
  int64_t elder_residents = 0, enrolled = 0, visited = 0, care_days = 0;
  int64_t consultations = 0, emergencies = 0, waiting = 0, hotlines = 0, complaints = 0;
  absl::Time intake_due = absl::InfinitePast();  // the last of intake's deadline timers
  for (const auto* side : {&elder_results, &timer_results, &calendar_results}) {
    for (const SideResult& r : *side) {
      elder_residents += r.resident;
      enrolled += r.enrolled;
      visited += r.visited;
      care_days += r.care_day;
      consultations += r.consultation;
      emergencies += r.emergency;
      waiting += r.waiting;
      hotlines += r.hotline;
      complaints += r.complaint;
      intake_due = std::max(intake_due, r.intake_due);
      if (r.failed_step.empty()) continue;
      auto& [n, first] = failures[r.failed_step.substr(0, r.failed_step.find(':'))];
      if (n++ == 0) first = r.failed_step;
    }
  }
  const int64_t residents = static_cast<int64_t>(s.residents.size()) + elder_residents;
  s.billing_run_id = billing_run_id;
  s.previous_run_id = previous_run_id;
  if (!billing_run_failure.empty()) failures["StartBillingRun"] = {1, billing_run_failure};
  s.locksmith_on_shift = timer_every > 0 && locksmith_failure.empty();
  if (!locksmith_failure.empty()) failures["PutLocksmithOnShift"] = {1, locksmith_failure};
  for (const auto& [step, f] : failures) {
    Say(absl::StrCat(f.first, " flows stopped at ", step, " (first: ", f.second, ")"));
  }

  // Drain: after the faults stop, until the services hold what they must.
  if (std::string f = absl::GetFlag(FLAGS_faults_done_file); !f.empty()) {
    Say("waiting for the fault script to stop");
    while (!std::filesystem::exists(f)) absl::SleepFor(absl::Milliseconds(200));
  }
  const absl::Time drain_start = absl::Now();
  // What the run armed of the later timers (CountLaterTimers): how many must have fallen due.
  std::map<std::string, int64_t> later_expected;
  later_expected["collection_close"] = s.previous_run_id.empty() ? 0 : 1;
  if (s.duty && !s.timer_estate_id.empty()) {
    later_expected["daily_log"] = s.past_shifts;
    later_expected["handover"] = slow ? s.past_shifts : 0;
    later_expected["desk_gap"] = 2 + (s.calendar_estate_id.empty() ? 0 : 1);  // 24-hour desks
    if (s.receiver != nullptr) later_expected["notifier"] = 1;
  }
  if (s.eldercare) later_expected["settlement"] = calendar_results[0].care_day ? 1 : 0;
  if (s.counter) later_expected["patrol_check"] = s.renovation_id.empty() ? 0 : 1;
  // Intake's deadline timers: each order's and each complaint's warning (unless its deadline
  // came first) and overdue.
  later_expected["hotline_due_soon"] = later_expected["hotline_overdue"] = hotlines;
  later_expected["complaint_reply_due_soon"] = later_expected["complaint_reply_overdue"] =
      complaints;
  // The slow timers fall due five minutes after they were armed (a look every five minutes,
  // the least handover window): the drain waits that long, and a minute more.
  absl::Duration drain_timeout = absl::GetFlag(FLAGS_drain_timeout);
  if (slow && s.slow_armed_at != absl::InfinitePast()) {
    drain_timeout = std::max(drain_timeout, s.slow_armed_at + absl::Minutes(6) - drain_start);
  }
  // Intake's overdue timers fall due three minutes after they were armed, at the latest when
  // the flows' first half ends; the drain waits for the first look past each and a minute
  // more.
  if (intake_due != absl::InfinitePast()) {
    drain_timeout = std::max(drain_timeout, intake_due + absl::Minutes(2) - drain_start);
  }
  Holdings h;
  auto settled = [&] {
    auto read = Read(pg, s);
    if (!read.ok()) return false;
    h = *read;
    // The side flows' writes have arrived (eldercare's charges in billing too), and every
    // timer has fallen due and fired: each consultation published overdue, each emergency
    // breached and escalated.
    if (h.residents < residents || h.elders < enrolled || h.visits < visited ||
        h.care_days < care_days || h.elder_bills_distinct < h.elder_charges ||
        h.consultations < consultations || h.overdue_subjects < h.consultations ||
        h.hotline_orders < hotlines || h.complaints < complaints ||
        h.emergencies_distinct < emergencies || h.emergencies_settled < h.emergencies ||
        h.waiting_distinct < waiting || (s.locksmith_on_shift && h.waiting_assigned < h.waiting) ||
        (s.duty && (h.duty_tasks < h.consultations || h.duty_late > 0)) ||
        (!s.billing_run_id.empty() && h.run_state != 3)) {
      return false;
    }
    // The later timers: each fell due as many times as the run armed it, and none is owed.
    for (const auto& [kind, expected] : later_expected) {
      auto it = h.timer_kinds.find(kind);
      if (it == h.timer_kinds.end()
              ? expected > 0
              : it->second.due + it->second.skipped < expected || it->second.missing > 0) {
        return false;
      }
    }
    // Every accepted ticket has its order; orders the flows saw completed are completed and
    // charged; ledger balanced. (Orders beyond what the flows saw may still be in flight.)
    return h.tickets >= accepted && h.orders_distinct >= accepted &&
           h.orders_completed >= completed && h.charges_distinct >= completed &&
           h.tickets_resolved >= completed && h.unsigned_lines >= unsigned_done &&
           h.ledger_sum == 0;
  };
  bool drained = Await(settled, drain_timeout);
  const double drain_seconds = absl::ToDoubleSeconds(absl::Now() - drain_start);

  const int64_t lost =
      std::max<int64_t>(0, accepted - h.tickets) +
      std::max<int64_t>(0, accepted - h.orders_distinct) +
      std::max<int64_t>(0, completed - h.orders_completed) +
      std::max<int64_t>(0, completed - h.tickets_resolved) +
      std::max<int64_t>(0, completed - h.charges_distinct) +
      std::max<int64_t>(0, paid - h.payments_distinct) +
      std::max<int64_t>(0, unsigned_done - h.unsigned_lines) +
      std::max<int64_t>(0, residents - h.residents) + std::max<int64_t>(0, enrolled - h.elders) +
      std::max<int64_t>(0, visited - h.visits) + std::max<int64_t>(0, care_days - h.care_days) +
      std::max<int64_t>(0, h.elder_charges - h.elder_bills_distinct) +
      std::max<int64_t>(0, consultations - h.consultations) +
      std::max<int64_t>(0, emergencies - h.emergencies_distinct) +
      std::max<int64_t>(0, waiting - h.waiting_distinct) +
      std::max<int64_t>(0, hotlines - h.hotline_orders) +
      std::max<int64_t>(0, complaints - h.complaints) + h.timers_missing;
  const int64_t twice =
      (h.tickets - std::min(h.tickets, accepted)) + (h.orders - h.orders_distinct) +
      (h.charges - h.charges_distinct) + (h.payments - h.payments_distinct) +
      std::max<int64_t>(0, h.unsigned_lines - unsigned_done) +
      std::max<int64_t>(0, h.residents - residents) + std::max<int64_t>(0, h.elders - enrolled) +
      std::max<int64_t>(0, h.visits - visited) + std::max<int64_t>(0, h.care_days - care_days) +
      (h.elder_bills - h.elder_bills_distinct) +
      std::max<int64_t>(0, h.consultations - consultations) +
      (h.emergencies - h.emergencies_distinct) + (h.waiting - h.waiting_distinct) +
      std::max<int64_t>(0, h.hotline_orders - hotlines) +
      std::max<int64_t>(0, h.complaints - complaints) + h.timers_twice;
  std::printf("\nchaos: %d flows in %.1f s\n", flows, flow_seconds);
  std::printf("  %-34s %lld\n", "flows accepted (ticket created)",
              static_cast<long long>(accepted));
  std::printf("  %-34s %lld\n", "  driven to payment", static_cast<long long>(paid));
  std::printf("  %-34s %lld\n", "  completed without signature",
              static_cast<long long>(unsigned_done));
  std::printf("  %-34s %lld tickets, %lld resolved\n", "intake holds",
              static_cast<long long>(h.tickets), static_cast<long long>(h.tickets_resolved));
  std::printf("  %-34s %lld orders of tickets (%lld tickets), %lld completed; %lld preventive\n",
              "dispatch holds", static_cast<long long>(h.orders),
              static_cast<long long>(h.orders_distinct), static_cast<long long>(h.orders_completed),
              static_cast<long long>(h.preventive));
  std::printf("  %-34s %lld charges (%lld orders), %lld payments (%lld txns)\n", "billing holds",
              static_cast<long long>(h.charges), static_cast<long long>(h.charges_distinct),
              static_cast<long long>(h.payments), static_cast<long long>(h.payments_distinct));
  std::printf("  %-34s %lld unsigned-work lines\n", "performance holds",
              static_cast<long long>(h.unsigned_lines));
  std::printf("  %-34s %lld residents (%lld written by the flows)\n", "directory holds",
              static_cast<long long>(h.residents), static_cast<long long>(elder_residents));
  if (s.eldercare) {
    std::printf("  %-34s %lld elders (%lld enrolled), %lld visits, %lld care days\n",
                "eldercare holds", static_cast<long long>(h.elders),
                static_cast<long long>(enrolled), static_cast<long long>(h.visits),
                static_cast<long long>(h.care_days));
    std::printf("  %-34s %lld of eldercare's %lld charges (%lld bills or clinic fees)\n",
                "billing holds",
                static_cast<long long>(h.elder_bills_distinct),
                static_cast<long long>(h.elder_charges), static_cast<long long>(h.elder_bills));
  }
  if (!s.timer_estate_id.empty()) {
    std::printf("  %-34s %lld consultations (%lld overdue events), %lld emergency orders\n",
                "timers' estate holds", static_cast<long long>(h.consultations),
                static_cast<long long>(h.overdue_events), static_cast<long long>(h.emergencies));
    std::printf("  %-34s %lld waited for a locksmith, %lld assigned by the retry\n", "",
                static_cast<long long>(h.waiting), static_cast<long long>(h.waiting_assigned));
    std::printf("  %-34s %lld 12345 orders, %lld complaints (reply deadlines)\n", "",
                static_cast<long long>(h.hotline_orders), static_cast<long long>(h.complaints));
    if (!s.billing_run_id.empty()) {
      std::printf("  %-34s %s, %lld units, %lld monthly bills (%lld units)\n",
                  "billing run of the timers' estate", h.run_state == 3 ? "done" : "NOT done",
                  static_cast<long long>(h.run_units), static_cast<long long>(h.run_bills),
                  static_cast<long long>(h.run_bills_distinct));
    }
    if (s.duty) {
      std::printf("  %-34s %lld tasks of them, %lld escalations\n", "duty holds",
                  static_cast<long long>(h.duty_tasks), static_cast<long long>(h.duty_escalations));
    }
    std::printf("  %-34s %lld due, %lld fired once, %lld extra firings, %lld never fired%s\n",
                "durable timers", static_cast<long long>(h.timers_due),
                static_cast<long long>(h.timers_once), static_cast<long long>(h.timers_twice),
                static_cast<long long>(h.timers_missing),
                h.warnings_skipped > 0
                    ? absl::StrFormat(" (%d warnings not due: their deadline came first)",
                                      h.warnings_skipped)
                          .c_str()
                    : "");
  }
  if (!h.timer_kinds.empty()) {
    // Three kinds a line: "kind due/once/extra/never".
    std::string line;
    int n = 0;
    for (const auto& [kind, t] : h.timer_kinds) {
      if (n > 0) absl::StrAppend(&line, n % 3 == 0 ? absl::StrCat("\n", std::string(37, ' ')) : ", ");
      absl::StrAppend(&line, kind, " ", t.due, "/", t.once, "/", t.twice, "/", t.missing);
      ++n;
    }
    std::printf("  %-34s %s", "  by kind (due/once/extra/never)", line.c_str());
    std::printf("\n");
    if (s.receiver != nullptr) {
      std::printf("  %-34s %lld (dropped by the gateway: same Idempotency-Key)\n",
                  "  notifications sent again", static_cast<long long>(h.notifications_resent));
    }
  }
  std::printf("  %-34s %lld\n", "lost", static_cast<long long>(lost));
  std::printf("  %-34s %lld\n", "applied twice", static_cast<long long>(twice));
  std::printf("  %-34s %lld fen\n", "ledger imbalance", static_cast<long long>(h.ledger_sum));
  std::printf("  %-34s %.1f s%s\n", "backlog drained after the faults", drain_seconds,
              drained ? "" : " (NOT drained: timed out)");
  // One line a kind of timer, for the closing note.
  for (const auto& [kind, t] : h.timer_kinds) {
    std::printf("FIGURE chaos_timers kind=%s due=%lld once=%lld twice=%lld missing=%lld%s\n",
                kind.c_str(), static_cast<long long>(t.due), static_cast<long long>(t.once),
                static_cast<long long>(t.twice), static_cast<long long>(t.missing),
                kind == "notifier"
                    ? absl::StrCat(" resent=", h.notifications_resent).c_str()
                    : "");
  }
  std::fflush(stdout);
  if (std::string out = absl::GetFlag(FLAGS_json_out); !out.empty()) {
    // By kind: [due, once, twice, missing].
    std::string kinds;
    for (const auto& [kind, t] : h.timer_kinds) {
      absl::StrAppend(&kinds, kinds.empty() ? "" : ", ", "\"", kind, "\": [", t.due, ", ",
                      t.once, ", ", t.twice, ", ", t.missing, "]");
    }
    std::ofstream(out) << absl::StrFormat(
        "{\"flows\": %d, \"accepted\": %d, \"paid\": %d, \"unsigned\": %d, \"lost\": %d, "
        "\"twice\": %d, \"ledger_imbalance_fen\": %d, \"drain_s\": %.2f, \"drained\": %s, "
        "\"flow_s\": %.2f, \"elders\": %d, \"consultations\": %d, \"emergencies\": %d, "
        "\"timers_due\": %d, \"timers_once\": %d, \"timers_twice\": %d, "
        "\"timers_missing\": %d, \"notifications_resent\": %d, \"timer_kinds\": {%s}}\n",
        flows, accepted, paid, unsigned_done, lost, twice, h.ledger_sum, drain_seconds,
        drained ? "true" : "false", flow_seconds, enrolled, consultations, emergencies,
        h.timers_due, h.timers_once, h.timers_twice, h.timers_missing, h.notifications_resent,
        kinds);
  }
  // A flow that stopped is a failure too: the faults must delay the suite, not break it.
  return lost == 0 && twice == 0 && h.ledger_sum == 0 && drained && failures.empty() ? 0 : 1;
}
