#!/usr/bin/env bash
# Install what the transcription tests speak with (Debian's espeak-ng) if missing. Prints the directory that holds
# espeak-ng. Idempotent.
set -euo pipefail
bin=${WEIR_SPEECH_TOOLS:-/usr/bin}
if [ ! -x "$bin/espeak-ng" ]; then
  echo "installing espeak-ng from Debian's packages..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends espeak-ng >&2
fi
echo "$bin"
