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

declare -A port=()
while read -r name p; do port[$name]=$p; done < <(scripts/services.sh list)
directory=127.0.0.1:${port[directory]}

# The day runs across the services that are up now (a service that is not is skipped,
# and the summary says so).
day_flags=()
while read -r _ name svc_state _; do
  [[ "$name" != directory && "$svc_state" == running && -n "${port[$name]:-}" ]] &&
    day_flags+=("--$name=127.0.0.1:${port[$name]}")
done < <(scripts/services.sh status || true)

echo
out=$(mktemp)
trap 'rm -f -- "$out"' EXIT
"$demo_bin" --directory="$directory" --jwt_secret_file="$secret_file" "${day_flags[@]}" | tee "$out"
group_id=$(sed -n 's/^  group id   *//p' "$out" | head -n 1)
[[ -n "$group_id" ]] || group_id='<group id>'

b=$(show "$build")
s=$(show "$state")
cat <<EOF

==================================================================================
The suite is running (and stays running until \`make down\`).

  services    $(scripts/services.sh list | while read -r name p; do printf '%s 127.0.0.1:%s  ' "$name" "$p"; done)
  PostgreSQL  ${WUYE_PG_URL%/*}/wuye_<service>  (one database per service)
  Redis       $WUYE_REDIS_ADDR
  status      scripts/services.sh status   (and scripts/servers.sh status)
  logs        $s/logs/<service>.log   (JSON lines; a service that dies is restarted,
              and its death is logged and counted in status)
  stop        make down   (services, then PostgreSQL and Redis);
              scripts/services.sh stop   (only the services)

A token for the demo group (HS256 with the services' secret, $s/jwt-secret):

  TOKEN=\$($b/tools/wuye-token --secret "\$(cat $s/jwt-secret)" \\
      --sub me --group $group_id --estates '*' --roles group_admin)

EOF
if command -v grpcurl >/dev/null 2>&1; then
  echo "Then call the services with grpcurl ($(command -v grpcurl)); they serve reflection:"
else
  echo "Then call the services with grpcurl; they serve reflection. grpcurl is not installed"
  echo "(Debian 12 has no package for it): any grpcurl binary will do, used like this:"
fi
cat <<EOF

  grpcurl -plaintext -H "authorization: Bearer \$TOKEN" $directory list
  grpcurl -plaintext -H "authorization: Bearer \$TOKEN" $directory \\
      wuye.directory.v1.DirectoryService/ListEstates
  grpcurl -plaintext -H "authorization: Bearer \$TOKEN" -d '{"estate_id": "<estate id>"}' \\
      $directory wuye.directory.v1.DirectoryService/ListStaff
  grpcurl -plaintext $directory grpc.health.v1.Health/Check

Running \`make demo\` again changes nothing: the demo data and the day's requests carry fixed
request ids (a run on a later day replays that day: yesterday, estate time).
EOF
