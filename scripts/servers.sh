#!/usr/bin/env bash
# A project-local PostgreSQL 15 and Redis 7 for wuye's tests and development.
#
#   scripts/servers.sh up|start|down|stop|restart|status|env [pg|redis]
#
# No second argument means both servers. Configuration (environment):
#   WUYE_STATE_DIR   state directory (default: <repo>/.local, git-ignored)
#   WUYE_PG_PORT     PostgreSQL port on 127.0.0.1 (default 54329)
#   WUYE_REDIS_PORT  Redis port on 127.0.0.1 (default 63799)
#   WUYE_LISTEN_EXTRA  addresses (space-separated) both servers listen on besides
#                    127.0.0.1, e.g. a test's veth end (tests/partition_test.cc);
#                    PostgreSQL trusts clients from their subnets like local ones (a
#                    Redis reached from off the host wants a password: the test sets
#                    one). Unset: loopback only
#   WUYE_FREE_PORTS  1: where a default port (not one set above) is taken by another
#                    process, e.g. another checkout's servers, `up` takes a free port
#                    near it instead and says so in one line (scripts/run-tests.sh sets
#                    it; `make demo` does not, so its ports stay the defaults)
# Everything else is derived from these three, so another state dir plus other
# ports gives a completely separate pair of servers. A server of this state dir that
# runs is reported, and used, on the port it runs on (env, status).
#
# Layout:
#   $STATE/pg/data             PostgreSQL cluster (initdb -U wuye, trust auth)
#   $STATE/pg/postgresql.log   its log
#   $STATE/pg/sock             its unix socket dir (or /tmp/wuye-<hash> when
#                              that path is too long for a socket)
#   $STATE/redis/              Redis AOF, redis.pid, redis.log
# As root, PostgreSQL runs as the `postgres` user. If postgres cannot reach the
# state dir (e.g. a repo under a 0700 home), the pg/ part lives in
# /var/tmp/wuye-pg-<hash>/ instead, and that path is kept in $STATE/pg.location.
#
# `eval "$(scripts/servers.sh env)"` exports WUYE_PG_URL, WUYE_REDIS_ADDR and
# WUYE_STATE_DIR. `status` exits 0 when the requested servers run, 3 otherwise.
set -euo pipefail

readonly PG_BIN=/usr/lib/postgresql/15/bin
readonly HOST=127.0.0.1
readonly PG_START_TIMEOUT=60
readonly REDIS_TIMEOUT=20
readonly SOCKET_PATH_MAX=107  # sizeof(sockaddr_un.sun_path) - 1

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
readonly ROOT

log() { printf 'servers: %s\n' "$*"; }
warn() { printf 'servers: warning: %s\n' "$*" >&2; }
die() { printf 'servers: error: %s\n' "$*" >&2; exit 1; }

usage() {
  cat <<'EOF'
usage: scripts/servers.sh COMMAND [pg|redis]
  up | start       start the servers (idempotent), wait until they answer
  down | stop      stop what `up` started (fine when nothing runs)
  restart          down, then up
  status           one line per server; exit 0 if all requested run, else 3
  env              print export lines for WUYE_PG_URL, WUYE_REDIS_ADDR,
                   WUYE_STATE_DIR (use: eval "$(scripts/servers.sh env)")
environment: WUYE_STATE_DIR (default <repo>/.local), WUYE_PG_PORT (54329),
             WUYE_REDIS_PORT (63799), WUYE_FREE_PORTS (1: take free ports when the
             defaults are taken)
EOF
}

# ---------------------------------------------------------------- config ----

