#!/usr/bin/env bash
# Install Azurite (the Azure Storage emulator the Azure Blob storage tests start) at the version pinned in
# scripts/azurite/package-lock.json if missing. Prints the path of its blob-service binary. Idempotent.
set -euo pipefail
dir=$(cd "$(dirname "$0")/azurite" && pwd)
blob="$dir/node_modules/.bin/azurite-blob"
if [ ! -x "$blob" ] || [ "$dir/package-lock.json" -nt "$blob" ]; then
  echo "installing Azurite from the npm registry..." >&2
  (cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts >&2)
  touch "$blob"
fi
echo "$blob"
