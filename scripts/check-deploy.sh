#!/usr/bin/env bash
# Checks that deploy/ is what scripts/gen-deploy.py writes from services.txt, then renders
# every overlay with `kubectl kustomize` and checks the objects (scripts/check_manifests.py,
# which also holds them against services.txt). Part of `make test`.
#
# Exit 77 (ctest: skipped) with a clear message when no usable kubectl is present: the
# manifests need kustomize v4 or later (kubectl >= 1.21). Debian 12's own kubernetes-client
# is 1.20, whose kustomize v2 predates `labels` and inline patches, so it is not installed
# for this; install kubectl from the Kubernetes packages to run the check.
set -euo pipefail
cd "$(dirname "$0")/.."

skip() { printf 'check-deploy: SKIPPED: %s\n' "$*"; exit 77; }
# Needs nothing but python3: fails even where the rendering below is skipped.
/usr/bin/python3 scripts/gen-deploy.py --check || exit 1
command -v kubectl >/dev/null 2>&1 || skip "kubectl not found (see the comment at the top of $0)"
minor=$(kubectl version --client -o json 2>/dev/null |
  /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["clientVersion"]["minor"].rstrip("+"))' ||
  echo 0)
((minor >= 21)) || skip "kubectl 1.$minor is older than 1.21 (kustomize v4)"
/usr/bin/python3 -c 'import yaml' 2>/dev/null || skip "python3-yaml missing (scripts/install-deps.sh installs it)"

status=0
for overlay in deploy/overlays/*/; do
  name=$(basename "$overlay")
  if ! rendered=$(kubectl kustomize "$overlay" 2>&1); then
    printf 'check-deploy: %s does not render:\n%s\n' "$name" "$rendered"
    status=1
    continue
  fi
  printf 'check-deploy: %s: ' "$name"
  flags=()
  [[ $name == prod ]] && flags=(--production)
  /usr/bin/python3 scripts/check_manifests.py "${flags[@]}" <<<"$rendered" || status=1
done
exit $status
