#!/usr/bin/env bash
# Creates the development secrets of deploy/overlays/dev with fresh random values
# (idempotent: existing secrets are kept), for the services of services.txt: each one's
# database URL and Redis ACL user (reading the streams its line names). Never use these
# for real data.
set -euo pipefail
ns=wuye-dev
root=$(cd "$(dirname "$0")/../../.." && pwd)
services=()
declare -A consumes=()
while read -r name _ _ _ reads; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  services+=("$name")
  [[ "$reads" == - ]] && reads=""
  consumes[$name]=${reads//,/ }
done <"$root/services.txt"
kubectl get namespace "$ns" >/dev/null 2>&1 || kubectl create namespace "$ns"
rand() { head -c "$1" /dev/urandom | base64 | tr -d '\n/+=' ; }
make_secret() {  # NAME KEY=VALUE...
  local name=$1; shift
  kubectl -n "$ns" get secret "$name" >/dev/null 2>&1 && return
  local args=()
  for kv in "$@"; do args+=(--from-literal="$kv"); done
  kubectl -n "$ns" create secret generic "$name" "${args[@]}"
}
pg_password=$(kubectl -n "$ns" get secret wuye-dev-postgres -o jsonpath='{.data.password}' 2>/dev/null | base64 -d || true)
[[ -n "$pg_password" ]] || pg_password=$(rand 24)
make_secret wuye-dev-postgres "password=$pg_password"
# Tokens: an ES256 key pair. The services get only the public key; the private key stays
# here, for minting: wuye-token --es256_key_file="$keys/jwt-es256.key" ...
keys=${WUYE_DEV_KEY_DIR:-$root/.local/k8s-dev}
mkdir -p "$keys"
if [[ ! -f "$keys/jwt-es256.key" ]]; then
  (umask 077 && openssl ecparam -name prime256v1 -genkey -noout |
    openssl pkcs8 -topk8 -nocrypt -out "$keys/jwt-es256.key")
fi
openssl ec -in "$keys/jwt-es256.key" -pubout -out "$keys/jwt-es256.pub" 2>/dev/null
make_secret wuye-jwt-public "keys.pem=$(cat "$keys/jwt-es256.pub")"
for s in "${services[@]}"; do
  make_secret "wuye-$s-database" "url=postgresql://wuye:$pg_password@postgres:5432/wuye_$s"
done
# Redis: an ACL user per service (docs/operations.md, "Redis ACL users and TLS"), one for
# operators (wuyectl bus), and no default user. The ACL file is a Secret the Redis mounts.
if ! kubectl -n "$ns" get secret wuye-dev-redis-acl >/dev/null 2>&1; then
  acl="user default off"$'\n'
  for s in "${services[@]}"; do
    pw=$(kubectl -n "$ns" get secret "wuye-$s-redis" -o jsonpath='{.data.password}' 2>/dev/null | base64 -d || true)
    [[ -n "$pw" ]] || pw=$(rand 32)
    make_secret "wuye-$s-redis" "password=$pw"
    line="user wuye-$s on >$pw resetchannels -@all +xadd +xtrim +xlen +xinfo|groups +xpending +role +wait"
    line+=" ~wuye.$s.events ~wuye.$s.events.dead"
    if [[ -n "${consumes[$s]}" ]]; then
      read_sel="(+xgroup|create +xreadgroup +xack +xautoclaim +xpending" dead_sel="(+xadd"
      for c in ${consumes[$s]}; do read_sel+=" ~wuye.$c.events" dead_sel+=" ~wuye.$c.events.dead"; done
      line+=" $read_sel) $dead_sel)"
    fi
    acl+="$line"$'\n'
  done
  ops_pw=$(kubectl -n "$ns" get secret wuye-ops-redis -o jsonpath='{.data.password}' 2>/dev/null | base64 -d || true)
  [[ -n "$ops_pw" ]] || ops_pw=$(rand 32)
  make_secret wuye-ops-redis "password=$ops_pw"
  acl+="user wuye-ops on >$ops_pw resetchannels -@all +@read +ping +eval +xadd +xdel +xtrim ~wuye.*"$'\n'
  make_secret wuye-dev-redis-acl "users.acl=$acl"
fi
make_secret wuye-intake-phone-hash "key=$(rand 32)"
make_secret wuye-duty-gateway "secret=$(rand 32)"
make_secret wuye-eldercare-keys "keys=k1:$(head -c 32 /dev/urandom | base64 | tr -d '\n')" \
  "lookup=$(head -c 32 /dev/urandom | base64 | tr -d '\n')"
make_secret wuye-counter-keys "keys=k1:$(head -c 32 /dev/urandom | base64 | tr -d '\n')" \
  "lookup=$(head -c 32 /dev/urandom | base64 | tr -d '\n')"
echo "secrets ready in namespace $ns; mint tokens with --es256_key_file=$keys/jwt-es256.key"
