#!/usr/bin/env bash
# The web console (web/console, docs/console.md) with the tools that npm installed into
# web/node_modules (`make deps`); never others.
#
#   scripts/console.sh build             type-check (vue-tsc), `vite build` into
#                                        web/console/dist, and the first-load budget
#                                        (web/console/scripts/bundle-size.mjs: fails over it)
#   scripts/console.sh build-if-present  the same, but only a warning when web/node_modules
#                                        is missing (the build's step: a C++-only build
#                                        needs no Node)
#   scripts/console.sh rules             the desk's pure rules (web/console/tests/rules.spec.ts,
#                                        Playwright's runner, no browser; ctest console_rules)
#   scripts/console.sh dev               the Vite dev server on 127.0.0.1:5173, proxying the
#                                        RPC paths and /local/ to $WUYE_GATEWAY_URL
#                                        (default http://127.0.0.1:50080)
#
# The browser tests run against the real suite from ctest (tests/console_test.cc).
set -euo pipefail
cd "$(dirname "$0")/.."
web=$PWD/web

die() { printf 'console: error: %s\n' "$*" >&2; exit 1; }

need_tools() {
  [[ -x "$web/node_modules/.bin/vite" ]] || die "$web/node_modules/.bin/vite is missing: run \`make deps\`"
  [[ -f "$web/clients/gen/index.js" ]] ||
    die "web/clients/gen is missing: build it (\`make build\`, or scripts/buf.sh generate)"
}

cmd_build() {
  need_tools
  (cd web/console && ../node_modules/.bin/vue-tsc --noEmit -p tsconfig.json)
  (cd web/console && ../node_modules/.bin/vite build --logLevel warn)
  node web/console/scripts/bundle-size.mjs
  # What the build's step (CMake) compares with the console's sources.
  date -u +%FT%TZ >web/console/dist/.stamp
}

case "${1:-}" in
  build) cmd_build ;;
  build-if-present)
    if [[ -x "$web/node_modules/.bin/vite" ]]; then
      cmd_build
    else
      echo "console: warning: web/node_modules is missing, the web console is not built; \
run \`make deps\`" >&2
    fi
    ;;
  rules)
    need_tools
    cd web/console && exec ../node_modules/.bin/playwright test --project=rules
    ;;
  dev)
    need_tools
    cd web/console && exec ../node_modules/.bin/vite
    ;;
  *) die "usage: scripts/console.sh build|build-if-present|rules|dev" ;;
esac
