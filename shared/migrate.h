// Schema migrations: numbered SQL files compiled into the binary (wuye_embed_migrations in
// cmake/wuye.cmake), applied at start in order, once, under an advisory lock, and recorded
// with a checksum. Editing a migration that was already applied is an error: write a new one.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "shared/db.h"

namespace wuye {

struct Migration {
  std::string file;  // "001_init.sql"; the number is the version
  std::string sql;
};

struct MigrationSet {
  std::string component;  // "platform", "directory", ...
  std::vector<Migration> migrations;
};

// The platform's own tables (idempotency keys, outbox, inbox), applied before a service's.
const MigrationSet& platform_migrations();

// Applies every set in order. Each migration runs in its own transaction together with its
// record in wuye_migrations. Safe to call from several replicas at once.
absl::Status ApplyMigrations(Db& db, const std::vector<const MigrationSet*>& sets);

}  // namespace wuye
