// The demo's day: its helpers, and the steps in their order (day.h lists the files).
#include "tools/demo_day/day.h"

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/strip.h"

namespace wuye::demo {

uint64_t Hash(absl::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string Yuan(int64_t fen) {
  return absl::StrFormat("%s%d.%02d", fen < 0 ? "-" : "", std::abs(fen) / 100, std::abs(fen) % 100);
}
std::string Percent(int bp) { return absl::StrFormat("%d.%02d%%", bp / 100, bp % 100); }

std::string EnumWord(const std::string& name, absl::string_view prefix) {
  return absl::AsciiStrToLower(absl::StripPrefix(name, prefix));
}

cpb::Month MonthOf(absl::CivilDay day) {
  cpb::Month m;
  m.set_year(static_cast<int32_t>(day.year()));
  m.set_month(day.month());
  return m;
}

std::string IdNumber(absl::string_view region, int y, int m, int d, int seq) {
  std::string body = absl::StrFormat("%s%04d%02d%02d%03d", region, y, m, d, seq);
  static const int kWeights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  int sum = 0;
  for (int i = 0; i < 17; ++i) sum += (body[i] - '0') * kWeights[i];
  return body + "10X98765432"[sum % 11];
}

const v1::EstatePlan& Day::Plan(const std::string& key) const {
  for (const v1::EstatePlan& p : script_->estate()) {
    if (p.key() == key) return p;
  }
  static const v1::EstatePlan kNone;
  return kNone;
}

const TicketPlan* Day::TicketOf(const std::string& key) const {
  for (const TicketPlan& p : script_->ticket()) {
    if (p.key() == key) return &p;
  }
  return nullptr;
}

absl::StatusOr<DaySummary> Day::Run() {
  if (t_.directory.empty() || t_.group_id.empty()) {
    return absl::InvalidArgumentError("the directory target and the group id are required");
  }
  WUYE_ASSIGN_OR_RETURN(script_, LoadDayScript());
  s_.day = day_text_;
  dir_ = dirpb::DirectoryService::NewStub(Channel(t_.directory));
  if (!t_.intake.empty()) intake_ = ipb::IntakeService::NewStub(Channel(t_.intake));
  if (!t_.billing.empty()) billing_ = bpb::BillingService::NewStub(Channel(t_.billing));
  if (!t_.eldercare.empty()) elder_ = epb::ElderCareService::NewStub(Channel(t_.eldercare));
  if (!t_.dispatch.empty()) dispatch_ = dpb::DispatchService::NewStub(Channel(t_.dispatch));
  if (!t_.performance.empty()) {
    perf_ = ppb::PerformanceService::NewStub(Channel(t_.performance));
  }
  if (!t_.duty.empty()) duty_ = duty::v1::DutyService::NewStub(Channel(t_.duty));
  if (!t_.counter.empty()) counter_ = ctpb::CounterService::NewStub(Channel(t_.counter));

  Step("directory");
  WUYE_RETURN_IF_ERROR(LoadDirectory());
  for (const v1::EstatePlan& plan : script_->estate()) {  // largest first
    const Estate& es = E(plan.key());
    EstateFigures f;
    f.estate_id = es.id;
    f.name = es.name;
    f.households = es.households;
    s_.estates.push_back(f);
  }
  // The price list comes first: dispatch quotes paid work from the prices billing publishes.
  if (billing_) {
    Step("billing-setup");
    WUYE_RETURN_IF_ERROR(BillingSetupStep());
  }
  if (duty_) {
    Step("duty-morning");
    WUYE_RETURN_IF_ERROR(DutyMorningStep());
  } else {
    Skip("duty: check-ins, tasks, handovers, work logs (no --duty)");
  }
  if (intake_) {
    Step("tickets");
    WUYE_RETURN_IF_ERROR(TicketsStep());
    if (duty_) {
      Step("duty-complaint");
      WUYE_RETURN_IF_ERROR(DutyComplaintStep());
    }
    Step("complaints");
    WUYE_RETURN_IF_ERROR(ComplaintsStep());
    Step("carrier");
    WUYE_RETURN_IF_ERROR(CarrierStep());
    Step("hotline");
    WUYE_RETURN_IF_ERROR(HotlineStep());
  } else {
    Skip("intake: tickets, complaints, callbacks, carrier call log (no --intake)");
  }
  if (elder_) {
    Step("eldercare");
    WUYE_RETURN_IF_ERROR(EldercareStep());
  } else {
    Skip("eldercare: enrolment, visits, care day, emergency (no --eldercare)");
  }
  if (billing_) {
    Step("readings");
    WUYE_RETURN_IF_ERROR(ReadingsStep());
    Step("billing-run");
    WUYE_RETURN_IF_ERROR(BillingRunStep());
  } else {
    Skip("billing: prices, fee schedules, readings, billing run, payments (no --billing)");
  }
  if (dispatch_ && intake_) {
    Step("dispatch");
    WUYE_RETURN_IF_ERROR(DispatchStep());
    Step("callbacks");
    WUYE_RETURN_IF_ERROR(CallbacksStep());
  } else {
    Skip(dispatch_ ? "dispatch: work orders of the tickets (no --intake)"
                   : "dispatch: technicians accept, arrive, finish, residents sign; SLA "
                     "(no --dispatch)");
  }
  if (billing_) {
    Step("payments");
    WUYE_RETURN_IF_ERROR(PaymentsStep());
  }
  if (duty_) {
    Step("duty-evening");
    WUYE_RETURN_IF_ERROR(DutyEveningStep());
  }
  // The counter's day last: the unit it hands over is billed from the next billing run on
  // (prorated from its day), so the month's run of the day stays the same for every day.
  if (counter_) {
    Step("counter");
    WUYE_RETURN_IF_ERROR(CounterStep());
  } else {
    Skip("counter: hand-over, renovation, cards, notices (no --counter)");
  }
  if (perf_) {
    Step("scores");
    WUYE_RETURN_IF_ERROR(ManualEntriesStep());
  } else {
    Skip("performance: score sheets (no --performance)");
  }
  Step("reports");
  WUYE_RETURN_IF_ERROR(ReportsStep());
  s_.notes.push_back(absl::StrFormat("%d calls, trace id %s", calls_, trace_));
  return s_;
}

absl::CivilDay DefaultDemoDay() {
  absl::TimeZone tz;
  absl::LoadTimeZone(kTimeZone, &tz);
  return absl::ToCivilDay(absl::Now(), tz) - 1;
}

absl::StatusOr<DaySummary> RunDemoDay(const DayTargets& targets, const DayOptions& options) {
  Day day(targets, options);
  return day.Run();
}

}  // namespace wuye::demo
