#!/usr/bin/env bash
# `make bench`: measures the directory service against its own baselines on the project-local
# servers, in one run, and prints one table (figure / value / baseline / ratio).
#
#   scripts/bench.sh [BUILD_DIR]      (default: build; needs wuye-directory, directory_bench)
#
#   1. pgbench: single-row INSERT tps on the local PostgreSQL, in a scratch database
#      (the baseline of every write figure);
#   2. a real wuye-directory process on a fresh database and a free loopback port; once its
#      health says SERVING, services/directory/directory_bench measures its idle memory, the rate of empty
#      gRPC calls (health Check), CreateUnit calls/s with p50/p99, and ImportUnits of 100k
#      units in one call (then its replay and a re-import under a new request_id).
#
# The table goes to stdout and, as JSON, to .bench/results-<UTC time>.json; the server's log
# to .bench/directory-<UTC time>.log. Starts the local servers if they are not up and stops
# them again at the end only then; always stops the directory server and drops the scratch
# databases. Tunables (environment): WUYE_BENCH_SECONDS (10) per rate figure,
# WUYE_BENCH_CLIENTS (4) for pgbench and the gRPC client threads alike, WUYE_BENCH_ONLY
# (e.g. "intake billing") to measure just those parts (directory, bus, a service's name,
# gateway) after the pgbench baseline, WUYE_BENCH_SERVER_FLAGS (e.g. "--adaptive_limit=false")
# added to every service it starts.
#
# Intake and billing (issue #28): each service's write figure has, as its baseline, pgbench
# running that call's own SQL (CreateTicket's one statement, RecordPayment's transaction), a
# script the service's bench writes from the same code (shared/bench_support.h), with the same
# clients for the same time on the service's database after its run, the server stopped.
# Intake also gives the server's CPU per CreateTicket against an empty call's (health Check),
# the open loop at 1000/s quiet and with a CPU hog pinned to one core (WUYE_BENCH_BUSY=0: no
# hog; the bus's latency at 500/s likewise), and the open loop at half and at twice its
# closed-loop capacity (accepted calls' p99, refusals). `make flamegraph` draws where
# CreateTicket's CPU goes (scripts/flamegraph.sh).
#
# The gateway part starts a directory and a wuye-gateway in front of it and measures a
# directory read direct over gRPC and through the gateway (Connect JSON and binary), the
# same clients for the same time (services/gateway/gateway_bench.cc).
# Exit code: 0 when every figure was measured without errors, else non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
readonly ROOT

build=${1:-build}
seconds=${WUYE_BENCH_SECONDS:-10}
clients=${WUYE_BENCH_CLIENTS:-4}
readonly PG_BIN=/usr/lib/postgresql/15/bin

only=${WUYE_BENCH_ONLY:-}
wanted() { [[ -z "$only" || " $only " == *" $1 "* ]]; }  # NAME
say() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }

[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || die "WUYE_BENCH_SECONDS='$seconds' is not a positive integer"
[[ "$clients" =~ ^[1-9][0-9]*$ ]] || die "WUYE_BENCH_CLIENTS='$clients' is not a positive integer"
server_bin=$build/services/directory/wuye-directory
bench_bin=$build/services/directory/directory_bench
for bin in "$server_bin" "$bench_bin"; do
  wanted directory || break  # only the directory part needs them
  [[ -x "$bin" ]] || die "$bin not found; build first (make build, or cmake --build $build --target directory_bench wuye-directory)"
done
for tool in pgbench psql; do
  [[ -x "$PG_BIN/$tool" ]] || die "$PG_BIN/$tool not found; run scripts/install-deps.sh"
done

stamp=$(date -u +%Y%m%dT%H%M%SZ)
out_dir=$ROOT/.bench
json_out=$out_dir/results-$stamp.json
server_log=$out_dir/directory-$stamp.log
mkdir -p -- "$out_dir"

# ---- cleanup: always ------------------------------------------------------------------

started_servers=""
server_pid=""
admin_url=""
scratch_dbs=()
tmp=$(mktemp -d)

psql_admin() {  # SQL
  "$PG_BIN/psql" "$admin_url" -X -q -v ON_ERROR_STOP=1 \
    -c 'SET client_min_messages = warning' -c "$1" >/dev/null
}

alive() {  # PID: running and not a zombie
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ "${stat:0:1}" != Z && "${stat:0:1}" != X ]]
}

