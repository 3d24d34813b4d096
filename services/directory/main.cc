// The directory service: groups, estates, buildings, units, residents, staff and rosters.
#include "services/directory/directory_service.h"
#include "shared/service_main.h"

int main(int argc, char** argv) {
  return wuye::ServiceMain(
      argc, argv,
      {.name = "directory",
       .default_port = 50051,
       .migrations = &wuye::directory_migrations(),
       .grpc_service_name = "wuye.directory.v1.DirectoryService",
       .make = [](wuye::ServiceParts& parts) -> absl::StatusOr<std::unique_ptr<grpc::Service>> {
         return std::make_unique<wuye::directory::DirectoryServiceImpl>(parts.db, parts.verifier,
                                                                        parts.clock);
       }});
}
