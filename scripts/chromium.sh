#!/usr/bin/env bash
# Install Debian's Chromium if missing (the browser tests drive it through Playwright's executable_path).
# Prints the path of the browser. Idempotent.
set -euo pipefail
browser=${WEIR_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$browser" ]; then
  echo "installing Chromium from Debian's packages..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 && apt-get install -y -qq chromium >&2
fi
echo "$browser"
