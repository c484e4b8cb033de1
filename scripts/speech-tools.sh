#!/usr/bin/env bash
# Install espeak-ng (Debian's package) if missing: the speech tests and bench/transcription.py synthesise their
# sentences with it. Prints the path of the espeak-ng program. Idempotent.
set -euo pipefail
espeak=${WEIR_ESPEAK:-/usr/bin/espeak-ng}
if [ ! -x "$espeak" ]; then
  echo "installing espeak-ng from Debian's packages..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends espeak-ng >&2
fi
echo "$espeak"
