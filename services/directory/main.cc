// The directory service: groups, estates, buildings, units, residents, staff and rosters.
#include <cstdlib>

#include "absl/flags/flag.h"
#include "services/directory/calendar_watch.h"
#include "services/directory/consumers.h"
#include "services/directory/directory_service.h"
#include "shared/phone_key.h"
#include "shared/service_main.h"
#include "shared/status.h"
#include "shared/worker.h"

ABSL_FLAG(std::string, phone_key_file, "",
          "file holding intake's HMAC key for phone-number hashes, which keys the hash of a "
          "resident's number in the resident events (or set WUYE_INTAKE_PHONE_KEY)");

int main(int argc, char** argv) {
  return wuye::ServiceMain(
      argc, argv,
      {.name = "directory",
       .migrations = &wuye::directory_migrations(),
       .make = [](wuye::ServiceParts& parts) -> absl::StatusOr<std::unique_ptr<grpc::Service>> {
         WUYE_ASSIGN_OR_RETURN(std::string phone_key,
                               wuye::LoadPhoneKey(std::getenv("WUYE_INTAKE_PHONE_KEY"),
                                                  absl::GetFlag(FLAGS_phone_key_file)));
         return std::make_unique<wuye::directory::DirectoryServiceImpl>(
             parts.db, parts.verifier, parts.clock, std::move(phone_key));
       },
       .consumes = {wuye::StreamOf("counter")},
       .make_handler =
           [](wuye::ServiceParts& parts) { return wuye::directory::MakeHandler(parts.db); },
       .make_workers =
           [](wuye::ServiceParts& p) {
             // Next year's working calendar: gauges hourly, a warning a day from 45 days
             // before the year while a group has none (calendar_watch.h).
             auto watch = std::make_shared<wuye::directory::NextYearCalendarWatch>(p.db);
             const wuye::Clock* clock = &p.clock;
             std::vector<std::unique_ptr<wuye::PeriodicWorker>> workers;
             workers.push_back(std::make_unique<wuye::PeriodicWorker>(
                 "directory_calendar_watch", absl::Hours(1),
                 [watch, clock] { return watch->Tick(clock->Now()); }));
             return workers;
           }});
}
