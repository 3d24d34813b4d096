#!/usr/bin/env bash
# `make flamegraph`: where a CreateTicket's CPU goes. Starts a real wuye-intake on a fresh
# database (the project-local servers, started if they are not up), runs intake_bench's
# closed loop against it (WUYE_BENCH_CLIENTS clients, 4 by default) and records the server
# meanwhile with `perf record` (every thread of the process, with call stacks), then folds
# and draws the stacks with scripts/flamegraph.py.
#
#   scripts/flamegraph.sh [BUILD_DIR] [OUT.svg]
#       (default: build, docs/flamegraph-createticket.svg; needs wuye-intake, intake_bench
#        and perf — Debian's linux-perf —, as root or with perf_event_paranoid ≤ 1)
#
# Tunables: WUYE_BENCH_SECONDS (10) of recording; WUYE_FLAME_FREQ (499) samples per second
# per thread; WUYE_FLAME_CALLGRAPH (dwarf: stacks unwound from the debug information, as the
# build keeps no frame pointers; "fp" is cheaper and shallower). The folded stacks are kept
# in .bench/. Always stops the server and its Redis and drops its database.
set -euo pipefail
cd "$(dirname "$0")/.."

build=${1:-build}
out=${2:-docs/flamegraph-createticket.svg}
seconds=${WUYE_BENCH_SECONDS:-10}
clients=${WUYE_BENCH_CLIENTS:-4}
freq=${WUYE_FLAME_FREQ:-499}
callgraph=${WUYE_FLAME_CALLGRAPH:-dwarf}
readonly PG_BIN=/usr/lib/postgresql/15/bin
say() { printf 'flamegraph: %s\n' "$*" >&2; }
die() { printf 'flamegraph: error: %s\n' "$*" >&2; exit 1; }

[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || die "WUYE_BENCH_SECONDS='$seconds' is not a positive integer"
server=$build/services/intake/wuye-intake
bench=$build/services/intake/intake_bench
for bin in "$server" "$bench"; do
  [[ -x "$bin" ]] || die "$bin not found; build first (cmake --build $build --target wuye-intake intake_bench)"
done
command -v perf >/dev/null || die "perf not found (Debian: apt-get install linux-perf)"
case $callgraph in dwarf) cg=(--call-graph dwarf,16384) ;; fp) cg=(-g) ;; *) die "WUYE_FLAME_CALLGRAPH is dwarf or fp" ;; esac

