#include "shared/migrate.h"

#include <cstdlib>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "shared/crypto.h"
#include "shared/log.h"

namespace wuye {
namespace {

std::string Sha256Hex(absl::string_view text) { return absl::BytesToHexString(Sha256(text)); }

absl::Status ParseVersion(const Migration& m, int* version) {
  if (m.file.size() < 5 || m.file[3] != '_' || !absl::SimpleAtoi(m.file.substr(0, 3), version)) {
    return absl::InvalidArgumentError(
        absl::StrCat("migration ", m.file, ": name must be NNN_description.sql"));
  }
  return absl::OkStatus();
}

// One lock for all components: migrations of one database never run concurrently.
constexpr int64_t kMigrationLock = 0x77757965;  // "wuye"

}  // namespace

absl::Status ApplyMigrations(Db& db, const std::vector<const MigrationSet*>& sets) {
  return db.WithConnection([&](pqxx::connection& conn) -> absl::Status {
    {
      // Waiting for another replica's migrations, or running a long one, is not a
      // statement that should time out.
      pqxx::nontransaction tx(conn);
      tx.exec("SET statement_timeout = 0");
      tx.exec(absl::StrCat("SELECT pg_advisory_lock(", kMigrationLock, ")"));
    }
    auto unlock = [&] {
      pqxx::nontransaction tx(conn);
      tx.exec(absl::StrCat("SELECT pg_advisory_unlock(", kMigrationLock, ")"));
      tx.exec(absl::StrCat("SET statement_timeout = ",
                           absl::ToInt64Milliseconds(db.options().statement_timeout)));
    };
    absl::Status result = [&]() -> absl::Status {
      try {
        {
          pqxx::work tx(conn);
          tx.exec(
              "CREATE TABLE IF NOT EXISTS wuye_migrations ("
              " component text NOT NULL, version int NOT NULL, file text NOT NULL,"
              " checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(),"
              " PRIMARY KEY (component, version))");
          tx.commit();
        }
        for (const MigrationSet* set : sets) {
          int last = 0;
          for (const Migration& m : set->migrations) {
            int version = 0;
            if (absl::Status st = ParseVersion(m, &version); !st.ok()) return st;
            if (version <= last) {
              return absl::InvalidArgumentError(absl::StrCat("migration ", set->component, "/",
                                                             m.file, ": version out of order"));
            }
            last = version;
            std::string checksum = Sha256Hex(m.sql);
            pqxx::work tx(conn);
            pqxx::result applied = tx.exec_params(
                "SELECT checksum FROM wuye_migrations WHERE component = $1 AND version = $2",
                set->component, version);
            if (!applied.empty()) {
              if (applied[0][0].as<std::string>() != checksum) {
                return absl::FailedPreconditionError(
                    absl::StrCat("migration ", set->component, "/", m.file,
                                 " was changed after it was applied; add a new migration instead"));
              }
              continue;
            }
            tx.exec(m.sql);
            tx.exec_params(
                "INSERT INTO wuye_migrations (component, version, file, checksum) "
                "VALUES ($1, $2, $3, $4)",
                set->component, version, m.file, checksum);
            tx.commit();
            LogInfo("migration.applied").Str("component", set->component).Str("file", m.file);
          }
        }
        return absl::OkStatus();
      } catch (const std::exception& e) {
        return Db::FromException(e);
      }
    }();
    // A failed migration must not leave the lock on a pooled connection.
    try {
      unlock();
    } catch (const std::exception& e) {
      if (result.ok()) result = Db::FromException(e);
      throw;  // the connection is unusable: WithConnection drops it, which frees the lock
    }
    return result;
  });
}

}  // namespace wuye
