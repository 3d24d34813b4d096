#!/usr/bin/env bash
# Runs the suite's service binaries locally, in the background, against the local
# PostgreSQL and Redis of scripts/servers.sh. Each service runs under a small supervisor
# loop that restarts it when it dies and records the death in its log.
#
#   scripts/services.sh start|stop|restart|status|list|list-replicas [build-dir]
#
#   start    start every service that is not running (idempotent) and wait until each
#            answers on its port; exit non-zero, with the end of its log, if one dies.
#            Needs the servers (scripts/servers.sh up) and the built binaries.
#   stop     stop the supervisors and the services (SIGTERM, up to 20 s, then SIGKILL);
#            fine when nothing runs
#   restart  stop, then start
#   status   one line per service replica (replica a under the service's name, b as
#            <name>-b), then the gateway's; exit 0 if all run, else 3 (a gateway that is
#            not built does not count)
#   list     the services, one "name port" line each (replica a's port: for other scripts),
#            then the gateway's line, "gateway <HTTP port>"
#   list-replicas  every replica of WUYE_REPLICAS, one "name replica port metrics-port" line
#            each (replica a, b, ...; no gateway line)
#
# Replicas: WUYE_REPLICAS (1..4, default 1) processes per service, each supervised on its
# own. Replica a is the service's line of services.txt; replica b (c, d) listens on the
# port + 100 (+ 200, + 300) and the metrics port + 100 (...), and keeps its own files under
# the name <name>-b (pid, supervisor pid, restarts, last exit, log). All replicas of a
# service share its database and its consumer group; each is its own consumer (the bus
# names it by host and pid). stop and status also cover replicas still running from an
# earlier start with more of them. The gateway runs once and calls replica a.
#
# build-dir (default: build) holds <build>/services/<name>/wuye-<name>; start uses it, and
# status, to tell whether the gateway is built.
#
# The gateway (wuye-gateway, the HTTP edge: the Connect protocol and gRPC-Web to every
# service; not a line of services.txt) is started after the services, supervised like them,
# when <build>/services/gateway/wuye-gateway exists (otherwise start says so and goes on);
# it serves web/console/dist at / when that is built (WUYE_CONSOLE_DIR) and the console's
# local sign-in for the groups listed in $STATE/local-sign-in-groups (WUYE_LOCAL_SIGN_IN_FILE,
# with WUYE_JWT_SECRET: the only secret it gets, and only here, never in Kubernetes):
#   listens   127.0.0.1:50080 (HTTP) and 127.0.0.1:51080 (Prometheus, /healthz, /readyz),
#             plus WUYE_PORT_OFFSET; ready when /readyz answers 200
#   env       WUYE_UPSTREAM=127.0.0.1:{port} (each service's port of services.txt; under a
#             WUYE_PORT_OFFSET, which {port} cannot add, also WUYE_UPSTREAMS naming each
#             service's moved address),
#             WUYE_CORS_ORIGINS=$WUYE_GATEWAY_CORS_ORIGINS, by default the gateway's own
#             origins, http://127.0.0.1:50080 and http://localhost:50080: the console it
#             serves calls it from there (same origin: browsers still send Origin on a POST);
#             the variable replaces the list (comma-separated), e.g. to add a console's
#             development server elsewhere (say http://127.0.0.1:5173)
#   log, run  as a service's, under the name "gateway"
#
# Per service, with STATE = $WUYE_STATE_DIR or <repo>/.local (as in scripts/servers.sh):
#   database  wuye_<name> on the local PostgreSQL (created when missing)
#   listens   127.0.0.1:<port> (gRPC) and 127.0.0.1:<metrics port> (Prometheus /metrics),
#             both from services.txt
#   env       WUYE_PG_URL, WUYE_REDIS_ADDR, WUYE_JWT_SECRET (from $STATE/jwt-secret,
#             48 random bytes in base64, made once, mode 0600); intake and directory also
#             WUYE_INTAKE_PHONE_KEY ($STATE/intake-phone-key: the directory hashes residents'
#             numbers in its events with it), eldercare WUYE_ELDERCARE_KEYS
#             ("local1:" + $STATE/eldercare-key) and WUYE_ELDERCARE_LOOKUP_KEY
#             ($STATE/eldercare-lookup-key), counter WUYE_COUNTER_KEYS ("local1:" +
#             $STATE/counter-key) and WUYE_COUNTER_LOOKUP_KEY ($STATE/counter-lookup-key),
#             each made once like the JWT secret
#   log       $STATE/logs/<name>.log  (the service's JSON lines plus the supervisor's)
#   run       $STATE/run/<name>.pid             the service process
#             $STATE/run/<name>.supervisor.pid  its supervisor loop
#             $STATE/run/<name>.restarts        restarts since the last start
#             $STATE/run/<name>.last-exit       how the service last ended
#             (replica b: the same files under <name>-b)
# Tunables: WUYE_SERVICE_START_TIMEOUT (s, default 90), WUYE_SERVICE_STOP_TIMEOUT (20),
# WUYE_PORT_OFFSET (0; added to every port, for a second suite beside the first),
# WUYE_REPLICAS (1; processes per service, see above).
set -euo pipefail

