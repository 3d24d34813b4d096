#include "tools/demo_day.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "shared/auth.h"
#include "shared/proto_time.h"
#include "shared/status.h"
#include "tools/display_width.h"
#include "wuye/billing/v1/billing.grpc.pb.h"
#include "wuye/directory/v1/directory.grpc.pb.h"
#include "wuye/dispatch/v1/dispatch.grpc.pb.h"
#include "wuye/eldercare/v1/eldercare.grpc.pb.h"
#include "wuye/intake/v1/intake.grpc.pb.h"
#include "wuye/performance/v1/performance.grpc.pb.h"

namespace wuye::demo {
namespace {

namespace bpb = ::wuye::billing::v1;
namespace cpb = ::wuye::common::v1;
namespace dirpb = ::wuye::directory::v1;
namespace dpb = ::wuye::dispatch::v1;
namespace epb = ::wuye::eldercare::v1;
namespace evpb = ::wuye::events::v1;
namespace ipb = ::wuye::intake::v1;
namespace ppb = ::wuye::performance::v1;

constexpr char kTimeZone[] = "Asia/Shanghai";

uint64_t Hash(absl::string_view s) {  // FNV-1a: stable across runs and machines
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

// "TICKET_STATE_CALLBACK_DUE" → "callback_due".
std::string EnumWord(const std::string& name, absl::string_view prefix) {
  return absl::AsciiStrToLower(absl::StripPrefix(name, prefix));
}

cpb::Month MonthOf(absl::CivilDay day) {
  cpb::Month m;
  m.set_year(static_cast<int32_t>(day.year()));
  m.set_month(day.month());
  return m;
}

// A mainland ID number (GB 11643) of a birth date: region, date, sequence, check character.
std::string IdNumber(absl::string_view region, int y, int m, int d, int seq) {
  std::string body = absl::StrFormat("%s%04d%02d%02d%03d", region, y, m, d, seq);
  static const int kWeights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  int sum = 0;
  for (int i = 0; i < 17; ++i) sum += (body[i] - '0') * kWeights[i];
  return body + "10X98765432"[sum % 11];
}

// ---- The day's script ------------------------------------------------------------------

struct TicketPlan {
  const char* key;
  const char* estate;  // "sunny", "tower", "jade"
  int hour = 0, minute = 0;
  cpb::Channel channel = cpb::CHANNEL_UNSPECIFIED;
  cpb::TicketKind kind = cpb::TICKET_KIND_UNSPECIFIED;
  const char* agent = "";     // staff name: the owner
  const char* resident = "";  // resident name: the unit is theirs
  const char* summary = "";
  cpb::WorkCategory category = cpb::WORK_CATEGORY_UNSPECIFIED;
  cpb::Priority priority = cpb::PRIORITY_UNSPECIFIED;
  const char* common_area = "";
  const char* item = "";
  bool major = false;
  const char* first_complaint = "";  // key of the first complaint
  const char* answer = "";
  bool needs_supervisor = false;
  const char* phone = "";  // hotline caller (fictional)
};

using C = cpb::Channel;
using K = cpb::TicketKind;
using W = cpb::WorkCategory;
using P = cpb::Priority;

// In the order they come in; t06 (the second complaint) comes after t04 is closed.
const std::vector<TicketPlan>& Tickets() {
  static const auto* plans = new std::vector<TicketPlan>{
      {.key = "t01-consultation",
       .estate = "sunny",
       .hour = 8,
       .minute = 40,
       .channel = C::CHANNEL_HOTLINE,
       .kind = K::TICKET_KIND_CONSULTATION,
       .agent = "李娜",
       .resident = "张伟",
       .summary = "When is the water tank cleaned this month?",
       .answer = "On the 12th, 09:00-12:00; water stays on.",
       .phone = "13900139003"},
      {.key = "t02-small-repair",
       .estate = "sunny",
       .hour = 9,
       .minute = 5,
       .channel = C::CHANNEL_WALK_IN,
       .kind = K::TICKET_KIND_REPAIR_UNIT,
       .agent = "李娜",
       .resident = "王建国",
       .summary = "Kitchen tap dripping",
       .category = W::WORK_CATEGORY_PLUMBING,
       .priority = P::PRIORITY_SMALL},
      {.key = "t03-emergency-0930",
       .estate = "sunny",
       .hour = 9,
       .minute = 30,
       .channel = C::CHANNEL_HOTLINE,
       .kind = K::TICKET_KIND_EMERGENCY,
       .agent = "王芳",
       .resident = "刘淑珍",
       .summary = "Burst pipe, water on the bathroom floor",
       .category = W::WORK_CATEGORY_PLUMBING,
       .priority = P::PRIORITY_EMERGENCY,
       .phone = "021-5888 2004"},
      {.key = "t04-complaint",
       .estate = "sunny",
       .hour = 10,
       .minute = 15,
       .channel = C::CHANNEL_APP,
       .kind = K::TICKET_KIND_COMPLAINT,
       .agent = "王芳",
       .resident = "陈静",
       .summary = "Renovation noise next door after 22:00"},
      {.key = "t05-major-complaint",
       .estate = "sunny",
       .hour = 11,
       .minute = 0,
       .channel = C::CHANNEL_MANAGER_MAILBOX,
       .kind = K::TICKET_KIND_COMPLAINT,
       .agent = "孙婷",
       .resident = "周敏",
       .summary = "Lift of building 3 out of service for three days",
       .major = true},
      {.key = "t07-paid-service",
       .estate = "sunny",
       .hour = 15,
       .minute = 0,
       .channel = C::CHANNEL_APP,
       .kind = K::TICKET_KIND_PAID_SERVICE,
       .agent = "王芳",
       .resident = "张伟",
       .summary = "Home cleaning before the holidays",
       .category = W::WORK_CATEGORY_CLEANING,
       .priority = P::PRIORITY_SMALL,
       .item = "CLEAN_HOME"},
      {.key = "t08-big-repair",
       .estate = "sunny",
       .hour = 16,
       .minute = 30,
       .channel = C::CHANNEL_PATROL,
       .kind = K::TICKET_KIND_REPAIR_COMMON,
       .agent = "孙婷",
       .summary = "Roof waterproofing of building 8 cracked",
       .category = W::WORK_CATEGORY_CIVIL,
       .priority = P::PRIORITY_BIG,
       .common_area = "8栋 roof"},
      {.key = "t09-emergency-2150",
       .estate = "sunny",
       .hour = 21,
       .minute = 50,
       .channel = C::CHANNEL_HOTLINE,
       .kind = K::TICKET_KIND_EMERGENCY,
       .agent = "陈雪",
       .resident = "李秀英",
       .summary = "No power in the flat, smell of burning at the fuse box",
       .category = W::WORK_CATEGORY_ELECTRICAL,
       .priority = P::PRIORITY_EMERGENCY,
       .phone = "13800138002"},
      {.key = "t10-emergency-2300",
       .estate = "jade",
       .hour = 23,
       .minute = 0,
       .channel = C::CHANNEL_HOTLINE,
       .kind = K::TICKET_KIND_EMERGENCY,
       .agent = "曹雨",
       .resident = "高秀兰",
       .summary = "Water heater leaking onto the wiring",
       .category = W::WORK_CATEGORY_PLUMBING,
       .priority = P::PRIORITY_EMERGENCY,
       .phone = "0571-8765 3005"},
      {.key = "t11-suggestion",
       .estate = "sunny",
       .hour = 12,
       .minute = 0,
       .channel = C::CHANNEL_EMAIL,
       .kind = K::TICKET_KIND_SUGGESTION,
       .agent = "李娜",
       .resident = "张伟",
       .summary = "More benches along the garden path",
       .answer = "Passed to the estate manager for next quarter's works."},
      {.key = "t12-praise",
       .estate = "sunny",
       .hour = 17,
       .minute = 10,
       .channel = C::CHANNEL_WALK_IN,
       .kind = K::TICKET_KIND_PRAISE,
       .agent = "王芳",
       .resident = "王建国",
       .summary = "Thanks to the cleaner of building 1",
       .answer = "Thank you; we told the team."},
      {.key = "t13-consultation-supervisor",
       .estate = "sunny",
       .hour = 13,
       .minute = 0,
       .channel = C::CHANNEL_HOTLINE,
       .kind = K::TICKET_KIND_CONSULTATION,
       .agent = "李娜",
       .resident = "赵磊",
       .summary = "May the owner of a vacant flat pay a lower fee?",
       .needs_supervisor = true,
       .phone = "13500135007"},
      {.key = "t14-small-repair",
       .estate = "tower",
       .hour = 10,
       .minute = 0,
       .channel = C::CHANNEL_HOTLINE,
       .kind = K::TICKET_KIND_REPAIR_UNIT,
       .agent = "罗静",
       .resident = "孙浩",
       .summary = "Air conditioning of the office not cooling",
       .category = W::WORK_CATEGORY_HVAC,
       .priority = P::PRIORITY_SMALL},
      {.key = "t15-complaint",
       .estate = "tower",
       .hour = 11,
       .minute = 30,
       .channel = C::CHANNEL_WALK_IN,
       .kind = K::TICKET_KIND_COMPLAINT,
       .agent = "罗静",
       .resident = "郑强",
       .summary = "Corridor cleaning on floor 8 skipped twice"},
      {.key = "t16-consultation",
       .estate = "tower",
       .hour = 9,
       .minute = 10,
       .channel = C::CHANNEL_APP,
       .kind = K::TICKET_KIND_CONSULTATION,
       .agent = "罗静",
       .resident = "吴丽",
       .summary = "Opening hours of the loading dock",
       .answer = "07:00-22:00 every day."},
      {.key = "t17-complaint",
       .estate = "jade",
       .hour = 10,
       .minute = 30,
       .channel = C::CHANNEL_WALK_IN,
       .kind = K::TICKET_KIND_COMPLAINT,
       .agent = "冯佳",
       .resident = "何俊",
       .summary = "The wrong hedge was cut back"},
      {.key = "t18-small-repair",
       .estate = "jade",
       .hour = 11,
       .minute = 10,
       .channel = C::CHANNEL_HOTLINE,
       .kind = K::TICKET_KIND_REPAIR_UNIT,
       .agent = "冯佳",
       .resident = "马晓燕",
       .summary = "Doorbell does not ring",
       .category = W::WORK_CATEGORY_ELECTRICAL,
       .priority = P::PRIORITY_SMALL},
      {.key = "t19-consultation",
       .estate = "jade",
       .hour = 14,
       .minute = 0,
       .channel = C::CHANNEL_RECEPTION_DAY,
       .kind = K::TICKET_KIND_CONSULTATION,
       .agent = "冯佳",
       .resident = "黄志明",
       .summary = "How do we enrol in home elderly care?",
       .answer = "At the front desk with the ID card and a signed consent."},
  };
  return *plans;
}

const TicketPlan kSecondComplaint{.key = "t06-second-complaint",
                                  .estate = "sunny",
                                  .hour = 14,
                                  .minute = 20,
                                  .channel = C::CHANNEL_HOTLINE,
                                  .kind = K::TICKET_KIND_COMPLAINT,
                                  .agent = "李娜",
                                  .resident = "陈静",
                                  .summary = "Renovation noise again last night",
                                  .first_complaint = "t04-complaint",
                                  .phone = "13700137005"};

// Who works where (staff names of tools/wuye_demo.cc).
struct EstateStaff {
  const char* supervisor;
  const char* callback_agent;
  int pay_percent;  // share of the month's bills paid today
};
const std::map<std::string, EstateStaff>& Crew() {
  static const auto* crew = new std::map<std::string, EstateStaff>{
      {"sunny", {"钱丽", "孙婷", 97}},
      {"tower", {"何敏", "梁晨", 70}},
      {"jade", {"何敏", "曹雨", 92}},
  };
  return *crew;
}

// ---- Calling the services --------------------------------------------------------------

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

  // -- steps
  absl::Status LoadDirectory();
  absl::Status CreateTicket(const TicketPlan& p);
  absl::Status TicketsStep();
  absl::Status ComplaintsStep();
  absl::Status CarrierStep();
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
  absl::StatusOr<ipb::Ticket> GetTicket(const std::string& id);

  const DayTargets& t_;
  const DayOptions& o_;
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

  std::map<std::string, Estate> estates_;             // by key
  std::map<std::string, dirpb::Staff> staff_;         // by name
  std::map<std::string, std::string> staff_names_;    // id → name
  std::map<std::string, std::string> ticket_estate_;  // ticket key → estate key
};

absl::Status Day::LoadDirectory() {
  std::string token = Admin();
  dirpb::ListEstatesRequest le;
  le.set_page_size(1000);
  dirpb::ListEstatesResponse estates;
  WUYE_RETURN_IF_ERROR(Call("directory.ListEstates", token,
                            [&](auto* ctx) { return dir_->ListEstates(ctx, le, &estates); }));
  const std::pair<const char*, const char*> kKeys[] = {
      {"sunny", "阳光花园"}, {"tower", "金融中心"}, {"jade", "翠湖苑"}};
  for (const auto& e : estates.estates()) {
    for (const auto& [key, prefix] : kKeys) {
      if (!absl::StartsWith(e.name(), prefix)) continue;
      Estate& es = estates_[key];
      es.key = key;
      es.id = e.id();
      es.name = e.name();
      es.time_zone = e.time_zone();
      es.households = e.household_count();
    }
  }
  if (estates_.size() != 3) {
    return absl::FailedPreconditionError(
        "directory: the demo estates are not there (run wuye-demo without the day first)");
  }
  for (auto& [key, es] : estates_) {
    dirpb::ListBuildingsRequest lb;
    lb.set_estate_id(es.id);
    lb.set_page_size(1000);
    dirpb::ListBuildingsResponse buildings;
    WUYE_RETURN_IF_ERROR(Call("directory.ListBuildings", token,
                              [&](auto* ctx) { return dir_->ListBuildings(ctx, lb, &buildings); }));
    std::map<std::string, std::string> building_names;
    for (const auto& b : buildings.buildings()) building_names[b.id()] = b.name();
    dirpb::ListUnitsRequest lu;
    lu.set_estate_id(es.id);
    lu.set_page_size(1000);
    do {
      dirpb::ListUnitsResponse page;
      WUYE_RETURN_IF_ERROR(Call("directory.ListUnits", token,
                                [&](auto* ctx) { return dir_->ListUnits(ctx, lu, &page); }));
      for (const auto& u : page.units()) {
        es.units.push_back(u);
        es.unit_keys[u.id()] =
            absl::StrCat(key, "/", building_names[u.building_id()], "/", u.number());
      }
      lu.set_page_token(page.next_page_token());
    } while (!lu.page_token().empty());
    dirpb::ListResidentsRequest lr;
    lr.set_estate_id(es.id);
    lr.set_page_size(1000);
    dirpb::ListResidentsResponse residents;
    WUYE_RETURN_IF_ERROR(Call("directory.ListResidents", token,
                              [&](auto* ctx) { return dir_->ListResidents(ctx, lr, &residents); }));
    for (const auto& r : residents.residents()) es.residents[r.name()] = r;
  }
  dirpb::ListStaffRequest ls;
  ls.set_page_size(1000);
  dirpb::ListStaffResponse staff;
  WUYE_RETURN_IF_ERROR(Call("directory.ListStaff", token,
                            [&](auto* ctx) { return dir_->ListStaff(ctx, ls, &staff); }));
  for (const auto& st : staff.staff()) {
    staff_[st.name()] = st;
    staff_names_[st.id()] = st.name();
  }
  Log(absl::StrFormat("directory: %d estates, %d staff", estates_.size(), staff_.size()));
  return absl::OkStatus();
}

// ---- Intake ---------------------------------------------------------------------------

absl::StatusOr<ipb::Ticket> Day::GetTicket(const std::string& id) {
  ipb::GetTicketRequest req;
  req.set_id(id);
  ipb::Ticket t;
  WUYE_RETURN_IF_ERROR(Call("intake.GetTicket", Admin(),
                            [&](auto* ctx) { return intake_->GetTicket(ctx, req, &t); }));
  return t;
}

absl::Status Day::CreateTicket(const TicketPlan& p) {
  Estate& es = E(p.estate);
  ipb::CreateTicketRequest req;
  req.set_request_id(Rid(p.key));
  ipb::Ticket* t = req.mutable_ticket();
  t->set_estate_id(es.id);
  if (*p.resident != '\0') {
    auto it = es.residents.find(p.resident);
    if (it == es.residents.end()) {
      return absl::FailedPreconditionError(absl::StrCat("directory: no resident ", p.resident));
    }
    t->set_resident_id(it->second.id());
    if (*p.common_area == '\0') t->mutable_location()->set_unit_id(it->second.unit_id());
  }
  if (*p.common_area != '\0') t->mutable_location()->set_common_area(p.common_area);
  t->set_channel(p.channel);
  t->set_kind(p.kind);
  t->set_summary(p.summary);
  t->set_category(p.category);
  t->set_priority(p.priority);
  t->set_service_item_code(p.item);
  t->set_major(p.major);
  if (*p.first_complaint != '\0') t->set_first_complaint_id(s_.ticket_ids.at(p.first_complaint));
  t->set_needs_supervisor(p.needs_supervisor);
  t->set_caller_phone(p.phone);
  *t->mutable_received_time() = ToProtoTime(At(p.hour, p.minute));
  // A consultation is answered in the same call; a suggestion or praise right after.
  const bool consultation = p.kind == K::TICKET_KIND_CONSULTATION;
  if (consultation) req.set_answer(p.answer);
  ipb::Ticket made;
  // Intake learns the estate from directory's event: NOT_FOUND until it has.
  WUYE_RETURN_IF_ERROR(
      CallWhenKnown(absl::StrCat("intake.CreateTicket ", p.key), As("agent", p.agent),
                    [&](auto* ctx) { return intake_->CreateTicket(ctx, req, &made); }));
  s_.ticket_ids[p.key] = made.id();
  ticket_estate_[p.key] = p.estate;
  if (!consultation && *p.answer != '\0') {
    ipb::AnswerTicketRequest ans;
    ans.set_request_id(Rid(absl::StrCat(p.key, "-answer")));
    ans.set_id(made.id());
    ans.set_answer(p.answer);
    WUYE_RETURN_IF_ERROR(Call(absl::StrCat("intake.AnswerTicket ", p.key), As("agent", p.agent),
                              [&](auto* ctx) { return intake_->AnswerTicket(ctx, ans, &made); }));
  }
  return absl::OkStatus();
}

absl::Status Day::TicketsStep() {
  std::vector<TicketPlan> plans = Tickets();
  std::stable_sort(plans.begin(), plans.end(), [](const TicketPlan& a, const TicketPlan& b) {
    return a.hour * 60 + a.minute < b.hour * 60 + b.minute;
  });
  for (const TicketPlan& p : plans) WUYE_RETURN_IF_ERROR(CreateTicket(p));
  Log(absl::StrFormat("%d tickets on every channel, 3 emergencies at 09:30, 21:50 and 23:00",
                      plans.size()));

  // The consultation that needed a supervisor is answered by its owner; one answered
  // consultation is closed.
  ipb::AnswerTicketRequest ans;
  ans.set_request_id(Rid("t13-answer"));
  ans.set_id(s_.ticket_ids.at("t13-consultation-supervisor"));
  ans.set_answer("No: vacant flats pay the full fee (空置物业由业主交纳).");
  ipb::Ticket out;
  WUYE_RETURN_IF_ERROR(Call("intake.AnswerTicket", As("agent", "李娜"),
                            [&](auto* ctx) { return intake_->AnswerTicket(ctx, ans, &out); }));
  ipb::CloseTicketRequest close;
  close.set_request_id(Rid("t16-close"));
  close.set_id(s_.ticket_ids.at("t16-consultation"));
  close.set_reason("resident confirmed");
  WUYE_RETURN_IF_ERROR(Call("intake.CloseTicket", As("agent", "罗静"),
                            [&](auto* ctx) { return intake_->CloseTicket(ctx, close, &out); }));
  return absl::OkStatus();
}

absl::Status Day::ComplaintsStep() {
  auto resolve = [&](const std::string& key, const std::string& token, const char* result) {
    ipb::ResolveTicketRequest req;
    req.set_request_id(Rid(key + "-resolve"));
    req.set_id(s_.ticket_ids.at(key));
    req.set_result(result);
    ipb::Ticket out;
    return Call(absl::StrCat("intake.ResolveTicket ", key), token,
                [&](auto* ctx) { return intake_->ResolveTicket(ctx, req, &out); });
  };
  auto callback = [&](const std::string& key, cpb::Satisfaction sat, const char* comment) {
    const std::string& estate = ticket_estate_.at(key);
    ipb::RecordCallbackRequest req;
    req.set_request_id(Rid(key + "-callback"));
    req.mutable_callback()->set_ticket_id(s_.ticket_ids.at(key));
    req.mutable_callback()->set_satisfaction(sat);
    req.mutable_callback()->set_comment(comment);
    ipb::Callback out;
    return Call(absl::StrCat("intake.RecordCallback ", key),
                As("agent", Crew().at(estate).callback_agent),
                [&](auto* ctx) { return intake_->RecordCallback(ctx, req, &out); });
  };
  // The first noise complaint is handled and called back; the resident comes back in the
  // afternoon (a second complaint), and is not satisfied with the second answer either.
  WUYE_RETURN_IF_ERROR(resolve("t04-complaint", As("agent", "王芳"),
                               "Neighbour reminded of the 08:00-20:00 renovation hours."));
  WUYE_RETURN_IF_ERROR(callback("t04-complaint", cpb::SATISFACTION_SATISFIED, ""));
  WUYE_RETURN_IF_ERROR(CreateTicket(kSecondComplaint));
  WUYE_RETURN_IF_ERROR(resolve("t06-second-complaint", As("agent", "李娜"),
                               "Renovation permit suspended for three days."));
  WUYE_RETURN_IF_ERROR(callback("t06-second-complaint", cpb::SATISFACTION_UNSATISFIED,
                                "wants the renovation stopped"));
  WUYE_RETURN_IF_ERROR(resolve("t05-major-complaint", As("supervisor", "钱丽"),
                               "Lift repaired; the maintenance contractor was warned."));
  WUYE_RETURN_IF_ERROR(callback("t05-major-complaint", cpb::SATISFACTION_SATISFIED, ""));
  WUYE_RETURN_IF_ERROR(
      resolve("t15-complaint", As("agent", "罗静"), "Cleaning rota of floor 8 corrected."));
  WUYE_RETURN_IF_ERROR(callback("t15-complaint", cpb::SATISFACTION_SATISFIED, ""));
  WUYE_RETURN_IF_ERROR(
      resolve("t17-complaint", As("agent", "冯佳"), "Apologised; the hedge will be replanted."));
  WUYE_RETURN_IF_ERROR(callback("t17-complaint", cpb::SATISFACTION_VERY_SATISFIED, ""));
  // The tower's corridor complaint is verified against the cleaner (−20 on her sheet).
  ipb::VerifyComplaintRequest verify;
  verify.set_request_id(Rid("t15-verify"));
  verify.set_ticket_id(s_.ticket_ids.at("t15-complaint"));
  verify.set_staff_id(Staff("韩梅"));
  verify.set_finding("Cleaning log shows floor 8 skipped on two days.");
  ipb::ComplaintVerification verified;
  WUYE_RETURN_IF_ERROR(Call("intake.VerifyComplaint", As("supervisor", "何敏"), [&](auto* ctx) {
    return intake_->VerifyComplaint(ctx, verify, &verified);
  }));
  Log("5 complaints resolved and called back (one major, one second complaint, one "
      "unsatisfied → reopened); one verified against the cleaner");
  return absl::OkStatus();
}

absl::Status Day::CarrierStep() {
  // The carrier's log of the sunny hotline: the recorded calls, one unanswered call, and
  // two calls that nobody recorded: at 19:05 from an owner's number (王建国, 000_…, 二.5:
  // 有业主通话记录而物业公司未记录的,每条扣20分: −20 for the office and the agent on duty),
  // and at 19:40 from a number of no resident (a finding to review, not a deduction).
  ipb::ImportCarrierCallLogRequest req;
  req.set_request_id(Rid("carrier-log-sunny"));
  req.set_estate_id(E("sunny").id);
  auto add = [&](int h, int m, const char* phone, int seconds) {
    ipb::CarrierCall* c = req.add_calls();
    *c->mutable_call_time() = ToProtoTime(At(h, m) + absl::Seconds(20));
    c->set_caller_phone(phone);
    c->set_duration_seconds(seconds);
  };
  std::vector<TicketPlan> plans = Tickets();
  plans.push_back(kSecondComplaint);
  for (const TicketPlan& p : plans) {
    if (p.channel == C::CHANNEL_HOTLINE && std::string(p.estate) == "sunny" && *p.phone) {
      add(p.hour, p.minute, p.phone, 60 + static_cast<int>(Hash(p.key) % 240));
    }
  }
  add(18, 2, "13611112222", 0);
  add(19, 5, "13800138001", 150);
  add(19, 40, "13611113333", 95);
  ipb::ImportCarrierCallLogResponse resp;
  WUYE_RETURN_IF_ERROR(
      Call("intake.ImportCarrierCallLog", As("supervisor", "钱丽"),
           [&](auto* ctx) { return intake_->ImportCarrierCallLog(ctx, req, &resp); }));
  s_.carrier_calls = resp.calls();
  s_.carrier_matched = resp.matched();
  s_.carrier_skipped = resp.skipped();
  s_.carrier_findings = resp.findings_size() + resp.already_found();
  Log(absl::StrFormat("carrier log: %d calls, %d matched, %d unanswered, %d unrecorded",
                      resp.calls(), resp.matched(), resp.skipped(), s_.carrier_findings));
  return absl::OkStatus();
}

absl::Status Day::ManualEntriesStep() {
  // What people saw during the day: a reward and a deduction, each with its note.
  struct Entry {
    const char* key;
    const char* staff;
    const char* rule;
    const char* by_role;
    const char* by;
    int hour, minute;
    const char* note;
  };
  const Entry entries[] = {
      {"reward", "孙婷", "housing_claim_help", "estate_manager", "周晓红", 16, 0,
       "Helped a resident of building 3 with a housing-quality claim against the developer."},
      {"dress-code", "杨军", "dress_code", "team_lead", "孙婷", 9, 45,
       "No name badge on the morning round."},
  };
  for (const Entry& e : entries) {
    ppb::CreateManualEntryRequest req;
    req.set_request_id(Rid(absl::StrCat("score-", e.key)));
    req.set_staff_id(Staff(e.staff));
    req.set_rule(e.rule);
    req.set_note(e.note);
    *req.mutable_occurred_at() = ToProtoTime(At(e.hour, e.minute));
    ppb::Line line;
    WUYE_RETURN_IF_ERROR(
        CallWhenKnown(absl::StrCat("performance.CreateManualEntry ", e.key), As(e.by_role, e.by),
                      [&](auto* ctx) { return perf_->CreateManualEntry(ctx, req, &line); }));
    if (line.pending()) {
      // The housing claim counts (+100 for the office, its points on the helper's form)
      // once the owners' supervisory committee's confirmation is recorded (000_…, 二.11).
      ppb::ConfirmQualityLineRequest confirm;
      confirm.set_request_id(Rid(absl::StrCat("score-confirm-", e.key)));
      confirm.set_quality_line_id(line.quality_line_id());
      confirm.set_confirmation_ref("业主监督委员会确认 (demo)");
      ppb::QualityLine confirmed;
      WUYE_RETURN_IF_ERROR(
          Call(absl::StrCat("performance.ConfirmQualityLine ", e.key), As(e.by_role, e.by),
               [&](auto* ctx) { return perf_->ConfirmQualityLine(ctx, confirm, &confirmed); }));
    }
  }
  Log("2 manual score entries (a reward the supervisory committee confirmed, a deduction)");
  return absl::OkStatus();
}

absl::Status Day::CallbacksStep() {
  // Repairs the technicians finished come back from dispatch as resolved tickets; those
  // due for a callback are called.
  int made = 0;
  for (const auto& [key, id] : s_.ticket_ids) {
    WUYE_ASSIGN_OR_RETURN(ipb::Ticket t, GetTicket(id));
    if (t.state() != evpb::TICKET_STATE_CALLBACK_DUE) continue;
    ipb::RecordCallbackRequest req;
    req.set_request_id(Rid(key + "-callback"));
    req.mutable_callback()->set_ticket_id(id);
    req.mutable_callback()->set_satisfaction(cpb::SATISFACTION_SATISFIED);
    ipb::Callback out;
    WUYE_RETURN_IF_ERROR(Call(absl::StrCat("intake.RecordCallback ", key),
                              As("agent", Crew().at(ticket_estate_.at(key)).callback_agent),
                              [&](auto* ctx) { return intake_->RecordCallback(ctx, req, &out); }));
    ++made;
  }
  Log(absl::StrFormat("%d callbacks of finished work", made));
  return absl::OkStatus();
}

// ---- Eldercare --------------------------------------------------------------------------

absl::Status Day::EldercareStep() {
  struct ElderPlan {
    const char* estate;
    const char* name;
    const char* region;
    int y, m, d, seq;
    const char* contact;
    const char* contact_phone;
  };
  const ElderPlan plans[] = {
      {"sunny", "王建国", "310115", 1952, 3, 14, 137, "王小明", "13912345678"},
      {"jade", "高秀兰", "330106", 1944, 1, 25, 246, "高文", "13698765432"},
  };
  std::vector<epb::Elder> elders;
  for (const ElderPlan& p : plans) {
    const auto& residents = E(p.estate).residents;
    auto it = residents.find(p.name);
    if (it == residents.end()) {
      return absl::FailedPreconditionError(absl::StrCat("directory: no resident ", p.name));
    }
    epb::EnrolElderRequest req;
    req.set_request_id(absl::StrCat("demo-enrol-", p.estate, "-", it->second.id()));
    req.set_resident_id(it->second.id());
    req.set_id_number(IdNumber(p.region, p.y, p.m, p.d, p.seq));
    epb::Consent* consent = req.mutable_consent();
    consent->set_scope("home elderly care and health records");
    consent->set_version("2026-01");
    *consent->mutable_signed_at() = ToProtoTime(absl::FromUnixSeconds(1767225600));  // 2026-01-01
    consent->set_signed_by(p.name);
    epb::FamilyContact* c = req.add_family_contacts();
    c->set_name(p.contact);
    c->set_relation("child");
    c->set_phone(p.contact_phone);
    req.set_visit_every_days(7);
    epb::Elder elder;
    WUYE_RETURN_IF_ERROR(
        CallWhenKnown(absl::StrCat("eldercare.EnrolElder ", p.estate),
                      As("agent", Crew().at(p.estate).callback_agent),
                      [&](auto* ctx) { return elder_->EnrolElder(ctx, req, &elder); }));
    elders.push_back(elder);
    s_.elder_ids.push_back(elder.id());
  }
  std::string care = As("care_worker", "徐丽华");
  for (const epb::Elder& e : elders) {
    // The visit: at enrolment (never in the future), so that a rerun asks the same.
    epb::RecordVisitRequest visit;
    visit.set_request_id(absl::StrCat("demo-visit-", e.id(), "-", e.enrolled_on().year(), "-",
                                      e.enrolled_on().month(), "-", e.enrolled_on().day()));
    visit.set_elder_id(e.id());
    *visit.mutable_visited_at() = e.create_time();
    visit.set_observations("In good spirits; blood pressure taken; medicine box refilled.");
    visit.set_care_plan_followed(true);
    epb::Visit v;
    WUYE_RETURN_IF_ERROR(Call("eldercare.RecordVisit", care,
                              [&](auto* ctx) { return elder_->RecordVisit(ctx, visit, &v); }));
    ++s_.visits_recorded;
  }
  // A sick-bed day (家庭病床) of the first elder: the demo day, or the enrolment day when
  // that is later (care days start with the enrolment).
  {
    const epb::Elder& e = elders.front();
    absl::CivilDay enrolled(e.enrolled_on().year(), e.enrolled_on().month(), e.enrolled_on().day());
    absl::CivilDay day = std::max(day_, enrolled);
    epb::RecordCareDayRequest req;
    req.set_request_id(absl::StrCat("demo-careday-", e.id(), "-", absl::FormatCivilTime(day)));
    req.set_elder_id(e.id());
    req.mutable_day()->set_year(static_cast<int32_t>(day.year()));
    req.mutable_day()->set_month(day.month());
    req.mutable_day()->set_day(day.day());
    req.set_kind(epb::CARE_KIND_SICKBED);
    req.set_supervision_note("Dressing changed; temperature normal.");
    epb::CareDay out;
    WUYE_RETURN_IF_ERROR(Call("eldercare.RecordCareDay", care,
                              [&](auto* ctx) { return elder_->RecordCareDay(ctx, req, &out); }));
    ++s_.care_days;
  }
  // The second elder's emergency call (a fall): dispatch makes it a work order.
  {
    epb::RaiseEmergencyRequest req;
    req.set_request_id(Rid("elder-emergency"));
    req.set_elder_id(elders.back().id());
    epb::Emergency out;
    WUYE_RETURN_IF_ERROR(Call("eldercare.RaiseEmergency", As("agent", "曹雨"),
                              [&](auto* ctx) { return elder_->RaiseEmergency(ctx, req, &out); }));
    ++s_.elder_emergencies;
  }
  Log(absl::StrFormat("%d elders enrolled, %d visits, %d sick-bed day, %d emergency", elders.size(),
                      s_.visits_recorded, s_.care_days, s_.elder_emergencies));
  return absl::OkStatus();
}

// ---- Billing ---------------------------------------------------------------------------

absl::Status Day::BillingSetupStep() {
  std::string admin = Admin();
  struct Item {
    const char* code;
    const char* name;
    int64_t fen;
    const char* per;
  };
  const Item items[] = {{"CLEAN_HOME", "家政保洁 Home cleaning", 8000, "job"},
                        {"AC_CLEAN", "空调清洗 Air-conditioner cleaning", 12000, "job"}};
  for (const Item& it : items) {
    bpb::SetStandardPriceRequest req;
    req.set_request_id(absl::StrCat("demo-price-", it.code));
    req.mutable_price()->set_item_code(it.code);
    req.mutable_price()->set_name(it.name);
    req.mutable_price()->set_price_fen(it.fen);
    req.mutable_price()->set_per(it.per);
    bpb::StandardPrice out;
    WUYE_RETURN_IF_ERROR(Call("billing.SetStandardPrice", admin, [&](auto* ctx) {
      return billing_->SetStandardPrice(ctx, req, &out);
    }));
  }
  {
    // The day's month is billed and paid today, after its due day (the 1st, below): a grace
    // of 31 days keeps the month open (provisional) until after it ends, so its collection
    // is not fixed before the day's bills and payments exist.
    bpb::UpdateBillingSettingsRequest req;
    req.set_request_id("demo-billing-settings");
    req.mutable_settings()->set_collection_grace_days(31);
    bpb::BillingSettings out;
    WUYE_RETURN_IF_ERROR(Call("billing.UpdateBillingSettings", admin, [&](auto* ctx) {
      return billing_->UpdateBillingSettings(ctx, req, &out);
    }));
  }
  const std::map<std::string, int> kPriceUp = {{"sunny", 10}, {"tower", 20}, {"jade", 30}};
  for (auto& [key, es] : estates_) {
    bpb::SetFeeScheduleRequest fs;
    fs.set_request_id(absl::StrCat("demo-fees-", key));
    bpb::FeeSchedule* sch = fs.mutable_schedule();
    sch->set_estate_id(es.id);
    sch->set_stair_lighting_fen(key == "tower" ? 0 : 500);
    // Fees are paid in advance: due on the 1st, so the month's unpaid bills are in arrears
    // whatever the day (and the arrears share shows).
    sch->set_due_day(1);
    bpb::Tariff* water = sch->add_tariffs();
    water->set_kind(bpb::METER_KIND_WATER);
    auto* t1 = water->add_tiers();
    t1->set_up_to(20);
    t1->set_fen_per_unit(345);
    auto* t2 = water->add_tiers();
    t2->set_up_to(0);
    t2->set_fen_per_unit(483);
    bpb::Tariff* power = sch->add_tariffs();
    power->set_kind(bpb::METER_KIND_ELECTRICITY);
    auto* p1 = power->add_tiers();
    p1->set_up_to(0);
    p1->set_fen_per_unit(62);
    bpb::FeeSchedule out;
    // The estate reaches billing through the bus: NOT_FOUND until it has.
    WUYE_RETURN_IF_ERROR(CallWhenKnown("billing.SetFeeSchedule", admin, [&](auto* ctx) {
      return billing_->SetFeeSchedule(ctx, fs, &out);
    }));
    for (const Item& it : items) {
      bpb::PublishEstatePriceRequest pp;
      pp.set_request_id(absl::StrCat("demo-estate-price-", key, "-", it.code));
      pp.mutable_price()->set_estate_id(es.id);
      pp.mutable_price()->set_item_code(it.code);
      pp.mutable_price()->set_price_fen(it.fen * (100 + kPriceUp.at(key)) / 100);
      bpb::EstatePrice price;
      WUYE_RETURN_IF_ERROR(Call("billing.PublishEstatePrice", admin, [&](auto* ctx) {
        return billing_->PublishEstatePrice(ctx, pp, &price);
      }));
    }
  }
  Log("price list (2 items, estate prices within ±30 %) and fee schedules of 3 estates");
  return absl::OkStatus();
}

absl::Status Day::ReadingsStep() {
  // Water meters of the first handed-over units of each estate: last month's reading (the
  // baseline, billed nothing) and this month's. Readings are a function of the month, so a
  // rerun in the same month asks the same.
  std::string admin = Admin();
  absl::CivilMonth this_month(day_);
  int count = 0;
  for (auto& [key, es] : estates_) {
    int n = 0;
    for (const dirpb::Unit& u : es.units) {
      if (!u.handed_over() || u.type() == dirpb::UNIT_TYPE_PARKING) continue;
      if (++n > 12) break;
      int64_t rate = 8 + static_cast<int64_t>(Hash(es.unit_keys[u.id()]) % 9);  // m³ a month
      for (absl::CivilMonth m : {this_month - 1, this_month}) {
        int64_t months = (m.year() - 2020) * 12 + m.month();
        int64_t reading = 100 + n * 7 + months * rate;
        std::string mtext = absl::StrFormat("%04d-%02d", m.year(), m.month());
        bpb::RecordMeterReadingRequest req;
        req.set_request_id(absl::StrCat("demo-reading-", u.id(), "-W1-", mtext));
        bpb::MeterReading* r = req.mutable_reading();
        r->set_unit_id(u.id());
        r->set_meter_id("W1");
        r->set_kind(bpb::METER_KIND_WATER);
        r->mutable_period()->set_year(static_cast<int32_t>(m.year()));
        r->mutable_period()->set_month(m.month());
        r->set_reading(absl::StrCat(reading));
        bpb::MeterReading out;
        absl::Status st = CallWhenKnown("billing.RecordMeterReading", admin, [&](auto* ctx) {
          return billing_->RecordMeterReading(ctx, req, &out);
        });
        // A month billed already (the demo ran earlier in it) keeps its bill.
        if (!st.ok() && absl::StrContains(st.message(), "PERIOD_BILLED")) continue;
        if (st.code() == absl::StatusCode::kAlreadyExists) continue;
        WUYE_RETURN_IF_ERROR(st);
        ++count;
      }
    }
  }
  Log(absl::StrFormat("%d meter readings", count));
  return absl::OkStatus();
}

absl::Status Day::BillingRunStep() {
  std::string admin = Admin();
  for (auto& [key, es] : estates_) {
    bpb::StartBillingRunRequest req;
    req.set_request_id(MonthRid(absl::StrCat("billing-run-", key)));
    req.set_estate_id(es.id);
    *req.mutable_period() = MonthOf(day_);
    bpb::BillingRun run;
    WUYE_RETURN_IF_ERROR(Call("billing.StartBillingRun", admin, [&](auto* ctx) {
      return billing_->StartBillingRun(ctx, req, &run);
    }));
    WUYE_RETURN_IF_ERROR(Until("billing run done", [&]() -> absl::StatusOr<bool> {
      bpb::GetBillingRunRequest get;
      get.set_id(run.id());
      WUYE_RETURN_IF_ERROR(Call("billing.GetBillingRun", admin, [&](auto* ctx) {
        return billing_->GetBillingRun(ctx, get, &run);
      }));
      return run.state() == bpb::RUN_STATE_DONE;
    }));
    Log(absl::StrFormat("billing run %s %s: %d units, %d bills issued now, %s yuan", key,
                        month_text_, run.units_total(), run.bills_issued(),
                        Yuan(run.amount_fen())));
  }
  return absl::OkStatus();
}

absl::Status Day::PaymentsStep() {
  std::string admin = Admin();
  const bpb::PaymentMethod kMethods[] = {bpb::PAYMENT_METHOD_WECHAT_PAY, bpb::PAYMENT_METHOD_ALIPAY,
                                         bpb::PAYMENT_METHOD_BANK_TRANSFER,
                                         bpb::PAYMENT_METHOD_CASH, bpb::PAYMENT_METHOD_CARD};
  bool half_told = false;
  int done_all = 0;
  for (auto& entry : estates_) {
    const std::string& key = entry.first;
    Estate& es = entry.second;
    // The month's bills, in a stable order of the units.
    std::vector<bpb::Bill> bills;
    bpb::ListBillsRequest lb;
    lb.set_estate_id(es.id);
    lb.set_page_size(1000);
    do {
      bpb::ListBillsResponse page;
      WUYE_RETURN_IF_ERROR(Call("billing.ListBills", admin,
                                [&](auto* ctx) { return billing_->ListBills(ctx, lb, &page); }));
      for (const auto& b : page.bills()) {
        if (b.kind() == bpb::BILL_KIND_MONTHLY && b.period().year() == day_.year() &&
            b.period().month() == day_.month()) {
          bills.push_back(b);
        }
      }
      lb.set_page_token(page.next_page_token());
    } while (!lb.page_token().empty());
    // Who pays: a stable pseudo-random order of the units (the same in every database).
    auto order = [&](const bpb::Bill& b) {
      const std::string& k = es.unit_keys[b.unit_id()];
      return std::make_pair(Hash(k), k);
    };
    std::sort(bills.begin(), bills.end(),
              [&](const bpb::Bill& a, const bpb::Bill& b) { return order(a) < order(b); });
    size_t paying = bills.size() * Crew().at(key).pay_percent / 100;
    for (size_t i = 0; i < paying; ++i) {
      if (!half_told && key == "sunny" && i == paying / 2) {
        half_told = true;
        Step("payments-half");
      }
      const bpb::Bill& b = bills[i];
      bpb::RecordPaymentRequest req;
      req.set_request_id(MonthRid(absl::StrCat("pay-", b.unit_id())));
      bpb::Payment* p = req.mutable_payment();
      p->set_unit_id(b.unit_id());
      p->set_amount_fen(b.amount_fen());
      p->set_method(kMethods[Hash(es.unit_keys[b.unit_id()]) % 5]);
      p->set_external_txn_no(absl::StrCat(month_text_, "-", b.unit_id()));
      p->set_bill_id(b.id());
      bpb::Payment out;
      WUYE_RETURN_IF_ERROR(Call("billing.RecordPayment", admin, [&](auto* ctx) {
        return billing_->RecordPayment(ctx, req, &out);
      }));
      if (i == 0 && key == "sunny") {
        // The resident's app sends it again (a timeout on their side): same request_id.
        bpb::Payment again;
        WUYE_RETURN_IF_ERROR(Call("billing.RecordPayment (again)", admin, [&](auto* ctx) {
          return billing_->RecordPayment(ctx, req, &again);
        }));
        s_.duplicate_payment_id = out.id();
        s_.duplicate_recorded_once = again.id() == out.id();
      }
      ++done_all;
    }
    for (auto& f : s_.estates) {
      if (f.estate_id == es.id) {
        f.bills_issued = static_cast<int>(bills.size());
        f.payments = static_cast<int>(paying);
      }
    }
  }
  s_.payments_recorded = done_all;
  Log(absl::StrFormat("%d payments (one sent twice with the same request_id)", done_all));
  return absl::OkStatus();
}

// ---- Dispatch --------------------------------------------------------------------------

absl::Status Day::WorkOrderLife(const std::string& key, const dpb::WorkOrder& first, bool sign,
                                bool refuse, bool finish) {
  std::string resident;
  for (const auto& p : Tickets()) {
    if (p.key == key) resident = p.resident;
  }
  const std::string& estate = ticket_estate_.count(key) ? ticket_estate_.at(key) : "jade";
  std::string supervisor = As("supervisor", Crew().at(estate).supervisor);
  dpb::WorkOrder wo = first;
  std::string worker;
  for (const auto& w : wo.workers()) {
    if (w.declined_at().seconds() == 0) worker = w.staff_id();
  }
  if (worker.empty() && wo.state() == evpb::WORK_ORDER_STATE_WAITING) {
    // Nobody with the skill on shift: the supervisor assigns a technician of the estate.
    dpb::AssignWorkOrderRequest req;
    req.set_request_id(Rid(key + "-assign"));
    req.set_id(wo.id());
    req.set_automatic(false);
    req.set_reason("assigned by the supervisor");
    // Somebody of the estate with the skill (the cleaner has no shift, so cleaning waits).
    const std::map<cpb::WorkCategory, dirpb::Skill> kSkill = {
        {cpb::WORK_CATEGORY_PLUMBING, dirpb::SKILL_PLUMBING},
        {cpb::WORK_CATEGORY_ELECTRICAL, dirpb::SKILL_ELECTRICAL},
        {cpb::WORK_CATEGORY_HVAC, dirpb::SKILL_HVAC},
        {cpb::WORK_CATEGORY_CIVIL, dirpb::SKILL_CIVIL},
        {cpb::WORK_CATEGORY_CLEANING, dirpb::SKILL_CLEANING},
        {cpb::WORK_CATEGORY_GREENING, dirpb::SKILL_GREENING},
        {cpb::WORK_CATEGORY_SECURITY, dirpb::SKILL_SECURITY},
        {cpb::WORK_CATEGORY_ELDERCARE_VISIT, dirpb::SKILL_ELDERLY_CARE},
        {cpb::WORK_CATEGORY_ERRAND, dirpb::SKILL_ERRANDS}};
    auto skill = kSkill.find(wo.category());
    std::string home = wo.estate_id().empty() ? E(estate).id : wo.estate_id();
    std::string fallback;
    for (const auto& [name, st] : staff_) {
      bool tech = false, here = false, skilled = false;
      for (int r : st.roles()) tech |= r == dirpb::STAFF_ROLE_TECHNICIAN;
      for (const auto& h : st.home_estate_ids()) here |= h == home;
      for (int k : st.skills()) skilled |= skill != kSkill.end() && k == skill->second;
      if (here && skilled) {
        req.add_staff_ids(st.id());
        break;
      }
      if (here && tech && fallback.empty()) fallback = st.id();
    }
    if (req.staff_ids().empty() && !fallback.empty()) req.add_staff_ids(fallback);
    if (req.staff_ids().empty()) return absl::OkStatus();
    WUYE_RETURN_IF_ERROR(Call("dispatch.AssignWorkOrder", supervisor, [&](auto* ctx) {
      return dispatch_->AssignWorkOrder(ctx, req, &wo);
    }));
    worker = req.staff_ids(0);
  }
  if (worker.empty()) return absl::OkStatus();
  std::string tech = Token({WorkerRole(worker)}, worker);
  auto state_at_least = [&](evpb::WorkOrderState s) {
    return wo.state() >= s && wo.state() != evpb::WORK_ORDER_STATE_CANCELLED;
  };
  if (!state_at_least(evpb::WORK_ORDER_STATE_ACCEPTED)) {
    dpb::AcceptWorkOrderRequest req;
    req.set_request_id(Rid(key + "-accept"));
    req.set_id(wo.id());
    req.set_staff_id(worker);
    WUYE_RETURN_IF_ERROR(Call("dispatch.AcceptWorkOrder", tech, [&](auto* ctx) {
      return dispatch_->AcceptWorkOrder(ctx, req, &wo);
    }));
  }
  if (wo.paid() && !wo.has_price_agreement() && !state_at_least(evpb::WORK_ORDER_STATE_EN_ROUTE)) {
    // The resident who asked agrees the price before anyone sets out (004_…, 5.1.3).
    dpb::AgreePriceRequest req;
    req.set_request_id(Rid(key + "-agree"));
    req.set_id(wo.id());
    WUYE_RETURN_IF_ERROR(Call("dispatch.AgreePrice", supervisor,
                              [&](auto* ctx) { return dispatch_->AgreePrice(ctx, req, &wo); }));
  }
  const std::pair<dpb::ProgressStep, evpb::WorkOrderState> steps[] = {
      {dpb::PROGRESS_STEP_EN_ROUTE, evpb::WORK_ORDER_STATE_EN_ROUTE},
      {dpb::PROGRESS_STEP_ON_SITE, evpb::WORK_ORDER_STATE_ON_SITE},
      {dpb::PROGRESS_STEP_WORK_DONE, evpb::WORK_ORDER_STATE_WORK_DONE}};
  for (const auto& [step, state] : steps) {
    if (!finish && step != dpb::PROGRESS_STEP_EN_ROUTE) break;  // big work takes days
    if (state_at_least(state)) continue;
    dpb::RecordProgressRequest req;
    req.set_request_id(Rid(absl::StrCat(key, "-progress-", static_cast<int>(step))));
    req.set_id(wo.id());
    req.set_step(step);
    req.set_staff_id(worker);
    WUYE_RETURN_IF_ERROR(Call("dispatch.RecordProgress", tech,
                              [&](auto* ctx) { return dispatch_->RecordProgress(ctx, req, &wo); }));
  }
  if (!finish) return absl::OkStatus();
  // Work in a resident's unit is signed by them; the rest ends on the supervisor's check.
  const bool resident_signs = wo.sign_off() != dpb::SIGN_OFF_CHECK;
  if (resident_signs && sign && !refuse && !state_at_least(evpb::WORK_ORDER_STATE_SIGNED)) {
    dpb::SignWorkOrderRequest req;
    req.set_request_id(Rid(key + "-sign"));
    req.set_id(wo.id());
    req.mutable_signature()->set_resident_name(resident.empty() ? "resident" : resident);
    req.mutable_signature()->set_method(dpb::SIGN_METHOD_DEVICE);
    req.mutable_signature()->set_image(std::string("\x89PNG demo signature", 19));
    WUYE_RETURN_IF_ERROR(Call("dispatch.SignWorkOrder", tech,
                              [&](auto* ctx) { return dispatch_->SignWorkOrder(ctx, req, &wo); }));
  }
  if (!state_at_least(evpb::WORK_ORDER_STATE_COMPLETED)) {
    dpb::CompleteWorkOrderRequest req;
    req.set_request_id(Rid(key + "-complete"));
    req.set_id(wo.id());
    if (!resident_signs) {
      req.set_reason(sign ? "checked by the supervisor" : "ambulance guided in");
    } else if (refuse || !sign) {
      req.set_without_signature(true);
      req.set_reason("resident refused to sign; work checked by the supervisor");
    }
    WUYE_RETURN_IF_ERROR(Call("dispatch.CompleteWorkOrder", supervisor, [&](auto* ctx) {
      return dispatch_->CompleteWorkOrder(ctx, req, &wo);
    }));
  }
  if (wo.paid()) expected_paid_fen_ += wo.quote_fen();
  ++handled_;
  return absl::OkStatus();
}

absl::Status Day::DispatchStep() {
  // The work orders dispatch made of the day's tickets (and of the elder's emergency).
  std::string admin = Admin();
  std::map<std::string, dpb::WorkOrder> by_ticket;
  std::vector<dpb::WorkOrder> elder_orders;
  std::set<std::string> wanted;
  for (const auto& [key, id] : s_.ticket_ids) {
    const TicketPlan* plan = nullptr;
    for (const auto& p : Tickets()) {
      if (p.key == key) plan = &p;
    }
    if (plan && plan->category != cpb::WORK_CATEGORY_UNSPECIFIED) wanted.insert(id);
  }
  auto list_all = [&]() -> absl::Status {
    by_ticket.clear();
    elder_orders.clear();
    for (auto& [key, es] : estates_) {
      dpb::ListWorkOrdersRequest req;
      req.set_estate_id(es.id);
      req.set_page_size(1000);
      do {
        dpb::ListWorkOrdersResponse page;
        WUYE_RETURN_IF_ERROR(Call("dispatch.ListWorkOrders", admin, [&](auto* ctx) {
          return dispatch_->ListWorkOrders(ctx, req, &page);
        }));
        for (const auto& wo : page.work_orders()) {
          if (!wo.ticket_id().empty()) by_ticket[wo.ticket_id()] = wo;
          if (wo.origin() == dpb::ORIGIN_ELDER_EMERGENCY) elder_orders.push_back(wo);
        }
        req.set_page_token(page.next_page_token());
      } while (!req.page_token().empty());
    }
    return absl::OkStatus();
  };
  absl::Status seen = Until("work orders of the day's tickets", [&]() -> absl::StatusOr<bool> {
    WUYE_RETURN_IF_ERROR(list_all());
    for (const auto& id : wanted) {
      if (!by_ticket.count(id)) return false;
    }
    return elder_orders.size() >= static_cast<size_t>(s_.elder_emergencies);
  });
  if (!seen.ok()) s_.notes.push_back(std::string(seen.message()));
  for (const auto& [key, id] : s_.ticket_ids) {
    auto it = by_ticket.find(id);
    if (it == by_ticket.end()) continue;
    bool big = key == "t08-big-repair";
    bool refuse = key == "t14-small-repair";  // the resident will not sign
    WUYE_RETURN_IF_ERROR(WorkOrderLife(key, it->second, true, refuse, !big));
  }
  for (const auto& wo : elder_orders) {
    WUYE_RETURN_IF_ERROR(WorkOrderLife("elder-emergency", wo, false, false, true));
  }
  Log(
      absl::StrFormat("%d work orders finished (one resident refused to sign), the big repair "
                      "under way",
                      handled_));
  // Intake follows dispatch's events: wait until the finished orders' tickets moved on.
  absl::Status moved = Until("tickets of finished work resolved", [&]() -> absl::StatusOr<bool> {
    for (const auto& [key, id] : s_.ticket_ids) {
      if (!by_ticket.count(id) || key == "t08-big-repair") continue;
      WUYE_ASSIGN_OR_RETURN(ipb::Ticket t, GetTicket(id));
      if (t.state() != evpb::TICKET_STATE_RESOLVED &&
          t.state() != evpb::TICKET_STATE_CALLBACK_DUE && t.state() != evpb::TICKET_STATE_CLOSED) {
        return false;
      }
    }
    return true;
  });
  if (!moved.ok()) s_.notes.push_back(std::string(moved.message()));
  return absl::OkStatus();
}

// ---- The manager's figures -------------------------------------------------------------

absl::Status Day::ReportsStep() {
  std::string admin = Admin();
  // Tickets of the day.
  if (intake_) {
    for (const auto& [key, id] : s_.ticket_ids) {
      WUYE_ASSIGN_OR_RETURN(ipb::Ticket t, GetTicket(id));
      std::string state = EnumWord(evpb::TicketState_Name(t.state()), "TICKET_STATE_");
      s_.ticket_states[key] = state;
      ++s_.tickets_by_state[state];
      ++s_.tickets;
    }
    for (auto& f : s_.estates) {
      ipb::GetCallbackCoverageRequest req;
      req.set_estate_id(f.estate_id);
      *req.mutable_month() = MonthOf(day_);
      ipb::CallbackCoverage cov;
      WUYE_RETURN_IF_ERROR(Call("intake.GetCallbackCoverage", admin, [&](auto* ctx) {
        return intake_->GetCallbackCoverage(ctx, req, &cov);
      }));
      f.has_coverage = true;
      f.quota_percent = cov.quota_percent();
      f.households_served = cov.households_served();
      f.callbacks_required = cov.callbacks_required();
      f.callbacks_done = cov.callbacks_done();
      f.missing_mandatory = cov.missing_mandatory_size();
      f.coverage_met = cov.met();
    }
  }
  if (billing_) {
    for (auto& f : s_.estates) {
      bpb::ReportCollectionRequest req;
      req.set_request_id(Rid(absl::StrCat("collection-", f.estate_id)));
      req.set_estate_id(f.estate_id);
      *req.mutable_period() = MonthOf(day_);
      bpb::CollectionReport rep;
      WUYE_RETURN_IF_ERROR(Call("billing.ReportCollection", admin, [&](auto* ctx) {
        return billing_->ReportCollection(ctx, req, &rep);
      }));
      f.has_collection = true;
      f.billed_fen = rep.billed_fen();
      f.collected_fen = rep.collected_fen();
      f.collection_rate_bp = rep.collection_rate_bp();
      f.arrears_share_bp = rep.arrears_share_bp();
      f.meets_collection_target = rep.meets_collection_target();
    }
    // The enrolment fees eldercare charged reach billing through the bus.
    // And the paid work dispatch completed (CLEAN_HOME), as a charge bill of the unit.
    if ((elder_ && !s_.elder_ids.empty()) || dispatch_) {
      const int64_t expected = 415000 * static_cast<int64_t>(s_.elder_ids.size());
      absl::Status got = Until("charges in billing", [&]() -> absl::StatusOr<bool> {
        int64_t sum = 0, paid = 0;
        for (auto& [key, es] : estates_) {
          bpb::ListBillsRequest lb;
          lb.set_estate_id(es.id);
          lb.set_page_size(1000);
          do {
            bpb::ListBillsResponse page;
            WUYE_RETURN_IF_ERROR(Call("billing.ListBills", admin, [&](auto* ctx) {
              return billing_->ListBills(ctx, lb, &page);
            }));
            for (const auto& b : page.bills()) {
              if (b.kind() != bpb::BILL_KIND_CHARGE) continue;
              if (absl::StartsWith(b.source(), "eldercare")) sum += b.amount_fen();
              if (absl::StartsWith(b.source(), "work_order")) paid += b.amount_fen();
            }
            lb.set_page_token(page.next_page_token());
          } while (!lb.page_token().empty());
        }
        s_.elder_charges_fen = sum;
        s_.paid_work_fen = paid;
        return sum >= expected && paid >= expected_paid_fen_;
      });
      if (!got.ok()) s_.notes.push_back(std::string(got.message()));
    }
    // The month between each estate's office and its clinic (社区医疗保健室).
    for (auto& f : s_.estates) {
      bpb::ReportClinicSettlementRequest req;
      req.set_estate_id(f.estate_id);
      *req.mutable_period() = MonthOf(day_);
      bpb::ClinicSettlement cs;
      WUYE_RETURN_IF_ERROR(Call("billing.ReportClinicSettlement", admin, [&](auto* ctx) {
        return billing_->ReportClinicSettlement(ctx, req, &cs);
      }));
      f.has_clinic = true;
      f.clinic_billed_fen = cs.billed_for_clinic_fen();
      f.clinic_collected_fen = cs.collected_for_clinic_fen();
      f.clinic_fee_fen = cs.management_fee_fen();
      f.clinic_net_fen = cs.net_to_clinic_fen();
      f.clinic_deposits_held_fen = cs.deposits_held_fen();
      f.clinic_uncollected_fen = cs.uncollected_for_clinic_fen();
      f.clinic_settled_fen = cs.settled_fen();
      f.clinic_outstanding_fen = cs.outstanding_fen();
      f.clinic_deposits_at_centre_fen = cs.deposits_at_emergency_centre_fen();
    }
    bpb::CheckLedgerRequest req;
    bpb::LedgerCheck check;
    WUYE_RETURN_IF_ERROR(Call("billing.CheckLedger", admin,
                              [&](auto* ctx) { return billing_->CheckLedger(ctx, req, &check); }));
    s_.ledger_balanced = check.balanced();
    s_.ledger_transactions = check.transactions();
    s_.ledger_sum_fen = check.sum_fen();
  }
  if (elder_) {
    const absl::CivilDay week_end = absl::ToCivilDay(absl::Now(), tz_) + 7;
    s_.visits_due_by = absl::FormatCivilTime(week_end);
    for (auto& f : s_.estates) {
      // The home visits of the coming week (the care worker's round), overdue ones first.
      epb::ListDueVisitsRequest req;
      req.set_estate_id(f.estate_id);
      req.set_page_size(1000);
      req.mutable_as_of()->set_year(static_cast<int32_t>(week_end.year()));
      req.mutable_as_of()->set_month(week_end.month());
      req.mutable_as_of()->set_day(week_end.day());
      epb::ListDueVisitsResponse due;
      WUYE_RETURN_IF_ERROR(Call("eldercare.ListDueVisits", As("estate_manager", "周晓红"),
                                [&](auto* ctx) { return elder_->ListDueVisits(ctx, req, &due); }));
      epb::ListEldersRequest le;
      le.set_estate_id(f.estate_id);
      le.set_state(epb::ELDER_STATE_ENROLLED);
      le.set_page_size(1000);
      epb::ListEldersResponse elders;
      WUYE_RETURN_IF_ERROR(Call("eldercare.ListElders", As("estate_manager", "周晓红"),
                                [&](auto* ctx) { return elder_->ListElders(ctx, le, &elders); }));
      f.has_visits = true;
      f.elders = elders.elders_size();
      f.visits_due = due.visits_size();
      for (const auto& v : due.visits()) f.visits_overdue += v.overdue() ? 1 : 0;
    }
  }
  if (dispatch_) {
    for (auto& [key, es] : estates_) {
      dpb::ListWorkOrdersRequest req;
      req.set_estate_id(es.id);
      req.set_page_size(1000);
      do {
        dpb::ListWorkOrdersResponse page;
        WUYE_RETURN_IF_ERROR(Call("dispatch.ListWorkOrders", admin, [&](auto* ctx) {
          return dispatch_->ListWorkOrders(ctx, req, &page);
        }));
        for (const auto& wo : page.work_orders()) {
          if (wo.state() == evpb::WORK_ORDER_STATE_COMPLETED) {
            ++s_.work_orders_completed;
            if (wo.signature_missing()) ++s_.completed_without_signature;
          }
          SlaFigures& f = s_.sla[EnumWord(cpb::Priority_Name(wo.priority()), "PRIORITY_")];
          ++f.orders;
          if (wo.sla_breached()) {
            ++f.missed;
          } else if (wo.sla_met()) {
            ++f.met;
          } else {
            ++f.open;
          }
        }
        req.set_page_token(page.next_page_token());
      } while (!req.page_token().empty());
    }
  }
  if (perf_) {
    // The team sheets: the arrears share billing reported, and the team's points for it.
    absl::Status teams =
        Until("team sheets with the collection report", [&]() -> absl::StatusOr<bool> {
          bool all = true;
          for (auto& f : s_.estates) {
            ppb::GetTeamSheetRequest req;
            req.set_estate_id(f.estate_id);
            *req.mutable_period() = MonthOf(day_);
            ppb::TeamSheet team;
            WUYE_RETURN_IF_ERROR(Call("performance.GetTeamSheet", admin, [&](auto* ctx) {
              return perf_->GetTeamSheet(ctx, req, &team);
            }));
            f.has_team = true;
            f.team_points = team.team_points();
            f.team_average_score = team.average_score();
            f.team_unrecorded_calls = static_cast<int>(team.unrecorded_calls());
            all &= team.arrears_reported() || !billing_;
          }
          return all;
        });
    if (!teams.ok()) s_.notes.push_back(std::string(teams.message()));
    // The sunny hotline's unrecorded calls as performance judged them (000_…, 二.5).
    if (intake_ && estates_.count("sunny")) {
      absl::Status judged = Until("call findings", [&]() -> absl::StatusOr<bool> {
        ppb::ListCallFindingsRequest req;
        req.set_estate_id(E("sunny").id);
        *req.mutable_period() = MonthOf(day_);
        ppb::ListCallFindingsResponse resp;
        WUYE_RETURN_IF_ERROR(Call("performance.ListCallFindings", admin, [&](auto* ctx) {
          return perf_->ListCallFindings(ctx, req, &resp);
        }));
        s_.call_findings.clear();
        for (const auto& finding : resp.findings()) {
          DaySummary::CallFindingFigures c;
          c.local_time = absl::FormatTime("%H:%M", FromProtoTime(finding.call_time()), tz_);
          c.duration_seconds = finding.duration_seconds();
          c.resident = finding.caller() == ppb::CALLER_KIND_RESIDENT;
          c.deducted = finding.state() == ppb::FINDING_STATE_DEDUCTED;
          for (const auto& id : finding.charged_staff_ids()) {
            c.charged.push_back(staff_names_.count(id) ? staff_names_.at(id) : id);
          }
          s_.call_findings.push_back(std::move(c));
        }
        std::sort(s_.call_findings.begin(), s_.call_findings.end(),
                  [](const auto& a, const auto& b) { return a.local_time < b.local_time; });
        return static_cast<int>(s_.call_findings.size()) >= s_.carrier_findings;
      });
      if (!judged.ok()) s_.notes.push_back(std::string(judged.message()));
    }
    // The office's service quality ledgers (000_…, 二), apart from the people's forms; the
    // people they name are read first for the month's best sheets.
    std::set<std::string> named;
    for (auto& f : s_.estates) {
      ppb::GetQualityLedgerRequest req;
      req.set_estate_id(f.estate_id);
      *req.mutable_period() = MonthOf(day_);
      ppb::QualityLedger ledger;
      WUYE_RETURN_IF_ERROR(Call("performance.GetQualityLedger", admin, [&](auto* ctx) {
        return perf_->GetQualityLedger(ctx, req, &ledger);
      }));
      f.has_quality = true;
      f.quality_score = ledger.score();
      f.quality_lines = ledger.lines_size();
      f.quality_awaiting = ledger.awaiting_confirmation();
      f.findings_to_review = ledger.findings_to_review();
      for (const auto& l : ledger.lines()) {
        if (l.state() != ppb::QUALITY_LINE_STATE_WITHDRAWN && l.points() > 0) {
          named.insert(l.responsible_staff_ids().begin(), l.responsible_staff_ids().end());
        }
      }
    }
    // Sheets fill from the day's events as performance consumes them: wait for lines.
    std::vector<std::pair<int, std::string>> ranked;  // score, staff id
    absl::Status filled = Until("score sheets", [&]() -> absl::StatusOr<bool> {
      ranked.clear();
      for (auto& [key, es] : estates_) {
        ppb::ListRankingsRequest req;
        req.set_estate_id(es.id);
        *req.mutable_period() = MonthOf(day_);
        req.set_page_size(1000);  // every ranked person of the estate
        ppb::ListRankingsResponse resp;
        WUYE_RETURN_IF_ERROR(Call("performance.ListRankings", admin,
                                  [&](auto* ctx) { return perf_->ListRankings(ctx, req, &resp); }));
        for (const auto& r : resp.rankings()) ranked.push_back({r.score(), r.staff_id()});
      }
      return ranked.size() >= 2;
    });
    if (!filled.ok()) s_.notes.push_back(std::string(filled.message()));
    std::sort(ranked.begin(), ranked.end());
    ranked.erase(std::unique(ranked.begin(), ranked.end()), ranked.end());
    auto sheet = [&](const std::string& staff_id) -> absl::StatusOr<ScoreLine> {
      ppb::GetSheetRequest req;
      req.set_staff_id(staff_id);
      *req.mutable_period() = MonthOf(day_);
      ppb::Sheet sh;
      WUYE_RETURN_IF_ERROR(Call("performance.GetSheet", admin,
                                [&](auto* ctx) { return perf_->GetSheet(ctx, req, &sh); }));
      ScoreLine line;
      line.staff_id = staff_id;
      line.name = staff_names_.count(staff_id) ? staff_names_.at(staff_id) : staff_id;
      line.score = sh.score();
      for (const auto& l : sh.lines()) {
        if (l.voided() || l.pending()) continue;
        line.evidence.push_back(absl::StrFormat("%+d %s%s%s", l.points(), l.rule(),
                                                l.note().empty() ? "" : ": ", l.note()));
      }
      return line;
    };
    // The two lowest, and the two highest that have evidence (a sheet without lines is just
    // the base score), at most a dozen sheets read.
    std::set<std::string> shown;
    for (size_t i = 0; i < ranked.size() && s_.worst.size() < 2; ++i) {
      absl::StatusOr<ScoreLine> w = sheet(ranked[i].second);
      if (!w.ok()) break;
      s_.worst.push_back(*w);
      shown.insert(ranked[i].second);
    }
    // Forms stop at 100, so many share the top: those a reward on the office's ledger
    // names come first.
    std::set<std::string> tried;
    for (int pass = 0; pass < 2; ++pass) {
      for (size_t i = ranked.size(), read = 0; i-- > 0 && s_.best.size() < 2 && read < 12;) {
        const std::string& id = ranked[i].second;
        if (shown.count(id)) break;  // down to the lowest
        if (tried.count(id) || (pass == 0 && !named.count(id))) continue;
        tried.insert(id);
        ++read;
        absl::StatusOr<ScoreLine> b = sheet(id);
        if (!b.ok()) break;
        if (!b->evidence.empty()) s_.best.push_back(*b);
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<DaySummary> Day::Run() {
  if (t_.directory.empty() || t_.group_id.empty()) {
    return absl::InvalidArgumentError("the directory target and the group id are required");
  }
  s_.day = day_text_;
  dir_ = dirpb::DirectoryService::NewStub(Channel(t_.directory));
  if (!t_.intake.empty()) intake_ = ipb::IntakeService::NewStub(Channel(t_.intake));
  if (!t_.billing.empty()) billing_ = bpb::BillingService::NewStub(Channel(t_.billing));
  if (!t_.eldercare.empty()) elder_ = epb::ElderCareService::NewStub(Channel(t_.eldercare));
  if (!t_.dispatch.empty()) dispatch_ = dpb::DispatchService::NewStub(Channel(t_.dispatch));
  if (!t_.performance.empty()) {
    perf_ = ppb::PerformanceService::NewStub(Channel(t_.performance));
  }

  Step("directory");
  WUYE_RETURN_IF_ERROR(LoadDirectory());
  for (const char* key : {"sunny", "tower", "jade"}) {  // largest first
    const Estate& es = E(key);
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
  if (intake_) {
    Step("tickets");
    WUYE_RETURN_IF_ERROR(TicketsStep());
    Step("complaints");
    WUYE_RETURN_IF_ERROR(ComplaintsStep());
    Step("carrier");
    WUYE_RETURN_IF_ERROR(CarrierStep());
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

// ---- Printing ----------------------------------------------------------------------------

// One table row: the first column left-aligned, the others right-aligned.
void Line(std::ostream& out, const std::vector<std::string>& cells, const std::vector<int>& w) {
  std::string line = "  ";
  for (size_t i = 0; i < cells.size(); ++i) {
    int pad = std::max(0, w[i] - DisplayWidth(cells[i]));
    if (i == 0) {
      absl::StrAppend(&line, cells[i], std::string(pad, ' '));
    } else {
      absl::StrAppend(&line, "  ", std::string(pad, ' '), cells[i]);
    }
  }
  out << line << "\n";
}

}  // namespace

absl::CivilDay DefaultDemoDay() {
  absl::TimeZone tz;
  absl::LoadTimeZone(kTimeZone, &tz);
  return absl::ToCivilDay(absl::Now(), tz) - 1;
}

absl::StatusOr<DaySummary> RunDemoDay(const DayTargets& targets, const DayOptions& options) {
  Day day(targets, options);
  return day.Run();
}

void DaySummary::Print(std::ostream& out) const {
  out << "\nThe day " << day << " (" << kTimeZone << ") as a manager reads it\n";
  for (const auto& s : skipped) out << "  skipped: " << s << "\n";
  if (tickets > 0) {
    std::vector<std::string> states;
    for (const auto& [state, n] : tickets_by_state) states.push_back(absl::StrCat(state, " ", n));
    out << "\n  Tickets of the day: " << tickets << " (" << absl::StrJoin(states, ", ") << ")"
        << "\n  Carrier call log (sunny hotline): " << carrier_calls << " calls, "
        << carrier_matched << " matched to a ticket, " << carrier_skipped << " unanswered, "
        << carrier_findings << " unrecorded call(s) found\n";
    for (const auto& c : call_findings) {
      out << "    " << c.local_time << " (" << c.duration_seconds << " s), "
          << (c.resident ? "a resident's number" : "a number of no resident") << ": "
          << (c.deducted ? "deducted, −20 for the office" : "to review, no deduction");
      if (c.deducted) {
        out << (c.charged.empty()
                    ? ", no agent on duty"
                    : absl::StrCat(", on the forms of ", absl::StrJoin(c.charged, ", "),
                                   " (on duty) by the group's mapping"));
      }
      out << "\n";
    }
  }
  if (!sla.empty()) {
    out << "\n  SLA per priority (work orders)\n";
    std::vector<int> w = {12, 6, 4, 6, 5};
    Line(out, {"priority", "orders", "met", "missed", "open"}, w);
    for (const auto& [p, f] : sla) {
      Line(out,
           {p, absl::StrCat(f.orders), absl::StrCat(f.met), absl::StrCat(f.missed),
            absl::StrCat(f.open)},
           w);
    }
    out << "  " << work_orders_completed << " orders finished today, "
        << completed_without_signature << " completed without the resident's signature\n";
  }
  bool any_cov = false, any_coll = false, any_visits = false;
  for (const auto& f : estates) {
    any_cov |= f.has_coverage;
    any_coll |= f.has_collection;
    any_visits |= f.has_visits;
  }
  if (any_cov) {
    // The band follows the households served in the month, not the estate's size
    // (004_…, 5.5.2).
    out << "\n  Callback coverage of the month against the quota of the households served\n";
    std::vector<int> w = {22, 10, 6, 5, 8, 4, 7, 4};
    Line(out, {"estate", "households", "served", "quota", "required", "done", "missing", "met"}, w);
    for (const auto& f : estates) {
      Line(out,
           {f.name, absl::StrCat(f.households), absl::StrCat(f.households_served),
            absl::StrCat(f.quota_percent, "%"), absl::StrCat(f.callbacks_required),
            absl::StrCat(f.callbacks_done), absl::StrCat(f.missing_mandatory),
            f.coverage_met ? "yes" : "NO"},
           w);
    }
  }
  if (any_coll) {
    out << "\n  Collection of the month (target ≥ 95 %, arrears share ≤ 25 %)\n";
    std::vector<int> w = {22, 10, 10, 7, 7, 6};
    Line(out, {"estate", "billed", "collected", "rate", "arrears", "target"}, w);
    for (const auto& f : estates) {
      Line(out,
           {f.name, Yuan(f.billed_fen), Yuan(f.collected_fen), Percent(f.collection_rate_bp),
            Percent(f.arrears_share_bp), f.meets_collection_target ? "met" : "MISSED"},
           w);
    }
    out << "  " << payments_recorded << " payments; payment " << duplicate_payment_id
        << " was sent twice and recorded " << (duplicate_recorded_once ? "once" : "TWICE")
        << "; ledger " << (ledger_balanced ? "balanced" : "NOT BALANCED") << " ("
        << ledger_transactions << " transactions, sum " << Yuan(ledger_sum_fen) << ")\n";
    if (elder_charges_fen > 0 || paid_work_fen > 0) {
      out << "  charges: elderly-care fees " << Yuan(elder_charges_fen) << " yuan, paid work "
          << Yuan(paid_work_fen) << " yuan\n";
    }
  }
  bool any_clinic = false;
  for (const auto& f : estates) any_clinic |= f.has_clinic;
  if (any_clinic) {
    out << "\n  Clinic settlement of the month (社区医疗保健室; net, outstanding > 0: the office "
           "owes the clinic)\n";
    std::vector<int> w = {22, 10, 10, 10, 9, 9, 9, 11, 9, 9};
    Line(out,
         {"estate", "for clinic", "collected", "unpaid", "mgmt fee", "net", "settled",
          "outstanding", "deposits", "at centre"},
         w);
    for (const auto& f : estates) {
      Line(out,
           {f.name, Yuan(f.clinic_billed_fen), Yuan(f.clinic_collected_fen),
            Yuan(f.clinic_uncollected_fen), Yuan(f.clinic_fee_fen), Yuan(f.clinic_net_fen),
            Yuan(f.clinic_settled_fen), Yuan(f.clinic_outstanding_fen),
            Yuan(f.clinic_deposits_held_fen), Yuan(f.clinic_deposits_at_centre_fen)},
           w);
    }
  }
  if (any_visits) {
    out << "\n  Home elderly care: " << elder_ids.size() << " enrolled today, " << visits_recorded
        << " visits, " << care_days << " sick-bed day, " << elder_emergencies << " emergency\n";
    for (const auto& f : estates) {
      out << "    " << f.name << ": " << f.elders << " elders, " << f.visits_due
          << " visits due by " << visits_due_by << " (" << f.visits_overdue << " overdue)\n";
    }
  }
  auto print_lines = [&](const char* title, const std::vector<ScoreLine>& lines) {
    if (lines.empty()) return;
    out << "  " << title << "\n";
    for (const auto& l : lines) {
      out << "    " << l.name << ": " << l.score << "\n";
      for (const auto& e : l.evidence) out << "      " << e << "\n";
    }
  };
  bool any_quality = false;
  for (const auto& f : estates) any_quality |= f.has_quality;
  if (any_quality) {
    // 000_…, 二: the office's score, assessed by the owners' supervisory committee.
    out << "\n  Office service quality ledger of the month (服务质量标准分值)\n";
    std::vector<int> w = {22, 13, 14, 8, 17, 10};
    Line(out,
         {"estate", "quality score", "arrears points", "lines", "unrecorded calls", "to review"},
         w);
    for (const auto& f : estates) {
      Line(out,
           {f.name, absl::StrCat(f.quality_score), absl::StrCat(f.team_points),
            absl::StrCat(f.quality_lines), absl::StrCat(f.team_unrecorded_calls),
            absl::StrCat(f.findings_to_review)},
           w);
    }
  }
  bool any_team = false;
  for (const auto& f : estates) any_team |= f.has_team;
  if (any_team) {
    // 002_…, 第七章: each person's 100-point monthly form.
    out << "\n  People's monthly forms (100 points each)\n";
    std::vector<int> w = {22, 18};
    Line(out, {"estate", "average form score"}, w);
    for (const auto& f : estates) Line(out, {f.name, absl::StrCat(f.team_average_score)}, w);
  }
  if (!best.empty() || !worst.empty()) {
    out << "\n  People's forms of the month\n";
    print_lines("highest", best);
    print_lines("lowest", worst);
  }
  for (const auto& n : notes) out << "  note: " << n << "\n";
  out << std::flush;
}

}  // namespace wuye::demo