check_port() {  # NAME VALUE
  local name=$1 value=$2
  if ! [[ "$value" =~ ^[0-9]{1,5}$ ]] || ((10#$value < 1 || 10#$value > 65535)); then
    die "$name='$value' is not a valid TCP port"
  fi
}

load_config() {
  STATE=${WUYE_STATE_DIR:-$ROOT/.local}
  [[ -n "$STATE" ]] || die "WUYE_STATE_DIR is empty"
  # Absolute, symlink-free path (the directory need not exist yet).
  STATE=$(realpath -m -- "$STATE")
  PG_PORT=${WUYE_PG_PORT:-54329}
  REDIS_PORT=${WUYE_REDIS_PORT:-63799}
  PG_PORT_FIXED=${WUYE_PG_PORT:+1}
  REDIS_PORT_FIXED=${WUYE_REDIS_PORT:+1}
  check_port WUYE_PG_PORT "$PG_PORT"
  check_port WUYE_REDIS_PORT "$REDIS_PORT"
  PG_PORT=$((10#$PG_PORT))
  REDIS_PORT=$((10#$REDIS_PORT))
  [[ "$PG_PORT" != "$REDIS_PORT" ]] ||
    die "WUYE_PG_PORT and WUYE_REDIS_PORT are both $PG_PORT"
  HASH=$(printf '%s' "$STATE" | sha256sum | cut -c1-12)
  IS_ROOT=0
  [[ "$(id -u)" -eq 0 ]] && IS_ROOT=1

  REDIS_DIR=$STATE/redis
  REDIS_PIDFILE=$REDIS_DIR/redis.pid
  REDIS_LOG=$REDIS_DIR/redis.log
  REDIS_PORTFILE=$REDIS_DIR/redis.port
  resolve_pg_paths
  adopt_running_ports
}

# A server of this state dir that runs is on the port it was started on, which need not
# be today's default (WUYE_FREE_PORTS): use that one, unless a port was set explicitly.
adopt_running_ports() {
  local port
  if [[ -z "$PG_PORT_FIXED" ]] && pg_running; then
    port=$(pg_running_port)
    if [[ "$port" =~ ^[0-9]+$ && "$port" != "$PG_PORT" ]]; then
      PG_PORT=$port
      resolve_pg_paths
    fi
  fi
  if [[ -z "$REDIS_PORT_FIXED" && -f "$REDIS_PORTFILE" ]] && redis_pid >/dev/null; then
    port=$(tr -dc '0-9' <"$REDIS_PORTFILE")
    [[ -n "$port" ]] && REDIS_PORT=$port
  fi
  return 0
}

# With WUYE_FREE_PORTS=1, a default port that another process holds (another checkout's
# servers, say) is swapped for a free one near it, the same one each time for this state
# dir while it is free: one line says so. An explicitly set port is left alone (`up` then
# fails on it, naming the holder).
choose_free_ports() {  # TARGET...
  [[ "${WUYE_FREE_PORTS:-}" == 1 ]] || return 0
  local t
  for t in "$@"; do
    case $t in
      pg)
        if [[ -z "$PG_PORT_FIXED" ]] && ! pg_running && port_in_use "$PG_PORT"; then
          local was=$PG_PORT
          PG_PORT=$(free_port_near "$PG_PORT") || die "pg: no free port near $was"
          log "pg    port $was is taken$(port_owner_hint "$was"); using $PG_PORT instead"
          resolve_pg_paths
        fi
        ;;
      redis)
        if [[ -z "$REDIS_PORT_FIXED" ]] && ! redis_pid >/dev/null && port_in_use "$REDIS_PORT"; then
          local was=$REDIS_PORT
          REDIS_PORT=$(free_port_near "$REDIS_PORT") || die "redis: no free port near $was"
          log "redis port $was is taken$(port_owner_hint "$was"); using $REDIS_PORT instead"
        fi
        ;;
    esac
  done
}

# A port above BASE that nothing listens on: BASE+1..BASE+500, starting at a place that
# depends on the state dir, so two checkouts rarely pick the same one.
free_port_near() {  # BASE
  local base=$1 start i port
  start=$((16#${HASH:0:4} % 500))
  for ((i = 0; i < 500; i++)); do
    port=$((base + 1 + (start + i) % 500))
    ((port <= 65535)) || continue
    if ! port_in_use "$port"; then
      printf '%s\n' "$port"
      return 0
    fi
  done
  return 1
}

# Runs a command as the owner of the PostgreSQL cluster: `postgres` when we are
# root (initdb and pg_ctl refuse to run as root), else the current user.
# From / so that an unreadable working directory does not bother the tools.
as_pg() {
  if ((IS_ROOT)); then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

postgres_can_reach() {  # DIR
  (cd / && runuser -u postgres -- test -x "$1" -a -d "$1") 2>/dev/null
}

# True when (as root, with no cluster in $STATE/pg yet) user postgres cannot
# reach the state dir, so the cluster must live elsewhere.
pg_needs_fallback() {
  ((IS_ROOT)) || return 1
  [[ ! -f "$PG_LOCATION_FILE" && ! -f "$STATE/pg/data/PG_VERSION" ]] || return 1
  id -u postgres >/dev/null 2>&1 || return 1
  ! postgres_can_reach "$STATE"
}

# Sets PG_BASE, PG_DATA, PG_LOG, PG_SOCK. Creates nothing.
resolve_pg_paths() {
  PG_LOCATION_FILE=$STATE/pg.location
  PG_BASE=$STATE/pg
  if [[ -f "$PG_LOCATION_FILE" ]]; then
    PG_BASE=$(<"$PG_LOCATION_FILE")
    [[ "$PG_BASE" == /* ]] || die "$PG_LOCATION_FILE does not hold an absolute path"
  elif [[ -d "$STATE" ]] && pg_needs_fallback; then
    PG_BASE=/var/tmp/wuye-pg-$HASH
  fi
  PG_DATA=$PG_BASE/data
  PG_LOG=$PG_BASE/postgresql.log
  PG_SOCK=$PG_BASE/sock
  # "<dir>/.s.PGSQL.<port>" must fit in a sockaddr_un.
  local LC_ALL=C sock_file="$PG_SOCK/.s.PGSQL.$PG_PORT"  # C: count bytes
  if ((${#sock_file} > SOCKET_PATH_MAX)); then
    PG_SOCK=/tmp/wuye-$HASH
  fi
}

# ----------------------------------------------------------------- utils ----

port_in_use() {  # PORT -> 0 if something listens on it (any address)
  local port=$1
  if command -v ss >/dev/null 2>&1; then
    [[ -n "$(ss -Hltn "( sport = :$port )" 2>/dev/null)" ]]
  else
    timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$port" 2>/dev/null
  fi
}

port_owner_hint() {  # PORT -> " [pid/name]" of the listener if visible, and whose it is
  local port=$1 procs pid where=""
  command -v ss >/dev/null 2>&1 || return 0
  procs=$(ss -Hltnp "( sport = :$port )" 2>/dev/null |
    grep -o 'users:(([^)]*))' | head -n1 || true)
  [[ -n "$procs" ]] || return 0
  # Another checkout's server: PostgreSQL names its data dir, our Redis runs in its dir.
  pid=$(grep -o 'pid=[0-9]*' <<<"$procs" | head -n1 | cut -d= -f2)
  if [[ -n "$pid" ]]; then
    where=$(tr '\0' '\n' 2>/dev/null <"/proc/$pid/cmdline" | sed -n '/^-D$/{n;p;q}' || true)
    [[ -n "$where" ]] || where=$(readlink "/proc/$pid/cwd" 2>/dev/null || true)
  fi
  printf ' [%s%s]' "$procs" "${where:+ in $where}"
}

# Creates DIR (mode 0700 unless given) owned by the cluster owner.
make_pg_dir() {  # DIR [MODE]
  local dir=$1 mode=${2:-700}
  if [[ -L "$dir" ]]; then
    die "$dir is a symlink; refusing to use it"
  fi
  mkdir -p -- "$dir"
  chmod "$mode" -- "$dir"
  if ((IS_ROOT)); then
    chown postgres:postgres -- "$dir"
  fi
}

tail_log() {  # FILE
  if [[ -r "$1" ]]; then
    printf 'servers: last lines of %s:\n' "$1" >&2
    tail -n 20 -- "$1" | sed 's/^/    /' >&2
  fi
}

# Serialise up/down for one state dir. The lock fd is closed for every daemon
# we start (9>&-) so that a server never holds it.
take_lock() {
  mkdir -p -- "$STATE"
  command -v flock >/dev/null 2>&1 || return 0
  exec 9>>"$STATE/.servers.lock"
  flock -w 120 9 || die "another scripts/servers.sh holds $STATE/.servers.lock"
}

# ------------------------------------------------------------ postgresql ----

# First line of postmaster.pid (empty if none or unreadable).
pg_postmaster_pid() {
  local pid=""
  if [[ -r "$PG_DATA/postmaster.pid" ]]; then
    read -r pid <"$PG_DATA/postmaster.pid" || true
  fi
  [[ "$pid" =~ ^[0-9]+$ ]] && printf '%s\n' "$pid"
  return 0
}

# Our postmaster runs: the pid in postmaster.pid is a live (non-zombie)
# `postgres` process.
pg_running() {
  [[ -f "$PG_DATA/PG_VERSION" ]] || return 1
  if [[ ! -r "$PG_DATA" ]]; then
    # Not ours to read (someone else's cluster): ask pg_ctl.
    as_pg "$PG_BIN/pg_ctl" status -D "$PG_DATA" >/dev/null 2>&1
    return
  fi
  local pid comm
  pid=$(pg_postmaster_pid)
  [[ -n "$pid" ]] && pid_alive "$pid" || return 1
  comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
  [[ "$comm" == postgres || "$comm" == postmaster ]]
}

# After a crash the old postmaster may linger as a zombie for a moment; the
# new one would then refuse the lock file. Give it a few seconds to go.
pg_wait_stale_pid() {
  local pid deadline=$((SECONDS + 10))
  pid=$(pg_postmaster_pid)
  [[ -n "$pid" ]] || return 0
  while [[ -e "/proc/$pid" ]] && ! pid_alive "$pid" && ((SECONDS < deadline)); do
    sleep 0.1
  done
}

pg_running_port() {  # port line of postmaster.pid (4th line)
  sed -n '4p' "$PG_DATA/postmaster.pid" 2>/dev/null || true
}

pg_ready() {
  "$PG_BIN/pg_isready" -q -h "$HOST" -p "$PG_PORT" -U wuye -d postgres -t 2 >/dev/null 2>&1
}

pg_check_tools() {
  local tool
  for tool in initdb pg_ctl pg_isready; do
    [[ -x "$PG_BIN/$tool" ]] ||
      die "$PG_BIN/$tool not found; run scripts/install-deps.sh (postgresql-15)"
  done
  if ((IS_ROOT)); then
    id -u postgres >/dev/null 2>&1 ||
      die "user 'postgres' does not exist; run scripts/install-deps.sh (postgresql-15)"
  fi
}

# Decides where the cluster lives (as root: somewhere postgres can reach) and
# creates the directories for it.
pg_prepare_dirs() {
  mkdir -p -- "$STATE"
  if pg_needs_fallback; then
    PG_BASE=/var/tmp/wuye-pg-$HASH
    printf '%s\n' "$PG_BASE" >"$PG_LOCATION_FILE"
    log "pg: $STATE is not reachable by user postgres; cluster goes to $PG_BASE (see $PG_LOCATION_FILE)"
    resolve_pg_paths
  fi
  if [[ "$PG_BASE" == /var/tmp/wuye-pg-* && -d "$PG_BASE" && ! -L "$PG_BASE" ]]; then
    local owner
    owner=$(stat -c %U -- "$PG_BASE")
    if [[ "$owner" != "postgres" && "$owner" != "$(id -un)" ]]; then
      die "$PG_BASE is owned by $owner, not by us; remove it or change WUYE_STATE_DIR"
    fi
  fi
  make_pg_dir "$PG_BASE" 700
  if ((IS_ROOT)) && ! postgres_can_reach "$PG_BASE"; then
    die "user postgres cannot reach $PG_BASE"
  fi
  if [[ "$PG_SOCK" == /tmp/* && -d "$PG_SOCK" && ! -O "$PG_SOCK" ]]; then
    local owner
    owner=$(stat -c %U -- "$PG_SOCK")
    if ! ((IS_ROOT)) || [[ "$owner" != "postgres" ]]; then
      die "socket dir $PG_SOCK is owned by $owner, not by us"
    fi
  fi
  make_pg_dir "$PG_SOCK" 755
}

pg_initdb() {
  if [[ -f "$PG_DATA/PG_VERSION" ]]; then
    return 0
  fi
  if [[ -d "$PG_DATA" ]] && [[ -n "$(ls -A -- "$PG_DATA" 2>/dev/null)" ]]; then
    die "$PG_DATA exists but holds no cluster (interrupted initdb?); remove it and retry"
  fi
  log "pg: initdb $PG_DATA"
  make_pg_dir "$PG_DATA" 700
  local out
  local -a args=(-D "$PG_DATA" -U wuye --auth=trust -E UTF8 --no-sync)
  if ! out=$(as_pg "$PG_BIN/initdb" "${args[@]}" --locale=C.UTF-8 2>&1 9>&-); then
    # initdb cleans the directory it failed in; try without a locale.
    warn "initdb with --locale=C.UTF-8 failed; retrying with --no-locale"
    make_pg_dir "$PG_DATA" 700
    out=$(as_pg "$PG_BIN/initdb" "${args[@]}" --no-locale 2>&1 9>&-) || {
      printf '%s\n' "$out" >&2
      die "initdb failed for $PG_DATA"
    }
  fi
  # initdb was run with --no-sync: flush once so a crash cannot lose it.
  sync -f "$PG_DATA" 2>/dev/null || true
  cat >>"$PG_DATA/postgresql.conf" <<'EOF'

# ---- added by wuye scripts/servers.sh ----
listen_addresses = '127.0.0.1'
max_connections = 300
shared_buffers = 128MB
# stderr goes to the file given to `pg_ctl -l` (postgresql.log in the state dir)
logging_collector = off
log_destination = 'stderr'
log_line_prefix = '%m [%p] %q%u@%d '
# port and unix_socket_directories come from WUYE_PG_PORT / WUYE_STATE_DIR and
# are rewritten by every `servers.sh up`:
include_if_exists = 'wuye.conf'
EOF
}

# (Re)writes the settings derived from the environment.
pg_write_runtime_conf() {
  local conf=$PG_DATA/wuye.conf sock_q=${PG_SOCK//\'/\'\'} tmp
  tmp=$(mktemp)
  cat >"$tmp" <<EOF
# generated by wuye scripts/servers.sh up; do not edit
port = $PG_PORT
unix_socket_directories = '$sock_q'
EOF
  if [[ -n "${WUYE_LISTEN_EXTRA:-}" ]]; then
    printf "listen_addresses = '%s'\n" "$(listen_list ,)" >>"$tmp"
  fi
  pg_write_extra_hba
  if ! cmp -s -- "$tmp" "$conf"; then
    cat -- "$tmp" >"$conf"
    if ((IS_ROOT)); then chown postgres:postgres -- "$conf"; fi
    chmod 600 -- "$conf"
  fi
  rm -f -- "$tmp"
}

# Every address to listen on, joined by SEP: 127.0.0.1 and WUYE_LISTEN_EXTRA's.
listen_list() {  # SEP
  local out=$HOST a
  for a in ${WUYE_LISTEN_EXTRA:-}; do
    [[ "$a" =~ ^[0-9.]+$ ]] || die "WUYE_LISTEN_EXTRA: '$a' is not an IPv4 address"
    out+="$1$a"
  done
  printf '%s\n' "$out"
}

# pg_hba.conf trusts the subnets of WUYE_LISTEN_EXTRA's addresses (samenet) while it is
# set; the lines are marked and taken out again by an `up` without it.
pg_write_extra_hba() {
  local hba=$PG_DATA/pg_hba.conf mark='# wuye WUYE_LISTEN_EXTRA'
  [[ -f "$hba" ]] || return 0
  local tmp
  tmp=$(mktemp)
  grep -vF -- "$mark" "$hba" >"$tmp" || true
  if [[ -n "${WUYE_LISTEN_EXTRA:-}" ]]; then
    printf 'host all all samenet trust %s\n' "$mark" >>"$tmp"
  fi
  if ! cmp -s -- "$tmp" "$hba"; then cat -- "$tmp" >"$hba"; fi
  rm -f -- "$tmp"
}

pg_line() {  # STATE-WORD
  log "pg    $1 on $HOST:$PG_PORT (data $PG_DATA)"
}

pg_up() {
  pg_check_tools
  if pg_running; then
    local running_port
    running_port=$(pg_running_port)
    if [[ -n "$running_port" && "$running_port" != "$PG_PORT" ]]; then
      die "pg: our cluster ($PG_DATA) already runs on port $running_port, not WUYE_PG_PORT=$PG_PORT; run 'scripts/servers.sh restart pg'"
    fi
    pg_wait_ready
    pg_line "already running"
    return 0
  fi
  if port_in_use "$PG_PORT"; then
    die "pg: port $PG_PORT is already in use by another process$(port_owner_hint "$PG_PORT"); set WUYE_PG_PORT to a free port (make test takes one by itself)"
  fi
  pg_prepare_dirs
  pg_initdb
  pg_wait_stale_pid
  pg_write_runtime_conf
  if ((IS_ROOT)); then
    touch -- "$PG_LOG"
    chown postgres:postgres -- "$PG_LOG"
  fi
  local out
  if ! out=$(as_pg "$PG_BIN/pg_ctl" start -D "$PG_DATA" -l "$PG_LOG" -w -t "$PG_START_TIMEOUT" 2>&1 9>&-); then
    printf '%s\n' "$out" >&2
    tail_log "$PG_LOG"
    die "pg: could not start the cluster in $PG_DATA"
  fi
  pg_wait_ready
  pg_line "up"
}

pg_wait_ready() {
  local deadline=$((SECONDS + PG_START_TIMEOUT))
  until pg_ready; do
    if ((SECONDS >= deadline)); then
      tail_log "$PG_LOG"
      die "pg: not accepting connections on $HOST:$PG_PORT after ${PG_START_TIMEOUT}s"
    fi
    sleep 0.2
  done
}

pg_down() {
  if ! pg_running; then
    log "pg    not running (data $PG_DATA)"
  else
    local out
    if ! out=$(as_pg "$PG_BIN/pg_ctl" stop -D "$PG_DATA" -m fast -w -t "$PG_START_TIMEOUT" 2>&1 9>&-); then
      printf '%s\n' "$out" >&2
      die "pg: could not stop the cluster in $PG_DATA"
    fi
    log "pg    stopped (data $PG_DATA)"
  fi
  # The short socket dir under /tmp is ours alone; drop it when empty.
  if [[ "$PG_SOCK" == "/tmp/wuye-$HASH" && -d "$PG_SOCK" ]]; then
    rmdir -- "$PG_SOCK" 2>/dev/null || true
  fi
}

pg_status() {
  if pg_running; then
    pg_line "running"
    return 0
  fi
  pg_line "stopped"
  return 3
}

# ----------------------------------------------------------------- redis ----

# True if PID exists and is not a zombie (an exited daemon can stay a zombie
# for a while until init reaps it).
pid_alive() {  # PID
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ "${stat:0:1}" != Z && "${stat:0:1}" != X ]]
}

# Prints the pid from our pidfile if that process is alive and is redis.
redis_pid() {
  local pid comm
  [[ -f "$REDIS_PIDFILE" ]] || return 1
  pid=$(tr -dc '0-9' <"$REDIS_PIDFILE")
  [[ -n "$pid" ]] && pid_alive "$pid" || return 1
  comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
  [[ "$comm" == redis-server* || "$comm" == redis-check* ]] || return 1
  printf '%s\n' "$pid"
}

redis_cli() {
  timeout 5 redis-cli -h "$HOST" -p "$REDIS_PORT" "$@"
}

redis_ready() {
  [[ "$(redis_cli ping 2>/dev/null)" == "PONG" ]]
}

redis_line() {
  log "redis $1 on $HOST:$REDIS_PORT (data $REDIS_DIR)"
}

redis_up() {
  if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
    die "redis-server/redis-cli not found; run scripts/install-deps.sh (redis-server, redis-tools)"
  fi
  if redis_pid >/dev/null; then
    redis_wait_ready
    redis_line "already running"
    return 0
  fi
  if port_in_use "$REDIS_PORT"; then
    die "redis: port $REDIS_PORT is already in use by another process$(port_owner_hint "$REDIS_PORT"); set WUYE_REDIS_PORT to a free port (make test takes one by itself)"
  fi
  mkdir -p -- "$REDIS_DIR"
  rm -f -- "$REDIS_PIDFILE"
  local out
  if ! out=$( (cd "$REDIS_DIR" && redis-server \
    --port "$REDIS_PORT" --bind "$(listen_list ' ')" --dir "$REDIS_DIR" \
    --appendonly yes --appendfsync always \
    --daemonize yes --pidfile "$REDIS_PIDFILE" --logfile "$REDIS_LOG" \
    --save "") 2>&1 9>&-); then
    printf '%s\n' "$out" >&2
    tail_log "$REDIS_LOG"
    die "redis: could not start redis-server on port $REDIS_PORT"
  fi
  printf '%s\n' "$REDIS_PORT" >"$REDIS_PORTFILE"
  redis_wait_ready
  redis_line "up"
}

redis_wait_ready() {
  local deadline=$((SECONDS + REDIS_TIMEOUT))
  until redis_ready; do
    if ((SECONDS >= deadline)); then
      tail_log "$REDIS_LOG"
      die "redis: no PONG on $HOST:$REDIS_PORT after ${REDIS_TIMEOUT}s"
    fi
    sleep 0.1
  done
}

redis_down() {
  local pid
  if ! pid=$(redis_pid); then
    rm -f -- "$REDIS_PIDFILE"
    log "redis not running (data $REDIS_DIR)"
    return 0
  fi
  # Ask politely through the port only if the server there is our pid;
  # otherwise SIGTERM (redis shuts down cleanly on it).
  local served_pid
  served_pid=$(redis_cli info server 2>/dev/null | tr -d '\r' |
    sed -n 's/^process_id://p' || true)
  if [[ "$served_pid" == "$pid" ]]; then
    redis_cli shutdown >/dev/null 2>&1 || true
  else
    kill -TERM "$pid" 2>/dev/null || true
  fi
  local deadline=$((SECONDS + REDIS_TIMEOUT))
  while pid_alive "$pid"; do
    if ((SECONDS >= deadline)); then
      tail_log "$REDIS_LOG"
      die "redis: pid $pid did not exit within ${REDIS_TIMEOUT}s"
    fi
    sleep 0.1
  done
  rm -f -- "$REDIS_PIDFILE" "$REDIS_PORTFILE"
  log "redis stopped (data $REDIS_DIR)"
}

redis_status() {
  if redis_pid >/dev/null; then
    redis_line "running"
    return 0
  fi
  redis_line "stopped"
  return 3
}

# -------------------------------------------------------------- commands ----

print_env() {
  printf 'export WUYE_PG_URL=%q\n' "postgresql://wuye@$HOST:$PG_PORT/postgres"
  printf 'export WUYE_REDIS_ADDR=%q\n' "$HOST:$REDIS_PORT"
  printf 'export WUYE_STATE_DIR=%q\n' "$STATE"
}

main() {
  local cmd=${1:-} which=${2:-all}
  if [[ $# -gt 2 ]]; then usage >&2; exit 2; fi
  case "$cmd" in
    -h | --help | help) usage; return 0 ;;
    up | start | down | stop | restart | status | env) ;;
    *) usage >&2; exit 2 ;;
  esac
  local -a targets
  case "$which" in
    all | both) targets=(pg redis) ;;
    pg | postgres | postgresql) targets=(pg) ;;
    redis) targets=(redis) ;;
    *) usage >&2; exit 2 ;;
  esac

  load_config
  local t rc=0
  case "$cmd" in
    env) print_env ;;
    status)
      for t in "${targets[@]}"; do
        "${t}_status" || rc=3
      done
      return "$rc"
      ;;
    up | start)
      take_lock
      choose_free_ports "${targets[@]}"
      "$ROOT/scripts/reserve-ports.sh" "$PG_PORT" "$REDIS_PORT"
      for t in "${targets[@]}"; do "${t}_up"; done
      ;;
    down | stop)
      [[ -d "$STATE" ]] || {
        for t in "${targets[@]}"; do log "$t not running (no $STATE)"; done
        return 0
      }
      take_lock
      for t in "${targets[@]}"; do "${t}_down"; done
      ;;
    restart)
      take_lock
      for t in "${targets[@]}"; do "${t}_down"; done
      for t in "${targets[@]}"; do "${t}_up"; done
      ;;
  esac
}

main "$@"
