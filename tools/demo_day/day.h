// The demo's day (tools/demo_day.h), split by step: what every step shares. One file per
// step of the day, in the order Day::Run (day.cc) takes them:
//
//   directory.cc   the morning's look-up of the demo group in the directory
//   billing.cc     the price list and fee schedules (first: dispatch quotes from them), the
//                  meter readings, the month's billing run, the payments
//   front_desk.cc  the day's tickets, the complaints and their callbacks, the carrier's call
//                  log, and the callbacks of finished work
//   eldercare.cc   enrolments, visits, a sick-bed day, an emergency
//   dispatch.cc    the work orders of the tickets, from acceptance to sign-off
//   scores.cc      what people saw, scored by hand
//   duty.cc        the duty desk: check-ins, the major complaint's tasks, handovers, logs
//   counter.cc     the counter: a hand-over with two defects, a renovation and its patrol's
//                  finding, a lost access card, a water cut and the calls it caused
//   reports.cc     the manager's figures at the end of the day, and their printing
//
// The day's data (estates' crews, tickets, elders, prices, score entries) is a DayScript
// (tools/demo_data/demo_day.proto) read from the text protos of tools/demo_data/, embedded in
// the binary at build time (script.cc).
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "demo_data/demo_day.pb.h"
#include "shared/auth.h"
#include "shared/status.h"
#include "tools/demo_day.h"
#include "tools/demo_day/script.h"
#include "wuye/billing/v1/billing.grpc.pb.h"
#include "wuye/counter/v1/counter.grpc.pb.h"
#include "wuye/directory/v1/directory.grpc.pb.h"
#include "wuye/dispatch/v1/dispatch.grpc.pb.h"
#include "wuye/duty/v1/duty.grpc.pb.h"
#include "wuye/eldercare/v1/eldercare.grpc.pb.h"
#include "wuye/intake/v1/intake.grpc.pb.h"
#include "wuye/performance/v1/performance.grpc.pb.h"

namespace wuye::demo {

namespace bpb = ::wuye::billing::v1;
namespace cpb = ::wuye::common::v1;
namespace ctpb = ::wuye::counter::v1;
namespace dirpb = ::wuye::directory::v1;
namespace dpb = ::wuye::dispatch::v1;
namespace epb = ::wuye::eldercare::v1;
namespace evpb = ::wuye::events::v1;
namespace ipb = ::wuye::intake::v1;
namespace ppb = ::wuye::performance::v1;

using TicketPlan = v1::TicketPlan;

inline constexpr char kTimeZone[] = "Asia/Shanghai";

uint64_t Hash(absl::string_view s);  // FNV-1a: stable across runs and machines
std::string Yuan(int64_t fen);
std::string Percent(int bp);
// "TICKET_STATE_CALLBACK_DUE" → "callback_due".
std::string EnumWord(const std::string& name, absl::string_view prefix);
cpb::Month MonthOf(absl::CivilDay day);
// A mainland ID number (GB 11643) of a birth date: region, date, sequence, check character.
std::string IdNumber(absl::string_view region, int y, int m, int d, int seq);

struct Estate {
  std::string key, id, name, time_zone;
  int households = 0;
  std::vector<dirpb::Unit> units;                // by id
  std::map<std::string, std::string> unit_keys;  // id → "building/number", stable across databases
  std::map<std::string, dirpb::Resident> residents;  // by name
};

class Day {
 public:
  Day(const DayTargets& t, const DayOptions& o) : t_(t), o_(o) {
    absl::LoadTimeZone(kTimeZone, &tz_);
    day_ = o.day == absl::CivilDay(1970, 1, 1) ? DefaultDemoDay() : o.day;
    day_text_ = absl::FormatCivilTime(day_);
    month_text_ = absl::StrFormat("%04d-%02d", day_.year(), day_.month());
    trace_ = absl::StrCat("wuye-demo-day-", day_text_);
  }

  absl::StatusOr<DaySummary> Run();

