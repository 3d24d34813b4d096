#!/usr/bin/env bash
# Runs every test against the project-local PostgreSQL and Redis: starts them if they are
# not running, runs ctest, and stops again what it started. Exit code: ctest's.
#
#   scripts/run-tests.sh [build-dir] [ctest args...]     (e.g. build -R 'service_list|Bus')
#
# Servers it starts itself take free ports where the defaults (54329, 63799) are held by
# another process, such as another checkout's `make demo`, and it says so; the tests get
# the ports in WUYE_PG_URL and WUYE_REDIS_ADDR.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true

started=""
if ! scripts/servers.sh status >/dev/null 2>&1; then
  WUYE_FREE_PORTS=1 scripts/servers.sh up
  started=yes
fi
stop() { if [ -n "$started" ]; then scripts/servers.sh down || true; fi; }
trap stop EXIT

eval "$(scripts/servers.sh env)"
echo "run-tests: PostgreSQL ${WUYE_PG_URL#postgresql://wuye@}, Redis $WUYE_REDIS_ADDR"
export WUYE_SOURCE_DIR="$PWD"
export LSAN_OPTIONS="suppressions=$PWD/scripts/lsan-suppressions.txt${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
jobs=${WUYE_TEST_JOBS:-$(( $(nproc) * 2 ))}
ctest --test-dir "$build" --output-on-failure -j "$jobs" --timeout 300 "$@"
