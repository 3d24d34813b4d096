#!/usr/bin/env bash
# `make scale`: one cell at a large group's size (tools/wuye_scale.cc, docs/scaling.md). It
# starts a suite of its own (PostgreSQL, Redis and every service as SCALE_REPLICAS replicas,
# in .scale/<time>/, on ports of its own: services at 22051.., PostgreSQL 25329, Redis
# 27379, all moved up by 100s while another run holds them), loads the group and plays a month of traffic compressed, then prints each phase's rate with one and with two
# replicas, p99, CPU and what bounded it, and each database's size per month of traffic.
# Everything it started is stopped at the end; the state is removed unless the run failed.
#
#   scripts/scale.sh [build-dir]       (default: build)
#
# Sizes (environment): SCALE_ESTATES (1000), SCALE_UNITS_PER_ESTATE (300), SCALE_STAFF
# (5000), SCALE_TICKETS_PER_HOUSEHOLD (2), SCALE_CONCURRENCY (32), SCALE_REPLICAS (2),
# SCALE_BUDGET (40m: the whole run, loading included; a traffic phase that reaches its share
# stops there and the figures say so), SCALE_MONTHS (1: months of traffic played one after
# another; with more, each statement's buffers per call in the last month against the first,
# from pg_stat_statements, which this suite's PostgreSQL loads), SCALE_ORDERS_WORKED_SHARE (0.1:
# the share of work orders worked to completion; 1 for a history run, so that open orders do
# not pile up as they would not in an estate), SCALE_ELDER_SHARE (0.01: households with an
# elder enrolled). The figures go to .bench/scale-<time>.json too.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"
build=${1:-build}
say() { printf 'scale: %s\n' "$*" >&2; }
die() { printf 'scale: error: %s\n' "$*" >&2; exit 2; }

driver=$build/tools/wuye-scale
[[ -x "$driver" ]] || die "$driver not found; build first (cmake --build $build --target wuye-scale)"

state=$ROOT/.scale/$(date -u +%Y%m%dT%H%M%SZ)-$$
mkdir -p -- "$state"
export WUYE_STATE_DIR=$state
# Another checkout's run (its `make test`: scale_small) may hold these ports: unless they were
# given, move the whole suite up by 100 until every port of it is free, and say so (the
# chaos suite's ports stay apart from these).
shift_by=0
if [[ -z "${SCALE_PORT_OFFSET:-}${SCALE_PG_PORT:-}${SCALE_REDIS_PORT:-}" ]]; then
  shift_by=$(WUYE_REPLICAS=${SCALE_REPLICAS:-2} scripts/suite-port-shift.sh 25329 27379 -28000) ||
    die "no free set of ports for the scale suite"
  ((shift_by == 0)) || say "the scale suite's ports are taken (by another run?); using them + $shift_by"
fi
export WUYE_PORT_OFFSET=${SCALE_PORT_OFFSET:-$((shift_by - 28000))}
export WUYE_PG_PORT=${SCALE_PG_PORT:-$((25329 + shift_by))}
export WUYE_REDIS_PORT=${SCALE_REDIS_PORT:-$((27379 + shift_by))}
export WUYE_REPLICAS=${SCALE_REPLICAS:-2}
# Each statement's buffers per call, month 1 against the last (tools/wuye_scale.cc).
export WUYE_PG_STAT_STATEMENTS=1
export WUYE_SERVICE_START_TIMEOUT=120

ok=""
cleanup() {
  local rc=$?
  set +e
  scripts/services.sh stop >/dev/null 2>&1
  scripts/servers.sh down >/dev/null 2>&1
  if [[ -n "$ok" ]]; then rm -rf -- "$state"; else say "kept $state (logs in $state/logs)"; fi
  exit "$rc"
}
trap cleanup EXIT

scripts/servers.sh up >&2
scripts/services.sh start "$build" >&2
eval "$(scripts/servers.sh env)"
# Each service's replicas as one comma list (list-replicas: "name replica port metrics-port").
declare -A addrs=()
while read -r name _ port _; do
  addrs[$name]=${addrs[$name]:+${addrs[$name]},}127.0.0.1:$port
done < <(scripts/services.sh list-replicas)

mkdir -p .bench
json=.bench/scale-$(basename "$state").json
rc=0
"$driver" --pg_url="$WUYE_PG_URL" --jwt_secret_file="$state/jwt-secret" \
  --directory="${addrs[directory]}" --intake="${addrs[intake]}" \
  --dispatch="${addrs[dispatch]}" --billing="${addrs[billing]}" \
  --eldercare="${addrs[eldercare]:-}" --performance="${addrs[performance]:-}" \
  --months="${SCALE_MONTHS:-1}" --orders_worked_share="${SCALE_ORDERS_WORKED_SHARE:-0.1}" \
  --elder_share="${SCALE_ELDER_SHARE:-0.01}" \
  --estates="${SCALE_ESTATES:-1000}" --units_per_estate="${SCALE_UNITS_PER_ESTATE:-300}" \
  --staff="${SCALE_STAFF:-5000}" --tickets_per_household="${SCALE_TICKETS_PER_HOUSEHOLD:-2}" \
  --concurrency="${SCALE_CONCURRENCY:-32}" --budget="${SCALE_BUDGET:-40m}" \
  --json_out="$json" || rc=$?
((rc == 0)) && ok=yes
exit "$rc"
