#!/usr/bin/env bash
# Installs the OpenAPI diff tool of `cargo xtask openapi --breaking`: Optic (@useoptic/optic),
# pinned with every dependency in package-lock.json, by `npm ci` into xtask/optic/node_modules
# (gitignored). Idempotent: it does nothing when that install matches package.json and
# package-lock.json, and installs again when either changes. Needs Node 20+ and the npm registry;
# no install scripts run. Called by .ci/run. (package.json overrides ajv so that Optic starts:
# docs/api/README.md says why.)
set -euo pipefail

DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
STAMP="$DIR/node_modules/.installed.sha256"
BIN="$DIR/node_modules/.bin/optic"

export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

command -v node >/dev/null || { echo "install.sh: node is missing (Node 20 or newer)" >&2; exit 1; }
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
  { echo "install.sh: Node 20 or newer is needed, not $(node --version)" >&2; exit 1; }

want="$(cat "$DIR/package.json" "$DIR/package-lock.json" | sha256sum | cut -d ' ' -f 1)"
if [[ -x $BIN && "$(cat "$STAMP" 2>/dev/null)" == "$want" ]]; then
  echo "optic $(node -p "require('$DIR/node_modules/@useoptic/optic/package.json').version") is installed in xtask/optic/node_modules"
  exit 0
fi

echo "installing optic into xtask/optic/node_modules (npm ci)"
started=$SECONDS
(cd "$DIR" && timeout 900 npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
[[ -x $BIN ]] || { echo "install.sh: npm ci did not install $BIN" >&2; exit 1; }
echo "$want" >"$STAMP"
echo "installed optic $(node -p "require('$DIR/node_modules/@useoptic/optic/package.json').version") in $((SECONDS - started)) s"
