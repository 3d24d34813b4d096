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
# Tokens: an ES256 key pair. The services get only the public key; the private key stays
# here, for minting: wuye-token --es256_key_file="$keys/jwt-es256.key" ...
keys=${WUYE_DEV_KEY_DIR:-$(cd "$(dirname "$0")/../../.." && pwd)/.local/k8s-dev}
mkdir -p "$keys"
if [[ ! -f "$keys/jwt-es256.key" ]]; then
  (umask 077 && openssl ecparam -name prime256v1 -genkey -noout |
    openssl pkcs8 -topk8 -nocrypt -out "$keys/jwt-es256.key")
fi
openssl ec -in "$keys/jwt-es256.key" -pubout -out "$keys/jwt-es256.pub" 2>/dev/null
make_secret wuye-jwt-public "keys.pem=$(cat "$keys/jwt-es256.pub")"
for s in directory intake dispatch billing performance eldercare; do
  make_secret "wuye-$s-database" "url=postgresql://wuye:$pg_password@postgres:5432/wuye_$s"
done
make_secret wuye-intake-phone-hash "key=$(rand 32)"
make_secret wuye-eldercare-keys "keys=k1:$(head -c 32 /dev/urandom | base64 | tr -d '\n')" \
  "lookup=$(head -c 32 /dev/urandom | base64 | tr -d '\n')"
echo "secrets ready in namespace $ns; mint tokens with --es256_key_file=$keys/jwt-es256.key"