tmp=$(mktemp -d)
server_pid="" redis_pid="" admin_url="" db="" started_servers=""
cleanup() {
  local rc=$?
  set +e
  if [[ -n "$server_pid" ]]; then kill -TERM "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; fi
  if [[ -n "$redis_pid" ]]; then kill -TERM "$redis_pid" 2>/dev/null; wait "$redis_pid" 2>/dev/null; fi
  if [[ -n "$db" ]]; then
    "$PG_BIN/psql" "$admin_url" -X -q -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1
  fi
  rm -rf -- "$tmp"
  if [[ -n "$started_servers" ]]; then scripts/servers.sh down >&2; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if ! scripts/servers.sh status >/dev/null 2>&1; then
  scripts/servers.sh up >&2
  started_servers=yes
fi
admin_url=$(eval "$(scripts/servers.sh env)" && printf '%s' "$WUYE_PG_URL")
[[ "$admin_url" == */postgres ]] || die "WUYE_PG_URL '$admin_url' does not end in /postgres"
db=flame_intake_$$
url=${admin_url%/postgres}/$db
"$PG_BIN/psql" "$admin_url" -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$db\"" >/dev/null

port_in_use() { [[ -n "$(ss -Hltn "( sport = :$1 )" 2>/dev/null)" ]]; }
port=""
for _ in $(seq 1 100); do
  candidate=$((10000 + RANDOM % 20000))
  if ! port_in_use "$candidate"; then port=$candidate; break; fi
done
[[ -n "$port" ]] || die "no free port"

secret=$(head -c 33 /dev/urandom | base64)
env_clean=()
while IFS= read -r name; do env_clean+=(-u "$name"); done < <(compgen -e | grep '^WUYE_' || true)
# A Redis of its own (no persistence), as in `make bench`: the relay publishes the events
# there, never to a running suite's streams.
rport=""
for _ in $(seq 1 100); do
  candidate=$((10000 + RANDOM % 20000))
  if [[ "$candidate" != "$port" ]] && ! port_in_use "$candidate"; then rport=$candidate; break; fi
done
[[ -n "$rport" ]] || die "no free port"
redis-server --bind 127.0.0.1 --port "$rport" --save '' --appendonly no --dir "$tmp" \
  >"$tmp/redis.log" 2>&1 &
redis_pid=$!
until port_in_use "$rport"; do kill -0 "$redis_pid" 2>/dev/null || die "redis did not start"; sleep 0.1; done
env "${env_clean[@]}" WUYE_PG_URL="$url" WUYE_JWT_SECRET="$secret" WUYE_REDIS_ADDR="127.0.0.1:$rport" \
  WUYE_INTAKE_PHONE_KEY="$(head -c 32 /dev/urandom | base64)" \
  "$server" --listen="127.0.0.1:$port" --metrics_listen=127.0.0.1:0 --shutdown_grace=2s \
  >"$tmp/intake.log" 2>&1 &
server_pid=$!
deadline=$((SECONDS + 60))
until port_in_use "$port"; do
  kill -0 "$server_pid" 2>/dev/null && ((SECONDS < deadline)) || { tail -n 20 "$tmp/intake.log" >&2; die "intake did not start"; }
  sleep 0.1
done
group=$(cat /proc/sys/kernel/random/uuid) estate=$(cat /proc/sys/kernel/random/uuid)
"$PG_BIN/psql" "$url" -X -q -v ON_ERROR_STOP=1 -c \
  "INSERT INTO estates VALUES ('$estate', '$group', 0, '', 0)" >/dev/null

load=$(cut -d" " -f1-3 /proc/loadavg)
say "intake (pid $server_pid) on 127.0.0.1:$port; CreateTicket closed loop, $clients clients, ${seconds}s, perf at ${freq} Hz ($callgraph stacks); load average $load"
# The load runs a second longer on each side than the recording, so that only the steady
# loop is in the graph.
WUYE_JWT_SECRET=$secret "$bench" --target="127.0.0.1:$port" --threads="$clients" \
  --group_id="$group" --estate_id="$estate" --closed_duration="$((seconds + 2))s" \
  --open_duration=1s --rate=10 >"$tmp/bench.json" &
bench_pid=$!
sleep 1
# System-wide (-a), then only the server's samples: on this VM, `perf record -p` attached to
# a running process records no samples.
perf record -F "$freq" "${cg[@]}" -a -o "$tmp/perf.data" -- sleep "$seconds" \
  >"$tmp/perf.log" 2>&1 || { cat "$tmp/perf.log" >&2; die "perf record failed"; }
wait "$bench_pid" || die "intake_bench failed ($(tail -c 300 "$tmp/bench.json"))"
rate=$(python3 -c 'import json,sys; print("%.0f" % json.load(open(sys.argv[1]))["create_ticket_per_s"])' "$tmp/bench.json")
say "folding the samples (perf script)"
perf script -i "$tmp/perf.data" --pid="$server_pid" 2>/dev/null >"$tmp/perf.txt"
mkdir -p .bench
folded=.bench/$(basename "${out%.svg}")-$(date -u +%Y%m%dT%H%M%SZ).folded
python3 scripts/flamegraph.py --fold-only "$tmp/perf.txt" >"$folded"
python3 scripts/flamegraph.py --folded "$folded" \
  --title "wuye-intake during CreateTicket, closed loop, $clients clients" \
  --subtitle "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, load average $load, $rate calls/s; perf record -a -F $freq ($callgraph stacks), the server's threads, ${seconds}s" \
  >"$out"
say "wrote $out ($(wc -c <"$out") bytes); the folded stacks in $folded"
