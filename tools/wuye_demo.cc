// wuye-demo: loads a demo property group into a running directory service and prints what
// it made: three estates (one per callback-sampling band of DOMAIN.md §2), their buildings
// and units, some residents, the staff, and today's shifts; and one estate's own working
// calendar of the year (阳光花园's stocktake day off, imported through ImportWorkCalendar) with
// one deadline ExplainDeadline counts on it (issue 27). The estates and their unit
// layouts are below (DemoEstates); the residents and staff are text protos in
// tools/demo_data/ (residents.textproto, staff.textproto), embedded at build time.
//
//   wuye-demo [--directory=127.0.0.1:50051] [--jwt_secret_file=.local/jwt-secret]
//
// It mints its own tokens with the services' HS256 secret: a platform_admin token to create
// the group, then a group_admin token for every estate of it. Every mutating call carries a
// fixed request_id ("demo-estate-sunny", ...), so running it again creates nothing new: the
// service answers with its first answer. Shifts are per estate-local day, so a run on a new
// day adds that day's shifts (yesterday's and today's). Any failed call ends the run with
// exit code 1.
//
// Given the other services (--intake, --dispatch, --billing, --performance, --eldercare;
// empty: skipped), it then replays a day of front-desk traffic across them and prints what
// a manager reads (tools/demo_day.h); a rerun of the same day changes nothing.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/flags/usage_config.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "shared/auth.h"
#include "shared/config.h"
#include "shared/proto_time.h"
#include "shared/secret.h"
#include "shared/staff_roles.h"
#include "shared/status.h"
#include "shared/work_calendar.h"
#include "tools/demo_day.h"
#include "tools/demo_day/script.h"
#include "tools/display_width.h"
#include "wuye/directory/v1/directory.grpc.pb.h"
#include "wuye/duty/v1/duty.grpc.pb.h"

ABSL_FLAG(std::string, directory, "127.0.0.1:50051", "host:port of the directory service");
// The day's services (tools/demo_day.h); empty: that service's steps are skipped. With none
// of them, only the demo group is loaded.
ABSL_FLAG(std::string, intake, "", "host:port of the intake service (empty: skip its steps)");
ABSL_FLAG(std::string, dispatch, "", "host:port of the dispatch service (empty: skip)");
ABSL_FLAG(std::string, billing, "", "host:port of the billing service (empty: skip)");
ABSL_FLAG(std::string, performance, "", "host:port of the performance service (empty: skip)");
ABSL_FLAG(std::string, eldercare, "", "host:port of the eldercare service (empty: skip)");
ABSL_FLAG(std::string, duty, "", "host:port of the duty desk (empty: skip)");
ABSL_FLAG(std::string, counter, "", "host:port of the counter (empty: skip)");
ABSL_FLAG(std::string, day, "",
          "the estate-local day replayed, YYYY-MM-DD (default: yesterday in Asia/Shanghai)");
ABSL_FLAG(absl::Duration, settle_timeout, absl::Seconds(60),
          "how long the day waits for an effect of another service's event");
ABSL_FLAG(absl::Duration, rpc_timeout, absl::Seconds(30), "deadline of each call");
// Defined in shared/config.cc (the services read their secret from it too); the demo's
// default is set in main: .local/jwt-secret, as made by scripts/services.sh.
ABSL_DECLARE_FLAG(std::string, jwt_secret_file);

