#!/usr/bin/env bash
# Creates the development secrets of deploy/overlays/dev with fresh random values
# (idempotent: existing secrets are kept). Never use these for real data.
set -euo pipefail
ns=wuye-dev
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
make_secret wuye-jwt "secret=$(rand 48)"
for s in directory intake dispatch billing performance eldercare; do
  make_secret "wuye-$s-database" "url=postgresql://wuye:$pg_password@postgres:5432/wuye_$s"
done
make_secret wuye-intake-phone-hash "key=$(rand 32)"
make_secret wuye-eldercare-keys "keys=k1:$(head -c 32 /dev/urandom | base64 | tr -d '\n')" \
  "lookup=$(head -c 32 /dev/urandom | base64 | tr -d '\n')"
echo "secrets ready in namespace $ns"
