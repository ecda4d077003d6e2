#!/usr/bin/env bash
# Installs what `make test` needs beyond Go, idempotently and quietly.
set -euo pipefail
if ! command -v node >/dev/null 2>&1; then
  echo "installing nodejs (for GOOS=js tests)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq nodejs >/dev/null
fi
