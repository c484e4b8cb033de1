#!/usr/bin/env bash
# Install Debian's Chromium (and an emoji font, for reactions in screenshots) if missing; the browser tests
# drive it through Playwright's executable_path. Prints the path of the browser. Idempotent.
set -euo pipefail
browser=${WEIR_CHROMIUM:-/usr/bin/chromium}
emoji=/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf
if [ ! -x "$browser" ] || [ ! -f "$emoji" ]; then
  echo "installing Chromium from Debian's packages..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 && apt-get install -y -qq chromium fonts-noto-color-emoji >&2
fi
echo "$browser"
