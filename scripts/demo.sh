#!/usr/bin/env bash
# `make demo`: the local PostgreSQL and Redis, the suite's services, a demo property group
# loaded through the directory API, and a day of front-desk traffic replayed across the
# services with the manager's summary (tools/demo_day.h); then how to talk to the suite. Everything stays
# running afterwards (`make down` stops it). Safe to run again: nothing is started twice
# and the demo data is loaded only once.
#
#   scripts/demo.sh [build-dir]      (default: build; needs <build>/tools/wuye-demo)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
build=${1:-build}
if [[ "$build" != /* && ! -d "$build" && -d "$ROOT/$build" ]]; then build=$ROOT/$build; fi
[[ -d "$build" ]] || { echo "demo: build dir '$build' not found; run make build" >&2; exit 1; }
build=$(realpath -- "$build")
cd "$ROOT"

demo_bin=$build/tools/wuye-demo
token_bin=$build/tools/wuye-token
for bin in "$demo_bin" "$token_bin"; do
  [[ -x "$bin" ]] || { echo "demo: $bin not found; run make build" >&2; exit 1; }
done

# Paths as the reader would type them from the repo root.
show() { [[ "$1" == "$ROOT"/* ]] && printf '%s' "${1#"$ROOT"/}" || printf '%s' "$1"; }

scripts/servers.sh up
scripts/services.sh start "$build"
eval "$(scripts/servers.sh env)"  # WUYE_PG_URL, WUYE_REDIS_ADDR, WUYE_STATE_DIR
state=$WUYE_STATE_DIR
secret_file=$state/jwt-secret

# The services' ports; `list` ends with the gateway's line, kept apart.
declare -A port=()
gateway_running=""
while read -r name p; do
  [[ "$name" == gateway ]] && { gateway_port=$p; continue; }
  port[$name]=$p
done < <(scripts/services.sh list)
directory=127.0.0.1:${port[directory]}

# The day runs across the services that are up now (a service that is not is skipped,
# and the summary says so).
day_flags=()
while read -r _ name svc_state _; do
  [[ "$name" == gateway ]] && { [[ "$svc_state" == running ]] && gateway_running=yes; continue; }
  [[ "$name" != directory && "$svc_state" == running && -n "${port[$name]:-}" ]] &&
    day_flags+=("--$name=127.0.0.1:${port[$name]}")
done < <(scripts/services.sh status "$build" || true)

echo
out=$(mktemp)
trap 'rm -f -- "$out"' EXIT
"$demo_bin" --directory="$directory" --jwt_secret_file="$secret_file" "${day_flags[@]}" | tee "$out"
group_id=$(sed -n 's/^  group id   *//p' "$out" | head -n 1)
[[ -n "$group_id" ]] || group_id='<group id>'
# The console's local sign-in lists the staff of the groups in this file (services.sh).
if [[ "$group_id" != '<group id>' ]] && ! grep -qx -- "$group_id" "$state/local-sign-in-groups" 2>/dev/null; then
  printf '%s\n' "$group_id" >>"$state/local-sign-in-groups"
fi

b=$(show "$build")
s=$(show "$state")
if [[ -n "$gateway_running" ]]; then
  gateway_line="http://127.0.0.1:$gateway_port (the Connect protocol and gRPC-Web, every service)"
  gateway_hint="Or over HTTP, through the gateway (docs/api/http.md):

  curl -H \"authorization: Bearer \$WUYE_TOKEN\" -H 'content-type: application/json' \\
      -d '{}' http://127.0.0.1:$gateway_port/wuye.directory.v1.DirectoryService/ListEstates

"
else
  gateway_line="not running (not built: cmake --build $b --target wuye-gateway)"
  gateway_hint=""
fi
# The web console, when the gateway serves it: its address, and someone of the demo group
# to sign in as for each role (from the gateway's local sign-in, docs/console.md).
console_line=""
if [[ -n "$gateway_running" && -f web/console/dist/index.html ]]; then
  who=$(curl -sf "http://127.0.0.1:$gateway_port/local/people" 2>/dev/null | GROUP="$group_id" python3 -c '
import json, os, sys
try:
    groups = json.load(sys.stdin).get("groups", [])
except ValueError:
    sys.exit(0)
people = [p for g in groups if g.get("id") == os.environ["GROUP"] for p in g.get("people", [])]
first = {}
# Someone with that role alone first, so each role shows its own page.
for alone in (True, False):
    for p in people:
        roles = p.get("roles", [])
        if alone and len(roles) != 1:
            continue
        for r in roles:
            first.setdefault(r, p.get("name", ""))
print(", ".join(f"{r} {n}" for r, n in first.items()))
' 2>/dev/null || true)
  console_line="
  console     http://127.0.0.1:$gateway_port/   (the web console, docs/console.md)"
  [[ -n "$who" ]] && console_line+="
              sign in on its page as, for each role: $who"
fi
cat <<EOF

==================================================================================
The suite is running (and stays running until \`make down\`).

  services    $(for name in $(awk '!/^[[:space:]]*(#|$)/ {print $1}' services.txt); do printf '%s 127.0.0.1:%s  ' "$name" "${port[$name]}"; done)
  gateway     $gateway_line$console_line
  PostgreSQL  ${WUYE_PG_URL%/*}/wuye_<service>  (one database per service)
  Redis       $WUYE_REDIS_ADDR
  status      scripts/services.sh status   (and scripts/servers.sh status)
  logs        $s/logs/<service>.log   (JSON lines; a service that dies is restarted,
              and its death is logged and counted in status)
  stop        make down   (services, then PostgreSQL and Redis);
              scripts/services.sh stop   (only the services)

Talk to it with wuyectl, one command line for every service (\`wuyectl <service> --help\`):

  export WUYE_TOKEN=\$($b/tools/wuyectl token --group=$group_id --estates='*' \\
      --roles=group_admin,supervisor,finance_clerk)
  $b/tools/wuyectl intake list-tickets --estate_id=<estate id> --state=reopened
  $b/tools/wuyectl dispatch list-work-orders --estate_id=<estate id> --state=completed
  $b/tools/wuyectl billing get-arrears --estate_id=<estate id> --json
  $b/tools/wuyectl performance list-rankings --help

${gateway_hint}The services also serve reflection, for grpcurl (not packaged in Debian 12; any binary):

  grpcurl -plaintext -H "authorization: Bearer \$WUYE_TOKEN" $directory list
  grpcurl -plaintext $directory grpc.health.v1.Health/Check

Running \`make demo\` again changes nothing: the demo data and the day's requests carry fixed
request ids (a run on a later day replays that day: yesterday, estate time).
EOF