readonly HOST=127.0.0.1
# Added to every port, so that a second suite (make chaos) runs beside the first.
PORT_OFFSET=${WUYE_PORT_OFFSET:-0}
[[ "$PORT_OFFSET" =~ ^-?[0-9]{1,5}$ ]] || { echo "services: WUYE_PORT_OFFSET must be an integer" >&2; exit 1; }
readonly PORT_OFFSET
# Processes per service; replica k (0 = a) listens on the ports of services.txt + 100 k.
REPLICAS=${WUYE_REPLICAS:-1}
[[ "$REPLICAS" =~ ^[1-4]$ ]] || { echo "services: WUYE_REPLICAS must be 1 to 4" >&2; exit 1; }
readonly REPLICAS
readonly REPLICA_LETTERS=(a b c d) REPLICA_PORT_STEP=100
readonly START_TIMEOUT=${WUYE_SERVICE_START_TIMEOUT:-90}
readonly STOP_TIMEOUT=${WUYE_SERVICE_STOP_TIMEOUT:-20}
# The gateway's local ports (its binary's defaults), moved by the offset like the others.
readonly GATEWAY=gateway
readonly GATEWAY_PORT=$((50080 + PORT_OFFSET)) GATEWAY_METRICS_PORT=$((51080 + PORT_OFFSET))
readonly GATEWAY_CORS_ORIGINS=${WUYE_GATEWAY_CORS_ORIGINS:-"http://$HOST:$GATEWAY_PORT,http://localhost:$GATEWAY_PORT"}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
readonly ROOT
# The services of the suite, in start order (stop goes in reverse), with their ports: the
# one list, services.txt. The binary of each is <build>/services/<name>/wuye-<name>.
readonly SERVICE_LIST=$ROOT/services.txt
SELF=$ROOT/scripts/services.sh
STATE=$(realpath -m -- "${WUYE_STATE_DIR:-$ROOT/.local}")
LOG_DIR=$STATE/logs
RUN_DIR=$STATE/run
SECRET_FILE=$STATE/jwt-secret

log() { printf 'services: %s\n' "$*"; }
warn() { printf 'services: warning: %s\n' "$*" >&2; }
die() { printf 'services: error: %s\n' "$*" >&2; exit 1; }

usage() {
  cat <<'EOF'
usage: scripts/services.sh start|stop|restart|status|list|list-replicas [build-dir]
  start    start the services that are not running, then the gateway if it is built;
           wait until they answer
  stop     stop the gateway, the services and their supervisors (fine when nothing runs)
  restart  stop, then start
  status   one line per service replica and one for the gateway; exit 0 if all run, else 3
  list     the services, one "name port" line each, then "gateway <HTTP port>"
  list-replicas  one "name replica port metrics-port" line per replica (WUYE_REPLICAS)
build-dir defaults to "build" (start needs it; status looks there for the gateway).
EOF
}

# ----------------------------------------------------------------- utils ----

now_utc() { date -u +%Y-%m-%dT%H:%M:%S.%3NZ; }

# True if PID exists and is not a zombie.
pid_alive() {  # PID
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ "${stat:0:1}" != Z && "${stat:0:1}" != X ]]
}

read_pidfile() {  # FILE -> digits or nothing
  [[ -f "$1" ]] || return 1
  local pid
  pid=$(tr -dc '0-9' 2>/dev/null <"$1" || true)
  [[ -n "$pid" ]] || return 1
  printf '%s\n' "$pid"
}

# The service a replica's name belongs to: "intake-b" is replica b of intake, "intake"
# its replica a (service names have no "-").
service_of() { printf '%s\n' "${1%%-*}"; }

