// The performance service: score sheets from evidence, appeals, grades, team KPIs.
#include "services/performance/consumers.h"
#include "services/performance/performance_service.h"
#include "services/performance/performance_store.h"
#include "shared/service_main.h"

int main(int argc, char** argv) {
  return wuye::ServiceMain(
      argc, argv,
      {.name = "performance",
       .migrations = &wuye::performance_migrations(),
       .make = [](wuye::ServiceParts& parts) -> absl::StatusOr<std::unique_ptr<grpc::Service>> {
         return std::make_unique<wuye::performance::PerformanceServiceImpl>(
             parts.db, parts.verifier, parts.clock);
       },
       .consumes = {wuye::StreamOf("intake"), wuye::StreamOf("dispatch"), wuye::StreamOf("billing"),
                    wuye::StreamOf("directory"), wuye::StreamOf("duty"),
                    wuye::StreamOf("counter")},
       .make_handler =
           [](wuye::ServiceParts& parts) { return wuye::performance::MakeHandler(parts.db); }});
}
