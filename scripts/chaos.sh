#!/usr/bin/env bash
# `make chaos`: mixed flows across the suite (tools/wuye_chaos.cc) while this script kills
# service replicas with SIGKILL, restarts Redis and restarts PostgreSQL; then the driver
# checks that nothing accepted was lost or applied twice, that the ledger balances and that
# every durable timer that fell due fired exactly once: dispatch's SLA warnings, breaches,
# escalations and retry of waiting orders, intake's overdue consultations and the due-soon
# and overdue timers of its 12345 orders' and complaints' replies, billing's run and
# collection close, duty's acknowledgement escalations, handovers, daily logs, desk gaps and
# notifications (to a local gateway in the driver), eldercare's settlement of care days and
# the counter's patrol check (tools/wuye_chaos.cc says how each is made to fall due).
#
#   scripts/chaos.sh [build-dir]      (default: build)
#
# It runs a suite of its own beside any other: PostgreSQL, Redis and every service in a
# scratch state directory (.chaos/<time>/), on their own ports below the kernel's ephemeral
# range (services at 20051.., PostgreSQL 24329, Redis 26379: a restarted server never finds
# its port taken by some client's outgoing connection; all moved up by a multiple of 100
# while another checkout's run holds them), and
# removes it all at the end (kept on failure, with the logs). Every service runs as
# CHAOS_REPLICAS (2) replicas (scripts/services.sh WUYE_REPLICAS: replica b on the ports
# + 100), sharing its database and consumer group; the driver spreads its calls over them
# (round robin) and a kill names a service and a replica. Sizes (environment):
#   CHAOS_FLOWS (4000)  CHAOS_CONCURRENCY (32)  CHAOS_KILLS (50)
#   CHAOS_REDIS_RESTARTS (5)  CHAOS_PG_RESTARTS (3)  CHAOS_REPLICAS (2)
# Faults are spread over the time the flows take: one every CHAOS_FAULT_EVERY seconds (2),
# in a fixed shuffled order, until the flows are done and the faults are all made.
# CHAOS_SLOW_TIMERS (1): also the timers that fall due five minutes after they are armed
# at the earliest (duty's handover window, eldercare's settlement and the counter's patrol
# check, which look every five minutes); the run then lasts six minutes at least. 0 leaves
# them out (the short run of `make test`).
# Duty's notifier needs a gateway secret and http:// (the driver's gateway is local): this
# script gives the services WUYE_DUTY_GATEWAY_SECRET (made per run) and
# WUYE_DUTY_GATEWAY_ALLOW_HTTP=true.
# At the end, besides the driver's figures: the relay's leadership moves (per service, the
# `relay.leader` lines of all its replicas' logs but the first), the entries consumers took
# over (`bus.claimed` lines), and one line
#   FIGURE chaos replicas=… flows=… lost=… twice=… leader_moves=… claims=… timers_once=…/…
# after the driver's own, one a kind of timer:
#   FIGURE chaos_timers kind=… due=… once=… twice=… missing=…
# Exit code: the driver's (0: nothing lost, nothing twice, ledger balanced, drained, every
# timer due fired once).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"
build=${1:-build}
flows=${CHAOS_FLOWS:-4000}
concurrency=${CHAOS_CONCURRENCY:-32}
kills=${CHAOS_KILLS:-50}
redis_restarts=${CHAOS_REDIS_RESTARTS:-5}
pg_restarts=${CHAOS_PG_RESTARTS:-3}
every=${CHAOS_FAULT_EVERY:-2}
replicas=${CHAOS_REPLICAS:-2}
slow_timers=${CHAOS_SLOW_TIMERS:-1}
[[ "$replicas" =~ ^[1-4]$ ]] || { printf 'chaos: error: CHAOS_REPLICAS must be 1 to 4\n' >&2; exit 2; }
[[ "$slow_timers" =~ ^[01]$ ]] || { printf 'chaos: error: CHAOS_SLOW_TIMERS must be 0 or 1\n' >&2; exit 2; }
export WUYE_REPLICAS=$replicas

say() { printf 'chaos: %s\n' "$*" >&2; }
die() { printf 'chaos: error: %s\n' "$*" >&2; exit 2; }

