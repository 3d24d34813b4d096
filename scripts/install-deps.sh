#!/usr/bin/env bash
# Installs the Debian 12 (bookworm) packages wuye needs that are missing, and
# nothing else; then the web tools of web/package-lock.json (buf, protobuf-es, Connect-ES,
# TypeScript, the console's Vue, Element Plus, Vite and Playwright) with `npm ci`, unless web/node_modules already holds that lockfile's install.
# Idempotent; prints two lines when everything is present.
#
#   scripts/install-deps.sh
#
# As root it runs apt-get directly; as another user it uses `sudo -n` (never
# prompts), and otherwise fails naming the command to run.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config git ca-certificates
  # libraries
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libhiredis-dev libpqxx-dev libgtest-dev libgmock-dev
  libbenchmark-dev libssl-dev nlohmann-json3-dev
  # duty's notification gateway client (libcurl) and its tests' HTTP receiver; the HTTP
  # server of wuye-gateway (libmicrohttpd) and its TLS (GnuTLS); openssl makes test certificates
  libcurl4-openssl-dev libmicrohttpd-dev libgnutls28-dev openssl
  # servers used by tests (scripts/servers.sh) and their clients; redis-sentinel for the
  # failover tests (its binary comes from redis-tools; its own service is kept stopped)
  postgresql-15 postgresql-client-15 redis-server redis-tools redis-sentinel
  # lint / formatting
  clang-format clang-tidy
  # the deploy check (scripts/check-deploy.sh) reads rendered manifests with PyYAML
  python3-yaml
  # ps, pgrep, ss used by scripts
  procps iproute2
  # the zone list behind shared/zone.h; the openssl CLI makes the TLS tests' certificates
  tzdata openssl
  # the headless browser of the web console's tests (Playwright drives it; never a
  # browser download: tests/console_test.cc, web/console/playwright.config.ts), and a
  # Chinese font for its zh-CN pages and screenshots
  chromium fonts-wqy-microhei
)

log() { printf 'deps: %s\n' "$*"; }
die() { printf 'deps: error: %s\n' "$*" >&2; exit 1; }

# Prints the packages of PACKAGES that are not fully installed, one per line.
missing_packages() {
  local status
  declare -A installed=()
  # dpkg-query exits 1 (and complains on stderr) for names it has never seen;
  # those simply stay missing.
  status=$(dpkg-query -W -f='${Package}\t${Status}\n' \
    "${PACKAGES[@]}" 2>/dev/null || true)
  local pkg st
  while IFS=$'\t' read -r pkg st; do
    [[ -n "$pkg" ]] || continue
    if [[ "$st" == "install ok installed" ]]; then
      installed["${pkg%%:*}"]=1
    fi
  done <<<"$status"
  for pkg in "${PACKAGES[@]}"; do
    [[ -n "${installed[$pkg]:-}" ]] || printf '%s\n' "$pkg"
  done
}

# Node.js and npm, for web/ (buf and the typed clients): Debian's nodejs and npm, but only
# where there is no `node` or no `npm` at all, so a newer Node installed otherwise (with
# its own npm) is kept. Debian 12's Node 18 is new enough (web/package.json engines).
missing_node_packages() {
  command -v node >/dev/null 2>&1 || printf 'nodejs\n'
  command -v npm >/dev/null 2>&1 || printf 'npm\n'
}

# The stamp web/node_modules carries of the install npm ci made: the lockfile's hash, and
# the Node version and platform (buf's binary comes in a platform package).
web_stamp() {
  printf '%s node-%s %s\n' "$(sha256sum web/package-lock.json | cut -d' ' -f1)" \
    "$(node -p process.version)" "$(node -p 'process.platform + "-" + process.arch')"
}

