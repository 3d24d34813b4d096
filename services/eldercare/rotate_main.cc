// wuye-eldercare-rotate: re-encrypts every sealed value of the eldercare database to the
// active key (the first of WUYE_ELDERCARE_KEYS), in batches, then checks that every value
// opens with the active key alone. Afterwards the old keys may be removed from the ring.
//
//   WUYE_ELDERCARE_KEYS="k2:<new>,k1:<old>" WUYE_ELDERCARE_LOOKUP_KEY=...
//     wuye-eldercare-rotate --pg_url=postgresql://.../wuye_eldercare [--batch 500]
//
// Prints one JSON line; exit 0 when every value is under the active key, 1 otherwise.
#include <cstdio>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "services/eldercare/eldercare_jobs.h"
#include "services/eldercare/eldercare_store.h"
#include "shared/config.h"
#include "shared/ids.h"
#include "shared/log.h"
#include "shared/service_main.h"

ABSL_DECLARE_FLAG(std::string, pg_url);
ABSL_FLAG(int, batch, 500, "values re-encrypted per transaction");

int main(int argc, char** argv) {
  wuye::ParseFlagsWithEnv(argc, argv, "wuye-eldercare-rotate --pg_url=... (keys from the env)");
  wuye::SetLogService("eldercare-rotate");
  auto keys = wuye::eldercare::KeyringFromEnvironment();
  if (!keys.ok()) {
    std::fprintf(stderr, "wuye-eldercare-rotate: %s\n",
                 std::string(keys.status().message()).c_str());
    return 2;
  }
  wuye::DbOptions options;
  options.url = absl::GetFlag(FLAGS_pg_url);
  if (options.url.empty()) {
    std::fprintf(stderr, "wuye-eldercare-rotate: --pg_url (or WUYE_PG_URL) is required\n");
    return 2;
  }
  auto db = wuye::OpenServiceDatabase(options, wuye::eldercare_migrations(), absl::Seconds(10));
  if (!db.ok()) {
    std::fprintf(stderr, "wuye-eldercare-rotate: %s\n", std::string(db.status().message()).c_str());
    return 2;
  }
  wuye::eldercare::EldercareStore store(**db);
  int total = 0;
  int64_t remaining = 0;
  int batch = absl::GetFlag(FLAGS_batch);
  if (batch < 1) batch = 500;
  while (true) {
    absl::Time now = absl::Now();
    auto result = wuye::eldercare::RotateBatch(**db, store, *keys, batch, now, "rotate-tool",
                                               wuye::NewId(now));
    if (!result.ok()) {
      std::fprintf(stderr, "wuye-eldercare-rotate: %s\n",
                   std::string(result.status().message()).c_str());
      return 1;
    }
    total += result->reencrypted;
    remaining = result->remaining;
    if (result->reencrypted == 0 || remaining == 0) break;
  }
  std::printf("{\"active_key_id\":\"%s\",\"reencrypted\":%d,\"remaining\":%lld}\n",
              keys->active_key_id().c_str(), total, static_cast<long long>(remaining));
  return remaining == 0 ? 0 : 1;
}
