// eldercare_bench: health-card reads per second against a running wuye-eldercare (each read
// opens five AES-256-GCM values and writes one audit row in the same transaction), with an
// open-loop load: calls are scheduled at a fixed --rate for --duration whatever the server
// does, and each latency is measured from its scheduled time (no coordinated omission).
//
//   eldercare_bench --target 127.0.0.1:50056 --elder_id <id>      token: WUYE_BENCH_TOKEN
//   eldercare_bench --target 127.0.0.1:50056 --directory_target 127.0.0.1:50051
//                   --jwt_secret <secret>                        (or WUYE_JWT_SECRET)
//
// With --elder_id, WUYE_BENCH_TOKEN must be a nurse's, care worker's or clinic's token of
// the elder's group and estate. Otherwise the bench mints tokens from the server's HS256
// secret, creates a group, estate, building, unit and a 70-year-old owner in the directory,
// waits for eldercare's copy to see the resident (the bus), enrols them and writes a card.
// Prints one JSON object on stdout. Exit 0 when no call failed, 1 otherwise, 2 on setup.
#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "services/eldercare/eldercare.h"
#include "shared/auth.h"
#include "shared/ids.h"
#include "shared/proto_time.h"
#include "wuye/directory/v1/directory.grpc.pb.h"
#include "wuye/eldercare/v1/eldercare.grpc.pb.h"

ABSL_FLAG(std::string, target, "", "host:port of the running eldercare server (required)");
ABSL_FLAG(std::string, directory_target, "",
          "host:port of the directory server, for setup when --elder_id is not given");
ABSL_FLAG(std::string, elder_id, "", "an enrolled elder with a card (token: WUYE_BENCH_TOKEN)");
ABSL_FLAG(std::string, jwt_secret, "", "the servers' HS256 secret (or WUYE_JWT_SECRET)");
ABSL_FLAG(double, rate, 200, "scheduled health-card reads per second");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(5), "how long the load runs");
ABSL_FLAG(int, workers, 16, "client threads (each with its own channel)");
ABSL_FLAG(absl::Duration, setup_timeout, absl::Seconds(30),
          "how long to wait for eldercare's copy of the directory");

