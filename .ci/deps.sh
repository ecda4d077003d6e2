#!/usr/bin/env bash
# Installs what `make test` needs beyond Go, idempotently and quietly:
# Node.js (GOOS=js tests, browser tests), Debian's Chromium, and
# playwright-core, workerd (the edge tests) and esbuild (the npm
# package's bundling test) from npm into
# web/test/node_modules (pinned by its lock).
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v node >/dev/null 2>&1 || missing+=(nodejs npm)
command -v npm >/dev/null 2>&1 || missing+=(npm)
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
if ((${#missing[@]})); then
  echo "installing ${missing[*]} with apt"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
lock=web/test/package-lock.json
stamp=web/test/node_modules/.synk-lock
if ! cmp -s "$lock" "$stamp" 2>/dev/null; then
  echo "installing playwright-core, workerd and esbuild from npm"
  # npm install, not npm ci: workerd lists its other platforms' binaries
  # as optional dependencies, which this registry does not serve, so the
  # lock cannot name them and npm ci would refuse it. The lock still pins
  # every version installed.
  (cd web/test && npm install --no-audit --no-fund --loglevel=error >/dev/null 2>&1)
  cp "$lock" "$stamp"
fi