# The live service process of NAME (a replica's name), from its pid file (checked: alive,
# and its command is wuye-<service>, so that a recycled pid is never taken for ours).
service_pid() {  # NAME
  local name=$1 pid comm want
  pid=$(read_pidfile "$RUN_DIR/$name.pid") || return 1
  pid_alive "$pid" || return 1
  comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
  want=wuye-$(service_of "$name")
  [[ "$comm" == "${want:0:15}" ]] || return 1  # comm is cut at 15 characters
  printf '%s\n' "$pid"
}

# The live supervisor loop of NAME (checked by its command line).
supervisor_pid() {  # NAME
  local name=$1 pid cmdline
  pid=$(read_pidfile "$RUN_DIR/$name.supervisor.pid") || return 1
  pid_alive "$pid" || return 1
  cmdline=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" || true)
  [[ "$cmdline" == *"services.sh __supervise $name "* ]] || return 1
  printf '%s\n' "$pid"
}

port_accepts() {  # PORT -> 0 if a connection to 127.0.0.1:PORT succeeds
  timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$1" 2>/dev/null
}

port_in_use() {  # PORT -> 0 if something listens on it (any address)
  local port=$1
  if command -v ss >/dev/null 2>&1; then
    [[ -n "$(ss -Hltn "( sport = :$port )" 2>/dev/null)" ]]
  else
    port_accepts "$port"
  fi
}

port_owner_hint() {  # PORT -> " [users:((...))]" when visible
  local procs
  command -v ss >/dev/null 2>&1 || return 0
  procs=$(ss -Hltnp "( sport = :$1 )" 2>/dev/null | grep -o 'users:(([^)]*))' | head -n1 || true)
  [[ -z "$procs" ]] || printf ' [%s]' "$procs"
}

tail_log() {  # NAME
  local file=$LOG_DIR/$1.log
  if [[ -r "$file" ]]; then
    printf 'services: last lines of %s:\n' "$file" >&2
    tail -n 20 -- "$file" | sed 's/^/    /' >&2
  fi
}

restarts_of() {  # NAME
  local n=""
  if [[ -f "$RUN_DIR/$1.restarts" ]]; then
    n=$(tr -dc '0-9' 2>/dev/null <"$RUN_DIR/$1.restarts" || true)
  fi
  printf '%s\n' "${n:-0}"
}