namespace {

namespace v1 = ::wuye::directory::v1;
using ::wuye::demo::DisplayWidth;

constexpr char kDefaultSecretFile[] = ".local/jwt-secret";
constexpr char kGroupName[] = "Demo Property Group (演示物业集团)";
constexpr char kTimeZone[] = "Asia/Shanghai";
constexpr char kSubject[] = "wuye-demo";

// ------------------------------------------------------------------------------------
// The demo data. Everything is a pure function of constants, so that a rerun sends
// exactly the same requests (the service refuses a known request_id with other content).

uint64_t Hash(absl::string_view s) {  // FNV-1a: stable across runs and machines
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

v1::TimeOfDay MakeTime(int h, int m) {
  v1::TimeOfDay t;
  t.set_hours(h);
  t.set_minutes(m);
  return t;
}

// Occupancy from a stable hash: `vacant` % vacant, `rented` % rented, the rest owner-occupied.
v1::Occupancy PickOccupancy(absl::string_view key, int vacant, int rented) {
  int roll = static_cast<int>(Hash(key) % 100);
  if (roll < vacant) return v1::OCCUPANCY_VACANT;
  if (roll < vacant + rented) return v1::OCCUPANCY_RENTED;
  return v1::OCCUPANCY_SELF_OCCUPIED;
}

std::string Area(int centi_m2) {
  return absl::StrFormat("%d.%02d", centi_m2 / 100, centi_m2 % 100);
}

v1::ImportedUnit MakeUnit(absl::string_view building, std::string number, int floor, int centi_m2,
                          v1::UnitType type, v1::Occupancy occupancy, bool handed_over = true) {
  v1::ImportedUnit u;
  u.set_building_name(std::string(building));
  u.set_number(std::move(number));
  u.set_floor(floor);
  u.set_building_area_m2(Area(centi_m2));
  u.set_type(type);
  u.set_occupancy(occupancy);
  u.set_handed_over(handed_over);
  return u;
}

struct EstatePlan {
  std::string key;  // "sunny": request ids
  std::string name;
  v1::EstateKind kind;
  int64_t fee_fen_per_m2;
  std::string address;
  v1::TimeOfDay desk_opens, desk_closes;
  std::vector<v1::ImportedUnit> units;
};

std::vector<EstatePlan> DemoEstates() {
  std::vector<EstatePlan> estates;

  // 阳光花园: a large residential compound, 8 buildings × 11 floors × 4 flats = 352.
  EstatePlan sunny{"sunny",
                   "阳光花园 Sunny Gardens",
                   v1::ESTATE_KIND_RESIDENTIAL,
                   150,
                   "上海市浦东新区阳光路 88 号 (88 Yangguang Road, Pudong, Shanghai)",
                   MakeTime(8, 0),
                   MakeTime(20, 0),
                   {}};
  const int sunny_layout[4] = {8950, 12630, 14375, 6820};  // flats 01..04 of each floor
  for (int b = 1; b <= 8; ++b) {
    std::string building = absl::StrCat(b, "栋");
    for (int floor = 1; floor <= 11; ++floor) {
      for (int flat = 1; flat <= 4; ++flat) {
        std::string number = absl::StrFormat("%d%02d", floor, flat);
        int area = sunny_layout[flat - 1] + (b % 3) * 150;
        // The newest building's top floor is not handed over yet: empty, no owner.
        bool handed = !(b == 8 && floor == 11);
        v1::Occupancy occ =
            handed ? PickOccupancy(absl::StrCat("sunny/", building, "/", number), 10, 20)
                   : v1::OCCUPANCY_VACANT;
        sunny.units.push_back(
            MakeUnit(building, number, floor, area, v1::UNIT_TYPE_APARTMENT, occ, handed));
      }
    }
  }
  estates.push_back(std::move(sunny));

  // 金融中心: an office tower, shops on the ground floor, 25 floors × 6 = 150 units.
  EstatePlan tower{"tower",
                   "金融中心 Finance Tower",
                   v1::ESTATE_KIND_OFFICE,
                   80,
                   "上海市黄浦区中山东一路 200 号 (200 Zhongshan East 1st Road, Huangpu, Shanghai)",
                   MakeTime(8, 30),
                   MakeTime(18, 0),
                   {}};
  const int tower_layout[6] = {16840, 9680, 6250, 7530, 11000, 17890};
  for (int floor = 1; floor <= 25; ++floor) {
    for (int u = 1; u <= 6; ++u) {
      std::string number = absl::StrFormat("%d%02d", floor, u);
      v1::UnitType type = floor == 1 ? v1::UNIT_TYPE_SHOP : v1::UNIT_TYPE_OFFICE;
      tower.units.push_back(MakeUnit("A座", number, floor, tower_layout[u - 1], type,
                                     PickOccupancy(absl::StrCat("tower/", number), 15, 60)));
    }
  }
  estates.push_back(std::move(tower));

  // 翠湖苑: a small upscale court, 12 villas and 3 low-rise buildings × 6 floors × 4 = 84.
  EstatePlan jade{"jade",
                  "翠湖苑 Jade Lake Court",
                  v1::ESTATE_KIND_RESIDENTIAL,
                  180,
                  "杭州市西湖区翠湖路 16 号 (16 Cuihu Road, Xihu, Hangzhou)",
                  MakeTime(8, 0),
                  MakeTime(20, 0),
                  {}};
  for (int v = 1; v <= 12; ++v) {
    std::string number = absl::StrFormat("V%02d", v);
    jade.units.push_back(MakeUnit("翠湖别墅", number, 1, 17260 + (v % 4) * 210, v1::UNIT_TYPE_VILLA,
                                  PickOccupancy(absl::StrCat("jade/villa/", number), 8, 14)));
  }
  const int jade_layout[4] = {11860, 13240, 9670, 14290};
  for (int b = 1; b <= 3; ++b) {
    std::string building = absl::StrCat(b, "幢");
    for (int floor = 1; floor <= 6; ++floor) {
      for (int flat = 1; flat <= 4; ++flat) {
        std::string number = absl::StrFormat("%d%02d", floor, flat);
        jade.units.push_back(
            MakeUnit(building, number, floor, jade_layout[flat - 1], v1::UNIT_TYPE_APARTMENT,
                     PickOccupancy(absl::StrCat("jade/", building, "/", number), 8, 14)));
      }
    }
  }
  estates.push_back(std::move(jade));
  return estates;
}

// ------------------------------------------------------------------------------------
// Calling the directory.

std::string ReadSecret(const std::string& path) {
  auto secret = wuye::ReadSecretFileOrEnv("--jwt_secret_file", path, "WUYE_JWT_SECRET");
  if (secret.ok()) return *secret;
  std::cerr << "wuye-demo: " << secret.status().message()
            << " (made by scripts/services.sh start; or pass --jwt_secret_file)\n";
  std::exit(1);
}

// A token of `group` over `estates` with one role; its subject the demo, or a staff member
// acting for themselves.
std::string Mint(const std::string& secret, const std::string& group,
                 std::vector<std::string> estates, std::string role,
                 const std::string& subject = kSubject) {
  wuye::TokenClaims claims;
  claims.subject = subject;
  claims.group_id = group;
  claims.estate_ids = std::move(estates);
  claims.roles = {std::move(role)};
  claims.issued_at = absl::Now();
  claims.expires_at = claims.issued_at + absl::Hours(1);
  absl::StatusOr<std::string> token = wuye::MintHs256(claims, secret);
  if (!token.ok()) {
    std::cerr << "wuye-demo: cannot mint a token: " << token.status().message() << "\n";
    std::exit(1);
  }
  return *token;
}

class Directory {
 public:
  Directory(const std::shared_ptr<grpc::Channel>& channel, absl::Duration timeout)
      : stub_(v1::DirectoryService::NewStub(channel)),
        timeout_(timeout),
        trace_(absl::StrCat("wuye-demo-", absl::ToUnixSeconds(absl::Now()))) {}

  void set_token(std::string token) { token_ = std::move(token); }

  // Runs one call; on failure prints the method and the status and exits 1.
  template <class Fn>
  void Call(absl::string_view method, Fn&& fn) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + token_);
    ctx.AddMetadata("x-trace-id", trace_);
    ctx.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout_));
    grpc::Status st = fn(&ctx);
    if (!st.ok()) Fail(method, st);
    ++calls_;
  }

  // Every page of a List method, in order.
  template <class Req, class Resp>
  std::vector<Resp> ListAll(absl::string_view method, Req req,
                            grpc::Status (v1::DirectoryService::Stub::*rpc)(grpc::ClientContext*,
                                                                            const Req&, Resp*)) {
    std::vector<Resp> pages;
    req.set_page_size(1000);
    do {
      Resp resp;
      Call(method, [&](grpc::ClientContext* ctx) { return (stub_.get()->*rpc)(ctx, req, &resp); });
      req.set_page_token(resp.next_page_token());
      pages.push_back(std::move(resp));
    } while (!req.page_token().empty());
    return pages;
  }

  v1::DirectoryService::Stub& stub() { return *stub_; }
  int calls() const { return calls_; }
  const std::string& trace_id() const { return trace_; }

 private:
  [[noreturn]] void Fail(absl::string_view method, const grpc::Status& st) {
    absl::Status s = wuye::FromGrpcStatus(st);
    std::cerr << "\nwuye-demo: " << method << " failed: " << absl::StatusCodeToString(s.code())
              << ": " << s.message();
    std::string reason = wuye::ErrorReason(s);
    if (!reason.empty()) std::cerr << " (reason " << reason << ")";
    std::cerr << "\n";
    if (s.code() == absl::StatusCode::kUnavailable ||
        s.code() == absl::StatusCode::kDeadlineExceeded) {
      std::cerr << "wuye-demo: is the directory service up? scripts/services.sh status\n";
    } else if (s.code() == absl::StatusCode::kUnauthenticated) {
      std::cerr << "wuye-demo: does --jwt_secret_file hold the secret the services run with?\n";
    } else if (reason == "REQUEST_ID_REUSED") {
      std::cerr << "wuye-demo: the directory holds demo data from another version of this tool\n";
    }
    std::exit(1);
  }

  std::unique_ptr<v1::DirectoryService::Stub> stub_;
  absl::Duration timeout_;
  std::string trace_;
  std::string token_;
  int calls_ = 0;
};

