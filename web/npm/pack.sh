#!/usr/bin/env bash
# Packs the browser client as the npm package "synk" (web/npm) into the
# folder $1, from the files `make wasm` built in web/static, and prints
# the tarball's path. The version follows the Go module's: the release
# tag vX.Y.Z on HEAD, else Go's pseudo-version of HEAD.
set -euo pipefail
out=$(realpath "${1:?usage: pack.sh OUTDIR}")
root=$(cd "$(dirname "$0")/../.." && pwd)
static=$root/web/static
for f in synk.js synk-codec.js synk.d.ts synk-naf.js synk-worker.js synk.wasm wasm_exec.js; do
  [[ -s $static/$f ]] || { echo "pack.sh: $static/$f is missing: run make wasm" >&2; exit 1; }
done
if tag=$(git -C "$root" describe --tags --exact-match --match 'v[0-9]*' 2>/dev/null); then
  version=${tag#v}
else
  when=$(TZ=UTC git -C "$root" log -1 --format=%cd --date=format-local:%Y%m%d%H%M%S)
  version=0.0.0-$when-$(git -C "$root" rev-parse --short=12 HEAD)
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cp "$root/web/npm/README.md" "$dir/"
for f in synk.js synk-codec.js synk.d.ts synk-naf.js synk-worker.js synk.wasm wasm_exec.js; do cp "$static/$f" "$dir/"; chmod 644 "$dir/$f"; done
sed "s/\"version\": \"0.0.0-dev\"/\"version\": \"$version\"/" "$root/web/npm/package.json" > "$dir/package.json"
grep -q "\"version\": \"$version\"" "$dir/package.json" || { echo "pack.sh: no version line in web/npm/package.json" >&2; exit 1; }
mkdir -p "$out"
(cd "$dir" && npm pack --silent --pack-destination "$out") | tail -1 | sed "s|^|$out/|"
