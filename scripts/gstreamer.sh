#!/usr/bin/env bash
# Install GStreamer's webrtcbin (with libnice and the Python bindings) from Debian's packages if missing, for
# the WHIP test's client (tests/sfu/gst_whip_client.py). Prints the Python that runs it. Idempotent.
set -euo pipefail
python=/usr/bin/python3
check() {
  "$python" -c "import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstWebRTC', '1.0'); \
from gi.repository import Gst; Gst.init(None); \
assert all(Gst.ElementFactory.find(e) for e in ('webrtcbin', 'nicesrc', 'vp8enc', 'opusenc', 'videotestsrc'))" \
    2>/dev/null
}
if ! check; then
  echo "installing GStreamer from Debian's packages..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 && apt-get install -y -qq gstreamer1.0-plugins-bad gstreamer1.0-nice python3-gst-1.0 \
    gstreamer1.0-plugins-good gstreamer1.0-plugins-base gir1.2-gst-plugins-bad-1.0 >&2
  check
fi
echo "$python"