// ------------------------------------------------------------------------------------
// Printing.

bool LooksNumeric(absl::string_view cell) {
  return !cell.empty() && std::all_of(cell.begin(), cell.end(), [](char c) {
    return absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '.' || c == '%' || c == '>' ||
           c == '=';
  });
}

// A plain text table under a header row: columns of numbers right-aligned, others left.
void PrintTable(const std::vector<std::vector<std::string>>& rows, absl::string_view indent) {
  std::vector<int> widths;
  std::vector<bool> numeric;
  for (size_t r = 0; r < rows.size(); ++r) {
    const auto& row = rows[r];
    if (widths.size() < row.size()) {
      widths.resize(row.size(), 0);
      numeric.resize(row.size(), true);
    }
    for (size_t c = 0; c < row.size(); ++c) {
      widths[c] = std::max(widths[c], DisplayWidth(row[c]));
      if (r > 0 && !LooksNumeric(row[c])) numeric[c] = false;
    }
  }
  for (size_t r = 0; r < rows.size(); ++r) {
    std::string line(indent);
    for (size_t c = 0; c < rows[r].size(); ++c) {
      std::string pad(widths[c] - DisplayWidth(rows[r][c]), ' ');
      if (c > 0) line += "  ";
      if (numeric[c]) {
        absl::StrAppend(&line, pad, rows[r][c]);
      } else {
        absl::StrAppend(&line, rows[r][c], pad);
      }
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::cout << line << "\n";
    if (r == 0) {
      int total = 0;
      for (int w : widths) total += w + 2;
      std::cout << indent << std::string(total - 2, '-') << "\n";
    }
  }
}

const char* KindName(v1::EstateKind kind) {
  switch (kind) {
    case v1::ESTATE_KIND_RESIDENTIAL:
      return "residential";
    case v1::ESTATE_KIND_OFFICE:
      return "office";
    case v1::ESTATE_KIND_MALL:
      return "mall";
    case v1::ESTATE_KIND_MIXED:
      return "mixed";
    default:
      return "?";
  }
}

// DOMAIN.md §2: the share of households served in a month that must be called back.
const char* CallbackBand(int households) {
  if (households > 300) return ">=10%";
  if (households >= 100) return ">=20%";
  return ">=30%";
}

std::string Yuan(int64_t fen) { return absl::StrFormat("%d.%02d", fen / 100, fen % 100); }

// ------------------------------------------------------------------------------------

struct Tally {
  absl::Time run_start;
  int created = 0, existed = 0;
  void Count(const google::protobuf::Timestamp& create_time) {
    if (wuye::FromProtoTime(create_time) >= run_start) {
      ++created;
    } else {
      ++existed;
    }
  }
};

struct EstateSummary {
  v1::Estate estate;
  int buildings = 0, units = 0, vacant = 0, rented = 0, self_occupied = 0, not_handed_over = 0;
  int residents = 0, elders = 0, staff = 0, shifts_today = 0;
  std::string today;
};

int AgeOn(const v1::Date& birth, absl::CivilDay today) {
  int age = static_cast<int>(today.year()) - birth.year();
  if (today.month() < birth.month() ||
      (today.month() == birth.month() && today.day() < birth.day())) {
    --age;
  }
  return age;
}

}  // namespace