stop_server() {
  [[ -n "$server_pid" ]] || return 0
  if alive "$server_pid"; then
    kill -TERM "$server_pid" 2>/dev/null || true
    local deadline=$((SECONDS + 15))
    while alive "$server_pid" && ((SECONDS < deadline)); do sleep 0.1; done
    if alive "$server_pid"; then
      say "directory server (pid $server_pid) ignored SIGTERM; killing it"
      kill -KILL "$server_pid" 2>/dev/null || true
    fi
  fi
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

drop_db() {  # NAME
  psql_admin "DROP DATABASE IF EXISTS \"$1\" WITH (FORCE)" ||
    say "warning: could not drop database $1"
}

cleanup() {
  local rc=$?
  set +e
  stop_server
  if [[ -n "$admin_url" ]]; then
    local db
    for db in "${scratch_dbs[@]}"; do drop_db "$db"; done
  fi
  rm -rf -- "$tmp"
  if [[ -n "$started_servers" ]]; then scripts/servers.sh down >&2; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- local servers --------------------------------------------------------------------

if ! scripts/servers.sh status >/dev/null 2>&1; then
  scripts/servers.sh up >&2
  started_servers=yes
fi
admin_url=$(eval "$(scripts/servers.sh env)" && printf '%s' "$WUYE_PG_URL")
[[ "$admin_url" == */postgres ]] || die "WUYE_PG_URL '$admin_url' does not end in /postgres"

db_url() { printf '%s/%s' "${admin_url%/postgres}" "$1"; }  # NAME

# ---- 1. baseline: pgbench single-row INSERT ---------------------------------------------

pg_db=bench_$$
scratch_dbs+=("$pg_db")
psql_admin "CREATE DATABASE \"$pg_db\""
"$PG_BIN/psql" "$(db_url "$pg_db")" -X -q -v ON_ERROR_STOP=1 \
  -c 'CREATE TABLE b (id bigserial PRIMARY KEY, v text)' >/dev/null
printf "INSERT INTO b (v) VALUES ('x');\n" >"$tmp/insert.sql"
threads=$((clients < 2 ? clients : 2))
say "load average $(cut -d" " -f1-3 /proc/loadavg 2>/dev/null || echo ?); pgbench: single-row INSERT, $clients clients, $threads threads, ${seconds}s"
if ! pg_out=$("$PG_BIN/pgbench" -n -f "$tmp/insert.sql" -c "$clients" -j "$threads" \
  -T "$seconds" "$(db_url "$pg_db")" 2>&1); then
  printf '%s\n' "$pg_out" >&2
  die "pgbench failed"
fi
pg_tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$pg_out" | head -n1)
pg_lat=$(sed -n 's/^latency average = \([0-9.]*\) ms.*/\1/p' <<<"$pg_out" | head -n1)
[[ -n "$pg_tps" ]] || { printf '%s\n' "$pg_out" >&2; die "no tps line in pgbench's output"; }
drop_db "$pg_db"

# ---- 2. the directory server ------------------------------------------------------------

port_in_use() {  # PORT
  if command -v ss >/dev/null 2>&1; then
    [[ -n "$(ss -Hltn "( sport = :$1 )" 2>/dev/null)" ]]
  else
    timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
  fi
}

# A port outside the kernel's ephemeral range: there, the client's own connection attempts
# while the server starts could take the port (a TCP self-connect) before the server binds.
free_port() {
  local low=32768 high=60999 from to port _
  if ! read -r low high </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null; then
    low=32768 high=60999
  fi
  if ((low > 11024)); then from=10000 to=$((low - 1)); else from=$((high + 1)) to=65535; fi
  ((to - from >= 100)) || die "no port range outside the ephemeral ports $low-$high"
  for _ in $(seq 1 200); do
    port=$((from + (RANDOM * 32768 + RANDOM) % (to - from + 1)))
    if ! port_in_use "$port"; then
      printf '%s\n' "$port"
      return 0
    fi
  done
  die "no free TCP port found"
}

bench_rc=0
secret=$(head -c 33 /dev/urandom | base64)  # 44 characters
# The servers see exactly the configuration given them: no other WUYE_* variable of the caller.
env_clean=()
while IFS= read -r name; do env_clean+=(-u "$name"); done < <(compgen -e | grep '^WUYE_' || true)
redis_addr=$(eval "$(scripts/servers.sh env)" && printf '%s' "$WUYE_REDIS_ADDR")

if wanted directory; then
dir_db=bench_dir_$$
scratch_dbs+=("$dir_db")
psql_admin "CREATE DATABASE \"$dir_db\""
port=$(free_port)
say "directory server on 127.0.0.1:$port (database $dir_db, log $server_log)"
env "${env_clean[@]}" WUYE_PG_URL="$(db_url "$dir_db")" WUYE_JWT_SECRET="$secret" \
  WUYE_REDIS_ADDR="$redis_addr" WUYE_INTAKE_PHONE_KEY="$(head -c 32 /dev/urandom | base64)" \
  "$server_bin" --listen="127.0.0.1:$port" --metrics_listen=127.0.0.1:0 --shutdown_grace=2s >"$server_log" 2>&1 &
server_pid=$!

# ---- 3. the load ------------------------------------------------------------------------

WUYE_JWT_SECRET=$secret "$bench_bin" \
  --target="127.0.0.1:$port" --server_pid="$server_pid" \
  --threads="$clients" --duration="${seconds}s" \
  --import_buildings=50 --import_units_per_building=2000 \
  --pgbench_tps="$pg_tps" --pgbench_latency_ms="${pg_lat:-0}" --pgbench_clients="$clients" \
  --json_out="$json_out" || bench_rc=$?

if ! alive "$server_pid"; then
  say "the directory server exited during the run; last lines of $server_log:"
  tail -n 20 -- "$server_log" | sed 's/^/    /' >&2
  ((bench_rc != 0)) || bench_rc=1
fi
stop_server
errors=$(grep -c '"level":"error"' "$server_log" || true)
if [[ "$errors" != 0 ]]; then
  say "the directory server logged $errors error lines; first ones:"
  grep '"level":"error"' "$server_log" | head -n 5 | sed 's/^/    /' >&2
fi
say "server log: $server_log"
if ((bench_rc != 0)); then
  say "directory_bench exited with $bench_rc (see PROBLEMS above)"
fi

fi

# ---- 4. the event bus -------------------------------------------------------------------

bus_bin=$build/shared/bus_bench
if [[ -x "$bus_bin" ]] && wanted bus; then
  bus_db=bench_bus_$$
  scratch_dbs+=("$bus_db")
  psql_admin "CREATE DATABASE \"$bus_db\""
  redis_port=${redis_addr##*:}
  say "redis-benchmark: XADD, 50 clients, pipeline 16"
  rb=$(redis-benchmark -p "$redis_port" -q -n 200000 -P 16 XADD "bench.rb.$$" '*' f v 2>/dev/null |
    tr '\r' '\n' | sed -n 's/.*: \([0-9.]*\) requests per second.*/\1/p' | tail -n1 || true)
  redis-cli -p "$redis_port" DEL "bench.rb.$$" >/dev/null 2>&1 || true
  say "bus_bench: raw XADD, then outbox → relay → consumer, ${seconds}s each"
  echo
  printf '%-34s %-22s %-34s %s\n' "redis-benchmark XADD (-P 16)" "${rb:-?} /s" "-" "-"
  "$bus_bin" --bench_pg_url="$(db_url "$bus_db")" --bench_redis_addr="$redis_addr" \
    --seconds="$seconds" --busy="$( [[ "${WUYE_BENCH_BUSY:-1}" == 0 ]] && echo false || echo true)" \
    --json_out="$out_dir/bus-$stamp.json" || bench_rc=$?
fi
# ---- 5. every other service, each a real process on its own database ----------------------
# They share a private Redis (no persistence, emptied after each service) so that their
# events never reach a running suite's consumers, nor the next service's. Each line of the table: the figure, its baseline, the ratio.

svc_pids=()
svc_port=""
bench_redis=""
redis_pid=""

# Stops the services of the last bench (SIGTERM, then waits).
stop_services() {
  local pid
  for pid in "${svc_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${svc_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  svc_pids=()
}
stop_all() {
  stop_services
  if [[ -n "$redis_pid" ]]; then kill -TERM "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; redis_pid=""; fi
}
trap 'bench_exit=$?; stop_all; (exit "$bench_exit"); cleanup' EXIT

# Starts wuye-NAME on a fresh database and a free port (sets svc_port, svc_pid); waits until
# it listens, which it does only after its migrations ran. Extra VAR=value pairs go to its env.
start_service() {  # NAME [VAR=value...]
  local name=$1 db=bench_${1}_$$ log=$out_dir/$1-$stamp.log deadline
  shift
  scratch_dbs+=("$db")
  psql_admin "CREATE DATABASE \"$db\""
  svc_port=$(free_port)
  env "${env_clean[@]}" "$@" WUYE_PG_URL="$(db_url "$db")" WUYE_JWT_SECRET="$secret" \
    WUYE_REDIS_ADDR="$bench_redis" "$build/services/$name/wuye-$name" \
    --listen="127.0.0.1:$svc_port" --metrics_listen=127.0.0.1:0 --shutdown_grace=2s \
    ${WUYE_BENCH_SERVER_FLAGS:-} >"$log" 2>&1 &
  svc_pid=$!
  svc_pids+=("$svc_pid")
  deadline=$((SECONDS + 60))
  until port_in_use "$svc_port"; do
    alive "$svc_pid" && ((SECONDS < deadline)) || { tail -n 20 "$log" >&2; die "$name did not start"; }
    sleep 0.1
  done
  sleep 1  # idle: the figure below is its resident memory with nothing to do
  rss_kib=$(awk '/^VmRSS:/ {print $2}' "/proc/$svc_pid/status")
  printf '%s\t%s\n' "$name" "$rss_kib" >>"$tmp/rss"
  say "$name on 127.0.0.1:$svc_port (database $db, log $log), idle RSS $((rss_kib / 1024)) MiB"
}

# The baseline of a service's write figure: pgbench running the very statements one call
# makes (a script its bench wrote: shared/bench_support.h), the same clients, for the same
# time, on the service's database after its run. Writes OUT_DIR/NAME-pgbench-STAMP.json.
statement_pgbench() {  # NAME URL SCRIPT
  local name=$1 url=$2 script=$3 out tps lat failed
  [[ -s "$script" ]] || { say "$name: no pgbench script written"; bench_rc=1; return 0; }
  say "pgbench: $name's own statements ($script), $clients clients, ${seconds}s"
  if ! out=$("$PG_BIN/pgbench" -n -M prepared -D run="$RANDOM$RANDOM" -D seq=0 -f "$script" \
      -c "$clients" -j "$threads" -T "$seconds" "$url" 2>&1); then
    printf '%s\n' "$out" | tail -n 5 >&2
    say "$name: pgbench failed on its script"
    bench_rc=1
    return 0
  fi
  tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$out" | head -n1)
  lat=$(sed -n 's/^latency average = \([0-9.]*\) ms.*/\1/p' <<<"$out" | head -n1)
  failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' <<<"$out" | head -n1)
  printf '{"tps": %s, "latency_ms": %s, "clients": %s, "failed": %s, "script": "%s"}\n' \
    "${tps:-0}" "${lat:-0}" "$clients" "${failed:-0}" "$script" >"$out_dir/$name-pgbench-$stamp.json"
  [[ -n "$tps" && "${failed:-0}" == 0 ]] || { printf '%s\n' "$out" | tail -n 5 >&2; bench_rc=1; }
}
# WUYE_BENCH_BUSY=0: no busy variant (a CPU hog pinned to one core) of the latency figures.
busy=true
[[ "${WUYE_BENCH_BUSY:-1}" == 0 ]] && busy=""

# The other services of services.txt that have a bench (services/<name>/<name>_bench);
# directory's was measured above, against its own server.
service_benches=()
for name in $(awk '!/^[[:space:]]*(#|$)/ {print $1}' services.txt); do
  [[ "$name" != directory ]] &&
      [[ -x "$build/services/$name/wuye-$name" && -x "$build/services/$name/${name}_bench" ]] &&
    wanted "$name" &&
    service_benches+=("$name")
done
gateway_bin=$build/services/gateway/wuye-gateway
want_gateway=""
if wanted gateway && [[ -x "$gateway_bin" && -x "$build/services/gateway/gateway_bench" ]]; then
  want_gateway=yes
fi
if ((${#service_benches[@]} > 0)) || [[ -n "$want_gateway" ]]; then
  rport=$(free_port)
  redis-server --bind 127.0.0.1 --port "$rport" --save '' --appendonly no --dir "$tmp" \
    >"$tmp/redis.log" 2>&1 &
  redis_pid=$!
  bench_redis=127.0.0.1:$rport
  until port_in_use "$rport"; do alive "$redis_pid" || die "private redis did not start"; sleep 0.1; done
  export WUYE_JWT_SECRET=$secret
fi
eldercare_keys=(WUYE_ELDERCARE_KEYS="bench:$(head -c 32 /dev/urandom | base64)"
                WUYE_ELDERCARE_LOOKUP_KEY="$(head -c 32 /dev/urandom | base64)")
for name in "${service_benches[@]}"; do
  json=$out_dir/$name-$stamp.json
  case $name in
    intake)
      start_service intake WUYE_INTAKE_PHONE_KEY="$(head -c 32 /dev/urandom | base64)"
      intake_pid=$svc_pid
      # Intake takes tickets only for estates it knows (from directory's events): one here.
      bench_group=$(cat /proc/sys/kernel/random/uuid) bench_estate=$(cat /proc/sys/kernel/random/uuid)
      intake_url=$(db_url "bench_intake_$$")
      "$PG_BIN/psql" "$intake_url" -X -q -v ON_ERROR_STOP=1 -c \
        "INSERT INTO estates VALUES ('$bench_estate', '$bench_group', 0, '', 0)" >/dev/null
      say "intake_bench: CreateTicket closed loop (and the server's CPU per call), health Check, open loop at 1000/s${busy:+ quiet and busy}, then at half and twice the capacity"
      "$build/services/intake/intake_bench" --target="127.0.0.1:$svc_port" --threads="$clients" \
        --group_id="$bench_group" --estate_id="$bench_estate" --server_pid="$intake_pid" \
        --closed_duration="${seconds}s" --open_duration="${seconds}s" --rate=1000 \
        --busy="${busy:-false}" --overload --pgbench_tps="$pg_tps" >"$json" || bench_rc=$?
      # The baseline: pgbench running the statement one CreateTicket makes, on intake's own
      # database as the bench left it, with the server stopped (its relay would otherwise
      # publish pgbench's events).
      "$build/services/intake/intake_bench" --pgbench_script="$out_dir/createticket-$stamp.sql" \
        --pg_url="$intake_url" --group_id="$bench_group" --estate_id="$bench_estate" \
        --jwt_secret="$secret" || bench_rc=$?
      stop_services
      statement_pgbench intake "$intake_url" "$out_dir/createticket-$stamp.sql" ;;
    billing)
      start_service billing
      billing_url=$(db_url "bench_billing_$$")
      # RecordPayment is offered above what it can take, so the rate answered is its capacity.
      say "billing_bench: bare INSERT … SELECT vs the billing run over ${WUYE_BENCH_UNITS:-1000000} units, RecordPayment offered 3000/s"
      "$build/services/billing/billing_bench" --pg_url="$admin_url" \
        --units="${WUYE_BENCH_UNITS:-1000000}" --target="127.0.0.1:$svc_port" \
        --billing_pg_url="$billing_url" --rate=3000 --threads=16 \
        --duration="${seconds}s" >"$json" || bench_rc=$?
      say "billing_bench: RecordPayment, closed loop, $clients clients"
      "$build/services/billing/billing_bench" --units=0 --target="127.0.0.1:$svc_port" \
        --billing_pg_url="$billing_url" --closed --threads="$clients" \
        --duration="${seconds}s" >"$out_dir/billing-closed-$stamp.json" || bench_rc=$?
      "$build/services/billing/billing_bench" --units=0 --billing_pg_url="$billing_url" \
        --pgbench_script="$out_dir/recordpayment-$stamp.sql" || bench_rc=$?
      stop_services
      statement_pgbench billing "$billing_url" "$out_dir/recordpayment-$stamp.sql" ;;
    eldercare)
      start_service directory WUYE_INTAKE_PHONE_KEY="$(head -c 32 /dev/urandom | base64)"
      dir_port=$svc_port
      start_service eldercare "${eldercare_keys[@]}"
      say "eldercare_bench: health-card reads at 200/s"
      "$build/services/eldercare/eldercare_bench" --target="127.0.0.1:$svc_port" \
        --directory_target="127.0.0.1:$dir_port" --rate=200 --duration="${seconds}s" \
        >"$json" || bench_rc=$? ;;
    dispatch)
      start_service dispatch  # for its idle memory; the bench runs dispatch's parts in process
      say "dispatch_bench: the assignment decision among 500 staff, ticket → assigned over the bus at 200/s"
      WUYE_PG_URL=$admin_url WUYE_REDIS_ADDR=$bench_redis "$build/services/dispatch/dispatch_bench" \
        --staff=500 --rate=200 --duration="${seconds}s" >"$json" || bench_rc=$? ;;
    duty)
      start_service duty
      say "duty_bench: intake.complaint.major → the task on a WatchTasks screen at 200/s"
      WUYE_PG_URL=$admin_url WUYE_REDIS_ADDR=$bench_redis "$build/services/duty/duty_bench" \
        --target="127.0.0.1:$svc_port" --rate=200 --duration="${seconds}s" >"$json" ||
        bench_rc=$? ;;
    performance)
      start_service performance
      say "performance_bench: 10,000 staff scored from 100,000 evidence events, then the month closed"
      "$build/services/performance/performance_bench" --pg_url="$admin_url" >"$json" ||
        bench_rc=$? ;;
  esac
  stop_services
  # The next service must not find this one's events: dispatch, say, would otherwise work
  # off every work request of the intake bench while its own figure is being measured.
  redis-cli -p "$rport" FLUSHALL >/dev/null
