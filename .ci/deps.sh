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
# A-Frame and Networked-A-Frame for the NAF adapter's browser tests, and
# three.js for the /three example's: their
# registry tarballs (npm pack; a plain npm install of either fails, their
# dependency trees name GitHub tarballs), checked against pinned
# integrity, of which the tests serve only the bundled dist/ files.
vendor=web/test/vendor
if [[ ! -s $vendor/aframe-v1.8.0.min.js || ! -s $vendor/networked-aframe.min.js || ! -s $vendor/three.core.js ]]; then
  echo "fetching aframe 1.8.0, networked-aframe 0.14.3 and three 0.187.0 from npm"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent aframe@1.8.0 networked-aframe@0.14.3 three@0.187.0 >/dev/null 2>&1)
  check() { # file, pinned sha512 integrity
    node -e 'const [f, want] = process.argv.slice(1);
      const got = "sha512-" + require("crypto").createHash("sha512").update(require("fs").readFileSync(f)).digest("base64");
      if (got !== want) { console.error(`deps.sh: ${f} does not match its pinned integrity`); process.exit(1); }' "$1" "$2"
  }
  check "$tmp/aframe-1.8.0.tgz" "sha512-z+6TfUCEPQ2plWMyL6CAFS6+b6XWp6t8zrU9ZNdz4qBwks98tX/lhGrfUX0QFuwPZ7BNusB3u5o+q6q/P2CkKA=="
  check "$tmp/networked-aframe-0.14.3.tgz" "sha512-4na9qhT1sxkvpQKOI3r4gpSB1ryY1nk3N+jYTOPX/NnIdOa4amHpqrpBujl8iXf6miVlR79PHOB5xomGUuOLOw=="
  check "$tmp/three-0.187.0.tgz" "sha512-Qiu7R+Cmh8CstZsY1uJOSWnVlfo7ZtNLV7mF8Jltk3LB3AtDu9cRZlcnRKkAk8Y4z6KKw35z7Y7Urd7jWY8etA=="
  mkdir -p "$vendor"
  tar -xzf "$tmp/aframe-1.8.0.tgz" -C "$tmp" package/dist/aframe-v1.8.0.min.js && mv "$tmp/package/dist/aframe-v1.8.0.min.js" "$vendor/"
  tar -xzf "$tmp/networked-aframe-0.14.3.tgz" -C "$tmp" package/dist/networked-aframe.min.js && mv "$tmp/package/dist/networked-aframe.min.js" "$vendor/"
  tar -xzf "$tmp/three-0.187.0.tgz" -C "$tmp" package/build/three.module.js package/build/three.core.js && mv "$tmp"/package/build/three.*.js "$vendor/"
  rm -rf "$tmp"
fi
