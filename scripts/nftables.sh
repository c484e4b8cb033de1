#!/usr/bin/env bash
# Install nftables from Debian's packages if missing: bench/soak.py and the call-quality tests shape traffic with
# it (random loss, a bandwidth cap) inside network namespaces they make. Prints the nft binary's path. Idempotent.
set -euo pipefail
if ! command -v nft >/dev/null; then
  echo "installing nftables from Debian's packages..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends nftables >&2
fi
command -v nft
