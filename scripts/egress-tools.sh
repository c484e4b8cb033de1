#!/usr/bin/env bash
# Install what composite recording runs (Debian's packages) if missing: Xvfb (a display per recording),
# PulseAudio (a sink per recording) and ffmpeg (x11grab + pulse into H.264/AAC). Prints the directory that holds
# the three programs. Idempotent.
set -euo pipefail
bin=${WEIR_EGRESS_TOOLS:-/usr/bin}
if [ ! -x "$bin/Xvfb" ] || [ ! -x "$bin/pulseaudio" ] || [ ! -x "$bin/ffmpeg" ]; then
  echo "installing Xvfb, PulseAudio and ffmpeg from Debian's packages..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends xvfb pulseaudio ffmpeg xauth >&2
fi
echo "$bin"
