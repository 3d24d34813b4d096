#!/usr/bin/env bash
# A project-local PostgreSQL 15 and Redis 7 for wuye's tests and development.
#
#   scripts/servers.sh up|start|down|stop|restart|status|env [pg|redis|standby]
#   scripts/servers.sh up|down|status redis-replica|sentinels
#   scripts/servers.sh kill pg|standby|redis|redis-replica
#   scripts/servers.sh promote standby
#
# No second argument means both servers (`down`: the standby, a Redis replica and the
# sentinels that run too). Configuration (environment):
#   WUYE_STATE_DIR   state directory (default: <repo>/.local, git-ignored)
#   WUYE_PG_PORT     PostgreSQL port on 127.0.0.1 (default 54329)
#   WUYE_REDIS_PORT  Redis port on 127.0.0.1 (default 63799)
#   WUYE_PG_STANDBY_PORT  the standby's port (default: the PostgreSQL port + 1)
#   WUYE_LISTEN_EXTRA  addresses (space-separated) both servers listen on besides
#                    127.0.0.1, e.g. a test's veth end (tests/partition_test.cc);
#                    PostgreSQL trusts clients from their subnets like local ones (a
#                    Redis reached from off the host wants a password: the test sets
#                    one). Unset: loopback only
#   WUYE_FREE_PORTS  1: where a default port (not one set above) is taken by another
#                    process, e.g. another checkout's servers, `up` takes a free port
#                    near it instead and says so in one line (scripts/run-tests.sh sets
#                    it; `make demo` does not, so its ports stay the defaults)
#   WUYE_PG_STAT_STATEMENTS  1: PostgreSQL loads pg_stat_statements (shared_preload_libraries;
#                    at its next start). `make scale` sets it for its own server; unset: not
#                    loaded
#   WUYE_REDIS_REPLICA_PORT  the Redis replica's port (default: Redis port + 1)
#   WUYE_SENTINEL_PORT       the first of the three sentinels' ports (default: Redis
#                            port + 2; the others follow it)
# Everything else is derived from these, so another state dir plus other ports gives a
# completely separate pair of servers. A server of this state dir that runs is
# reported, and used, on the port it runs on (env, status).
#
# The standby (for failover tests, docs/operations.md "PostgreSQL failover") is made
# only when asked: `up standby` copies the running primary (pg_basebackup -R with the
# replication slot wuye_standby) and starts it streaming on its own port (fetching WAL
# again every 250 ms once the primary is gone, so that a promotion is not held up), then makes
# the primary's commits wait for it (synchronous_standby_names = wuye_standby, its
# application_name, and synchronous_commit = on, set with ALTER SYSTEM). `kill pg`
# SIGKILLs the primary's postmaster and all its processes (a crash, not a shutdown);
# `promote standby` makes the standby the primary and clears the synchronous standby
# names it may have copied (it has no standby of its own: its commits would wait for
# ever). `down standby` first clears the running primary's synchronous standby names,
# so its commits do not wait for a standby that is gone; the standby keeps its data
# (and the primary its slot) for the next `up standby`. Once the standby has been
# promoted, the old primary does not start again (it would be a second primary).
#
# Layout:
#   $STATE/pg/data             PostgreSQL cluster (initdb -U wuye, trust auth)
#   $STATE/pg/postgresql.log   its log
#   $STATE/pg/sock             its unix socket dir (or /tmp/wuye-<hash> when
#                              that path is too long for a socket)
#   $STATE/pg-standby/data     the standby's cluster (a copy of pg/data), with its
#   $STATE/pg-standby/postgresql.log  log; its socket is in the primary's socket dir
#   $STATE/redis/              Redis AOF, redis.pid, redis.log
#   $STATE/redis-replica/      the same for the replica (`up redis-replica`)
#   $STATE/sentinel/<n>/       sentinel n (1..3): sentinel.conf (written once, then
#                              rewritten by the sentinel itself), sentinel.pid, sentinel.log
#
# Redis under Sentinel (tests of failover): `up redis`, `up redis-replica` (replicaof the
# primary), `up sentinels` (three, quorum 2, monitoring the primary as `wuye`). `kill redis`
# SIGKILLs a node; `up` of a node starts it again as a replica of the primary the sentinels
# name when that is the other node (else the sentinels turn it into one). `env` prints
# WUYE_REDIS_SENTINELS while the sentinels run.
# As root, PostgreSQL runs as the `postgres` user. If postgres cannot reach the
# state dir (e.g. a repo under a 0700 home), the pg/ part lives in
# /var/tmp/wuye-pg-<hash>/ instead, and that path is kept in $STATE/pg.location (the
# standby then lives in /var/tmp/wuye-pg-<hash>-standby/).
#
# `eval "$(scripts/servers.sh env)"` exports WUYE_PG_URL, WUYE_REDIS_ADDR and
# WUYE_STATE_DIR, and WUYE_PG_FAILOVER_URL (both hosts, libpq's multi-host form) when
# there is a standby. `status` exits 0 when the requested servers run, 3 otherwise (with
# no second argument the standby's line is shown when there is one, and not counted).
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
usage: scripts/servers.sh COMMAND [pg|redis|standby|redis-replica|sentinels]
  up | start       start the servers (idempotent), wait until they answer;
                   `up standby`: a synchronous streaming standby of the running pg
  down | stop      stop what `up` started (fine when nothing runs); with no second
                   argument the standby, a Redis replica and the sentinels too
  restart          down, then up
  status           one line per server; exit 0 if all requested run, else 3
  env              print export lines for WUYE_PG_URL, WUYE_REDIS_ADDR,
                   WUYE_STATE_DIR, WUYE_PG_FAILOVER_URL when there is a standby and
                   WUYE_REDIS_SENTINELS while the sentinels run
                   (use: eval "$(scripts/servers.sh env)")
  kill pg|standby|redis|redis-replica
                   SIGKILL that server (PostgreSQL: its postmaster and all its processes)
  promote standby  make the standby the primary (no synchronous standby of its own)
