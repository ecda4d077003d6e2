#!/usr/bin/env bash
# govulncheck (pinned) against the Go vulnerability database as of the
# golang.org/x/vulndb version $VULNDB. Both come from the module proxy: the
# database's OSV files are indexed here with vulndb's own cmd/indexdb into
# .cache, so vuln.go.dev need not be reachable. The index is built once per
# VULNDB; its tools' downloads are quiet unless they fail.
set -euo pipefail
cd "$(dirname "$0")/.."
GOVULNCHECK=golang.org/x/vuln/cmd/govulncheck@v1.9.0
: "${VULNDB:?set VULNDB to a golang.org/x/vulndb version}"
db=.cache/vulndb-$VULNDB
if [ ! -f "$db/index/db.json" ]; then
	log=$(mktemp)
	trap 'rm -f "$log"' EXIT
	if ! {
		dir=$(go mod download -json "golang.org/x/vulndb@$VULNDB" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p') &&
			[ -d "$dir/data/osv" ] &&
			rm -rf "$db.tmp" &&
			go run "golang.org/x/vulndb/cmd/indexdb@$VULNDB" -vulns "$dir/data/osv" -out "$db.tmp" &&
			mv "$db.tmp" "$db"
	} >"$log" 2>&1; then
		cat "$log" >&2
		echo "vulncheck: could not index golang.org/x/vulndb@$VULNDB" >&2
		exit 1
	fi
fi
bin=.cache/govulncheck-${GOVULNCHECK##*@}
[ -x "$bin/govulncheck" ] || GOBIN=$PWD/$bin go install "$GOVULNCHECK"
url="file://$PWD/$db"
"$bin/govulncheck" -db "$url" ./...
"$bin/govulncheck" -C bench -db "$url" ./...
# The browser client and the edge worker, as built for js/wasm.
GOOS=js GOARCH=wasm "$bin/govulncheck" -db "$url" ./wasm/...