namespace {

namespace ec = ::wuye::eldercare::v1;
namespace dir = ::wuye::directory::v1;
using SteadyClock = std::chrono::steady_clock;

[[noreturn]] void Fatal(const std::string& what) {
  std::fprintf(stderr, "eldercare_bench: %s\n", what.c_str());
  std::exit(2);
}

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

std::shared_ptr<grpc::Channel> NewChannel(const std::string& target) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

void Authorize(grpc::ClientContext& ctx, const std::string& token) {
  ctx.AddMetadata("authorization", absl::StrCat("Bearer ", token));
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
}

std::string Mint(const std::string& secret, const std::string& group,
                 std::vector<std::string> roles) {
  wuye::TokenClaims c;
  c.subject = absl::StrCat("bench-", roles[0]);
  c.group_id = group;
  c.estate_ids = {"*"};
  c.roles = std::move(roles);
  c.issued_at = absl::Now();
  c.expires_at = c.issued_at + absl::Hours(1);
  if (group.empty()) c.estate_ids.clear();
  auto token = wuye::MintHs256(c, secret);
  if (!token.ok()) Fatal(absl::StrCat("cannot mint a token: ", token.status().ToString()));
  return *token;
}

template <class Stub, class Req, class Resp>
Resp Must(const char* what, Stub& stub,
          grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
          const std::string& token, const Req& req) {
  grpc::ClientContext ctx;
  Authorize(ctx, token);
  Resp resp;
  grpc::Status st = (stub.*method)(&ctx, req, &resp);
  if (!st.ok()) Fatal(absl::StrCat(what, ": ", st.error_message()));
  return resp;
}

// Creates a resident through the directory, enrols them, writes a card; returns the
// elder id and a nurse's token.
std::pair<std::string, std::string> Setup(const std::string& secret) {
  auto dch = NewChannel(absl::GetFlag(FLAGS_directory_target));
  auto directory = dir::DirectoryService::NewStub(dch);
  auto ech = NewChannel(absl::GetFlag(FLAGS_target));
  auto eldercare = ec::ElderCareService::NewStub(ech);
  absl::Time now = absl::Now();
  dir::CreateGroupRequest g;
  g.set_request_id(wuye::NewId(now));
  g.mutable_group()->set_name("eldercare bench");
  std::string group = Must("CreateGroup", *directory, &dir::DirectoryService::Stub::CreateGroup,
                           Mint(secret, "", {"platform_admin"}), g)
                          .id();
  std::string admin = Mint(secret, group, {"group_admin"});
  dir::CreateEstateRequest e;
  e.set_request_id(wuye::NewId(now));
  e.mutable_estate()->set_name("bench estate");
  e.mutable_estate()->set_management_fee_fen_per_m2(150);
  std::string estate =
      Must("CreateEstate", *directory, &dir::DirectoryService::Stub::CreateEstate, admin, e).id();
  dir::CreateBuildingRequest b;
  b.set_request_id(wuye::NewId(now));
  b.mutable_building()->set_estate_id(estate);
  b.mutable_building()->set_name("1");
  std::string building =
      Must("CreateBuilding", *directory, &dir::DirectoryService::Stub::CreateBuilding, admin, b)
          .id();
  dir::CreateUnitRequest u;
  u.set_request_id(wuye::NewId(now));
  u.mutable_unit()->set_building_id(building);
  u.mutable_unit()->set_number("101");
  u.mutable_unit()->set_building_area_m2("80");
  std::string unit =
      Must("CreateUnit", *directory, &dir::DirectoryService::Stub::CreateUnit, admin, u).id();
  dir::CreateResidentRequest r;
  r.set_request_id(wuye::NewId(now));
  r.mutable_resident()->set_unit_id(unit);
  r.mutable_resident()->set_name("Bench Elder");
  r.mutable_resident()->set_role(dir::RESIDENT_ROLE_OWNER);
  r.mutable_resident()->mutable_date_of_birth()->set_year(1955);
  r.mutable_resident()->mutable_date_of_birth()->set_month(6);
  r.mutable_resident()->mutable_date_of_birth()->set_day(1);
  std::string resident =
      Must("CreateResident", *directory, &dir::DirectoryService::Stub::CreateResident, admin, r)
          .id();

  std::string agent = Mint(secret, group, {"agent"});
  std::string first17 = "11010519550601123";
  ec::EnrolElderRequest enrol;
  enrol.set_request_id(wuye::NewId(now));
  enrol.set_resident_id(resident);
  enrol.set_id_number(first17 + wuye::eldercare::IdCheckCharacter(first17));
  enrol.mutable_consent()->set_scope("home elderly care and health records");
  enrol.mutable_consent()->set_version("bench");
  *enrol.mutable_consent()->mutable_signed_at() = wuye::ToProtoTime(now - absl::Minutes(1));
  enrol.mutable_consent()->set_signed_by("the elder");
  auto* contact = enrol.add_family_contacts();
  contact->set_name("Bench Family");
  contact->set_phone("13800000000");
  ec::Elder elder;
  absl::Time deadline = absl::Now() + absl::GetFlag(FLAGS_setup_timeout);
  while (true) {
    grpc::ClientContext ctx;
    Authorize(ctx, agent);
    grpc::Status st = eldercare->EnrolElder(&ctx, enrol, &elder);
    if (st.ok()) break;
    if (st.error_code() != grpc::StatusCode::NOT_FOUND || absl::Now() > deadline) {
      Fatal(absl::StrCat("EnrolElder: ", st.error_message()));
    }
    absl::SleepFor(absl::Milliseconds(200));  // the resident is still on the bus
  }
  std::string nurse = Mint(secret, group, {"nurse"});
  ec::UpdateHealthCardRequest card;
  card.set_request_id(wuye::NewId(now));
  card.mutable_card()->set_elder_id(elder.id());
  card.mutable_card()->set_blood_type("O+");
  card.mutable_card()->set_family_history("bench history");
  card.mutable_card()->set_recent_illness("bench illness");
  card.mutable_card()->set_drug_allergies("bench allergies");
  card.mutable_card()->set_food_taboos("bench taboos");
  Must("UpdateHealthCard", *eldercare, &ec::ElderCareService::Stub::UpdateHealthCard, nurse, card);
  return {elder.id(), nurse};
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("health-card reads/s against a running wuye-eldercare");
  absl::ParseCommandLine(argc, argv);
  const std::string target = absl::GetFlag(FLAGS_target);
  if (target.empty()) Fatal("--target is required");
  std::string elder = absl::GetFlag(FLAGS_elder_id), token = Env("WUYE_BENCH_TOKEN");
  if (elder.empty()) {
    std::string secret = absl::GetFlag(FLAGS_jwt_secret);
    if (secret.empty()) secret = Env("WUYE_JWT_SECRET");
    if (secret.size() < 32) Fatal("give --elder_id and WUYE_BENCH_TOKEN, or --jwt_secret");
    if (absl::GetFlag(FLAGS_directory_target).empty()) Fatal("setup needs --directory_target");
    std::tie(elder, token) = Setup(secret);
  } else if (token.empty()) {
    Fatal("--elder_id needs WUYE_BENCH_TOKEN (a nurse's, care worker's or clinic's token)");
  }

  const double rate = absl::GetFlag(FLAGS_rate);
  const absl::Duration duration = absl::GetFlag(FLAGS_duration);
  const int workers = std::max(1, absl::GetFlag(FLAGS_workers));
  const int64_t total = static_cast<int64_t>(rate * absl::ToDoubleSeconds(duration));
  if (rate <= 0 || total <= 0) Fatal("--rate and --duration must give at least one call");
  const auto interval = std::chrono::duration<double>(1.0 / rate);

  std::atomic<int64_t> next{0}, failed{0};
  std::mutex mu;
  std::vector<double> latencies_ms;
  std::string first_error;
  const auto start = SteadyClock::now() + std::chrono::milliseconds(100);
  std::vector<std::thread> threads;
  threads.reserve(workers);
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&] {
      auto stub = ec::ElderCareService::NewStub(NewChannel(target));
      std::vector<double> mine;
      ec::GetHealthCardRequest req;
      req.set_elder_id(elder);
      req.set_purpose("benchmark");
      while (true) {
        int64_t i = next.fetch_add(1);
        if (i >= total) break;
        auto scheduled =
            start + std::chrono::duration_cast<SteadyClock::duration>(interval * double(i));
        std::this_thread::sleep_until(scheduled);
        grpc::ClientContext ctx;
        Authorize(ctx, token);
        ec::HealthCard card;
        grpc::Status st = stub->GetHealthCard(&ctx, req, &card);
        double ms =
            std::chrono::duration<double, std::milli>(SteadyClock::now() - scheduled).count();
        if (st.ok() && card.view() != ec::CARD_VIEW_UNSPECIFIED) {
          mine.push_back(ms);
        } else {
          failed.fetch_add(1);
          std::lock_guard<std::mutex> lock(mu);
          if (first_error.empty()) first_error = st.error_message();
        }
      }
      std::lock_guard<std::mutex> lock(mu);
      latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
    });
  }
  for (auto& t : threads) t.join();
  double seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  std::sort(latencies_ms.begin(), latencies_ms.end());
  auto pct = [&](double p) {
    if (latencies_ms.empty()) return 0.0;
    size_t i = static_cast<size_t>(p * (latencies_ms.size() - 1));
    return latencies_ms[i];
  };
  nlohmann::json out = {{"figure", "eldercare health-card reads (decrypt + audit)"},
                        {"offered_per_s", rate},
                        {"scheduled_calls", total},
                        {"ok_calls", latencies_ms.size()},
                        {"failed_calls", failed.load()},
                        {"seconds", seconds},
                        {"reads_per_s", latencies_ms.size() / seconds},
                        {"p50_ms", pct(0.50)},
                        {"p99_ms", pct(0.99)},
                        {"max_ms", latencies_ms.empty() ? 0.0 : latencies_ms.back()},
                        {"first_error", first_error}};
  std::printf("%s\n", out.dump().c_str());
  return failed.load() == 0 ? 0 : 1;
}
