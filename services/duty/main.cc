// The duty desk (docs/api/duty.md). For now it serves the API's generated base class
// (every method UNIMPLEMENTED); the handlers come next (issue #22).
#include "services/duty/duty_store.h"
#include "shared/service_main.h"
#include "wuye/duty/v1/duty.grpc.pb.h"

int main(int argc, char** argv) {
  return wuye::ServiceMain(
      argc, argv,
      {.name = "duty",
       .migrations = &wuye::duty_migrations(),
       .make = [](wuye::ServiceParts&) -> absl::StatusOr<std::unique_ptr<grpc::Service>> {
         return std::make_unique<wuye::duty::v1::DutyService::Service>();
       }});
}