driver=$build/tools/wuye-chaos
[[ -x "$driver" ]] || die "$driver not found; build first (cmake --build $build --target wuye-chaos)"
for s in $(scripts/services.sh list | awk '$1 != "gateway" {print $1}'); do
  [[ -x "$build/services/$s/wuye-$s" ]] || die "wuye-$s is not built"
done

state=$ROOT/.chaos/$(date -u +%Y%m%dT%H%M%SZ)-$$
mkdir -p -- "$state"
export WUYE_STATE_DIR=$state
# Another checkout's chaos run (its `make test`) may hold these ports: unless they were
# given, move the whole suite up by 100 until every port of it is free, and say so.
shift_by=0
if [[ -z "${CHAOS_PORT_OFFSET:-}${CHAOS_PG_PORT:-}${CHAOS_REDIS_PORT:-}" ]]; then
  shift_by=$(scripts/suite-port-shift.sh 24329 26379 -30000) ||
    die "no free set of ports for the chaos suite"
  ((shift_by == 0)) || say "the chaos suite's ports are taken (by another run?); using them + $shift_by"
fi
export WUYE_PORT_OFFSET=${CHAOS_PORT_OFFSET:-$((shift_by - 30000))}
export WUYE_PG_PORT=${CHAOS_PG_PORT:-$((24329 + shift_by))}
export WUYE_REDIS_PORT=${CHAOS_REDIS_PORT:-$((26379 + shift_by))}
export WUYE_SERVICE_START_TIMEOUT=120
# Duty's notifier sends to the driver's local gateway: http://, signed with a secret of this
# run (every flag of a service also reads WUYE_<FLAG>).
export WUYE_DUTY_GATEWAY_ALLOW_HTTP=true
WUYE_DUTY_GATEWAY_SECRET=$(head -c 48 /dev/urandom | base64 -w0)
export WUYE_DUTY_GATEWAY_SECRET

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
# Each service's replicas, as the driver's comma list of addresses.
declare -A addrs=()
while read -r name _ p _; do
  addrs[$name]=${addrs[$name]:+${addrs[$name]},}127.0.0.1:$p
done < <(scripts/services.sh list-replicas)

# The faults, shuffled with a fixed seed so that two runs make the same ones.
faults=()
# The services only: `list` ends with the gateway, which no flow here goes through (it
# runs, when built, untouched by the faults).
mapfile -t names < <(scripts/services.sh list | awk '$1 != "gateway" {print $1}')
# A kill names a replica: its file name, <service> for replica a, <service>-b for b.
mapfile -t instances < <(scripts/services.sh list-replicas |
  awk '{print ($2 == "a" ? $1 : $1 "-" $2)}')
for ((i = 0; i < kills; i++)); do faults+=("kill:${instances[i % ${#instances[@]}]}"); done
for ((i = 0; i < redis_restarts; i++)); do faults+=("redis"); done
for ((i = 0; i < pg_restarts; i++)); do faults+=("pg"); done
mapfile -t faults < <(printf '%s\n' "${faults[@]}" | shuf --random-source=<(yes chaos))

flows_done=$state/flows-done
faults_done=$state/faults-done
"$driver" --flows="$flows" --concurrency="$concurrency" --pg_url="$WUYE_PG_URL" \
  --jwt_secret_file="$state/jwt-secret" \
  --directory="${addrs[directory]}" --intake="${addrs[intake]}" \
  --dispatch="${addrs[dispatch]}" --billing="${addrs[billing]}" \
  --eldercare="${addrs[eldercare]}" --duty="${addrs[duty]}" --counter="${addrs[counter]}" \
  --slow_timers="$( ((slow_timers)) && echo true || echo false)" \
  --flows_done_file="$flows_done" --faults_done_file="$faults_done" \
  --json_out="$state/result.json" &
driver_pid=$!

