#!/usr/bin/env bash
# Install the HTTP load generator the HLS bench runs (wrk, Debian's package, scripted in Lua) if missing. Prints
# the directory that holds it. Idempotent.
set -euo pipefail
bin=${WEIR_LOAD_TOOLS:-/usr/bin}
if [ ! -x "$bin/wrk" ]; then
  echo "installing wrk from Debian's packages..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends wrk >&2
fi
echo "$bin"
