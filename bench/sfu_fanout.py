"""Fan one publisher out to N subscribers through the real media plane's per-packet path, over loopback.

Like ``sfu_forward.py`` (same synthetic publisher: 3 simulcast VP8 layers plus Opus, subscribers asking for
320x180, 640x360 and 1280x720 in turn), but each subscriber is a real DTLS-SRTP connection: N pairs of Weir's
``PeerTransport`` connect over 127.0.0.1 (ICE and a DTLS handshake each), and every forwarded packet is
SRTP-protected and sent as a UDP datagram. The publisher's packets are SRTP-protected beforehand, so the timed
loop does, per inbound packet: SRTP unprotect, the receiver, every down-track's rewrite (video with the
abs-send-time extension added, as subscribers get it), protect and sendto. Not timed: aioice's asyncio receive
hop in front of it (the subscribers' sockets are not read).

    python bench/sfu_fanout.py [--fanout 10 50 200] [--seconds 10] [--send native python] [--mux on off] [--profile]

``--send`` picks the RTP send path (``WEIR_SFU_NATIVE_SEND``, weir.sfu.rtc.srtpsend and lanes): native (the
fan-out of each inbound packet in one C call, the default) or python (``DownTrack.write`` per subscriber,
pylibsrtp and asyncio's sendto); with both, each N runs both, back to back.
``--mux`` puts the SFU's transports on one shared socket (weir.sfu.rtc.udpmux, the default: each inbound packet's
fan-out then leaves in one ``sendmmsg``) or each on its own (``off``).
Prints per N: ``bench sfu fanout=<N> pps_per_cpu_second=<n> added_latency_p50_ms=<n> p99_ms=<n> loss_pct=<n>``
where pps is forwarded downstream packets per CPU second of the loop, latency is per inbound packet from
unprotect to the return of its last sendto, and loss is the share of down-track packets the transports did not
hand to the socket.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import itertools
import os
import pstats
import time

from aiortc.rtcdtlstransport import RTCCertificate
from sfu_forward import AUDIO_PT, LAYERS, REQUESTS, VIDEO_PT, percentile, publisher

from weir.rtc.config import IceConfig
from weir.sfu.downtrack import DownTrack
from weir.sfu.headerext import ABS_SEND_TIME_ID, ExtensionSink
from weir.sfu.packetbuffer import AUDIO_BUFFER_PACKETS
from weir.sfu.receiver import Receiver
from weir.sfu.rtc.lanes import fan_out_for
from weir.sfu.rtc.transport import PeerTransport, RemoteTransport
from weir.sfu.rtc.udpmux import SharedSockets
from weir.sfu.selector import layer_for_dimensions

SEND_PATHS = {"native": "1", "python": "0"}
MUX = ("on", "off")
CONFIG = IceConfig(host_addresses=("127.0.0.1",), connect_timeout_s=30)
CERTIFICATE = RTCCertificate.generateCertificate()


def transport(controlling: bool, sockets: SharedSockets | None = None) -> PeerTransport:
    return PeerTransport(
        CONFIG, CERTIFICATE, controlling=controlling, on_rtp=lambda _: None, on_rtcp=lambda _: None,
        on_state=lambda _: None, sockets=sockets,
    )


def remote(end: PeerTransport, setup: str) -> RemoteTransport:
    local = end.local(setup)
    return RemoteTransport(local.ufrag, local.pwd, (local.fingerprint,), setup, local.candidates)


async def pair(sockets: SharedSockets | None) -> tuple[PeerTransport, PeerTransport]:
    """A connected (SFU side, on ``sockets`` if given; client side) pair."""
    sfu, client = transport(True, sockets), transport(False)
    await asyncio.gather(sfu.gather(), client.gather())
    await client.apply_remote(remote(sfu, "actpass"), "client")
    await sfu.apply_remote(remote(client, "active"), "server")
    while "connected" not in (sfu.state and client.state) or sfu.state != client.state:
        if "failed" in (sfu.state, client.state):
            raise RuntimeError("a benchmark connection failed")
        await asyncio.sleep(0.01)
    return sfu, client


async def run(fanout: int, packets: list[tuple[int, int, bytes]], mux: bool) -> tuple[int, int, float, list[int]]:
    sockets = SharedSockets(CONFIG) if mux else None
    ingress_sfu, ingress_client = await pair(sockets)
    pairs = [await pair(sockets) for _ in range(fanout)]
    protect = ingress_client.dtls._tx_srtp.protect
    wire = [(arrival, layer, protect(data)) for arrival, layer, data in packets]
    unprotect = ingress_sfu.dtls._rx_srtp.unprotect
    video = Receiver(kind="video", layers=len(LAYERS), vp8=True, fan_out=fan_out_for())
    audio = Receiver(kind="audio", audio_level_id=1, buffer_capacity=AUDIO_BUFFER_PACKETS, fan_out=fan_out_for())
    dims = [(w, h) for w, h, _ in LAYERS]
    tracks: list[DownTrack] = []
    for index, (sfu, _) in enumerate(pairs):
        target = layer_for_dimensions(dims, *REQUESTS[index % len(REQUESTS)])
        v = DownTrack(video, ExtensionSink(sfu.send_rtp, ABS_SEND_TIME_ID), ssrc=10_000 + index,
                      payload_type=VIDEO_PT, clock_rate=90_000, vp8=True, target_layer=target)
        a = DownTrack(audio, sfu.send_rtp, ssrc=20_000 + index, payload_type=AUDIO_PT, clock_rate=48_000)
        video.add_downtrack(v)
        audio.add_downtrack(a)
        tracks += (v, a)
    latencies = []
    clock = time.perf_counter_ns
    receive_video, receive_audio = video.receive, audio.receive

    def receive(plain: bytes, layer: int, arrival: int) -> None:
        if layer < 0:
            receive_audio(plain, 0, arrival)
        else:
            receive_video(plain, layer, arrival)

    cpu = time.process_time()
    for arrival, layer, data in wire:
        start = clock()
        plain = unprotect(data)
        if sockets is None:
            receive(plain, layer, arrival)
        else:  # as the shared socket hands an inbound datagram on: the fan-out leaves when it returns
            sockets.forward(lambda p, layer=layer, arrival=arrival: receive(p, layer, arrival), plain)
        latencies.append(clock() - start)
    cpu = time.process_time() - cpu
    sent = sum(t.packets_sent for t in tracks)
    on_wire = sum(sfu.dtls.rtp_sent for sfu, _ in pairs)
    for sfu, client in [(ingress_sfu, ingress_client), *pairs]:
        await sfu.close()
        await client.close()
    return sent, on_wire, cpu, latencies


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fanout", type=int, nargs="+", default=[10, 50, 200])
    parser.add_argument("--seconds", type=int, default=10, help="seconds of media to send")
    parser.add_argument("--send", choices=SEND_PATHS, nargs="+", default=["native"], help="RTP send path(s)")
    parser.add_argument("--mux", choices=MUX, nargs="+", default=["on"], help="the SFU side's shared UDP socket")
    parser.add_argument("--profile", action="store_true", help="profile the largest fan-out with cProfile")
    args = parser.parse_args()
    packets = publisher(args.seconds)
    for fanout in args.fanout:
        for send, mux in itertools.product(args.send, args.mux):
            os.environ["WEIR_SFU_NATIVE_SEND"] = SEND_PATHS[send]  # read by each transport as it is made
            sent, on_wire, cpu, latencies = await run(fanout, packets, mux == "on")
            loss = 100 * max(0, sent - on_wire) / max(sent, 1)
            label = (f" send={send}" if len(args.send) > 1 else "") + (f" mux={mux}" if len(args.mux) > 1 else "")
            print(
                f"bench sfu fanout={fanout}{label} pps_per_cpu_second={sent / cpu:.0f} "
                f"added_latency_p50_ms={percentile(latencies, 0.5):.3f} p99_ms={percentile(latencies, 0.99):.3f} "
                f"loss_pct={loss:.2f}",
                flush=True,
            )
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        await run(max(args.fanout), packets, args.mux[0] == "on")
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    asyncio.run(main())
