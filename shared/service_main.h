// main() of every service: config → logs → database (wait, migrate) → auth → the
// service's handlers → serve until SIGTERM → exit 0. A service's main.cc is one call.
#pragma once

#include <grpcpp/impl/codegen/service_type.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "shared/auth.h"
#include "shared/bus.h"
#include "shared/clock.h"
#include "shared/config.h"
#include "shared/db.h"
#include "shared/migrate.h"
#include "shared/worker.h"

namespace wuye {

// What a service's handlers are built from.
struct ServiceParts {
  const ServiceConfig& config;
  Db& db;
  const TokenVerifier& verifier;
  const Clock& clock;
};

struct ServiceSpec {
  std::string name;                // "directory"
  const MigrationSet* migrations;  // the service's schema
  // Both from the service's line of services.txt (wuye/service_list.h) when left unset:
  int default_port = 0;           // 50051
  std::string grpc_service_name;  // "wuye.directory.v1.DirectoryService", for health
  std::function<absl::StatusOr<std::unique_ptr<grpc::Service>>(ServiceParts&)> make;
  // Streams of other services this one consumes, and what it does with their events.
  std::vector<std::string> consumes = {};
  std::function<EventHandler(ServiceParts&)> make_handler = nullptr;
  // Background loops (deadline timers, report builders); started after the database is
  // ready, stopped after the server has drained.
  std::function<std::vector<std::unique_ptr<PeriodicWorker>>(ServiceParts&)> make_workers = nullptr;
};

int ServiceMain(int argc, char** argv, const ServiceSpec& spec);

// Opens the database, waiting up to `wait` for it to come up, and applies the platform's
// and the service's migrations.
absl::StatusOr<std::unique_ptr<Db>> OpenServiceDatabase(const DbOptions& options,
                                                        const MigrationSet& migrations,
                                                        absl::Duration wait);

}  // namespace wuye
