// The eldercare service: enrolment, encrypted health records, care, visits and fees.
// Refuses to start without its keys (WUYE_ELDERCARE_KEYS / --eldercare_keys_file and
// WUYE_ELDERCARE_LOOKUP_KEY / --eldercare_lookup_key_file).
#include "services/eldercare/consumers.h"
#include "services/eldercare/eldercare_jobs.h"
#include "services/eldercare/eldercare_service.h"
#include "shared/sealing.h"
#include "shared/service_main.h"

int main(int argc, char** argv) {
  // The keys live as long as the process; the service holds a reference.
  static std::unique_ptr<wuye::Keyring> keys;
  return wuye::ServiceMain(
      argc, argv,
      {.name = "eldercare",
       .migrations = &wuye::eldercare_migrations(),
       .make = [](wuye::ServiceParts& parts) -> absl::StatusOr<std::unique_ptr<grpc::Service>> {
         auto ring = wuye::eldercare::KeyringFromEnvironment();
         if (!ring.ok()) return ring.status();
         keys = std::make_unique<wuye::Keyring>(std::move(*ring));
         return std::make_unique<wuye::eldercare::ElderCareServiceImpl>(parts.db, parts.verifier,
                                                                        parts.clock, *keys);
       },
       .consumes = {wuye::StreamOf("directory")},
       .make_handler =
           [](wuye::ServiceParts& parts) { return wuye::eldercare::MakeHandler(parts.db); },
       .make_workers =
           [](wuye::ServiceParts& parts) {
             auto settlement = std::make_shared<wuye::eldercare::Settlement>(parts.db, parts.clock);
             std::vector<std::unique_ptr<wuye::PeriodicWorker>> workers;
             workers.push_back(std::make_unique<wuye::PeriodicWorker>(
                 "eldercare_settlement", absl::Minutes(5),
                 [settlement] { return settlement->Tick(); }));
             return workers;
           }});
}