// The demo's estate override of the working calendar (issue 27): 阳光花园's office closes for
// its year-end stocktake on the first Friday from 15 December, an overlay on the State
// Council's arrangement of the year (the rest of the year stays as the notice says). A pure
// function of the year, so a rerun sends the same request.
struct CalendarOverride {
  absl::CivilDay closed;
  std::string file;
};
CalendarOverride StocktakeOverride(int year) {
  wuye::CalendarYear y;
  y.year = year;
  y.overlay = true;
  y.source = "阳光花园管理处通知（年终盘点，管理处闭门一天）";
  CalendarOverride out;
  out.closed = absl::NextWeekday(absl::CivilDay(year, 12, 14), absl::Weekday::friday);
  y.days.push_back({out.closed, false, "年终盘点（管理处闭门）"});
  out.file = wuye::FormatCalendarYear(y);
  return out;
}

int main(int argc, char** argv) {
  absl::SetFlag(&FLAGS_jwt_secret_file, kDefaultSecretFile);
  // --help lists this file's flags (the program name is not the file name).
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view file) {
    return absl::EndsWith(file, "wuye_demo.cc");
  };
  absl::SetFlagsUsageConfig(usage);
  wuye::ParseFlagsWithEnv(
      argc, argv,
      "Loads a demo property group into the wuye directory service and prints what it made;\n"
      "then, given any of the other services, replays a day of front-desk traffic across them\n"
      "and prints the manager's summary (tools/demo_day.h).\n"
      "  wuye-demo [--directory=127.0.0.1:50051] [--jwt_secret_file=.local/jwt-secret]\n"
      "            [--intake=H:P] [--dispatch=H:P] [--billing=H:P] [--performance=H:P] "
      "[--duty=H:P]\n"
      "            [--eldercare=H:P] [--counter=H:P] [--day=YYYY-MM-DD]\n"
      "Each flag also reads WUYE_<FLAG> from the environment (WUYE_DIRECTORY, ...).\n"
      "--jwt_secret_file: the HS256 secret the services run with (default .local/jwt-secret;\n"
      "WUYE_JWT_SECRET when the file cannot be read).");
  const std::string target = absl::GetFlag(FLAGS_directory);
  const std::string secret = ReadSecret(absl::GetFlag(FLAGS_jwt_secret_file));

  // The residents and staff to load (tools/demo_data/), before anything is written.
  absl::StatusOr<const wuye::demo::v1::DayScript*> script = wuye::demo::LoadDayScript();
  if (!script.ok()) {
    std::cerr << "wuye-demo: " << script.status().message() << "\n";
    return 1;
  }

  absl::TimeZone tz;
  if (!absl::LoadTimeZone(kTimeZone, &tz)) {
    std::cerr << "wuye-demo: time zone " << kTimeZone << " not found (install tzdata)\n";
    return 1;
  }

  auto channel = grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10))) {
    std::cerr << "wuye-demo: cannot connect to the directory service at " << target
              << " (is it running? scripts/services.sh status)\n";
    return 1;
  }
  Directory dir(channel, absl::GetFlag(FLAGS_rpc_timeout));
  Tally tally{absl::Now()};
  std::cout << "wuye-demo: loading the demo property group into the directory at " << target << "\n"
            << std::flush;

  // 1. The group, as a platform admin.
  dir.set_token(Mint(secret, "", {}, std::string(wuye::roles::kPlatformAdmin)));
  v1::Group group;
  {
    v1::CreateGroupRequest req;
    req.set_request_id("demo-group");
    req.mutable_group()->set_name(kGroupName);
    dir.Call("CreateGroup", [&](auto* ctx) { return dir.stub().CreateGroup(ctx, req, &group); });
    tally.Count(group.create_time());
  }

  // 2. Everything else, as the group's admin over all its estates.
  dir.set_token(Mint(secret, group.id(), {"*"}, std::string(wuye::roles::kGroupAdmin)));
  // The duty desk, when it runs: the demo group closes each day's work logs at midnight, so
  // that yesterday's (the day replayed) are due whatever the hour the demo runs.
  std::unique_ptr<wuye::duty::v1::DutyService::Stub> duty;
  if (const std::string duty_target = absl::GetFlag(FLAGS_duty); !duty_target.empty()) {
    duty = wuye::duty::v1::DutyService::NewStub(
        grpc::CreateChannel(duty_target, grpc::InsecureChannelCredentials()));
    wuye::duty::v1::UpdateSettingsRequest req;
    req.set_request_id("demo-duty-settings");
    req.mutable_settings()->set_daily_log_cutoff_minute(0);
    req.mutable_update_mask()->add_paths("daily_log_cutoff_minute");
    wuye::duty::v1::Settings made;
    dir.Call("duty.UpdateSettings",
             [&](auto* ctx) { return duty->UpdateSettings(ctx, req, &made); });
  }
  std::vector<EstatePlan> plans = DemoEstates();
  std::map<std::string, std::string> estate_ids;  // plan key → id
  std::vector<EstateSummary> summaries;
  for (const EstatePlan& plan : plans) {
    v1::CreateEstateRequest req;
    req.set_request_id(absl::StrCat("demo-estate-", plan.key));
    v1::Estate* e = req.mutable_estate();
    e->set_name(plan.name);
    e->set_kind(plan.kind);
    e->set_time_zone(kTimeZone);
    *e->mutable_desk_opens() = plan.desk_opens;
    *e->mutable_desk_closes() = plan.desk_closes;
    e->set_management_fee_fen_per_m2(plan.fee_fen_per_m2);
    e->set_household_count(static_cast<int32_t>(plan.units.size()));
    e->set_address(plan.address);
    EstateSummary s;
    dir.Call("CreateEstate",
             [&](auto* ctx) { return dir.stub().CreateEstate(ctx, req, &s.estate); });
    tally.Count(s.estate.create_time());
    estate_ids[plan.key] = s.estate.id();

    v1::ImportUnitsRequest import;
    import.set_request_id(absl::StrCat("demo-units-", plan.key));
    import.set_estate_id(s.estate.id());
    for (const auto& u : plan.units) *import.add_units() = u;
    v1::ImportUnitsResponse imported;
    dir.Call("ImportUnits",
             [&](auto* ctx) { return dir.stub().ImportUnits(ctx, import, &imported); });
    summaries.push_back(std::move(s));
  }

  // 阳光花园's own working calendar of this year: its office's stocktake day off.
  const int calendar_year =
      static_cast<int>(absl::ToCivilYear(absl::Now(), tz).year());
  const CalendarOverride stocktake = StocktakeOverride(calendar_year);
  {
    v1::ImportWorkCalendarRequest req;
    req.set_request_id(absl::StrCat("demo-calendar-sunny-", calendar_year));
    req.set_estate_id(estate_ids.at("sunny"));
    req.set_calendar(stocktake.file);
    v1::WorkCalendarChange change;
    dir.Call("ImportWorkCalendar",
             [&](auto* ctx) { return dir.stub().ImportWorkCalendar(ctx, req, &change); });
  }

  // Buildings and units as the directory has them: ids for the residents, and the counts.
  std::vector<std::map<v1::Occupancy, std::vector<std::string>>> unit_ids(plans.size());
  for (size_t i = 0; i < plans.size(); ++i) {
    EstateSummary& s = summaries[i];
    v1::ListBuildingsRequest lb;
    lb.set_estate_id(s.estate.id());
    std::map<std::string, std::string> building_names;  // id → name
    for (const auto& page :
         dir.ListAll("ListBuildings", lb, &v1::DirectoryService::Stub::ListBuildings)) {
      for (const auto& b : page.buildings()) {
        building_names[b.id()] = b.name();
        ++s.buildings;
        tally.Count(b.create_time());
      }
    }
    // In plan order (building name, number), so that "the n-th rented unit" is stable.
    std::map<std::pair<std::string, std::string>, v1::Unit> units;
    v1::ListUnitsRequest lu;
    lu.set_estate_id(s.estate.id());
    for (const auto& page : dir.ListAll("ListUnits", lu, &v1::DirectoryService::Stub::ListUnits)) {
      for (const auto& u : page.units()) {
        units[{building_names[u.building_id()], u.number()}] = u;
        ++s.units;
        tally.Count(u.create_time());
        switch (u.occupancy()) {
          case v1::OCCUPANCY_VACANT:
            ++s.vacant;
            break;
          case v1::OCCUPANCY_RENTED:
            ++s.rented;
            break;
          case v1::OCCUPANCY_SELF_OCCUPIED:
            ++s.self_occupied;
            break;
          default:
            break;
        }
        if (!u.handed_over()) ++s.not_handed_over;
      }
    }
    for (const auto& plan_unit : plans[i].units) {
      auto it = units.find({plan_unit.building_name(), plan_unit.number()});
      if (it != units.end()) unit_ids[i][it->second.occupancy()].push_back(it->second.id());
    }
  }

  // Residents.
  for (size_t i = 0; i < plans.size(); ++i) {
    for (const wuye::demo::v1::ResidentPlan& rp : (*script)->resident()) {
      if (rp.estate() != plans[i].key) continue;
      const auto& candidates = unit_ids[i][rp.unit_occupancy()];
      if (candidates.empty()) {
        std::cerr << "wuye-demo: estate " << plans[i].key << " has no unit for resident "
                  << rp.key() << "\n";
        return 1;
      }
      v1::CreateResidentRequest req;
      req.set_request_id(absl::StrCat("demo-resident-", rp.key()));
      v1::Resident* r = req.mutable_resident();
      r->set_unit_id(candidates[rp.unit_index() % candidates.size()]);
      r->set_name(rp.name());
      r->set_phone(rp.phone());
      r->set_role(rp.role());
      if (rp.date_of_birth().year() != 0) *r->mutable_date_of_birth() = rp.date_of_birth();
      if (rp.lease_start().year() != 0) *r->mutable_lease_start() = rp.lease_start();
      if (rp.lease_end().year() != 0) *r->mutable_lease_end() = rp.lease_end();
      v1::Resident made;
      dir.Call("CreateResident",
               [&](auto* ctx) { return dir.stub().CreateResident(ctx, req, &made); });
      tally.Count(made.create_time());
    }
  }

  // Staff, and today's shifts (estate-local day) of the agents and technicians.
  const absl::CivilDay today = absl::ToCivilDay(absl::Now(), tz);
  const std::string today_text = absl::FormatCivilTime(today);
  using StaffPlan = wuye::demo::v1::StaffPlan;
  for (const StaffPlan& sp : (*script)->staff()) {
    v1::CreateStaffRequest req;
    req.set_request_id(absl::StrCat("demo-staff-", sp.key()));
    v1::Staff* st = req.mutable_staff();
    st->set_name(sp.name());
    st->set_phone(sp.phone());
    for (int role : sp.roles()) st->add_roles(static_cast<v1::StaffRole>(role));
    for (int skill : sp.skills()) st->add_skills(static_cast<v1::Skill>(skill));
    for (const auto& home : sp.homes()) st->add_home_estate_ids(estate_ids.at(home));
    *st->mutable_start_date() = sp.start_date();
    v1::Staff made;
    dir.Call("CreateStaff", [&](auto* ctx) { return dir.stub().CreateStaff(ctx, req, &made); });
    tally.Count(made.create_time());
    if (sp.slot() == StaffPlan::SLOT_NONE) continue;

    // Yesterday's work log (上班日志, 000_… 二.2), written before the roster reaches the duty
    // desk: every one on duty yesterday kept theirs but jade's night agent, whose missing log
    // the desk finds at the cut-off (−10 on the office's quality ledger).
    if (duty && sp.key() != wuye::demo::kLogMissingStaff) {
      wuye::duty::v1::UpdateDailyLogRequest req;
      req.set_request_id(
          absl::StrCat("demo-log-", sp.key(), "-", absl::FormatCivilTime(today - 1)));
      wuye::duty::v1::DailyLog* log = req.mutable_daily_log();
      log->set_estate_id(estate_ids.at(sp.homes(0)));
      log->mutable_day()->set_year(static_cast<int32_t>((today - 1).year()));
      log->mutable_day()->set_month((today - 1).month());
      log->mutable_day()->set_day((today - 1).day());
      log->set_notes(sp.slot() == StaffPlan::SLOT_DAY
                         ? "白班: 接待住户来访与来电, 跟进报修与投诉, 已交接"
                         : "夜班: 接听夜间来电, 巡查大堂, 已交接");
      std::string role(wuye::TokenRoleName(static_cast<wuye::events::v1::StaffRole>(sp.roles(0))));
      wuye::duty::v1::DailyLog kept;
      std::string admin_token =
          Mint(secret, group.id(), {"*"}, std::string(wuye::roles::kGroupAdmin));
      dir.set_token(Mint(secret, group.id(), {"*"}, role, made.id()));
      dir.Call("duty.UpdateDailyLog",
               [&](auto* ctx) { return duty->UpdateDailyLog(ctx, req, &kept); });
      dir.set_token(admin_token);
    }

    // Yesterday's shifts too: the night shift that began yesterday covers the early hours
    // of today, and the demo's day (tools/demo_day.h) replays yesterday.
    for (absl::CivilDay d : {today - 1, today}) {
      const absl::Time day_start = absl::FromCivil(absl::CivilHour(d) + 8, tz);
      const absl::Time night_start = absl::FromCivil(absl::CivilHour(d) + 20, tz);
      const absl::Time night_end = absl::FromCivil(absl::CivilHour(d + 1) + 8, tz);
      v1::CreateShiftRequest shift_req;
      bool day = sp.slot() == StaffPlan::SLOT_DAY;
      shift_req.set_request_id(absl::StrCat("demo-shift-", sp.key(), "-", absl::FormatCivilTime(d),
                                            day ? "-day" : "-night"));
      v1::Shift* shift = shift_req.mutable_shift();
      shift->set_estate_id(estate_ids.at(sp.homes(0)));
      shift->set_staff_id(made.id());
      *shift->mutable_start_time() = wuye::ToProtoTime(day ? day_start : night_start);
      *shift->mutable_end_time() = wuye::ToProtoTime(day ? night_start : night_end);
      v1::Shift made_shift;
      dir.Call("CreateShift",
               [&](auto* ctx) { return dir.stub().CreateShift(ctx, shift_req, &made_shift); });
      tally.Count(made_shift.create_time());
    }
  }

  // Read back what each estate now holds.
  const absl::Time today_start = absl::FromCivil(today, tz),
                   today_end = absl::FromCivil(today + 1, tz);
  for (EstateSummary& s : summaries) {
    v1::ListResidentsRequest lr;
    lr.set_estate_id(s.estate.id());
    for (const auto& page :
         dir.ListAll("ListResidents", lr, &v1::DirectoryService::Stub::ListResidents)) {
      for (const auto& r : page.residents()) {
        ++s.residents;
        if (r.has_date_of_birth() && AgeOn(r.date_of_birth(), today) >= 60) ++s.elders;
      }
    }
    v1::ListStaffRequest ls;
    ls.set_estate_id(s.estate.id());
    for (const auto& page : dir.ListAll("ListStaff", ls, &v1::DirectoryService::Stub::ListStaff)) {
      s.staff += page.staff_size();
    }
    v1::ListShiftsRequest lsh;
    lsh.set_estate_id(s.estate.id());
    *lsh.mutable_window_start() = wuye::ToProtoTime(today_start);
    *lsh.mutable_window_end() = wuye::ToProtoTime(today_end);
    for (const auto& page :
         dir.ListAll("ListShifts", lsh, &v1::DirectoryService::Stub::ListShifts)) {
      s.shifts_today += page.shifts_size();
    }
  }
  int group_staff = 0;
  for (const auto& page :
       dir.ListAll("ListStaff", v1::ListStaffRequest(), &v1::DirectoryService::Stub::ListStaff)) {
    group_staff += page.staff_size();
  }

  // The summary.
  std::cout << "\n"
            << group.name() << "\n"
            << "  group id   " << group.id() << "\n"
            << "  this run   " << tally.created << " objects created, " << tally.existed
            << " already there"
            << (tally.created == 0 ? " (nothing new: a rerun changes nothing)" : "") << "; "
            << dir.calls() << " calls, trace id " << dir.trace_id() << "\n\n";
  std::vector<std::vector<std::string>> rows = {
      {"estate", "kind", "fee yuan/m2", "households", "callbacks", "buildings", "units", "vacant",
       "rented", "residents", "aged 60+", "staff", "shifts today"}};
  for (const EstateSummary& s : summaries) {
    rows.push_back(
        {s.estate.name(), KindName(s.estate.kind()), Yuan(s.estate.management_fee_fen_per_m2()),
         absl::StrCat(s.estate.household_count()), CallbackBand(s.estate.household_count()),
         absl::StrCat(s.buildings), absl::StrCat(s.units), absl::StrCat(s.vacant),
         absl::StrCat(s.rented), absl::StrCat(s.residents), absl::StrCat(s.elders),
         absl::StrCat(s.staff), absl::StrCat(s.shifts_today)});
  }
  PrintTable(rows, "  ");
  std::cout << "\n  " << group_staff
            << " staff in the group (some serve several estates); shifts of " << today_text << " "
            << kTimeZone << ": day 08:00-20:00, night 20:00-08:00\n"
            << "  callbacks: the monthly callback sample of DOMAIN.md section 2 for the estate's "
               "size\n\n";
  std::vector<std::vector<std::string>> ids = {{"estate", "id", "time zone", "front desk"}};
  for (const EstateSummary& s : summaries) {
    ids.push_back({s.estate.name(), s.estate.id(), s.estate.time_zone(),
                   absl::StrFormat("%02d:%02d-%02d:%02d", s.estate.desk_opens().hours(),
                                   s.estate.desk_opens().minutes(), s.estate.desk_closes().hours(),
                                   s.estate.desk_closes().minutes())});
  }
  PrintTable(ids, "  ");
  // A deadline on that calendar, with its reason: a written reply (3 working days) to a
  // complaint received two days before the stocktake.
  {
    v1::ExplainDeadlineRequest req;
    req.set_estate_id(estate_ids.at("sunny"));
    const absl::CivilMinute start(absl::CivilHour(stocktake.closed - 2) + 10);
    *req.mutable_start_time() = wuye::ToProtoTime(absl::FromCivil(start, tz));
    req.mutable_amount()->set_seconds(3 * 24 * 3600);
    req.set_clock(wuye::common::v1::SLA_CLOCK_WORKING_DAYS);
    v1::ExplainDeadlineResponse due;
    dir.Call("ExplainDeadline",
             [&](auto* ctx) { return dir.stub().ExplainDeadline(ctx, req, &due); });
    std::cout << "\n  working calendar: " << summaries[0].estate.name() << " closes "
              << absl::FormatCivilTime(stocktake.closed)
              << " (its own year over the State Council's); a reply due 3 working days after "
              << absl::FormatTime("%Y-%m-%d %H:%M", absl::FromCivil(start, tz), tz) << ": "
              << due.explanation() << "\n";
  }
  std::cout << std::flush;

  // The day, when any of its services is given.
  wuye::demo::DayTargets targets;
  targets.directory = target;
  targets.group_id = group.id();
  targets.intake = absl::GetFlag(FLAGS_intake);
  targets.dispatch = absl::GetFlag(FLAGS_dispatch);
  targets.billing = absl::GetFlag(FLAGS_billing);
  targets.performance = absl::GetFlag(FLAGS_performance);
  targets.eldercare = absl::GetFlag(FLAGS_eldercare);
  targets.duty = absl::GetFlag(FLAGS_duty);
  targets.counter = absl::GetFlag(FLAGS_counter);
  if (targets.intake.empty() && targets.dispatch.empty() && targets.billing.empty() &&
      targets.performance.empty() && targets.eldercare.empty() && targets.duty.empty() &&
      targets.counter.empty()) {
    return 0;
  }
  wuye::demo::DayOptions options;
  options.jwt_secret = secret;
  options.rpc_timeout = absl::GetFlag(FLAGS_rpc_timeout);
  options.settle_timeout = absl::GetFlag(FLAGS_settle_timeout);
  options.log = &std::cout;
  if (std::string d = absl::GetFlag(FLAGS_day); !d.empty()) {
    if (!absl::ParseCivilTime(d, &options.day)) {
      std::cerr << "wuye-demo: --day: not a YYYY-MM-DD date\n";
      return 1;
    }
  }
  std::cout << "\nwuye-demo: replaying a day of front-desk traffic\n" << std::flush;
  absl::StatusOr<wuye::demo::DaySummary> summary = wuye::demo::RunDemoDay(targets, options);
  if (!summary.ok()) {
    std::cerr << "\nwuye-demo: the day failed: " << summary.status() << "\n";
    return 1;
  }
  summary->Print(std::cout);
  return 0;
}
