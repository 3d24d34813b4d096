// The billing service: prices, meters, billing runs, payments, ledger, arrears, reports.
#include "services/billing/billing_jobs.h"
#include "services/billing/billing_service.h"
#include "services/billing/consumers.h"
#include "shared/service_main.h"

int main(int argc, char** argv) {
  return wuye::ServiceMain(
      argc, argv,
      {.name = "billing",
       .migrations = &wuye::billing_migrations(),
       .make = [](wuye::ServiceParts& parts) -> absl::StatusOr<std::unique_ptr<grpc::Service>> {
         return std::make_unique<wuye::billing::BillingServiceImpl>(parts.db, parts.verifier,
                                                                    parts.clock);
       },
       .consumes = {wuye::StreamOf("directory"), wuye::StreamOf("dispatch"),
                    wuye::StreamOf("eldercare"), wuye::StreamOf("intake"),
                    wuye::StreamOf("counter")},
       .make_handler =
           [](wuye::ServiceParts& parts) { return wuye::billing::MakeHandler(parts.db); },
       .make_workers =
           [](wuye::ServiceParts& parts) {
             // The runner lives as long as the worker that calls it.
             auto runner = std::make_shared<wuye::billing::BillingRunner>(parts.db, parts.clock);
             std::vector<std::unique_ptr<wuye::PeriodicWorker>> workers;
             workers.push_back(std::make_unique<wuye::PeriodicWorker>(
                 "billing_run", absl::Seconds(1), [runner] { return runner->Tick(); }));
             // Fixes each month's collection at its close (due day + the group's grace).
             auto closer = std::make_shared<wuye::billing::CollectionCloser>(parts.db, parts.clock);
             workers.push_back(std::make_unique<wuye::PeriodicWorker>(
                 "collection_close", absl::Seconds(5), [closer] { return closer->Tick(); }));
             return workers;
           }});
}
