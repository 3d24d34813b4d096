// The dispatch service: work orders, SLA clocks, assignment, escalation, sign-off.
#include "services/dispatch/consumers.h"
#include "services/dispatch/dispatch_jobs.h"
#include "services/dispatch/dispatch_service.h"
#include "shared/service_main.h"

int main(int argc, char** argv) {
  return wuye::ServiceMain(
      argc, argv,
      {.name = "dispatch",
       .migrations = &wuye::dispatch_migrations(),
       .make = [](wuye::ServiceParts& p) -> absl::StatusOr<std::unique_ptr<grpc::Service>> {
         return std::make_unique<wuye::dispatch::DispatchServiceImpl>(p.db, p.verifier, p.clock);
       },
       .consumes = wuye::dispatch::ConsumedStreams(),
       .make_handler =
           [](wuye::ServiceParts& p) { return wuye::dispatch::MakeHandler(p.db, p.clock); },
       .make_workers =
           [](wuye::ServiceParts& p) {
             auto d = std::make_shared<wuye::dispatch::DispatchJobs>(p.db);
             const wuye::Clock* clock = &p.clock;
             std::vector<std::unique_ptr<wuye::PeriodicWorker>> workers;
             // SLA warnings and breaches: checked every second, so a 10-minute clock fires
             // on time.
             workers.push_back(std::make_unique<wuye::PeriodicWorker>(
                 "dispatch_sla", absl::Seconds(1),
                 [d, clock] { return d->FireDeadlines(clock->Now()); }));
             workers.push_back(std::make_unique<wuye::PeriodicWorker>(
                 "dispatch_escalation", absl::Seconds(5),
                 [d, clock] { return d->Escalate(clock->Now()); }));
             workers.push_back(std::make_unique<wuye::PeriodicWorker>(
                 "dispatch_waiting", absl::Seconds(10),
                 [d, clock] { return d->RetryWaiting(clock->Now()); }));
             return workers;
           }});
}