 private:
  // -- plumbing
  std::shared_ptr<grpc::Channel> Channel(const std::string& target) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 500);
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
    return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  }

  std::string Token(const std::vector<std::string>& roles, const std::string& subject) {
    TokenClaims claims;
    claims.subject = subject;
    claims.group_id = t_.group_id;
    claims.estate_ids = {"*"};
    claims.roles = roles;
    claims.issued_at = absl::Now();
    claims.expires_at = claims.issued_at + absl::Hours(2);
    return MintHs256(claims, o_.jwt_secret).value_or("");
  }
  std::string Staff(const std::string& name) {
    auto it = staff_.find(name);
    return it == staff_.end() ? std::string() : it->second.id();
  }
  std::string As(const std::string& role, const std::string& staff_name) {
    return Token({role}, Staff(staff_name));
  }
  std::string Admin() { return Token({"group_admin"}, "wuye-demo"); }
  // The token role of a field worker, from the directory's staff roles.
  std::string WorkerRole(const std::string& staff_id) {
    auto name = staff_names_.find(staff_id);
    if (name == staff_names_.end()) return "technician";
    for (int r : staff_.at(name->second).roles()) {
      switch (r) {
        case dirpb::STAFF_ROLE_CLEANER:
          return "cleaner";
        case dirpb::STAFF_ROLE_GARDENER:
          return "gardener";
        case dirpb::STAFF_ROLE_SECURITY_GUARD:
          return "security_guard";
        case dirpb::STAFF_ROLE_CARE_WORKER:
          return "care_worker";
        default:
          break;
      }
    }
    return "technician";
  }

  // One call; UNAVAILABLE and DEADLINE_EXCEEDED are retried with the same request (and so
  // the same request_id) for up to unavailable_retry. `fn(ctx)` makes the call.
  template <class Fn>
  absl::Status Call(absl::string_view what, const std::string& token, Fn&& fn) {
    absl::Time give_up = absl::Now() + o_.unavailable_retry;
    for (;;) {
      grpc::ClientContext ctx;
      ctx.AddMetadata("authorization", "Bearer " + token);
      ctx.AddMetadata("x-trace-id", trace_);
      ctx.set_deadline(std::chrono::system_clock::now() +
                       absl::ToChronoMilliseconds(o_.rpc_timeout));
      grpc::Status st = fn(&ctx);
      ++calls_;
      if (st.ok()) return absl::OkStatus();
      absl::Status s = FromGrpcStatus(st);
      bool transient = s.code() == absl::StatusCode::kUnavailable ||
                       s.code() == absl::StatusCode::kDeadlineExceeded;
      if (transient && absl::Now() < give_up) {
        absl::SleepFor(absl::Milliseconds(250));
        continue;
      }
      std::string reason = ErrorReason(s);
      return absl::Status(
          s.code(), absl::StrCat(what, ": ", s.message(), reason.empty() ? "" : " (reason ", reason,
                                 reason.empty() ? "" : ")"));
    }
  }

  // A call about an object another service learns of through the bus: NOT_FOUND is
  // retried until settle_timeout.
  template <class Fn>
  absl::Status CallWhenKnown(absl::string_view what, const std::string& token, Fn&& fn) {
    absl::Time give_up = absl::Now() + o_.settle_timeout;
    for (;;) {
      absl::Status s = Call(what, token, fn);
      if (s.code() != absl::StatusCode::kNotFound || absl::Now() > give_up) return s;
      absl::SleepFor(absl::Milliseconds(200));
    }
  }

  // Polls `cond` (StatusOr<bool>) until true or settle_timeout; DEADLINE_EXCEEDED if never.
  template <class Fn>
  absl::Status Until(absl::string_view what, Fn&& cond) {
    absl::Time give_up = absl::Now() + o_.settle_timeout;
    for (;;) {
      absl::StatusOr<bool> done = cond();
      if (!done.ok()) return done.status();
      if (*done) return absl::OkStatus();
      if (absl::Now() > give_up) {
        return absl::DeadlineExceededError(
            absl::StrCat(what, ": not seen within ", absl::FormatDuration(o_.settle_timeout)));
      }
      absl::SleepFor(absl::Milliseconds(200));
    }
  }

  void Step(absl::string_view name) {
    if (o_.on_step) o_.on_step(name);
    if (o_.log) *o_.log << "  [" << name << "]\n" << std::flush;
  }
  void Log(absl::string_view line) {
    if (o_.log) *o_.log << "    " << line << "\n" << std::flush;
  }
  void Skip(absl::string_view what) {
    s_.skipped.push_back(std::string(what));
    Log(absl::StrCat("skipped: ", what));
  }

  absl::Time At(int hour, int minute) {
    return absl::FromCivil(absl::CivilMinute(day_.year(), day_.month(), day_.day(), hour, minute),
                           tz_);
  }
  std::string Rid(absl::string_view what) { return absl::StrCat("demo-", day_text_, "-", what); }
  std::string MonthRid(absl::string_view what) {
    return absl::StrCat("demo-", month_text_, "-", what);
  }
  Estate& E(const std::string& key) { return estates_.at(key); }
  // The script's plan of the estate `key` (estates.textproto).
  const v1::EstatePlan& Plan(const std::string& key) const;
  // The script's ticket `key`, or nullptr.
  const TicketPlan* TicketOf(const std::string& key) const;

  // -- steps
  absl::Status LoadDirectory();
  absl::Status CreateTicket(const TicketPlan& p);
  absl::Status TicketsStep();
  absl::Status ComplaintsStep();
  absl::Status CarrierStep();
  absl::Status HotlineStep();
  absl::Status EldercareStep();
  absl::Status BillingSetupStep();
  absl::Status ReadingsStep();
  absl::Status BillingRunStep();
  absl::Status DispatchStep();
  absl::Status WorkOrderLife(const std::string& key, const dpb::WorkOrder& wo, bool sign,
                             bool refuse, bool finish);
  absl::Status CallbacksStep();
  absl::Status ManualEntriesStep();
  absl::Status PaymentsStep();
  absl::Status ReportsStep();
  absl::Status DutyMorningStep();
  absl::Status DutyComplaintStep();
  absl::Status DutyEveningStep();
  absl::StatusOr<ipb::Ticket> GetTicket(const std::string& id);
  absl::Status CounterStep();
  absl::Status HandoverStep();
  absl::Status RenovationStep();
  absl::Status LostCardStep();
  absl::Status WaterCutStep();
  // The unit "building/number" of the estate `estate` (a key), or nullptr.
  const dirpb::Unit* UnitAt(const std::string& estate, absl::string_view key);
  // Waits until billing shows the unit charged `fen` for `item` (the counter's events).
  absl::Status AwaitCharge(const std::string& unit_id, absl::string_view item, int64_t fen);

  const DayTargets& t_;
  const DayOptions& o_;
  const v1::DayScript* script_ = nullptr;  // tools/demo_data/*.textproto, set by Run()
  absl::TimeZone tz_;
  absl::CivilDay day_;
  std::string day_text_, month_text_, trace_;
  int calls_ = 0, handled_ = 0;
  int64_t expected_paid_fen_ = 0;  // quotes of the paid work finished: billing charges them
  DaySummary s_;

  std::unique_ptr<dirpb::DirectoryService::Stub> dir_;
  std::unique_ptr<ipb::IntakeService::Stub> intake_;
  std::unique_ptr<bpb::BillingService::Stub> billing_;
  std::unique_ptr<epb::ElderCareService::Stub> elder_;
  std::unique_ptr<dpb::DispatchService::Stub> dispatch_;
  std::unique_ptr<ppb::PerformanceService::Stub> perf_;
  std::unique_ptr<duty::v1::DutyService::Stub> duty_;
  std::unique_ptr<ctpb::CounterService::Stub> counter_;

  std::map<std::string, Estate> estates_;             // by key
  std::map<std::string, dirpb::Staff> staff_;         // by name
  std::map<std::string, std::string> staff_names_;    // id → name
  std::map<std::string, std::string> ticket_estate_;  // ticket key → estate key
  std::map<std::string, std::vector<dirpb::Shift>> shifts_;  // estate key → yesterday's on
};

}  // namespace wuye::demo
