"""Fan one synthetic publisher out through the SFU's packet core (receiver → down-tracks), in process.

The publisher sends 3 simulcast VP8 layers (30 fps, keyframes every 2 s, ~1100-byte packets) and Opus
(20 ms, ~100 bytes, with ssrc-audio-level). Every subscriber takes the audio and one video layer, asked for by
dimensions (320x180, 640x360, 1280x720 in turn). Sends go to a bounded deque. Packets are built before timing.
With ``--extensions``, each subscriber's video goes through the sink that writes its header extensions:
``abs-send-time`` (what subscribers without transport-cc get) or ``transport-cc`` (abs-send-time and the
transport-wide sequence number, recorded in the subscriber's send history).

    python bench/sfu_forward.py [--fanout 10 50 200] [--seconds 30] [--extensions abs-send-time] [--profile] [--ops]

Prints per N: ``bench sfu-core fanout=<N> pps_per_cpu_second=<n> added_latency_p50_ms=<n> p99_ms=<n>`` where
pps is forwarded downstream packets per CPU second of the whole loop, and latency is per inbound packet, from
the receive call to the return of its last down-track write. ``--ops`` runs each N once more under a tracer and
prints ``bench sfu-core-ops fanout=<N> bytecodes_per_packet=<n> python_calls_per_packet=<n>``: the Python
bytecodes executed and Python functions entered per forwarded packet (the inbound packet's own parse shared out
over its forwarded copies), a measure the machine's load does not move.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import pstats
import random
import sys
import time
from types import FrameType

from weir.sfu.downtrack import DownTrack, PacketSink
from weir.sfu.headerext import ABS_SEND_TIME_ID, TRANSPORT_CC_ID, ExtensionSink, SendHistory
from weir.sfu.packetbuffer import AUDIO_BUFFER_PACKETS
from weir.sfu.receiver import Receiver
from weir.sfu.rtp import build_packet
from weir.sfu.selector import layer_for_dimensions

FPS = 30
KEYFRAME_INTERVAL_S = 2
LAYERS = ((320, 180, 150_000), (640, 360, 500_000), (1280, 720, 1_500_000))  # width, height, bit/s
KEYFRAME_FACTOR = 5  # a keyframe is this many times a delta frame
VIDEO_PACKET_BYTES = 1100
AUDIO_PACKET_BYTES = 100
AUDIO_FRAME_MS = 20
AUDIO_LEVEL_ID = 1
VIDEO_PT, AUDIO_PT = 96, 111
REQUESTS = ((320, 180), (640, 360), (1280, 720))

Packet = tuple[int, int, bytes, int]  # arrival ns, layer (-1: audio), bytes


def vp8_descriptor(picture_id: int, tl0: int, start: bool, keyframe: bool) -> bytes:
    first = 0x80 | (0x10 if start else 0)
    payload_header = bytes((0x00 if keyframe else 0x01,)) if start else b"\x9d"
    return bytes((first, 0xC0 | 0x20, 0x80 | picture_id >> 8 & 0x7F, picture_id & 0xFF, tl0 & 0xFF, 0)) + payload_header


def video_packets(layer: int, seconds: int, rng: random.Random) -> list[tuple[int, int, bytes]]:
    _, _, bitrate = LAYERS[layer]
    seq, ts, ssrc = rng.getrandbits(16), rng.getrandbits(32), 1000 + layer
    pid = rng.getrandbits(15)
    out = []
    for frame in range(seconds * FPS):
        keyframe = frame % (FPS * KEYFRAME_INTERVAL_S) == 0
        size = bitrate // 8 // FPS * (KEYFRAME_FACTOR if keyframe else 1)
        count = max(1, -(-size // VIDEO_PACKET_BYTES))
        arrival = frame * 1_000_000_000 // FPS
        for index in range(count):
            descriptor = vp8_descriptor(pid + frame, frame, index == 0, keyframe)
            body = descriptor + bytes(min(size, VIDEO_PACKET_BYTES) - 12 - len(descriptor))
            data = build_packet(
                payload_type=VIDEO_PT, sequence_number=seq, timestamp=ts, ssrc=ssrc, payload=body,
                marker=index == count - 1,
            )
            out.append((arrival + index * 50_000, layer, data))
            seq += 1
        ts += 90_000 // FPS
    return out


def audio_packets(seconds: int, rng: random.Random) -> list[tuple[int, int, bytes]]:
    seq, ts = rng.getrandbits(16), rng.getrandbits(32)
    out = []
    for index in range(seconds * 1000 // AUDIO_FRAME_MS):
        level = bytes((0x80 | rng.randrange(20, 60),))
        data = build_packet(
            payload_type=AUDIO_PT, sequence_number=seq + index, timestamp=ts + index * 960, ssrc=2000,
            payload=bytes(AUDIO_PACKET_BYTES - 20), extensions=[(AUDIO_LEVEL_ID, level)],
        )
        out.append((index * AUDIO_FRAME_MS * 1_000_000, -1, data))
    return out


def publisher(seconds: int) -> list[tuple[int, int, bytes]]:
    rng = random.Random(7)
    packets = audio_packets(seconds, rng)
    for layer in range(len(LAYERS)):
        packets += video_packets(layer, seconds, rng)
    packets.sort(key=lambda p: p[0])
    return packets


def video_sink(send: PacketSink, extensions: str) -> PacketSink:
    if extensions == "abs-send-time":
        return ExtensionSink(send, ABS_SEND_TIME_ID)
    if extensions == "transport-cc":
        return ExtensionSink(send, ABS_SEND_TIME_ID, TRANSPORT_CC_ID, SendHistory())
    return send


class OpCounter:
    """A ``sys.settrace`` tracer counting the Python functions entered and the bytecodes executed."""

    def __init__(self) -> None:
        self.calls = 0
        self.ops = 0

    def __call__(self, frame: FrameType, event: str, arg: object) -> OpCounter:
        if event == "call":
            self.calls += 1
            frame.f_trace_opcodes = True
        elif event == "opcode":
            self.ops += 1
        return self


def run(fanout: int, packets: list[tuple[int, int, bytes]], extensions: str = "none",
        tracer: OpCounter | None = None) -> tuple[int, float, list[int]]:
    sent: collections.deque[bytearray] = collections.deque(maxlen=64)
    sink = sent.append
    video = Receiver(kind="video", layers=len(LAYERS), vp8=True)
    audio = Receiver(kind="audio", audio_level_id=AUDIO_LEVEL_ID, buffer_capacity=AUDIO_BUFFER_PACKETS)
    dims = [(w, h) for w, h, _ in LAYERS]
    tracks: list[DownTrack] = []
    for index in range(fanout):
        target = layer_for_dimensions(dims, *REQUESTS[index % len(REQUESTS)])
        v = DownTrack(video, video_sink(sink, extensions), ssrc=10_000 + index, payload_type=VIDEO_PT,
                      clock_rate=90_000, vp8=True, target_layer=target)
        a = DownTrack(audio, sink, ssrc=20_000 + index, payload_type=AUDIO_PT, clock_rate=48_000)
        video.add_downtrack(v)
        audio.add_downtrack(a)
        tracks += (v, a)
    latencies = []
    clock = time.perf_counter_ns
    receive_video, receive_audio = video.receive, audio.receive
    cpu = time.process_time()
    sys.settrace(tracer)
    for arrival, layer, data in packets:
        start = clock()
        if layer < 0:
            receive_audio(data, 0, arrival)
        else:
            receive_video(data, layer, arrival)
        latencies.append(clock() - start)
    sys.settrace(None)
    cpu = time.process_time() - cpu
    return sum(t.packets_sent for t in tracks), cpu, latencies


def percentile(values: list[int], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fanout", type=int, nargs="+", default=[10, 50, 200])
    parser.add_argument("--seconds", type=int, default=30, help="seconds of media to send")
    parser.add_argument("--extensions", choices=["none", "abs-send-time", "transport-cc"], default="none",
                        help="header extensions written on forwarded video")
    parser.add_argument("--profile", action="store_true", help="profile the largest fan-out with cProfile")
    parser.add_argument("--ops", action="store_true", help="count bytecodes and Python calls per forwarded packet")
    args = parser.parse_args()
    packets = publisher(args.seconds)
    label = "" if args.extensions == "none" else f" extensions={args.extensions}"
    for fanout in args.fanout:
        forwarded, cpu, latencies = run(fanout, packets, args.extensions)
        print(
            f"bench sfu-core fanout={fanout}{label} pps_per_cpu_second={forwarded / cpu:.0f} "
            f"added_latency_p50_ms={percentile(latencies, 0.5):.3f} p99_ms={percentile(latencies, 0.99):.3f}",
            flush=True,
        )
        if args.ops:
            counter = OpCounter()
            forwarded, _, _ = run(fanout, packets, args.extensions, counter)
            print(f"bench sfu-core-ops fanout={fanout}{label} bytecodes_per_packet={counter.ops / forwarded:.1f} "
                  f"python_calls_per_packet={counter.calls / forwarded:.2f}", flush=True)
    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(run, max(args.fanout), packets, args.extensions)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