# Reads services.txt into NAMES[], PORTS[name] and METRICS_PORTS[name] (offset added),
# and the replicas: INSTANCES[] (those WUYE_REPLICAS runs, in start order: each service's
# replicas one after the other), ALL_INSTANCES[] (up to replica d, for stop and status),
# with PORTS, METRICS_PORTS and REPLICA_OF of each ("intake-b": intake's replica b).
declare -a NAMES=() INSTANCES=() ALL_INSTANCES=()
declare -A PORTS=() METRICS_PORTS=() REPLICA_OF=()
parse_services() {
  local name port metrics p _
  [[ -r "$SERVICE_LIST" ]] || die "$SERVICE_LIST not found"
  while read -r name port metrics _; do
    [[ -z "$name" || "$name" == \#* ]] && continue
    [[ "$name" =~ ^[a-z][a-z0-9_]*$ ]] || die "bad service name '$name' in $SERVICE_LIST"
    for p in "$port" "$metrics"; do
      if ! [[ "$p" =~ ^[0-9]{1,5}$ ]] || ((10#$p < 1 || 10#$p > 65535)); then
        die "bad port '$p' for service $name in $SERVICE_LIST"
      fi
    done
    NAMES+=("$name")
    local k inst
    for ((k = 0; k < ${#REPLICA_LETTERS[@]}; k++)); do
      inst=$name
      ((k == 0)) || inst=$name-${REPLICA_LETTERS[k]}
      PORTS[$inst]=$((10#$port + PORT_OFFSET + k * REPLICA_PORT_STEP))
      METRICS_PORTS[$inst]=$((10#$metrics + PORT_OFFSET + k * REPLICA_PORT_STEP))
      REPLICA_OF[$inst]=${REPLICA_LETTERS[k]}
      ALL_INSTANCES+=("$inst")
      ((k < REPLICAS)) && INSTANCES+=("$inst")
    done
  done <"$SERVICE_LIST"
  ((${#NAMES[@]} > 0)) || die "no services in $SERVICE_LIST"
}

# The replicas stop and status cover: those of WUYE_REPLICAS, and any other that has a
# pid file (started earlier with more replicas), in start order.
present_instances() {
  local inst
  for inst in "${ALL_INSTANCES[@]}"; do
    if [[ "${REPLICA_OF[$inst]}" == a ]] || in_current "$inst" ||
      [[ -e "$RUN_DIR/$inst.pid" || -e "$RUN_DIR/$inst.supervisor.pid" ]]; then
      printf '%s\n' "$inst"
    fi
  done
}
in_current() {  # NAME
  local inst
  for inst in "${INSTANCES[@]}"; do [[ "$inst" == "$1" ]] && return 0; done
  return 1
}

# Serialises start/stop. The lock fd (8) is closed for every supervisor we launch.
take_lock() {
  mkdir -p -- "$STATE"
  command -v flock >/dev/null 2>&1 || return 0
  exec 8>>"$STATE/.services.lock"
  flock -w 120 8 || die "another scripts/services.sh holds $STATE/.services.lock"
}

resolve_build() {  # DIR -> absolute path (relative to the current dir, else to the repo)
  local dir=${1:-build}
  if [[ "$dir" != /* && ! -d "$dir" && -d "$ROOT/$dir" ]]; then
    dir=$ROOT/$dir
  fi
  [[ -d "$dir" ]] || die "build dir '$dir' not found; build first (make build)"
  realpath -- "$dir"
}

# ------------------------------------------------------------- supervisor ----

# Appends one JSON line, like the services' own, to the service log.
supervisor_log() {  # LOG LEVEL MSG [JSON-FIELDS]
  printf '{"ts":"%s","level":"%s","svc":"supervisor","msg":"%s"%s}\n' \
    "$(now_utc)" "$2" "$3" "${4:+,$4}" >>"$1"
}

# The loop that keeps one service running: start it, wait for it, record how it ended,
# wait a second, start it again. SIGTERM ends the loop and leaves the service to the
# `stop` command (which then stops it by its pid file).
supervise() {  # NAME PORT METRICS-PORT BINARY
  local name=$1 port=$2 metrics=$3 bin=$4
  local log=$LOG_DIR/$name.log pidfile=$RUN_DIR/$name.pid
  local stopping=0 child rc restarts=0 how started
  set +e
  trap 'stopping=1' TERM INT
  printf '%s\n' "$$" >"$RUN_DIR/$name.supervisor.pid"
  while ((!stopping)); do
    started=$SECONDS
    "$bin" "--listen=$HOST:$port" "--metrics_listen=$HOST:$metrics" </dev/null >>"$log" 2>&1 &
    child=$!
    printf '%s\n' "$child" >"$pidfile"
    supervisor_log "$log" info service.launched \
      "\"service\":\"$name\",\"pid\":$child,\"binary\":\"$bin\",\"restarts\":$restarts"
    wait "$child" 2>/dev/null  # no "Killed" line from bash in the log: we write our own
    rc=$?
    # A signal to us interrupts `wait` while the service still runs: `stop` handles it.
    ((stopping)) && break
    if ((rc > 128)); then
      how="killed by signal $(kill -l $((rc - 128)) 2>/dev/null || echo $((rc - 128)))"
    else
      how="exit code $rc"
    fi
    restarts=$((restarts + 1))
    printf '%s\n' "$restarts" >"$RUN_DIR/$name.restarts"
    printf '%s %s (pid %s, after %ss)\n' "$(now_utc)" "$how" "$child" \
      "$((SECONDS - started))" >"$RUN_DIR/$name.last-exit"
    supervisor_log "$log" error service.died \
      "\"service\":\"$name\",\"pid\":$child,\"exit_status\":$rc,\"how\":\"$how\",\"uptime_s\":$((SECONDS - started)),\"restarts\":$restarts,\"restart_in_s\":1"
    sleep 1 &
    wait $!
  done
  supervisor_log "$log" info supervisor.stopping "\"service\":\"$name\""
  rm -f -- "$RUN_DIR/$name.supervisor.pid"
  exit 0
}

# -------------------------------------------------------------- database ----

# Makes FILE once: 32 (or N) random bytes in base64, mode 0600.
ensure_key_file() {  # FILE [BYTES]
  [[ -s "$1" ]] && return 0
  command -v openssl >/dev/null 2>&1 || die "openssl not found (needed to make $1)"
  local tmp
  tmp=$(umask 077 && mktemp "$STATE/.key.XXXXXX")
  openssl rand -base64 "${2:-32}" | tr -d '\n' >"$tmp"
  printf '\n' >>"$tmp"
  chmod 600 -- "$tmp"
  mv -f -- "$tmp" "$1"
  log "made a new key in $1 (mode 0600)"
}

ensure_secret() {
  mkdir -p -- "$STATE"
  ensure_key_file "$SECRET_FILE" 48
  ensure_key_file "$STATE/intake-phone-key"
  ensure_key_file "$STATE/eldercare-key"
  ensure_key_file "$STATE/eldercare-lookup-key"
  ensure_key_file "$STATE/counter-key"
  ensure_key_file "$STATE/counter-lookup-key"
}

# Sets ADMIN_URL, REDIS_ADDR from scripts/servers.sh, after checking the servers run.
load_server_env() {
  if ! "$ROOT/scripts/servers.sh" status >/dev/null 2>&1; then
    "$ROOT/scripts/servers.sh" status >&2 || true
    die "the local servers are not running; start them with scripts/servers.sh up (or make up)"
  fi
  local env
  env=$("$ROOT/scripts/servers.sh" env)
  ADMIN_URL=$(eval "$env"; printf '%s' "$WUYE_PG_URL")
  REDIS_ADDR=$(eval "$env"; printf '%s' "$WUYE_REDIS_ADDR")
  [[ "$ADMIN_URL" == postgresql://*/* ]] || die "unexpected WUYE_PG_URL from servers.sh: $ADMIN_URL"
  command -v psql >/dev/null 2>&1 ||
    die "psql not found; run scripts/install-deps.sh (postgresql-client-15)"
}

service_db_url() {  # NAME -> the admin URL with the database wuye_<name>
  printf '%s/wuye_%s\n' "${ADMIN_URL%/*}" "$1"
}

ensure_database() {  # NAME
  local db=wuye_$1 exists
  exists=$(psql "$ADMIN_URL" -XtAq -v ON_ERROR_STOP=1 \
    -c "SELECT 1 FROM pg_database WHERE datname = '$db'" 2>&1) ||
    die "cannot query PostgreSQL at $ADMIN_URL: $exists"
  [[ "$exists" == 1 ]] && return 0
  local out
  if ! out=$(psql "$ADMIN_URL" -Xq -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$db\"" 2>&1); then
    [[ "$out" == *"already exists"* ]] || die "cannot create database $db: $out"
  else
    log "$1: created database $db"
  fi
}

# ----------------------------------------------------------------- start ----

# True if GET /readyz on 127.0.0.1:PORT answers 200 (plain HTTP/1.0, no curl needed).
readyz_ok() {  # PORT
  timeout 2 bash -c '
    exec 3<>"/dev/tcp/$0/$1" || exit 1
    printf "GET /readyz HTTP/1.0\r\nHost: %s\r\n\r\n" "$0" >&3
    read -r _ status _ <&3
    [[ "$status" == 200 ]]' "$HOST" "$1" 2>/dev/null
}

# Waits until NAME's service process is alive and accepts connections on PORT (and, when
# OFFSET is given, has logged "server.started" after that byte of its log; when READYZ is
# given, answers 200 on /readyz of that port). Fails when the service dies (a restart is
# counted) or the supervisor goes away.
wait_ready() {  # NAME PORT [OFFSET] [READYZ-PORT]
  local name=$1 port=$2 offset=${3:-} readyz=${4:-} base deadline pid
  base=$(restarts_of "$name")
  deadline=$((SECONDS + START_TIMEOUT))
  while :; do
    if (($(restarts_of "$name") > base)); then
      warn "$name died while starting: $(cat "$RUN_DIR/$name.last-exit" 2>/dev/null || echo '?')"
      return 1
    fi
    if ! supervisor_pid "$name" >/dev/null; then
      warn "$name: its supervisor is gone"
      return 1
    fi
    # Not `tail | grep -q`: under pipefail, grep's early exit fails the pipeline with tail's
    # SIGPIPE once the log has grown past a pipe's buffer (a service catching up on events).
    if pid=$(service_pid "$name") && port_accepts "$port" &&
      { [[ -z "$offset" ]] || grep -q '"msg":"server.started"' \
        < <(tail -c "+$((offset + 1))" -- "$LOG_DIR/$name.log"); } &&
      { [[ -z "$readyz" ]] || readyz_ok "$readyz"; }; then
      return 0
    fi
    if ((SECONDS >= deadline)); then
      warn "$name: not answering on $HOST:$port after ${START_TIMEOUT}s"
      return 1
    fi
    sleep 0.2
  done
}

# A running service is left alone, but say so when it runs another build's binary, or one
# that was rebuilt after it started.
warn_if_stale() {  # NAME SUPERVISOR-PID SERVICE-PID BINARY
  local name=$1 sup=$2 pid=$3 bin=$4 running
  running=$(tr '\0' '\n' 2>/dev/null <"/proc/$sup/cmdline" | tail -n 1 || true)
  if [[ -n "$running" && "$running" != "$bin" ]]; then
    warn "$name runs $running, not $bin; scripts/services.sh restart to switch"
  elif [[ -e "$bin" ]] && (($(stat -c %Y -- "$bin") > $(stat -c %Y -- "/proc/$pid"))); then
    warn "$bin was rebuilt after $name started; scripts/services.sh restart to pick it up"
  fi
}

# The binary of NAME (a service of services.txt, or the gateway).
binary_of() {  # NAME BUILD
  if [[ "$1" == "$GATEWAY" ]]; then
    printf '%s\n' "$2/services/gateway/wuye-gateway"
  else
    printf '%s\n' "$2/services/$(service_of "$1")/wuye-$(service_of "$1")"
  fi
}

start_one() {  # NAME BUILD
  local name=$1 build=$2 port metrics bin sup pid offset readyz=""
  if [[ "$name" == "$GATEWAY" ]]; then
    port=$GATEWAY_PORT metrics=$GATEWAY_METRICS_PORT readyz=$GATEWAY_METRICS_PORT
  else
    port=${PORTS[$name]} metrics=${METRICS_PORTS[$name]}
  fi
  bin=$(binary_of "$name" "$build")
  if sup=$(supervisor_pid "$name"); then
    if ! pid=$(service_pid "$name") || ! port_accepts "$port"; then
      log "$name: supervisor $sup runs; waiting for the service to come up"
      wait_ready "$name" "$port" "" "$readyz" || { tail_log "$name"; die "$name did not come up"; }
      pid=$(service_pid "$name")
    fi
    log "$name  already running  pid $pid  $HOST:$port"
    warn_if_stale "$name" "$sup" "$pid" "$bin"
    return 0
  fi
  [[ -x "$bin" ]] ||
    die "$bin not found; build it first: cmake --build $build --target $(basename "$bin")"
  if pid=$(service_pid "$name"); then
    warn "$name (pid $pid) runs without its supervisor; stopping it to start it supervised"
    stop_service "$name" "$pid"
  fi
  if port_in_use "$port"; then
    die "$name: port $port is already in use by another process$(port_owner_hint "$port")"
  fi
  local svc
  svc=$(service_of "$name")
  [[ "$name" == "$GATEWAY" ]] || ensure_database "$svc"

  mkdir -p -- "$LOG_DIR" "$RUN_DIR"
  rm -f -- "$RUN_DIR/$name.pid" "$RUN_DIR/$name.supervisor.pid" "$RUN_DIR/$name.last-exit"
  printf '0\n' >"$RUN_DIR/$name.restarts"
  touch -- "$LOG_DIR/$name.log"
  offset=$(stat -c %s -- "$LOG_DIR/$name.log")

  # Its own session (setsid) and immune to hangups (nohup): it outlives this shell.
  # Each service gets only its own keys; the gateway verifies no token (the services do):
  # where the services are, the browser origins, and here only, for the console's local
  # sign-in, the local token secret.
  local -a vars=()
  case $name in
    "$GATEWAY")
      vars=(WUYE_UPSTREAM="$HOST:{port}" WUYE_CORS_ORIGINS="$GATEWAY_CORS_ORIGINS")
      # The web console when it is built, and its local sign-in (never in production): the
      # staff of the groups listed in $STATE/local-sign-in-groups (make demo adds the demo
      # group) sign in with tokens of the local secret.
      [[ -f "$ROOT/web/console/dist/index.html" ]] && vars+=(WUYE_CONSOLE_DIR="$ROOT/web/console/dist")
      touch -- "$STATE/local-sign-in-groups"
      vars+=(WUYE_LOCAL_SIGN_IN_FILE="$STATE/local-sign-in-groups" WUYE_JWT_SECRET="$(<"$SECRET_FILE")")
      # {port} is the port of services.txt; moved ports are named one by one.
      if ((PORT_OFFSET != 0)); then
        local moved="" s
        for s in "${NAMES[@]}"; do moved+="${moved:+,}$s=$HOST:${PORTS[$s]}"; done
        vars+=(WUYE_UPSTREAMS="$moved")
      fi ;;
    *)
      # Every replica of a service: its database, its consumer group (the bus names each
      # replica's consumer by host and pid), its keys.
      vars=(WUYE_PG_URL="$(service_db_url "$svc")" WUYE_REDIS_ADDR="$REDIS_ADDR"
            WUYE_JWT_SECRET="$(<"$SECRET_FILE")")
      case $svc in
        intake | directory) vars+=(WUYE_INTAKE_PHONE_KEY="$(<"$STATE/intake-phone-key")") ;;
        eldercare) vars+=(WUYE_ELDERCARE_KEYS="local1:$(<"$STATE/eldercare-key")"
                          WUYE_ELDERCARE_LOOKUP_KEY="$(<"$STATE/eldercare-lookup-key")") ;;
        counter) vars+=(WUYE_COUNTER_KEYS="local1:$(<"$STATE/counter-key")"
                        WUYE_COUNTER_LOOKUP_KEY="$(<"$STATE/counter-lookup-key")") ;;
      esac ;;
  esac
  env "${vars[@]}" \
    setsid nohup "$SELF" __supervise "$name" "$port" "$metrics" "$bin" \
    </dev/null >>"$LOG_DIR/$name.log" 2>&1 8>&- &
  local launcher=$!
  # The supervisor writes its own pid file first thing.
  local deadline=$((SECONDS + 10))
  until supervisor_pid "$name" >/dev/null; do
    if ((SECONDS >= deadline)) || ! pid_alive "$launcher"; then
      supervisor_pid "$name" >/dev/null && break
      tail_log "$name"
      die "$name: the supervisor did not start"
    fi
    sleep 0.05
  done
  # A service logs server.started once its migrations ran; the gateway is ready when its
  # /readyz says so.
  [[ "$name" == "$GATEWAY" ]] && offset=""
  if ! wait_ready "$name" "$port" "$offset" "$readyz"; then
    tail_log "$name"
    stop_one "$name" >/dev/null 2>&1 || true
    die "$name did not start (log: $LOG_DIR/$name.log)"
  fi
  log "$name  started  pid $(service_pid "$name")  $HOST:$port  (log $LOG_DIR/$name.log)"
}

# Why the gateway is not started from BUILD, or nothing when it can be.
gateway_skipped() {  # BUILD
  if [[ ! -x "$(binary_of "$GATEWAY" "$1")" ]]; then
    printf 'not built (%s); the services run without it\n' "$(binary_of "$GATEWAY" "$1")"
  fi
}

cmd_start() {  # BUILD
  local build name
  build=$(resolve_build "${1:-}")
  load_server_env
  take_lock
  ensure_secret
  local -a ports=()
  for name in "${INSTANCES[@]}"; do ports+=("${PORTS[$name]}" "${METRICS_PORTS[$name]}"); done
  ports+=("$GATEWAY_PORT" "$GATEWAY_METRICS_PORT")
  "$ROOT/scripts/reserve-ports.sh" "${ports[@]}"
  for name in "${INSTANCES[@]}"; do start_one "$name" "$build"; done
  # The gateway last: it needs the services (and is only useful with them).
  local skipped
  skipped=$(gateway_skipped "$build")
  if [[ -n "$skipped" ]]; then
    rm -f -- "$RUN_DIR/$GATEWAY.restarts" "$RUN_DIR/$GATEWAY.last-exit"
    log "$GATEWAY  $skipped"
  else
    start_one "$GATEWAY" "$build"
  fi
}

# ------------------------------------------------------------------ stop ----

wait_gone() {  # PID SECONDS -> 0 once the process is gone
  local pid=$1 deadline=$((SECONDS + $2))
  while pid_alive "$pid"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

stop_service() {  # NAME PID: SIGTERM, up to STOP_TIMEOUT, then SIGKILL
  local name=$1 pid=$2
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_gone "$pid" "$STOP_TIMEOUT"; then
    warn "$name (pid $pid) still runs after ${STOP_TIMEOUT}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 10 || die "$name (pid $pid) survives SIGKILL"
  fi
}

stop_one() {  # NAME
  local name=$1 sup pid stopped=""
  if sup=$(supervisor_pid "$name"); then
    kill -TERM "$sup" 2>/dev/null || true
    if ! wait_gone "$sup" 5; then
      kill -KILL "$sup" 2>/dev/null || true
      wait_gone "$sup" 5 || true
    fi
    stopped="supervisor $sup"
  fi
  # Read only now: a supervisor that was restarting the service may just have started one.
  if pid=$(service_pid "$name"); then
    stop_service "$name" "$pid"
    stopped="${stopped:+$stopped, }service $pid"
  fi
  rm -f -- "$RUN_DIR/$name.pid" "$RUN_DIR/$name.supervisor.pid"
  if [[ -n "$stopped" ]]; then
    [[ -f "$LOG_DIR/$name.log" ]] &&
      supervisor_log "$LOG_DIR/$name.log" info service.stopped "\"service\":\"$name\""
    log "$name  stopped ($stopped)"
  else
    log "$name  not running"
  fi
}

cmd_stop() {
  local i
  if [[ ! -d "$RUN_DIR" ]]; then
    log "$GATEWAY  not running"
    for ((i = ${#INSTANCES[@]} - 1; i >= 0; i--)); do log "${INSTANCES[i]}  not running"; done
    return 0
  fi
  take_lock
  # The gateway first: its calls in flight drain while the services still answer them.
  stop_one "$GATEWAY"
  local -a present
  mapfile -t present < <(present_instances)
  for ((i = ${#present[@]} - 1; i >= 0; i--)); do stop_one "${present[i]}"; done
}

# ---------------------------------------------------------------- status ----

cmd_status() {  # [BUILD]
  local name port sup pid state rc=0 restarts last build=${1:-build} skipped=""
  if [[ "$build" != /* && ! -d "$build" && -d "$ROOT/$build" ]]; then build=$ROOT/$build; fi
  local -a present
  mapfile -t present < <(present_instances)
  for name in "${present[@]}" "$GATEWAY"; do
    if [[ "$name" == "$GATEWAY" ]]; then
      port=$GATEWAY_PORT
      skipped=$(gateway_skipped "$build")
    else
      port=${PORTS[$name]}
    fi
    sup=$(supervisor_pid "$name" || true)
    pid=$(service_pid "$name" || true)
    if [[ -n "$sup" && -n "$pid" ]] && port_accepts "$port"; then
      state=running
    elif [[ -n "$sup" ]]; then
      state=restarting; rc=3
    elif [[ -n "$pid" ]]; then
      state=unsupervised; rc=3
    elif [[ -n "$skipped" ]]; then
      state=absent  # the gateway, not built: not a failure
    else
      state=stopped; rc=3
    fi
    restarts=$(restarts_of "$name")
    last=""
    if ((restarts > 0)) && [[ -f "$RUN_DIR/$name.last-exit" ]]; then
      last="  last death: $(<"$RUN_DIR/$name.last-exit")"
    elif [[ "$state" == absent ]]; then
      last="  ($skipped)"
    fi
    printf 'services: %-12s %-12s pid %-8s %s:%-6s restarts %s%s\n' \
      "$name" "$state" "${pid:--}" "$HOST" "$port" "$restarts" "$last"
  done
  return "$rc"
}

# ------------------------------------------------------------------ main ----

main() {
  local cmd=${1:-} name
  parse_services
  case "$cmd" in
    __supervise)
      [[ $# -eq 5 ]] || die "usage: services.sh __supervise NAME PORT METRICS-PORT BINARY"
      supervise "$2" "$3" "$4" "$5"
      ;;
    start) [[ $# -le 2 ]] || { usage >&2; exit 2; }; cmd_start "${2:-}" ;;
    stop) [[ $# -le 2 ]] || { usage >&2; exit 2; }; cmd_stop ;;
    restart)
      [[ $# -le 2 ]] || { usage >&2; exit 2; }
      cmd_stop
      exec 8>&-  # release the lock; start takes it again
      cmd_start "${2:-}"
      ;;
    status) [[ $# -le 2 ]] || { usage >&2; exit 2; }; cmd_status "${2:-}" ;;
    list)
      for name in "${NAMES[@]}"; do printf '%s %s\n' "$name" "${PORTS[$name]}"; done
      printf '%s %s\n' "$GATEWAY" "$GATEWAY_PORT"
      ;;
    list-replicas)
      for name in "${INSTANCES[@]}"; do
        printf '%s %s %s %s\n' "$(service_of "$name")" "${REPLICA_OF[$name]}" "${PORTS[$name]}" \
          "${METRICS_PORTS[$name]}"
      done
      ;;
    -h | --help | help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"
