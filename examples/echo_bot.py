"""An echo bot: it joins a call, waits for someone else, and sends back the video and audio it receives from them.

    make run                                            # in one terminal
    python examples/echo_bot.py --call-id echo          # in another; then open
                                                        # http://127.0.0.1:3030/join/default/echo and see yourself

The bot republishes what it decodes: each received track is read through ``call.frames(participant, kind)``
and handed back to the SDK as the bot's camera and microphone (any aiortc ``MediaStreamTrack`` is a source),
so the frames are encoded again on the way out. It stops after ``--seconds``, after ``--frames`` echoed video
frames, or when the other participant leaves. Credentials: see examples/dev_clients.py.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame, VideoFrame
from dev_clients import other_participant, run_as

from weir.client import Call, FrameStream, SfuTrackType, StreamCallType, StreamVideo


class Relay(MediaStreamTrack):
    """A track that plays back the frames of a ``FrameStream`` as they are decoded, counting them."""

    def __init__(self, kind: str, frames: FrameStream) -> None:
        super().__init__()
        self.kind = kind
        self.relayed = 0
        self._frames = frames

    async def recv(self) -> AudioFrame | VideoFrame:
        try:
            frame = await self._frames.__anext__()
        except StopAsyncIteration:
            raise MediaStreamError from None
        self.relayed += 1
        return frame


async def echo(call: Call, args: argparse.Namespace) -> None:
    deadline = time.monotonic() + args.seconds
    participant = await other_participant(call, args.seconds)
    who = participant.name or participant.user_id
    print(f"echo-bot: echoing {who} (session {participant.session_id[:8]}…)", flush=True)
    video = Relay("video", call.frames(participant, SfuTrackType.VIDEO))
    audio = Relay("audio", call.frames(participant, SfuTrackType.AUDIO))
    await call.set_video_input_device(video)
    await call.set_audio_input_device(audio)
    await call.set_camera_enabled(True)
    await call.set_microphone_enabled(True)
    while video.relayed < args.frames and time.monotonic() < deadline:
        await asyncio.sleep(1)
        print(f"echo-bot: echoed {video.relayed} video and {audio.relayed} audio frames to {who}", flush=True)
        if all(p.session_id != participant.session_id for p in call.state.value.other_participants):
            print(f"echo-bot: {who} left", flush=True)
            return
    print(f"echo-bot: done, echoed {video.relayed} video and {audio.relayed} audio frames", flush=True)


async def bot(client: StreamVideo, args: argparse.Namespace) -> None:
    call = client.make_call(StreamCallType.default_type(), args.call_id)
    await call.join(create=True)
    print(f"echo-bot: joined {call.cid}, waiting for someone to echo", flush=True)
    await echo(call, args)
    await call.leave()
    print("echo-bot: left the call", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--call-id", default="echo", help="the default-type call to join (created if missing)")
    parser.add_argument("--user-id", default="echo-bot")
    parser.add_argument("--seconds", type=float, default=300, help="stop after this long")
    parser.add_argument("--frames", type=int, default=1_000_000, help="stop after echoing this many video frames")
    args = parser.parse_args()
    asyncio.run(run_as(args.user_id, "Echo bot", bot, args))