done
# ---- 6. the gateway: a directory read direct over gRPC and through wuye-gateway ---------
# (services/gateway/gateway_bench.cc says what it measures.)
if [[ -n "$want_gateway" ]]; then
  start_service directory WUYE_INTAKE_PHONE_KEY="$(head -c 32 /dev/urandom | base64)"
  dir_port=$svc_port dir_pid=$svc_pid
  gw_port=$(free_port) gw_log=$out_dir/gateway-$stamp.log
  env "${env_clean[@]}" "$gateway_bin" --listen="127.0.0.1:$gw_port" --metrics_listen=127.0.0.1:0 \
    --upstreams="directory=127.0.0.1:$dir_port" --upstream=127.0.0.1:1 --shutdown_grace=2s \
    >"$gw_log" 2>&1 &
  gw_pid=$!
  svc_pids+=("$gw_pid")
  deadline=$((SECONDS + 30))
  until port_in_use "$gw_port"; do
    alive "$gw_pid" && ((SECONDS < deadline)) || { tail -n 20 "$gw_log" >&2; die "the gateway did not start"; }
    sleep 0.1
  done
  sleep 1
  printf 'gateway\t%s\n' "$(awk '/^VmRSS:/ {print $2}' "/proc/$gw_pid/status")" >>"$tmp/rss"
  say "gateway on 127.0.0.1:$gw_port in front of the directory (log $gw_log)"
  say "gateway_bench: DirectoryService.GetUnit direct vs Connect JSON vs Connect proto, $clients clients, ${seconds}s each"
  "$build/services/gateway/gateway_bench" --target="127.0.0.1:$dir_port" --gateway="127.0.0.1:$gw_port" \
    --gateway_pid="$gw_pid" --target_pid="$dir_pid" --threads="$clients" --duration="${seconds}s" \
    >"$out_dir/gateway-$stamp.json" || bench_rc=$?
  stop_services
  service_benches+=(gateway)
fi
if ((${#service_benches[@]} > 0)); then
  echo
  python3 scripts/bench_table.py "$pg_tps" "$tmp/rss" "$out_dir" "$stamp" "${service_benches[@]}" || bench_rc=$?
fi
exit "$bench_rc"
