#!/usr/bin/env bash
# Install coturn (the TURN server `weir serve` starts when WEIR_TURN_ENABLED is set) from Debian's packages if
# missing, with nftables, which the no-UDP test uses to drop UDP inside the namespace it makes. Prints the
# turnserver binary's path. Idempotent.
set -euo pipefail
turnserver=/usr/bin/turnserver
if [ ! -x "$turnserver" ] || ! command -v nft >/dev/null; then
  echo "installing coturn and nftables from Debian's packages..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends coturn nftables >&2
fi
echo "$turnserver"
