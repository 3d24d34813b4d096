#!/usr/bin/env bash
# The first of 0, 100, … 900 by which a suite of its own (scripts/chaos.sh, scale.sh) can move
# all its ports so that none is held, by another checkout's run for instance: PostgreSQL,
# Redis, the gateway and every replica of every service (scripts/services.sh list-replicas,
# WUYE_REPLICAS of the caller). Prints it; exits 1 when every set is taken. Without `ss`
# there is nothing to check with: 0.
#
#   scripts/suite-port-shift.sh PG_PORT REDIS_PORT PORT_OFFSET
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
(($# == 3)) || { echo "usage: scripts/suite-port-shift.sh PG_PORT REDIS_PORT PORT_OFFSET" >&2; exit 2; }
pg=$1 redis=$2 offset=$3
command -v ss >/dev/null || { echo 0; exit 0; }
listening() { [[ -n "$(ss -Hltn "( sport = :$1 )" 2>/dev/null)" ]]; }
for ((shift_by = 0; shift_by < 1000; shift_by += 100)); do
  taken=""
  for p in $((pg + shift_by)) $((redis + shift_by)) $((50080 + offset + shift_by)) \
      $((51080 + offset + shift_by)) \
      $(WUYE_PORT_OFFSET=$((offset + shift_by)) scripts/services.sh list-replicas | cut -d' ' -f3,4); do
    listening "$p" && { taken=$p; break; }
  done
  [[ -z "$taken" ]] && { echo "$shift_by"; exit 0; }
done
exit 1
