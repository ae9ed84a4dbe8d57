#!/usr/bin/env bash
# Install the test oracles: the independent readers tests check sluice's output with
# (tests/oracles/package.json: DuckDB, parquet-wasm, apache-arrow), from the npm registry,
# pinned by tests/oracles/package-lock.json, into tests/oracles/node_modules. Test tools only:
# nothing in sluice uses them.
#
# Usage: scripts/oracles.sh
# Idempotent: does nothing when node_modules already matches the lock file.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT/tests/oracles"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  SUDO=()
  ((EUID == 0)) || SUDO=(sudo)
  echo "oracles.sh: installing Debian's nodejs and npm" >&2
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q update
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends nodejs npm
fi

stamp=node_modules/.sluice-lock-sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
  echo "oracles.sh: test oracles already installed"
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
echo "$want" >"$stamp"
echo "oracles.sh: installed $(node -e 'const p=require("./package.json");console.log(Object.entries(p.dependencies).map(([k,v])=>k+"@"+v).join(" "))')"
