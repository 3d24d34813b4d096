// The counter: hand-over and move-in, renovation, violations and disputes, keys, cards and
// registers, notices and surveys (docs/api/counter.md). Refuses to start without its keys
// (WUYE_COUNTER_KEYS / --counter_keys_file and WUYE_COUNTER_LOOKUP_KEY /
// --counter_lookup_key_file): the ID numbers it takes are sealed (shared/sealing.h).
#include "services/counter/consumers.h"
#include "services/counter/counter_jobs.h"
#include "services/counter/counter_service.h"
#include "services/counter/counter_store.h"
#include "shared/sealing.h"
#include "shared/service_main.h"

WUYE_KEYRING_FLAGS(counter);

int main(int argc, char** argv) {
  // The keys live as long as the process; the service holds a reference.
  static std::unique_ptr<wuye::Keyring> keys;
  return wuye::ServiceMain(
      argc, argv,
      {.name = "counter",
       .migrations = &wuye::counter_migrations(),
       .make = [](wuye::ServiceParts& parts) -> absl::StatusOr<std::unique_ptr<grpc::Service>> {
         auto ring =
             wuye::Keyring::FromEnvironment("counter", absl::GetFlag(FLAGS_counter_keys_file),
                                            absl::GetFlag(FLAGS_counter_lookup_key_file));
         if (!ring.ok()) return ring.status();
         keys = std::make_unique<wuye::Keyring>(std::move(*ring));
         return std::make_unique<wuye::counter::CounterServiceImpl>(parts.db, parts.verifier,
                                                                    parts.clock, *keys);
       },
       .consumes = {wuye::StreamOf("directory"), wuye::StreamOf("intake")},
       .make_handler =
           [](wuye::ServiceParts& parts) { return wuye::counter::MakeHandler(parts.db); },
       .make_workers =
           [](wuye::ServiceParts& parts) {
             auto patrols = std::make_shared<wuye::counter::PatrolCheck>(parts.db, parts.clock);
             std::vector<std::unique_ptr<wuye::PeriodicWorker>> workers;
             workers.push_back(std::make_unique<wuye::PeriodicWorker>(
                 "counter_patrol_check", absl::Minutes(5), [patrols] { return patrols->Tick(); }));
             return workers;
           }});
}