made_kills=0 made_redis=0 made_pg=0
sleep "$every"
for fault in "${faults[@]}"; do
  kill -0 "$driver_pid" 2>/dev/null || break
  case $fault in
    kill:*)
      name=${fault#kill:}
      if pid=$(cat "$state/run/$name.pid" 2>/dev/null) && kill -KILL "$pid" 2>/dev/null; then
        made_kills=$((made_kills + 1))
        replica=a
        [[ "$name" == *-* ]] && replica=${name#*-}
        say "fault: SIGKILL ${name%%-*} replica $replica (pid $pid)"
      fi ;;
    redis)
      say "fault: restarting Redis"
      scripts/servers.sh restart redis >/dev/null 2>&1 && made_redis=$((made_redis + 1)) ;;
    pg)
      say "fault: restarting PostgreSQL"
      scripts/servers.sh restart pg >/dev/null 2>&1 && made_pg=$((made_pg + 1)) ;;
  esac
  sleep "$every"
done
touch -- "$faults_done"
say "faults made: $made_kills kills, $made_redis Redis restarts, $made_pg PostgreSQL restarts"
rc=0
wait "$driver_pid" || rc=$?
restarts=0
for name in "${instances[@]}"; do
  restarts=$((restarts + $(cat "$state/run/$name.restarts" 2>/dev/null || echo 0)))
done
printf '  %-34s %s kills (%s restarts by the supervisors), %s Redis, %s PostgreSQL restarts\n' \
  "faults" "$made_kills" "$restarts" "$made_redis" "$made_pg"
# The relay's leadership: each replica that takes a service's advisory lock logs
# relay.leader once (again after it lost its session, e.g. to a PostgreSQL restart); every
# line after the first of a service is a move (a switch when the next holder is another
# replica). Claims: the entries consumers took over with XAUTOCLAIM (bus.claimed).
leader_moves=0 leader_switches=0 claims=0 moves_by=""
for name in "${names[@]}"; do
  logs=()
  for inst in "${instances[@]}"; do
    [[ "$inst" == "$name" || "$inst" == "$name"-* ]] && logs+=("$state/logs/$inst.log")
  done
  # "<time> <log file>" per relay.leader line, in time order.
  takes=$(for log in "${logs[@]}"; do
    grep -h '"msg":"relay.leader"' -- "$log" 2>/dev/null | cut -d'"' -f4 | sed "s|\$| $log|" || true
  done | sort)
  n=$(grep -c . <<<"$takes" || true)
  if ((n > 1)); then
    leader_moves=$((leader_moves + n - 1))
    switches=$(awk '{ if (NR > 1 && $2 != last) s++; last = $2 } END { print s + 0 }' <<<"$takes")
    leader_switches=$((leader_switches + switches))
    moves_by+=" $name $((n - 1))/$switches"
  fi
  c=$(cat -- "${logs[@]}" 2>/dev/null | grep '"msg":"bus.claimed"' |
    sed -n 's/.*"entries":\([0-9]*\).*/\1/p' | awk '{s += $1} END {print s + 0}' || true)
  claims=$((claims + ${c:-0}))
done
printf '  %-34s %s, %s of them to another replica%s\n' "relay leadership moves" \
  "$leader_moves" "$leader_switches" "${moves_by:+ (per service, moves/switches:${moves_by})}"
printf '  %-34s %s entries\n' "claimed by consumers (XAUTOCLAIM)" "$claims"
figure() {  # KEY from the driver's JSON
  sed -n "s/.*\"$1\": *\([0-9]*\).*/\1/p" "$state/result.json" 2>/dev/null | head -n 1
}
if [[ -f "$state/result.json" ]]; then
  printf 'FIGURE chaos replicas=%s flows=%s lost=%s twice=%s leader_moves=%s leader_switches=%s claims=%s timers_once=%s/%s kills=%s drain_s=%s\n' \
    "$replicas" "$(figure flows)" "$(figure lost)" "$(figure twice)" "$leader_moves" \
    "$leader_switches" "$claims" "$(figure timers_once)" "$(figure timers_due)" "$made_kills" \
    "$(sed -n 's/.*"drain_s": *\([0-9.]*\).*/\1/p' "$state/result.json" | head -n 1)"
fi
mkdir -p .bench
[[ -f "$state/result.json" ]] && cp -- "$state/result.json" ".bench/chaos-$(basename "$state").json"
((rc == 0)) && ok=yes
exit "$rc"