# npm ci of web/ unless web/node_modules is already the lockfile's install.
install_web() {
  local node_version
  node_version=$(node -p 'process.versions.node')
  node -e 'const [a,b,c]=process.versions.node.split(".").map(Number);
           process.exit(a>18||(a===18&&(b>14||(b===14&&c>=1)))?0:1)' ||
    die "Node $node_version is too old for web/ (18.14.1 or later)"
  local stamp=web/node_modules/.wuye-stamp want
  want=$(web_stamp)
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    log "web/node_modules current (Node $node_version)"
    return 0
  fi
  log "npm ci --prefix web (Node $node_version, npm $(npm --version))"
  run_quiet npm ci --prefix web --no-audit --no-fund
  [[ -x web/node_modules/.bin/buf ]] || die "npm ci left no web/node_modules/.bin/buf"
  printf '%s\n' "$want" >"$stamp"
  log "web/node_modules installed: buf $(web/node_modules/.bin/buf --version)"
}

# The redis-sentinel package starts a sentinel of its own on port 26379 (monitoring a
# "mymaster" on 6379) wherever its init script may run: a machine with systemd, or a
# container without a policy-rc.d that forbids it. wuye's tests and scripts/servers.sh run
# their own sentinels, so the package's is stopped and kept from starting at boot.
quiet_package_sentinel() {
  [[ -x /etc/init.d/redis-sentinel ]] || return 0
  if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; then
    if systemctl is-enabled --quiet redis-sentinel 2>/dev/null ||
      systemctl is-active --quiet redis-sentinel 2>/dev/null; then
      "${SUDO[@]}" systemctl disable --now redis-sentinel >/dev/null 2>&1 || true
      log "stopped and disabled the package's redis-sentinel service"
    fi
    return 0
  fi
  local pid=""
  [[ -r /run/sentinel/redis-sentinel.pid ]] && pid=$(tr -dc '0-9' </run/sentinel/redis-sentinel.pid)
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    "${SUDO[@]}" /etc/init.d/redis-sentinel stop >/dev/null 2>&1 ||
      "${SUDO[@]}" kill -TERM "$pid" 2>/dev/null || true
    log "stopped the package's redis-sentinel (pid $pid)"
  fi
  if command -v update-rc.d >/dev/null 2>&1 && compgen -G '/etc/rc[2-5].d/S*redis-sentinel' >/dev/null; then
    "${SUDO[@]}" update-rc.d redis-sentinel disable >/dev/null 2>&1 || true
  fi
}

# Sets the global array SUDO to the prefix needed to run apt-get.
choose_sudo() {
  SUDO=()
  if [[ "$(id -u)" -eq 0 ]]; then
    return 0
  fi
  if command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
    SUDO=(sudo -n)
    return 0
  fi
  die "missing packages: $*
  not root and passwordless sudo is not available; run as root:
    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $*"
}

# Runs a command quietly; on failure prints its output and exits.
run_quiet() {
  local out
  out=$(mktemp)
  if ! "$@" >"$out" 2>&1; then
    cat "$out" >&2
    rm -f "$out"
    die "command failed: $*"
  fi
  rm -f "$out"
}

main() {
  command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found: this script is for Debian 12"

  cd "$(dirname "$0")/.."
  local -a missing=()
  mapfile -t missing < <(missing_packages; missing_node_packages)
  if [[ ${#missing[@]} -eq 0 ]]; then
    log "all ${#PACKAGES[@]} packages present"
    install_web
    return 0
  fi

  log "missing ${#missing[@]} of ${#PACKAGES[@]} packages: ${missing[*]}"
  choose_sudo "${missing[@]}"
  local -a missing_before=("${missing[@]}")

  log "apt-get update"
  run_quiet "${SUDO[@]}" apt-get update -q
  log "apt-get install ${missing[*]}"
  run_quiet "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}"

  mapfile -t missing < <(missing_packages; missing_node_packages)
  if [[ ${#missing[@]} -ne 0 ]]; then
    die "still missing after apt-get install: ${missing[*]}"
  fi
  log "installed; all ${#PACKAGES[@]} packages present"
  if printf '%s\n' "${missing_before[@]}" | grep -qx redis-sentinel; then quiet_package_sentinel; fi
  install_web
}

main "$@"
