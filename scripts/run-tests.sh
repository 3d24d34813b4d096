#!/usr/bin/env bash
# Runs every test against the project-local PostgreSQL and Redis: starts them if they are
# not running, runs ctest, and stops again what it started. Exit code: ctest's.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}

started=""
if ! scripts/servers.sh status >/dev/null 2>&1; then
  scripts/servers.sh up
  started=yes
fi
stop() { if [ -n "$started" ]; then scripts/servers.sh down || true; fi; }
trap stop EXIT

eval "$(scripts/servers.sh env)"
export WUYE_SOURCE_DIR="$PWD"
export LSAN_OPTIONS="suppressions=$PWD/scripts/lsan-suppressions.txt${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
jobs=${WUYE_TEST_JOBS:-$(( $(nproc) * 2 ))}
ctest --test-dir "$build" --output-on-failure -j "$jobs" --timeout 300