environment: WUYE_STATE_DIR (default <repo>/.local), WUYE_PG_PORT (54329),
             WUYE_REDIS_PORT (63799), WUYE_PG_STANDBY_PORT (pg's + 1),
             WUYE_FREE_PORTS (1: take free ports when the defaults are taken),
             WUYE_REDIS_REPLICA_PORT (Redis port + 1),
             WUYE_SENTINEL_PORT (Redis port + 2; three ports from it)
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
  STANDBY_PORT_FIXED=${WUYE_PG_STANDBY_PORT:+1}
  check_port WUYE_PG_PORT "$PG_PORT"
  check_port WUYE_REDIS_PORT "$REDIS_PORT"
  [[ -z "$STANDBY_PORT_FIXED" ]] || check_port WUYE_PG_STANDBY_PORT "$WUYE_PG_STANDBY_PORT"
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
  resolve_standby
  load_sentinel_config
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

# First line of postmaster.pid of DATA (default: the primary's; empty if none or
# unreadable).
pg_postmaster_pid() {  # [DATA]
  local pid="" data=${1:-$PG_DATA}
  if [[ -r "$data/postmaster.pid" ]]; then
    read -r pid <"$data/postmaster.pid" || true
  fi
  [[ "$pid" =~ ^[0-9]+$ ]] && printf '%s\n' "$pid"
  return 0
}

# Our postmaster runs: the pid in postmaster.pid is a live (non-zombie)
# `postgres` process. DATA: the primary's by default.
pg_running() {  # [DATA]
  local data=${1:-$PG_DATA}
  [[ -f "$data/PG_VERSION" ]] || return 1
  if [[ ! -r "$data" ]]; then
    # Not ours to read (someone else's cluster): ask pg_ctl.
    as_pg "$PG_BIN/pg_ctl" status -D "$data" >/dev/null 2>&1
    return
  fi
  local pid comm
  pid=$(pg_postmaster_pid "$data")
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

pg_running_port() {  # [DATA] -> port line of postmaster.pid (4th line)
  sed -n '4p' "${1:-$PG_DATA}/postmaster.pid" 2>/dev/null || true
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
  if [[ "${WUYE_PG_STAT_STATEMENTS:-}" == 1 ]]; then
    # Each statement's buffers and rows per call (make scale's cost per call); takes effect
    # when the server starts.
    cat >>"$tmp" <<'STATEMENTS'
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.max = 10000
pg_stat_statements.track = top
pg_stat_statements.track_utility = off
STATEMENTS
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
  if standby_promoted; then
    die "pg: the standby ($STANDBY_DATA) was promoted and takes the writes now; this old primary would be a second one: remove $PG_DATA and $STANDBY_BASE to start afresh"
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

# --------------------------------------------------------------- standby ----

readonly STANDBY_NAME=wuye_standby  # its application_name, and its slot on the primary

# Sets STANDBY_PORT, STANDBY_BASE, STANDBY_DATA, STANDBY_LOG. Creates nothing. The
# standby's socket goes in the primary's socket dir (another port, another file).
resolve_standby() {
  STANDBY_BASE=$PG_BASE-standby
  STANDBY_DATA=$STANDBY_BASE/data
  STANDBY_LOG=$STANDBY_BASE/postgresql.log
  if [[ -n "$STANDBY_PORT_FIXED" ]]; then
    STANDBY_PORT=$((10#$WUYE_PG_STANDBY_PORT))
  else
    STANDBY_PORT=$((PG_PORT + 1))
    if pg_running "$STANDBY_DATA"; then
      local port
      port=$(pg_running_port "$STANDBY_DATA")
      [[ "$port" =~ ^[0-9]+$ ]] && STANDBY_PORT=$port
    fi
  fi
  check_port WUYE_PG_STANDBY_PORT "$STANDBY_PORT"
  [[ "$STANDBY_PORT" != "$PG_PORT" && "$STANDBY_PORT" != "$REDIS_PORT" ]] ||
    die "the standby's port $STANDBY_PORT is also pg's or redis's: set WUYE_PG_STANDBY_PORT"
}

standby_exists() { [[ -f "$STANDBY_DATA/PG_VERSION" ]]; }

# A standby that has been promoted: its data has no standby.signal any more.
standby_promoted() { standby_exists && [[ ! -f "$STANDBY_DATA/standby.signal" ]]; }

# psql against one of our servers as wuye, on the postgres database; one -c per statement
# (ALTER SYSTEM runs outside a transaction block).
pg_sql() {  # PORT SQL...
  local port=$1 arg
  shift
  local -a cmds=()
  for arg in "$@"; do cmds+=(-c "$arg"); done
  (cd / && "$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$HOST" -p "$port" -U wuye \
    -d postgres "${cmds[@]}")
}

standby_line() {  # STATE-WORD
  log "standby $1 on $HOST:$STANDBY_PORT (data $STANDBY_DATA)"
}

# Writes the standby's wuye.conf (pg_basebackup copied the primary's): its port, the
# socket dir, and cluster_name, which is the application_name its WAL receiver gives
# the primary (primary_conninfo names none) and so its name in
# synchronous_standby_names. wal_retrieve_retry_interval: once the primary is gone,
# PostgreSQL 15 acts on a promote request only after this wait between attempts to
# fetch WAL (5 s by default), which would be most of the failover's time.
standby_write_conf() {
  local conf=$STANDBY_DATA/wuye.conf sock_q=${PG_SOCK//\'/\'\'}
  cat >"$conf" <<CONF
# generated by wuye scripts/servers.sh up standby; do not edit
port = $STANDBY_PORT
unix_socket_directories = '$sock_q'
cluster_name = '$STANDBY_NAME'
wal_retrieve_retry_interval = '250ms'
CONF
  if ((IS_ROOT)); then chown postgres:postgres -- "$conf"; fi
  chmod 600 -- "$conf"
}

# The primary lets wuye replicate from the loopback (initdb's pg_hba.conf does, with
# trust; an older or edited one may not).
standby_allow_replication() {
  local hba=$PG_DATA/pg_hba.conf
  if ! grep -Eq '^[[:space:]]*host[[:space:]]+replication[[:space:]]+(all|wuye)[[:space:]]+127\.0\.0\.1/32' "$hba"; then
    printf 'host    replication     wuye            127.0.0.1/32            trust\n' >>"$hba"
    pg_sql "$PG_PORT" "SELECT pg_reload_conf()" >/dev/null
    log "pg    pg_hba.conf: replication by wuye from $HOST allowed"
  fi
}

# Copies the running primary into STANDBY_DATA with its own replication slot (made
# afresh: an old one left by a standby removed since would keep WAL for nobody).
standby_basebackup() {
  [[ -x "$PG_BIN/pg_basebackup" ]] ||
    die "$PG_BIN/pg_basebackup not found; run scripts/install-deps.sh (postgresql-15)"
  pg_running || die "standby: the primary is not running (scripts/servers.sh up pg first)"
  if [[ -d "$STANDBY_DATA" ]] && [[ -n "$(ls -A -- "$STANDBY_DATA" 2>/dev/null)" ]]; then
    die "$STANDBY_DATA exists but holds no cluster (interrupted pg_basebackup?); remove it and retry"
  fi
  standby_allow_replication
  pg_sql "$PG_PORT" "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '$STANDBY_NAME' AND NOT active" >/dev/null
  make_pg_dir "$STANDBY_BASE" 700
  log "standby: pg_basebackup from $HOST:$PG_PORT into $STANDBY_DATA"
  local out
  if ! out=$(as_pg "$PG_BIN/pg_basebackup" -h "$HOST" -p "$PG_PORT" -U wuye -D "$STANDBY_DATA" \
    -R -C -S "$STANDBY_NAME" -X stream -c fast --no-sync 2>&1 9>&-); then
    printf '%s\n' "$out" >&2
    die "standby: pg_basebackup from $HOST:$PG_PORT failed"
  fi
  sync -f "$STANDBY_DATA" 2>/dev/null || true
}

# The primary's commits wait until the standby has the WAL on disk.
standby_make_synchronous() {
  pg_sql "$PG_PORT" "ALTER SYSTEM SET synchronous_standby_names = '$STANDBY_NAME'" \
    "ALTER SYSTEM SET synchronous_commit = 'on'" "SELECT pg_reload_conf()" >/dev/null
  local deadline=$((SECONDS + PG_START_TIMEOUT)) state=""
  until [[ "$state" == sync ]]; do
    if ((SECONDS >= deadline)); then
      tail_log "$STANDBY_LOG"
      die "standby: not a synchronous standby of $HOST:$PG_PORT after ${PG_START_TIMEOUT}s (state '${state}')"
    fi
    sleep 0.2
    state=$(pg_sql "$PG_PORT" "SELECT sync_state FROM pg_stat_replication WHERE application_name = '$STANDBY_NAME'" 2>/dev/null || true)
  done
}

# The primary's commits no longer wait for a standby.
primary_drop_synchronous() {
  pg_sql "$PG_PORT" "ALTER SYSTEM RESET synchronous_standby_names" "SELECT pg_reload_conf()" >/dev/null &&
    log "pg    commits no longer wait for a synchronous standby"
}

standby_up() {
  pg_check_tools
  if pg_running "$STANDBY_DATA"; then
    standby_wait_ready
    standby_line "already running"
    return 0
  fi
  if port_in_use "$STANDBY_PORT"; then
    die "standby: port $STANDBY_PORT is already in use by another process$(port_owner_hint "$STANDBY_PORT"); set WUYE_PG_STANDBY_PORT to a free port"
  fi
  standby_exists || standby_basebackup
  pg_wait_stale_pid_of "$STANDBY_DATA"
  standby_write_conf
  if ((IS_ROOT)); then
    touch -- "$STANDBY_LOG"
    chown postgres:postgres -- "$STANDBY_LOG"
  fi
  local out
  if ! out=$(as_pg "$PG_BIN/pg_ctl" start -D "$STANDBY_DATA" -l "$STANDBY_LOG" -w -t "$PG_START_TIMEOUT" 2>&1 9>&-); then
    printf '%s\n' "$out" >&2
    tail_log "$STANDBY_LOG"
    die "standby: could not start the cluster in $STANDBY_DATA"
  fi
  standby_wait_ready
  if ! standby_promoted && pg_running; then
    standby_make_synchronous
    standby_line "up (synchronous standby of $HOST:$PG_PORT)"
  else
    standby_line "up"
  fi
}

standby_wait_ready() {
  local deadline=$((SECONDS + PG_START_TIMEOUT))
  until "$PG_BIN/pg_isready" -q -h "$HOST" -p "$STANDBY_PORT" -U wuye -d postgres -t 2 >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      tail_log "$STANDBY_LOG"
      die "standby: not accepting connections on $HOST:$STANDBY_PORT after ${PG_START_TIMEOUT}s"
    fi
    sleep 0.2
  done
}

standby_down() {  # [quiet: no line when there is no standby]
  if ! standby_exists; then
    [[ "${1:-}" == quiet ]] || log "standby not running (no $STANDBY_DATA)"
    return 0
  fi
  # A primary still waiting for this standby would wait for ever.
  if ! standby_promoted && pg_running; then primary_drop_synchronous; fi
  if ! pg_running "$STANDBY_DATA"; then
    standby_line "not running"
    return 0
  fi
  local out
  if ! out=$(as_pg "$PG_BIN/pg_ctl" stop -D "$STANDBY_DATA" -m fast -w -t "$PG_START_TIMEOUT" 2>&1 9>&-); then
    printf '%s\n' "$out" >&2
    die "standby: could not stop the cluster in $STANDBY_DATA"
  fi
  standby_line "stopped"
}

standby_status() {
  if ! standby_exists; then
    log "standby none (no $STANDBY_DATA)"
    return 3
  fi
  if pg_running "$STANDBY_DATA"; then
    if standby_promoted; then standby_line "running, promoted (takes writes)"; else standby_line "running"; fi
    return 0
  fi
  standby_line "stopped"
  return 3
}

# pg_ctl promote, with the synchronous standby names cleared first (ALTER SYSTEM is
# allowed during recovery): the promoted server has no standby, and names copied from the
# primary by pg_basebackup would make its every commit wait for ever.
standby_promote() {
  standby_exists || die "standby: none to promote (no $STANDBY_DATA)"
  pg_running "$STANDBY_DATA" || die "standby: not running; start it first (up standby)"
  pg_sql "$STANDBY_PORT" "ALTER SYSTEM RESET synchronous_standby_names" "SELECT pg_reload_conf()" >/dev/null
  if standby_promoted; then
    standby_line "already promoted"
    return 0
  fi
  local out
  if ! out=$(as_pg "$PG_BIN/pg_ctl" promote -D "$STANDBY_DATA" -w -t "$PG_START_TIMEOUT" 2>&1 9>&-); then
    printf '%s\n' "$out" >&2
    tail_log "$STANDBY_LOG"
    die "standby: could not promote the cluster in $STANDBY_DATA"
  fi
  local names
  names=$(pg_sql "$STANDBY_PORT" "SHOW synchronous_standby_names")
  [[ -z "$names" ]] || die "standby: promoted, but synchronous_standby_names is still '$names'"
  standby_line "promoted: the primary now"
}

# ---------------------------------------------------------------- crash ----

pg_wait_stale_pid_of() {  # DATA
  local pid deadline=$((SECONDS + 10))
  pid=$(pg_postmaster_pid "$1")
  [[ -n "$pid" ]] || return 0
  while [[ -e "/proc/$pid" ]] && ! pid_alive "$pid" && ((SECONDS < deadline)); do
    sleep 0.1
  done
}

# SIGKILLs the postmaster of DATA and every process it started (backends, WAL sender
# and writer, checkpointer...), as a crash of its machine would: no shutdown checkpoint,
# clients' connections cut. Then removes what the dead server leaves behind outside
# its data dir (its socket and lock file, its System V and dynamic shared memory), so
# nothing piles up run after run.
pg_kill() {  # DATA PORT LABEL
  local data=$1 port=$2 label=$3 pid
  if ! pg_running "$data"; then
    log "$label not running (data $data)"
    return 0
  fi
  pid=$(pg_postmaster_pid "$data")
  kill -STOP "$pid" 2>/dev/null || true  # it starts nothing new meanwhile
  local -a kids shm
  mapfile -t kids < <(ps -o pid= --ppid "$pid" | tr -d ' ')
  mapfile -t shm < <(grep -o '/dev/shm/PostgreSQL\.[0-9]*' "/proc/$pid/maps" 2>/dev/null | sort -u || true)
  local sysv
  sysv=$(sed -n '7p' "$data/postmaster.pid" 2>/dev/null | awk '{print $2}')
  kill -KILL "$pid" "${kids[@]}" 2>/dev/null || true
  local deadline=$((SECONDS + 10)) p
  for p in "$pid" "${kids[@]}"; do
    while pid_alive "$p" && ((SECONDS < deadline)); do sleep 0.05; done
  done
  pid_alive "$pid" && die "$label: postmaster $pid still alive after SIGKILL"
  if [[ "$sysv" =~ ^[0-9]+$ ]]; then ipcrm -m "$sysv" 2>/dev/null || true; fi
  ((${#shm[@]} == 0)) || rm -f -- "${shm[@]}"
  rm -f -- "$PG_SOCK/.s.PGSQL.$port" "$PG_SOCK/.s.PGSQL.$port.lock"
  log "$label killed (SIGKILL: postmaster $pid and its ${#kids[@]} processes) on $HOST:$port"
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
  # Under Sentinel it may start as a replica of the primary promoted meanwhile. A primary
  # sends a joining replica its copy at once (repl-diskless-sync-delay 0), not after the
  # default 5 s wait for more replicas.
  redis_follow_args "$REDIS_PORT"
  local out
  if ! out=$( (cd "$REDIS_DIR" && redis-server \
    --port "$REDIS_PORT" --bind "$(listen_list ' ')" --dir "$REDIS_DIR" \
    --appendonly yes --appendfsync always \
    --daemonize yes --pidfile "$REDIS_PIDFILE" --logfile "$REDIS_LOG" \
    --save "" --repl-diskless-sync-delay 0 "${FOLLOW[@]}") 2>&1 9>&-); then
    printf '%s\n' "$out" >&2
    tail_log "$REDIS_LOG"
    die "redis: could not start redis-server on port $REDIS_PORT"
  fi
  printf '%s\n' "$REDIS_PORT" >"$REDIS_PORTFILE"
  redis_wait_ready
  redis_node_wait "$REDIS_PORT" "$REDIS_LOG" "${#FOLLOW[@]}"
  redis_line "up${FOLLOW[*]:+ (replicaof ${FOLLOW[1]}:${FOLLOW[2]})}"
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

# -------------------------------------------------------- redis sentinel ----
# A Redis replica and three sentinels beside the primary above, for failover tests. The
# primary keeps its own functions (redis_*); these are apart from them.

readonly SENTINEL_COUNT=3
readonly SENTINEL_MASTER=wuye

# The replica's and the sentinels' ports and places, once the primary's port is known.
load_sentinel_config() {
  REPLICA_PORT=${WUYE_REDIS_REPLICA_PORT:-$((REDIS_PORT + 1))}
  SENTINEL_PORT=${WUYE_SENTINEL_PORT:-$((REDIS_PORT + 2))}
  check_port WUYE_REDIS_REPLICA_PORT "$REPLICA_PORT"
  check_port WUYE_SENTINEL_PORT "$SENTINEL_PORT"
  REPLICA_PORT=$((10#$REPLICA_PORT))
  SENTINEL_PORT=$((10#$SENTINEL_PORT))
  ((SENTINEL_PORT + SENTINEL_COUNT - 1 <= 65535)) ||
    die "WUYE_SENTINEL_PORT=$SENTINEL_PORT leaves no room for $SENTINEL_COUNT sentinels"
  REPLICA_DIR=$STATE/redis-replica
  SENTINEL_BASE=$STATE/sentinel
}

# Prints the pid in PIDFILE if that process is alive and is a Redis (server or sentinel).
redis_family_pid() {  # PIDFILE
  local pid comm
  [[ -f "$1" ]] || return 1
  pid=$(tr -dc '0-9' <"$1")
  [[ -n "$pid" ]] && pid_alive "$pid" || return 1
  comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
  [[ "$comm" == redis-server* || "$comm" == redis-sentinel* || "$comm" == redis-check* ]] ||
    return 1
  printf '%s\n' "$pid"
}

sentinel_port() { printf '%s\n' $((SENTINEL_PORT + $1 - 1)); }  # N (1..3)
sentinel_dir() { printf '%s\n' "$SENTINEL_BASE/$1"; }

sentinels_running() {
  local n
  for ((n = 1; n <= SENTINEL_COUNT; n++)); do
    redis_family_pid "$(sentinel_dir "$n")/sentinel.pid" >/dev/null && return 0
  done
  return 1
}

# "host port" of the primary the first answering sentinel names; nothing when none does.
sentinel_primary() {
  local n reply
  local -a lines
  for ((n = 1; n <= SENTINEL_COUNT; n++)); do
    redis_family_pid "$(sentinel_dir "$n")/sentinel.pid" >/dev/null || continue
    reply=$(timeout 3 redis-cli -h "$HOST" -p "$(sentinel_port "$n")" \
      sentinel get-master-addr-by-name "$SENTINEL_MASTER" 2>/dev/null | tr -d '\r') || continue
    mapfile -t lines <<<"$reply"
    if [[ ${#lines[@]} -eq 2 && "${lines[1]}" =~ ^[0-9]+$ ]]; then
      printf '%s %s\n' "${lines[0]}" "${lines[1]}"
      return 0
    fi
  done
  return 0
}

# Sets FOLLOW to the --replicaof arguments of the node on PORT: the primary the sentinels
# name when that is another node (a killed primary comes back as a replica of the one
# promoted meanwhile); without sentinels, DEFAULT_PORT's node when given.
redis_follow_args() {  # PORT [DEFAULT_PORT]
  local port=$1 default=${2:-} primary
  FOLLOW=()
  primary=$(sentinel_primary)
  if [[ -n "$primary" ]]; then
    [[ "${primary#* }" == "$port" ]] || FOLLOW=(--replicaof "${primary% *}" "${primary#* }")
  elif [[ -n "$default" ]]; then
    FOLLOW=(--replicaof "$HOST" "$default")
  fi
}

# Waits for PONG; for a node started as a replica (FOLLOWS > 0) also for its link to the
# primary (a warning only when it does not come: the primary may be down).
redis_node_wait() {  # PORT LOG FOLLOWS
  local port=$1 logfile=$2 follows=$3 deadline=$((SECONDS + REDIS_TIMEOUT))
  until [[ "$(timeout 5 redis-cli -h "$HOST" -p "$port" ping 2>/dev/null)" == PONG ]]; do
    if ((SECONDS >= deadline)); then
      tail_log "$logfile"
      die "redis: no PONG on $HOST:$port after ${REDIS_TIMEOUT}s"
    fi
    sleep 0.1
  done
  ((follows > 0)) || return 0
  until timeout 5 redis-cli -h "$HOST" -p "$port" info replication 2>/dev/null |
    grep -q '^master_link_status:up'; do
    if ((SECONDS >= deadline)); then
      warn "redis on $HOST:$port: not yet in sync with its primary"
      return 0
    fi
    sleep 0.1
  done
}

# SIGTERM (a clean shutdown), waited for; 1 when nothing ran.
redis_family_stop() {  # PIDFILE LOG
  local pid deadline=$((SECONDS + REDIS_TIMEOUT))
  if ! pid=$(redis_family_pid "$1"); then
    rm -f -- "$1"
    return 1
  fi
  kill -TERM "$pid" 2>/dev/null || true
  while pid_alive "$pid"; do
    if ((SECONDS >= deadline)); then
      tail_log "$2"
      die "pid $pid did not exit within ${REDIS_TIMEOUT}s"
    fi
    sleep 0.1
  done
  rm -f -- "$1"
}

# SIGKILL, as a crash: no shutdown, nothing written beyond what AOF's `always` did.
redis_family_kill() {  # PIDFILE WHAT
  local pid
  if ! pid=$(redis_family_pid "$1"); then
    log "$2 not running"
    return 0
  fi
  kill -KILL "$pid"
  while pid_alive "$pid"; do sleep 0.05; done
  log "$2 killed (pid $pid)"
}

redis_kill() { redis_family_kill "$REDIS_PIDFILE" "redis on $HOST:$REDIS_PORT"; }

# ---- the replica

replica_line() {
  log "redis-replica $1 on $HOST:$REPLICA_PORT (data $REPLICA_DIR)"
}

redis_replica_up() {
  command -v redis-server >/dev/null 2>&1 ||
    die "redis-server not found; run scripts/install-deps.sh (redis-server)"
  if redis_family_pid "$REPLICA_DIR/redis.pid" >/dev/null; then
    replica_line "already running"
    return 0
  fi
  if port_in_use "$REPLICA_PORT"; then
    die "redis-replica: port $REPLICA_PORT is already in use$(port_owner_hint "$REPLICA_PORT"); set WUYE_REDIS_REPLICA_PORT"
  fi
  mkdir -p -- "$REPLICA_DIR"
  rm -f -- "$REPLICA_DIR/redis.pid"
  redis_follow_args "$REPLICA_PORT" "$REDIS_PORT"
  local out
  if ! out=$( (cd "$REPLICA_DIR" && redis-server \
    --port "$REPLICA_PORT" --bind "$HOST" --dir "$REPLICA_DIR" \
    --appendonly yes --appendfsync always \
    --daemonize yes --pidfile "$REPLICA_DIR/redis.pid" --logfile "$REPLICA_DIR/redis.log" \
    --save "" --repl-diskless-sync-delay 0 "${FOLLOW[@]}") 2>&1 9>&-); then
    printf '%s\n' "$out" >&2
    tail_log "$REPLICA_DIR/redis.log"
    die "redis-replica: could not start redis-server on port $REPLICA_PORT"
  fi
  redis_node_wait "$REPLICA_PORT" "$REPLICA_DIR/redis.log" "${#FOLLOW[@]}"
  replica_line "up${FOLLOW[*]:+ (replicaof ${FOLLOW[1]}:${FOLLOW[2]})}"
}

redis_replica_down() {
  if redis_family_stop "$REPLICA_DIR/redis.pid" "$REPLICA_DIR/redis.log"; then
    replica_line "stopped"
  else
    replica_line "not running"
  fi
}

redis_replica_status() {
  if redis_family_pid "$REPLICA_DIR/redis.pid" >/dev/null; then
    replica_line "running"
    return 0
  fi
  replica_line "stopped"
  return 3
}

redis_replica_kill() {
  redis_family_kill "$REPLICA_DIR/redis.pid" "redis-replica on $HOST:$REPLICA_PORT"
}

# ---- the sentinels

# Writes sentinel N's config unless it has one for these nodes: from then on the sentinel
# rewrites the file itself (its id, the current primary, the replicas, the other
# sentinels), so it lives in the state dir and is kept across restarts.
sentinel_write_conf() {  # N PRIMARY_PORT
  local n=$1 primary=$2 dir conf monitored
  dir=$(sentinel_dir "$n")
  conf=$dir/sentinel.conf
  if [[ -f "$conf" ]]; then
    monitored=$(sed -n "s/^sentinel monitor $SENTINEL_MASTER [^ ]* \([0-9]*\) .*/\1/p" "$conf")
    if [[ "$monitored" == "$REDIS_PORT" || "$monitored" == "$REPLICA_PORT" ]] &&
      grep -q "^port $(sentinel_port "$n")\$" "$conf"; then
      return 0
    fi
  fi
  cat >"$conf" <<SENTINEL_CONF
# generated by wuye scripts/servers.sh; from here on rewritten by the sentinel
port $(sentinel_port "$n")
bind $HOST
daemonize yes
pidfile $dir/sentinel.pid
logfile $dir/sentinel.log
dir $dir
sentinel resolve-hostnames no
sentinel monitor $SENTINEL_MASTER $HOST $primary 2
sentinel down-after-milliseconds $SENTINEL_MASTER 1000
sentinel failover-timeout $SENTINEL_MASTER 10000
sentinel parallel-syncs $SENTINEL_MASTER 1
SENTINEL_CONF
}

sentinels_up() {
  command -v redis-sentinel >/dev/null 2>&1 ||
    die "redis-sentinel not found; run scripts/install-deps.sh (redis-sentinel)"
  local n port dir primary out
  primary=$(sentinel_primary)
  primary=${primary#* }
  [[ -n "$primary" ]] || primary=$REDIS_PORT
  for ((n = 1; n <= SENTINEL_COUNT; n++)); do
    port=$(sentinel_port "$n")
    dir=$(sentinel_dir "$n")
    redis_family_pid "$dir/sentinel.pid" >/dev/null && continue
    if port_in_use "$port"; then
      die "sentinel $n: port $port is already in use$(port_owner_hint "$port"); set WUYE_SENTINEL_PORT"
    fi
    mkdir -p -- "$dir"
    rm -f -- "$dir/sentinel.pid"
    sentinel_write_conf "$n" "$primary"
    if ! out=$( (cd "$dir" && redis-sentinel "$dir/sentinel.conf") 2>&1 9>&-); then
      printf '%s\n' "$out" >&2
      tail_log "$dir/sentinel.log"
      die "sentinel $n: could not start redis-sentinel on port $port"
    fi
  done
  # Up when each answers and has found the other two (their hello messages go through the
  # primary every two seconds): only then can two of them agree on a failover.
  local deadline=$((SECONDS + 30)) others
  for ((n = 1; n <= SENTINEL_COUNT; n++)); do
    port=$(sentinel_port "$n")
    until others=$(timeout 3 redis-cli -h "$HOST" -p "$port" sentinel master "$SENTINEL_MASTER" \
      2>/dev/null | tr -d '\r' | sed -n '/^num-other-sentinels$/{n;p;q}') &&
      [[ "$others" == $((SENTINEL_COUNT - 1)) ]]; do
      if ((SECONDS >= deadline)); then
        tail_log "$(sentinel_dir "$n")/sentinel.log"
        die "sentinel $n on $HOST:$port: has not found the other sentinels after 30s"
      fi
      sleep 0.2
    done
  done
  log "sentinels up on $HOST:$SENTINEL_PORT..$((SENTINEL_PORT + SENTINEL_COUNT - 1)) (master $SENTINEL_MASTER, quorum 2; state $SENTINEL_BASE)"
}

sentinels_down() {
  local n any=0
  for ((n = 1; n <= SENTINEL_COUNT; n++)); do
    if redis_family_stop "$(sentinel_dir "$n")/sentinel.pid" "$(sentinel_dir "$n")/sentinel.log"; then
      any=1
    fi
  done
  if ((any)); then log "sentinels stopped"; else log "sentinels not running"; fi
}

sentinels_status() {
  local n rc=0
  for ((n = 1; n <= SENTINEL_COUNT; n++)); do
    if redis_family_pid "$(sentinel_dir "$n")/sentinel.pid" >/dev/null; then
      log "sentinel $n running on $HOST:$(sentinel_port "$n")"
    else
      log "sentinel $n stopped"
      rc=3
    fi
  done
  return "$rc"
}

print_sentinel_env() {
  sentinels_running || return 0
  local n list=""
  for ((n = 1; n <= SENTINEL_COUNT; n++)); do
    list+="${list:+,}$HOST:$(sentinel_port "$n")"
  done
  printf "export WUYE_REDIS_SENTINELS='%s'\n" "$list"
}

# -------------------------------------------------------------- commands ----

print_env() {
  printf 'export WUYE_PG_URL=%q\n' "postgresql://wuye@$HOST:$PG_PORT/postgres"
  printf 'export WUYE_REDIS_ADDR=%q\n' "$HOST:$REDIS_PORT"
  printf 'export WUYE_STATE_DIR=%q\n' "$STATE"
  if standby_exists; then
    printf 'export WUYE_PG_FAILOVER_URL=%q\n' \
      "postgresql://wuye@$HOST:$PG_PORT,$HOST:$STANDBY_PORT/postgres"
  fi
  print_sentinel_env
}

main() {
  local cmd=${1:-} which=${2:-all}
  if [[ $# -gt 2 ]]; then usage >&2; exit 2; fi
  case "$cmd" in
    -h | --help | help) usage; return 0 ;;
    up | start | down | stop | restart | status | env) ;;
    kill) [[ "$which" =~ ^(pg|standby|redis|redis-replica|replica)$ ]] || { usage >&2; exit 2; } ;;
    promote) [[ "$which" == standby ]] || { usage >&2; exit 2; } ;;
    *) usage >&2; exit 2 ;;
  esac
  local -a targets
  case "$which" in
    all | both) targets=(pg redis) ;;
    pg | postgres | postgresql) targets=(pg) ;;
    redis) targets=(redis) ;;
    standby) targets=(standby) ;;
    redis-replica | replica) targets=(redis_replica) ;;
    sentinels | sentinel) targets=(sentinels) ;;
    *) usage >&2; exit 2 ;;
  esac

  load_config
  local t rc=0
  case "$cmd" in
    env) print_env ;;
    kill)
      take_lock
      case "$which" in
        redis | redis-replica | replica) "${targets[0]}_kill" ;;
        pg | postgres | postgresql) pg_kill "$PG_DATA" "$PG_PORT" "pg   " ;;
        standby) pg_kill "$STANDBY_DATA" "$STANDBY_PORT" "standby" ;;
      esac
      ;;
    status)
      for t in "${targets[@]}"; do
        "${t}_status" || rc=3
      done
      if [[ "$which" == all ]] && standby_exists; then standby_status || true; fi
      return "$rc"
      ;;
    up | start)
      take_lock
      choose_free_ports "${targets[@]}"
      resolve_standby  # its default port follows pg's
      case "$which" in
        standby) "$ROOT/scripts/reserve-ports.sh" "$STANDBY_PORT" ;;
        redis-replica | replica) "$ROOT/scripts/reserve-ports.sh" "$REPLICA_PORT" ;;
        sentinels | sentinel)
          "$ROOT/scripts/reserve-ports.sh" $(seq "$SENTINEL_PORT" $((SENTINEL_PORT + SENTINEL_COUNT - 1)))
          ;;
        *) "$ROOT/scripts/reserve-ports.sh" "$PG_PORT" "$REDIS_PORT" ;;
      esac
      for t in "${targets[@]}"; do "${t}_up"; done
      ;;
    down | stop)
      [[ -d "$STATE" ]] || {
        for t in "${targets[@]}"; do log "$t not running (no $STATE)"; done
        return 0
      }
      take_lock
      # Everything: the standby first (a primary that waits for it is let go before it
      # stops), the sentinels (no failover while the nodes stop), the replica.
      if [[ "$which" == all || "$which" == both ]]; then
        standby_down quiet
        if sentinels_running; then sentinels_down; fi
        if redis_family_pid "$REPLICA_DIR/redis.pid" >/dev/null; then redis_replica_down; fi
      fi
      for t in "${targets[@]}"; do "${t}_down"; done
      ;;
    restart)
      take_lock
      for t in "${targets[@]}"; do "${t}_down"; done
      for t in "${targets[@]}"; do "${t}_up"; done
      ;;
    promote)
      take_lock
      standby_promote
      ;;
  esac
}

main "$@"
