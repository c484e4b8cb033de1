"""A WHIP client on GStreamer's webrtcbin, run with Debian's ``/usr/bin/python3`` (python3-gst-1.0), not the venv.

Usage: ``gst_whip_client.py URL TOKEN SECONDS``. It publishes test video (VP8) and audio (Opus), POSTs its offer
(with every candidate gathered) to the WHIP URL with the bearer token, applies the answer, prints one JSON line
per step to stdout (``answered``, ``ice`` states), publishes for SECONDS or until SIGTERM, then DELETEs the
session resource and exits 0; any failure exits 1 with the reason on stderr.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstSdp", "1.0")
gi.require_version("GstWebRTC", "1.0")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402

PIPELINE = (
    "webrtcbin name=webrtc bundle-policy=max-bundle "
    "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=15/1 ! "
    "vp8enc deadline=1 keyframe-max-dist=15 ! rtpvp8pay pt=96 ! "
    "application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000 ! webrtc. "
    "audiotestsrc is-live=true wave=sine ! audioconvert ! audioresample ! opusenc ! rtpopuspay pt=111 ! "
    "application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000 ! webrtc. "
)


_OUTPUT = threading.Lock()  # webrtcbin's threads and the main loop both report


def report(**fields: object) -> None:
    with _OUTPUT:
        sys.stdout.write(json.dumps(fields) + "\n")
        sys.stdout.flush()


class WhipClient:
    def __init__(self, url: str, token: str, seconds: int) -> None:
        self.url, self.token, self.seconds = url, token, seconds
        self.loop = GLib.MainLoop()
        self.pipeline = Gst.parse_launch(PIPELINE)
        self.webrtc = self.pipeline.get_by_name("webrtc")
        self.location: str | None = None
        self.failure: str | None = None
        self.offered = False
        self.webrtc.connect("on-negotiation-needed", self._negotiate)
        self.webrtc.connect("notify::ice-gathering-state", self._gathering)
        self.webrtc.connect("notify::ice-connection-state", self._ice_state)
        self.pipeline.get_bus().add_signal_watch()
        self.pipeline.get_bus().connect("message::error", self._bus_error)

    def run(self) -> int:
        self.pipeline.set_state(Gst.State.PLAYING)
        GLib.timeout_add_seconds(60, self._no_answer)
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, self._stop)
        self.loop.run()
        if self.location is not None:
            self._request("DELETE", urllib.parse.urljoin(self.url, self.location), None)
        self.pipeline.set_state(Gst.State.NULL)
        if self.failure:
            print(self.failure, file=sys.stderr)
            return 1
        return 0

    def _negotiate(self, webrtc: Gst.Element) -> None:
        promise = Gst.Promise.new_with_change_func(self._offer_created, None)
        webrtc.emit("create-offer", None, promise)

    def _offer_created(self, promise: Gst.Promise, _: object) -> None:
        reply = promise.get_reply()  # kept alive while the offer it holds is in use
        offer = reply.get_value("offer")
        self.webrtc.emit("set-local-description", offer, Gst.Promise.new())

    def _gathering(self, webrtc: Gst.Element, _: object) -> None:
        gathered = webrtc.get_property("ice-gathering-state") == GstWebRTC.WebRTCICEGatheringState.COMPLETE
        if gathered and not self.offered:
            self.offered = True
            GLib.idle_add(self._post_offer)

    def _post_offer(self) -> bool:
        sdp = self.webrtc.get_property("local-description").sdp.as_text()
        print(sdp, file=sys.stderr, flush=True)  # the offer, for whoever debugs a failure
        status, headers, body = self._request("POST", self.url, sdp.encode())
        if status != 201:
            return self._fail(f"WHIP POST answered {status}: {body.decode(errors='replace')}")
        self.location = headers.get("location")
        _, message = GstSdp.SDPMessage.new_from_text(body.decode())
        answer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, message)
        self.webrtc.emit("set-remote-description", answer, Gst.Promise.new())
        report(step="answered", location=self.location)
        GLib.timeout_add_seconds(self.seconds, self.loop.quit)
        return False

    def _ice_state(self, webrtc: Gst.Element, _: object) -> None:
        state = webrtc.get_property("ice-connection-state")
        report(step="ice", state=state.value_nick)
        if state == GstWebRTC.WebRTCICEConnectionState.FAILED:
            GLib.idle_add(self._fail, "ICE failed")

    def _bus_error(self, _: Gst.Bus, message: Gst.Message) -> None:
        error, debug = message.parse_error()
        self._fail(f"pipeline error: {error.message} ({debug})")

    def _stop(self) -> bool:
        self.loop.quit()
        return False

    def _no_answer(self) -> bool:
        return self.location is None and self._fail("no answer within 60 s")

    def _fail(self, reason: str) -> bool:
        self.failure = self.failure or reason
        self.loop.quit()
        return False

    def _request(self, method: str, url: str, body: bytes | None) -> tuple[int, dict[str, str], bytes]:
        """Status, headers (lower-case names) and body; status 0 when the server cannot be reached."""
        request = urllib.request.Request(url, data=body, method=method, headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/sdp"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
        except urllib.error.HTTPError as error:
            return error.code, {}, error.read()
        except urllib.error.URLError as error:
            return 0, {}, str(error.reason).encode()


def main() -> int:
    Gst.init(None)
    url, token, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    return WhipClient(url, token, seconds).run()


if __name__ == "__main__":
    sys.exit(main())
