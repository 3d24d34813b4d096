// The directory service: groups, estates, buildings, units, residents, staff and rosters.
#include "services/directory/directory_service.h"
#include "shared/service_main.h"

int main(int argc, char** argv) {
  return wuye::ServiceMain(
      argc, argv,
      {.name = "directory",
       .migrations = &wuye::directory_migrations(),
       .make = [](wuye::ServiceParts& parts) -> absl::StatusOr<std::unique_ptr<grpc::Service>> {
         return std::make_unique<wuye::directory::DirectoryServiceImpl>(parts.db, parts.verifier,
                                                                        parts.clock);
       }});
}
