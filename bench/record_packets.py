"""Records the packet fixtures of tests/fixtures/packets/ from real sessions through Weir's SFU (run once, by hand).

``PYTHONPATH=. .venv/bin/python bench/record_packets.py`` (as root: the GStreamer client runs in a network
namespace, as in tests/sfu/test_whip_gstreamer.py) runs ``weir serve``'s app in this process and taps its SFU:
each SRTP/SRTCP datagram as the SFU's DTLS transport decrypted it, and each STUN message its sockets read or
sent; it loses one video packet in ``LOSS_EVERY`` on the way in. Three kinds of peer publish through WHIP, one at
a time:

- Debian's Chromium (Playwright, fake camera and microphone), once per video codec it offers (VP8, VP9, H.264,
  AV1) with RED preferred for its Opus, while a Chromium WHEP player in the same page receives the call (its
  receiver reports, NACK, PLI and REMB; WHEP answers do not negotiate transport-cc);
- aiortc (VP8 and Opus; then H.264), watched by an aiortc signaling subscriber (its receiver reports and REMB);
- GStreamer's webrtcbin (tests/sfu/gst_whip_client.py: VP8 and Opus).

A few packets of each kind are kept (``keep``): files of a few KB, each a sequence of records of a 2-byte
big-endian length and the packet's bytes, and ``manifest.json`` saying what each file holds, with the payload
types and header extension ids the SFU's answer negotiated. tests/sfu/test_packet_fixtures.py reads them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import struct
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiortc import RTCSessionDescription
from aiortc.rtcrtpsender import RTCRtpSender
from playwright.async_api import async_playwright

from tests.conftest import RunningServer
from tests.netns import veth_namespace
from tests.sfu.signaling_peers import running_sfu
from tests.sfu.test_whip import SDP, call_path, create_call, http, watch, whip_offer
from tests.sfu.test_whip_gstreamer import CLIENT as GST_CLIENT
from tests.sfu.test_whip_gstreamer import gstreamer_python
from tests.web.conftest import CHROMIUM_ARGS, chromium_path
from weir.sfu.codecs.av1 import Av1Payload
from weir.sfu.codecs.h264 import is_keyframe as h264_keyframe
from weir.sfu.codecs.vp8 import Vp8Descriptor
from weir.sfu.codecs.vp9 import Vp9Descriptor
from weir.sfu.rtc import dtls, inbound
from weir.sfu.rtp import RtpHeader

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "packets"
SECONDS = 6
RECORD = struct.Struct("!H")
# The tap loses one in LOSS_EVERY of the video packets it hands on (after recording them), so that the SFU asks
# for retransmissions (RTX is recorded) and subscribers see gaps and send NACK and PLI.
LOSS_EVERY = 40
VIDEO_SIZE = 300


class Tap:
    """What the SFU saw, per session label: ``(kind, bytes)`` with kind ``rtp``, ``rtcp``, ``stun-in``, ``stun-out``."""

    def __init__(self) -> None:
        self.label: str | None = None
        self.received = 0
        self.seen: dict[str, list[tuple[str, bytes]]] = defaultdict(list)

    def add(self, kind: str, data: bytes) -> None:
        if self.label is not None:
            self.seen[self.label].append((kind, bytes(data)))

    def install(self) -> None:
        """Wraps the SFU's decrypted-packet handlers and its sockets' STUN (this process's classes only)."""
        tap = self
        media_init = dtls.MediaDtls.__init__

        def init(self: dtls.MediaDtls, link: Any, certificate: Any, on_rtp: Callable[[bytes], None],
                 on_rtcp: Callable[[bytes], None], **options: Any) -> None:
            def rtp(data: bytes) -> None:
                tap.add("rtp", data)
                tap.received += 1
                if tap.received % LOSS_EVERY or len(data) < VIDEO_SIZE:
                    on_rtp(data)

            def rtcp(data: bytes) -> None:
                tap.add("rtcp", data)
                on_rtcp(data)

            media_init(self, link, certificate, rtp, rtcp, **options)

        received = inbound.DemuxProtocol.datagram_received
        sent = inbound.DemuxProtocol.send_stun

        def datagram_received(self: inbound.DemuxProtocol, data: bytes | str, addr: tuple[Any, ...]) -> None:
            if isinstance(data, bytes) and data and data[0] < 4:  # STUN (RFC 7983)
                tap.add("stun-in", data)
            received(self, data, addr)

        def send_stun(self: inbound.DemuxProtocol, message: Any, addr: tuple[str, int]) -> None:
            tap.add("stun-out", bytes(message))
            sent(self, message, addr)

        dtls.MediaDtls.__init__ = init  # type: ignore[method-assign]
        inbound.DemuxProtocol.datagram_received = datagram_received  # type: ignore[method-assign]
        inbound.DemuxProtocol.send_stun = send_stun  # type: ignore[method-assign,assignment]

    @contextmanager
    def session(self, label: str) -> Iterator[None]:
        self.label = label
        try:
            yield
        finally:
            self.label = None


def sdp_maps(answer: str) -> dict[str, dict[str, dict[str, str]]]:
    """``{kind: {"rtpmap": {pt: "VP8/90000"}, "extmap": {id: uri}, "mid": {"mid": mid}}}`` from an SDP's
    m-sections."""
    out: dict[str, dict[str, dict[str, str]]] = {}
    section: dict[str, dict[str, str]] | None = None
    for line in answer.splitlines():
        if line.startswith("m="):
            section = out.setdefault(line[2:].split()[0], {"rtpmap": {}, "extmap": {}, "mid": {}})
        elif section is not None and line.startswith("a=mid:"):
            section["mid"] = {"mid": line[len("a=mid:"):]}
        elif section is not None and line.startswith("a=rtpmap:"):
            pt, codec = line[len("a=rtpmap:"):].split(" ", 1)
            section["rtpmap"][pt] = codec
        elif section is not None and line.startswith("a=extmap:"):
            ext_id, uri = line[len("a=extmap:"):].split(" ", 1)
            section["extmap"][ext_id.split("/")[0]] = uri.split()[0]
    return out


async def whip_publish(server: RunningServer, cid: str, user: str, offer: str) -> tuple[str, str, str]:
    """POSTs ``offer``: (answer, session id, resource location)."""
    async with http(server, user) as client:
        response = await client.post(f"/sfu/whip/{call_path(cid)}", content=offer, headers=SDP)
    response.raise_for_status()
    location = response.headers["location"]
    return response.text, location.split("?")[0].rsplit("/", 1)[1], location


async def record_aiortc(server: RunningServer, tap: Tap, codec: str) -> dict[str, Any]:
    cid = f"default:rec-aiortc-{codec}"
    await create_call(server, "viewer", cid)
    pc = await whip_offer()
    if codec != "vp8":
        for transceiver in pc.getTransceivers():
            if transceiver.kind == "video":
                caps = RTCRtpSender.getCapabilities("video").codecs
                transceiver.setCodecPreferences([c for c in caps if c.mimeType.lower() == f"video/{codec}"])
        await pc.setLocalDescription(await pc.createOffer())
    with tap.session(f"aiortc-{codec}"):
        answer, session_id, _ = await whip_publish(server, cid, "obs", pc.localDescription.sdp)
        await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        viewer = await watch(server, "viewer", cid, session_id)
        await asyncio.sleep(SECONDS)
        await viewer.close()
        await pc.close()
    return sdp_maps(answer)


CHROMIUM_SESSION = """
async ({whip, whep, token, codec, seconds}) => {
  const post = async (url, pc) => {
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise(done => {
      if (pc.iceGatheringState === 'complete') return done();
      pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && done();
    });
    const response = await fetch(url, {method: 'POST', body: pc.localDescription.sdp,
      headers: {'Content-Type': 'application/sdp', 'Authorization': 'Bearer ' + token}});
    if (response.status !== 201) throw new Error(url + ' ' + response.status + ' ' + await response.text());
    const answer = await response.text();
    await pc.setRemoteDescription({type: 'answer', sdp: answer});
    return answer;
  };
  const stream = await navigator.mediaDevices.getUserMedia({audio: true, video: {width: 640, height: 360}});
  const pub = new RTCPeerConnection({bundlePolicy: 'max-bundle'});
  const video = pub.addTransceiver(stream.getVideoTracks()[0], {direction: 'sendonly'});
  const audio = pub.addTransceiver(stream.getAudioTracks()[0], {direction: 'sendonly'});
  const vcaps = RTCRtpSender.getCapabilities('video').codecs;
  const wanted = vcaps.filter(c => c.mimeType.toLowerCase() === 'video/' + codec);
  if (!wanted.length) return {missing: codec};
  video.setCodecPreferences([...wanted, ...vcaps.filter(c => c.mimeType.toLowerCase() === 'video/rtx')]);
  const acaps = RTCRtpSender.getCapabilities('audio').codecs;
  audio.setCodecPreferences([...acaps.filter(c => c.mimeType.toLowerCase() === 'audio/red'),
                             ...acaps.filter(c => c.mimeType.toLowerCase() !== 'audio/red')]);
  const published = await post(whip, pub);
  await new Promise(r => setTimeout(r, 2000));
  const sub = new RTCPeerConnection({bundlePolicy: 'max-bundle'});
  sub.addTransceiver('audio', {direction: 'recvonly'});
  sub.addTransceiver('video', {direction: 'recvonly'});
  const played = await post(whep, sub);
  await new Promise(r => setTimeout(r, seconds * 1000));
  sub.close();
  pub.close();
  stream.getTracks().forEach(t => t.stop());
  return {published, played};
}
"""


async def record_chromium(server: RunningServer, tap: Tap, codecs: list[str]) -> dict[str, Any]:
    maps: dict[str, Any] = {}
    async with async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            for codec in codecs:
                cid = f"default:rec-chromium-{codec}"
                await create_call(server, "viewer", cid)
                page = await browser.new_page()
                await page.goto(server.base_url + "/api/v1/")
                query = f"?api_key={server.api_key}"
                with tap.session(f"chromium-{codec}"):
                    result = await page.evaluate(CHROMIUM_SESSION, {
                        "whip": f"/sfu/whip/{call_path(cid)}{query}", "whep": f"/sfu/whep/{call_path(cid)}{query}",
                        "token": server.token("chrome"), "codec": codec, "seconds": SECONDS})
                await page.close()
                if "missing" in result:
                    print(f"Chromium offers no {codec}")
                    continue
                maps[f"chromium-{codec}"] = {"publish": sdp_maps(result["published"]),
                                             "play": sdp_maps(result["played"])}
        finally:
            await browser.close()
    return maps


async def record_gstreamer(server: RunningServer, tap: Tap, namespace: str) -> None:
    cid = "default:rec-gstreamer"
    await create_call(server, "viewer", cid)
    url = f"{server.base_url}/sfu/whip/{call_path(cid)}?api_key={server.api_key}"
    with tap.session("gstreamer-vp8"):
        client = await asyncio.create_subprocess_exec(
            "ip", "netns", "exec", namespace, gstreamer_python(), str(GST_CLIENT), url, server.token("gst"), "60",
            stdout=asyncio.subprocess.PIPE)
        assert client.stdout is not None
        step: dict[str, str] = {}
        while step.get("step") != "answered":
            line = await asyncio.wait_for(client.stdout.readline(), 60)
            if not line:
                raise RuntimeError("the GStreamer client exited")
            step = json.loads(line)
        viewer = await watch(server, "viewer", cid, step["location"].split("?")[0].rsplit("/", 1)[1])
        await asyncio.sleep(SECONDS)
        await viewer.close()
        client.send_signal(signal.SIGTERM)
        await client.communicate()


# What to keep of each session -------------------------------------------------------------------------------

def _starts_keyframe(codec: str, packet: RtpHeader) -> bool:
    data, start, end = packet.data, packet.payload_offset, packet.payload_end
    if codec == "vp8":
        return Vp8Descriptor.parse(data, start, end).keyframe
    if codec == "vp9":
        descriptor = Vp9Descriptor.parse(data, start, end)
        return descriptor.keyframe and descriptor.start_of_frame
    if codec == "h264":
        return h264_keyframe(data, start, end)
    return Av1Payload.parse(data, start, end).keyframe


def video_packets(codec: str, packets: list[RtpHeader]) -> list[bytes]:
    """A keyframe's first packet or two, then the first whole delta frame of at most three packets (in order)."""
    ordered = sorted(packets, key=lambda p: p.sequence_number)  # one SSRC, no wrap in a few seconds
    keyframe = next(i for i, p in enumerate(ordered) if _starts_keyframe(codec, p))
    kept = [p.data for p in ordered[keyframe : keyframe + 2] if p.timestamp == ordered[keyframe].timestamp]
    frame: list[RtpHeader] = []
    for previous, packet in zip(ordered[keyframe + 2:], ordered[keyframe + 3:], strict=False):
        if previous.marker:
            frame = []
        frame.append(packet)
        if packet.marker and 1 < len(frame) <= 3 or packet.marker and previous.marker and len(frame) == 1:
            if not _starts_keyframe(codec, frame[0]) and all(
                    b.sequence_number == a.sequence_number + 1 for a, b in zip(frame, frame[1:], strict=False)):
                return kept + [p.data for p in frame]
    raise RuntimeError(f"no small {codec} delta frame recorded")


def rtcp_types(data: bytes) -> tuple[tuple[int, int], ...]:
    """``(packet type, count or FMT)`` of each packet in a compound."""
    kinds, pos = [], 0
    while pos + 4 <= len(data):
        kinds.append((data[pos + 1], data[pos] & 0x1F))
        pos += 4 + 4 * struct.unpack_from("!H", data, pos + 2)[0]
    return tuple(kinds)


def rtcp_compounds(datagrams: list[bytes], per_kind: int = 2, budget: int = 3000) -> list[bytes]:
    """The first ``per_kind`` compounds of each sequence of packet types, while they fit in ``budget`` bytes."""
    counts: dict[tuple[tuple[int, int], ...], int] = defaultdict(int)
    kept: list[bytes] = []
    for data in datagrams:
        signature = rtcp_types(data)
        if counts[signature] < per_kind and sum(map(len, kept)) + len(data) <= budget:
            counts[signature] += 1
            kept.append(data)
    return kept


def stun_messages(messages: list[bytes], per_type: int = 2) -> list[bytes]:
    counts: dict[int, int] = defaultdict(int)
    kept = []
    for data in messages:
        kind = struct.unpack_from("!H", data)[0]
        if counts[kind] < per_type:
            counts[kind] += 1
            kept.append(data)
    return kept


def write(name: str, packets: list[bytes]) -> None:
    (OUT / name).write_bytes(b"".join(RECORD.pack(len(p)) + p for p in packets))
    print(f"{name}: {len(packets)} packets, {sum(map(len, packets)) + 2 * len(packets)} bytes")


def keep(label: str, seen: list[tuple[str, bytes]], rtpmap: dict[str, str], manifest: dict[str, Any]) -> None:
    """Writes ``<label>-<codec>.bin`` per recorded codec, ``<label>-rtcp.bin`` and ``<label>-stun.bin``."""
    by_stream: dict[tuple[int, int], list[RtpHeader]] = defaultdict(list)
    for kind, data in seen:
        if kind == "rtp":
            packet = RtpHeader.parse(data)
            by_stream[packet.payload_type, packet.ssrc].append(packet)
    for (pt, _ssrc), packets in sorted(by_stream.items(), key=lambda item: -len(item[1])):
        codec = rtpmap.get(str(pt), "?").split("/")[0].lower()
        name = f"{label.split('-')[0]}-{codec}.bin"
        if codec in ("ulpfec", "?") or name in manifest:
            continue
        if codec == "rtx":
            write(name, [p.data for p in sorted(packets, key=lambda p: p.sequence_number)[:2]])
        elif codec in ("vp8", "vp9", "h264", "av1"):
            write(name, video_packets(codec, packets))
        else:
            write(name, [p.data for p in sorted(packets, key=lambda p: p.sequence_number)[:6]])
        manifest[name] = {"session": label, "kind": "rtp", "codec": codec, "payload_type": pt}
    compounds = [data for kind, data in seen if kind == "rtcp"]
    print(label, "RTCP seen:", dict(Counter(rtcp_types(data) for data in compounds)))
    name = f"{label}-rtcp.bin"
    write(name, rtcp_compounds([data for kind, data in seen if kind == "rtcp"]))
    manifest[name] = {"session": label, "kind": "rtcp"}
    name = f"{label}-stun.bin"
    inbound = stun_messages([data for kind, data in seen if kind == "stun-in"])
    write(name, inbound + stun_messages([data for kind, data in seen if kind == "stun-out"]))
    manifest[name] = {"session": label, "kind": "stun", "inbound": len(inbound)}


async def main(codecs: list[str]) -> None:
    tap = Tap()
    tap.install()
    maps: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        with running_sfu("sqlite", Path(scratch) / "loopback") as server:
            for codec in ("vp8", "h264"):
                maps[f"aiortc-{codec}"] = await record_aiortc(server, tap, codec)
            maps.update(await record_chromium(server, tap, codecs))
        with veth_namespace() as (namespace, address), running_sfu(
                "sqlite", Path(scratch) / "gst", host=address, ice_addresses=f"127.0.0.1,{address}") as server:
            await record_gstreamer(server, tap, namespace)
        maps["gstreamer-vp8"] = {"audio": {"rtpmap": {"111": "OPUS/48000/2"}, "extmap": {}, "mid": {}},
                                 "video": {"rtpmap": {"96": "VP8/90000"}, "extmap": {}, "mid": {}}}
    OUT.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {}
    for label, seen in tap.seen.items():
        published = maps[label].get("publish", maps[label])
        rtpmap = {**published.get("video", {}).get("rtpmap", {}), **published.get("audio", {}).get("rtpmap", {})}
        keep(label, seen, rtpmap, manifest)
    (OUT / "manifest.json").write_text(json.dumps({"files": manifest, "sdp": maps}, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chromium-codecs", default="vp8,vp9,h264,av1")
    asyncio.run(main(parser.parse_args().chromium_codecs.split(",")))
