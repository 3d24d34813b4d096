// The counter: hand-over and move-in, renovation, violations and disputes, keys, cards and
// registers, notices and surveys (docs/api/counter.md).
#include "services/counter/consumers.h"
#include "services/counter/counter_jobs.h"
#include "services/counter/counter_service.h"
#include "services/counter/counter_store.h"
#include "shared/service_main.h"

int main(int argc, char** argv) {
  return wuye::ServiceMain(
      argc, argv,
      {.name = "counter",
       .migrations = &wuye::counter_migrations(),
       .make = [](wuye::ServiceParts& parts) -> absl::StatusOr<std::unique_ptr<grpc::Service>> {
         return std::make_unique<wuye::counter::CounterServiceImpl>(parts.db, parts.verifier,
                                                                    parts.clock);
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
