// The intake service: tickets from every channel, first-contact ownership, callbacks and
// their sampling, the carrier's call log.
#include <cstdlib>

#include "absl/flags/flag.h"
#include "services/intake/consumers.h"
#include "services/intake/hotline.h"
#include "services/intake/intake_jobs.h"
#include "services/intake/intake_service.h"
#include "services/intake/ticket.h"
#include "shared/log.h"
#include "shared/phone_key.h"
#include "shared/sealing.h"
#include "shared/service_main.h"
#include "shared/status.h"

ABSL_FLAG(int, hotline_due_soon_working_days, wuye::intake::kDefaultHotlineDueSoonDays,
          "working days before a 12345 order's due time at which intake.hotline.due_soon is "
          "published (0..10)");
WUYE_KEYRING_FLAGS(intake);

namespace {
// The ring that seals the 12345 endpoints' tokens, and the service the exchange job runs
// on (both live as long as the process's server).
std::unique_ptr<wuye::Keyring> hotline_keys;
wuye::intake::IntakeServiceImpl* service_of_workers = nullptr;
}  // namespace

ABSL_FLAG(std::string, phone_key_file, "",
          "file holding the HMAC key for phone-number hashes (or set WUYE_INTAKE_PHONE_KEY)");

int main(int argc, char** argv) {
  return wuye::ServiceMain(
      argc, argv,
      {.name = "intake",
       .migrations = &wuye::intake_migrations(),
       .make = [](wuye::ServiceParts& parts) -> absl::StatusOr<std::unique_ptr<grpc::Service>> {
         WUYE_ASSIGN_OR_RETURN(std::string phone_key,
                               wuye::LoadPhoneKey(std::getenv("WUYE_INTAKE_PHONE_KEY"),
                                                  absl::GetFlag(FLAGS_phone_key_file)));
         int due_soon = absl::GetFlag(FLAGS_hotline_due_soon_working_days);
         if (due_soon < 0 || due_soon > 10) {
           return absl::InvalidArgumentError("--hotline_due_soon_working_days: 0..10");
         }
         auto service = std::make_unique<wuye::intake::IntakeServiceImpl>(parts.db, parts.verifier,
                                                                          parts.clock, phone_key);
         service->set_hotline_due_soon_days(due_soon);
         // The 12345 HTTP port's tokens are sealed with the "intake" ring; without it the
         // port's file form still works, and SetHotlineEndpoint is FAILED_PRECONDITION.
         auto keys = wuye::Keyring::FromEnvironment("intake", absl::GetFlag(FLAGS_intake_keys_file),
                                                    absl::GetFlag(FLAGS_intake_lookup_key_file));
         if (keys.ok()) {
           hotline_keys = std::make_unique<wuye::Keyring>(*std::move(keys));
           service->set_hotline_keyring(hotline_keys.get());
         } else if (keys.status().code() == absl::StatusCode::kFailedPrecondition) {
           wuye::LogInfo("intake.hotline.no_sealing_keys");
         } else {
           return keys.status();
         }
         service_of_workers = service.get();
         return std::unique_ptr<grpc::Service>(std::move(service));
       },
       .consumes = {wuye::StreamOf("dispatch"), wuye::StreamOf("directory"),
                    wuye::StreamOf("billing"), wuye::StreamOf("counter")},
       .make_handler =
           [](wuye::ServiceParts& parts) {
             return wuye::intake::MakeHandler(parts.db, parts.clock,
                                              absl::GetFlag(FLAGS_hotline_due_soon_working_days));
           },
       .make_workers =
           [](wuye::ServiceParts& parts) {
             auto jobs = std::make_shared<wuye::intake::IntakeJobs>(parts.db);
             const wuye::Clock* clock = &parts.clock;
             std::vector<std::unique_ptr<wuye::PeriodicWorker>> workers;
             // A consultation's answer is due in minutes (000_… 二.5): every 5 seconds.
             workers.push_back(std::make_unique<wuye::PeriodicWorker>(
                 "intake_consultation_overdue", absl::Seconds(5),
                 [jobs, clock] { return jobs->ConsultationsOverdue(clock->Now()); }));
             // A 12345 order's deadline is days away: every minute.
             workers.push_back(std::make_unique<wuye::PeriodicWorker>(
                 "intake_hotline_due", absl::Minutes(1), [jobs, clock]() -> absl::StatusOr<int> {
                   WUYE_ASSIGN_OR_RETURN(int soon, jobs->HotlinesDueSoon(clock->Now()));
                   WUYE_ASSIGN_OR_RETURN(int late, jobs->HotlinesOverdue(clock->Now()));
                   return soon + late;
                 }));
             // A complaint's written reply is due in working days: every minute.
             workers.push_back(std::make_unique<wuye::PeriodicWorker>(
                 "intake_complaint_reply_due", absl::Minutes(1),
                 [jobs, clock]() -> absl::StatusOr<int> {
                   WUYE_ASSIGN_OR_RETURN(int soon, jobs->RepliesDueSoon(clock->Now()));
                   WUYE_ASSIGN_OR_RETURN(int late, jobs->RepliesOverdue(clock->Now()));
                   return soon + late;
                 }));
             // The 12345 platforms over HTTP: each endpoint at its own poll interval (its
             // next_at); the worker only looks for endpoints whose time has come.
             workers.push_back(std::make_unique<wuye::PeriodicWorker>(
                 "intake_hotline_exchange", absl::Seconds(15), [clock]() -> absl::StatusOr<int> {
                   if (service_of_workers == nullptr) return 0;
                   return service_of_workers->ExchangeHotline(clock->Now());
                 }));
             return workers;
           }});
}
