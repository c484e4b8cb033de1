"""What an SDK client receives: incoming video on and off, the preferred resolution, frames, recordings."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import av
from aiortc import RTCPeerConnection
from aiortc.codecs import is_rtx
from av import VideoFrame

from tests.client.media_helpers import (  # noqa: F401  # noqa: F401
    FRAMES,
    MEDIA_WAIT,
    RoomFactory,
    loopback_ice,
    other,
    room,
    server,
    settled,
)
from tests.conftest import RunningServer
from tests.sfu.rtc_peers import SimulcastPublisher, eventually
from tests.sfu.signaling_peers import SignalingPeer, coordinator_join
from tests.sfu.test_integration_media import through
from weir.client import (
    CallConnectOptions,
    FileSource,
    Recording,
    StreamVideo,
    SyntheticSource,
    TrackOption,
    VideoDimension,
)
from weir.client.media.receive import receive_repair
from weir.client.media.sinks import FrameStream

Uid = Callable[[str], str]


async def test_incoming_video_can_be_turned_off_and_on(room: RoomFactory) -> None:
    r = await room()
    await r.flowing("audio", "video")
    await r.alice.set_incoming_video_enabled(False)
    frozen = await settled(lambda: r.alice.received_frames(other(r.alice), "video"))
    await r.flowing("audio")  # audio keeps coming meanwhile
    assert r.alice.received_frames(other(r.alice), "video") == frozen
    await r.alice.set_incoming_video_enabled(True)
    await eventually(lambda: r.alice.received_frames(other(r.alice), "video") >= frozen + FRAMES, MEDIA_WAIT,
                     "video again")


async def test_incoming_video_off_for_one_session_and_back_through_a_preferred_resolution(room: RoomFactory) -> None:
    r = await room()
    await r.flowing("video")
    bob = other(r.alice).session_id
    await r.alice.set_incoming_video_enabled(False, session_ids=[bob])
    frozen = await settled(lambda: r.alice.received_frames(bob, "video"))
    await r.flowing("audio")
    assert r.alice.received_frames(bob, "video") == frozen
    # documented: a preferred resolution for a session turns its incoming video back on
    await r.alice.set_preferred_incoming_video_resolution(VideoDimension(160, 120), session_ids=[bob])
    await eventually(lambda: r.alice.received_frames(bob, "video") >= frozen + FRAMES, MEDIA_WAIT, "video again")


async def test_the_preferred_resolution_picks_the_simulcast_layer(
        server: RunningServer, clients: Callable[..., Awaitable[StreamVideo]], uid: Uid) -> None:  # noqa: F811
    alice = await clients(uid("alice"))
    call = alice.make_call(id=uid("c"))
    await call.join(create=True)
    peer = await SignalingPeer.join(await coordinator_join(server, uid("pub"), call.cid))
    publisher = SimulcastPublisher(None, peer.session_id)
    try:
        await call.set_preferred_incoming_video_resolution(VideoDimension(64, 48))
        await publisher.publish_through(through(peer))
        await eventually(lambda: call.received_video_size(peer.session_id) == (64, 48), MEDIA_WAIT, "the small layer")
        await call.set_preferred_incoming_video_resolution(VideoDimension(256, 192), session_ids=[peer.session_id])
        await eventually(lambda: call.received_video_size(peer.session_id) == (256, 192), MEDIA_WAIT, "the full layer")
        await call.set_preferred_incoming_video_resolution(None)  # no preference: the best
        await eventually(lambda: call.received_video_size(peer.session_id) == (256, 192), MEDIA_WAIT, "the best layer")
    finally:
        await publisher.close()
        await peer.close()


async def test_frames_of_a_participant_arrive_as_an_async_iterator(room: RoomFactory) -> None:
    r = await room()
    bob = other(r.alice)
    async with r.alice.frames(bob) as video, r.alice.frames(bob.session_id, "audio") as audio:
        frames = [await video.next(timeout=MEDIA_WAIT) for _ in range(3)]
        sound = await audio.next(timeout=MEDIA_WAIT)
    assert all(isinstance(f, VideoFrame) and (f.width, f.height) == (160, 120) for f in frames)
    assert isinstance(sound, av.AudioFrame) and sound.sample_rate == 48_000
    assert isinstance(video, FrameStream)
    count = 0
    async for _ in r.bob.frames(other(r.bob)):
        count += 1
        if count == 5:
            break
    assert count == 5


async def test_a_file_source_is_sent_and_a_recorder_writes_what_arrives(room: RoomFactory, tmp_path: Path) -> None:
    source = tmp_path / "source.mp4"
    write_clip(source, seconds=2)
    bob_options = CallConnectOptions(camera=TrackOption.enabled(FileSource(source, loop=True)),
                                     microphone=TrackOption.enabled(SyntheticSource()))
    r = await room(alice_options=CallConnectOptions(), bob_options=bob_options)
    await eventually(lambda: len(r.alice.state.value.other_participants) == 1, MEDIA_WAIT, "bob")
    await eventually(lambda: r.alice.received_video_size(other(r.alice)) == (96, 64), MEDIA_WAIT,
                     "the file's video (96x64) at alice")
    bob = other(r.alice)
    before = r.alice.received_frames(bob, "video")
    recording = await r.alice.record(tmp_path / "bob.mkv", bob)  # every frame decoded from here on is recorded
    assert isinstance(recording, Recording) and recording.path == tmp_path / "bob.mkv"
    await eventually(lambda: r.alice.received_frames(bob, "video") >= before + 3 * FRAMES, MEDIA_WAIT,
                     "frames for the recording")
    await recording.stop()
    with av.open(str(tmp_path / "bob.mkv")) as container:
        kinds = {s.type for s in container.streams}
        video = next(s for s in container.streams if s.type == "video")
        decoded = sum(1 for _ in container.decode(video))
    assert kinds == {"audio", "video"}
    assert decoded >= FRAMES
    assert (video.codec_context.width, video.codec_context.height) == (96, 64)


def write_clip(path: Path, seconds: int) -> None:
    """A 96x64 MPEG-4 clip (an encoder every FFmpeg build has)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=30)
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        for n in range(30 * seconds):
            frame = VideoFrame(96, 64, "yuv420p")
            for plane in frame.planes:
                plane.update(bytes((n * 5 % 256,)) * plane.buffer_size)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


async def test_layers_nobody_receives_are_not_encoded_until_someone_needs_them(room: RoomFactory) -> None:
    r = await room()
    await r.flowing("video")
    publisher = r.alice._sfu.publisher if r.alice._sfu is not None else None
    sender = publisher.simulcast if publisher is not None else None
    assert sender is not None
    lowest, *upper = sender.rids
    await r.bob.set_preferred_incoming_video_resolution(VideoDimension(40, 30))
    await eventually(lambda: sender.active() == {lowest: True, **{rid: False for rid in upper}}, MEDIA_WAIT,
                     "the upper layers paused at the SDK publisher (change_publish_quality)")
    paused = await settled(lambda: sender.packets_sent()[upper[-1]])
    assert sender.packets_sent()[upper[-1]] == paused
    await r.bob.set_preferred_incoming_video_resolution(VideoDimension(160, 120))
    await eventually(lambda: r.bob.received_video_size(other(r.bob)) == (160, 120), MEDIA_WAIT,
                     "the top layer, resumed at the publisher")
    assert sender.active()[upper[-1]] and sender.packets_sent()[upper[-1]] > paused


class LostResends:
    """On the way into a subscriber connection (below SRTP): once armed, drops the next video packet and every
    resend of it (RTX, or the same number again) for ``seconds``; counts the video packets that pass after it
    until ``FRAMES`` more frames have been decoded."""

    def __init__(self, pc: RTCPeerConnection, seconds: float, frames: Callable[[], int]) -> None:
        video = [t for t in pc.getTransceivers() if t.kind == "video"]
        self._media = {c.payloadType for t in video for c in t._codecs if not is_rtx(c)}
        self._rtx = {c.payloadType for t in video for c in t._codecs if is_rtx(c)}
        self._seconds, self._frames = seconds, frames
        self.armed = False
        self.dropped: bytes | None = None  # the lost packet's sequence number
        self.dropped_at = 0.0
        self.frames_at_drop = 0
        self.resends_dropped = 0
        self.packets_after = 0
        ice = video[0].receiver.transport.transport
        recv = ice._recv

        async def receive() -> bytes:
            while True:
                data = await recv()
                if self._keep(data):
                    return data

        ice._recv = receive

    def _keep(self, data: bytes) -> bool:
        if not (127 < data[0] < 192) or 192 <= data[1] <= 223:  # not RTP
            return True
        payload_type, seq = data[1] & 0x7F, data[2:4]
        if self.dropped is None:
            if self.armed and payload_type in self._media:
                self.dropped, self.dropped_at, self.frames_at_drop = seq, time.monotonic(), self._frames()
                return False
            return True
        if time.monotonic() - self.dropped_at < self._seconds and (
                payload_type in self._rtx or (payload_type in self._media and seq == self.dropped)):
            self.resends_dropped += 1
            return False
        if self._frames() < self.frames_at_drop + FRAMES:
            self.packets_after += payload_type in self._media
        return True


async def test_a_packet_whose_resends_were_all_lost_does_not_hold_the_video(room: RoomFactory) -> None:
    """aiortc's receiver asks for a lost packet once, when its gap appears, and holds every later frame until
    512 more packets have come (about 17 s of this camera). Weir's asks again each round trip and, failing that,
    gives the hole up after a bounded wait and resumes at a keyframe: video is back within far fewer packets."""
    camera = CallConnectOptions(camera=TrackOption.enabled())
    r = await room(alice_options=CallConnectOptions(), bob_options=camera)
    await eventually(lambda: len(r.alice.state.value.other_participants) == 1, MEDIA_WAIT, "bob")
    bob = other(r.alice).session_id
    await eventually(lambda: r.alice.received_frames(bob, "video") >= FRAMES, MEDIA_WAIT, "bob's video")
    assert r.alice._sfu is not None
    pc = r.alice._sfu.subscriber.pc
    hook = LostResends(pc, seconds=0.3, frames=lambda: r.alice.received_frames(bob, "video"))
    hook.armed = True
    await eventually(lambda: r.alice.received_frames(bob, "video") >= hook.frames_at_drop + FRAMES
                     and hook.dropped is not None, MEDIA_WAIT, "bob's video after the lost packet")
    assert hook.resends_dropped >= 1  # its first resend was lost too
    assert hook.packets_after < 256, hook.packets_after  # aiortc's own buffer would hold 512
    (video,) = [t.receiver for t in pc.getTransceivers() if t.kind == "video"]
    repair = receive_repair(video)
    assert repair is not None and repair.nack.sent >= 2
