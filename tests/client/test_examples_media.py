"""The SDK's media examples run as subprocesses against a real server on loopback, as a user runs them against
``make run`` (ICE on 127.0.0.1 on both sides)."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable

from tests.client.media_helpers import MEDIA_WAIT, loopback_ice, server  # noqa: F401
from tests.client.test_calls import MakeClient
from tests.conftest import ROOT, RunningServer
from tests.sfu.rtc_peers import eventually
from weir.client import CallConnectOptions, SfuTrackType, TestPatternTrack, TrackOption

EXAMPLES = ROOT / "examples"
RUN_TIMEOUT = 120.0  # seconds an example may take end to end on 2 shared cores


class Example:
    """One example script running as a subprocess; ``await example.finish()`` returns its output."""

    def __init__(self, process: asyncio.subprocess.Process, name: str) -> None:
        self.process, self.name = process, name
        self.lines: list[str] = []
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            self.lines.append(line.decode())

    async def printed(self, text: str, timeout: float = MEDIA_WAIT) -> None:
        await eventually(lambda: any(text in line for line in self.lines) or self.process.returncode is not None,
                         timeout, f"{self.name} printing {text!r}")
        assert any(text in line for line in self.lines), self.output

    @property
    def output(self) -> str:
        return "".join(self.lines)

    async def finish(self) -> str:
        try:
            await asyncio.wait_for(self.process.wait(), RUN_TIMEOUT)
        finally:
            if self.process.returncode is None:
                self.process.kill()
                await self.process.wait()
        await self._reader
        assert self.process.returncode == 0, self.output
        return self.output


async def finish_both(first: Example, second: Example) -> tuple[str, str]:
    """Both examples' outputs once both have ended; when one fails, the failure shows both outputs (a process
    that waits for the other one fails because of it)."""
    results = await asyncio.gather(first.finish(), second.finish(), return_exceptions=True)
    assert not any(isinstance(r, BaseException) for r in results), \
        f"{first.name}:\n{first.output}\n{second.name}:\n{second.output}"
    return first.output, second.output


async def start(server: RunningServer, script: str, *args: str) -> Example:
    env = os.environ | {"WEIR_URL": server.base_url, "WEIR_API_KEY": server.api_key,
                        "WEIR_API_SECRET": server.api_secret, "WEIR_ICE_HOST_ADDRESSES": "127.0.0.1"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(EXAMPLES / script), *args, env=env, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    return Example(process, script)


async def test_echo_bot_sends_back_the_video_and_audio_it_receives(
        server: RunningServer, clients: MakeClient, uid: Callable[[str], str]) -> None:
    call_id = uid("echo")
    alice = await clients(uid("alice"))
    call = alice.make_call(id=call_id)
    # A shape only Alice's camera has (13:7; the synthetic pattern is 4:3): frames of that shape from the bot,
    # whichever simulcast layer arrives, can only be echoes.
    camera = TestPatternTrack(width=208, height=112)
    await call.join(create=True, connect_options=CallConnectOptions(
        camera=TrackOption.enabled(camera), microphone=TrackOption.enabled()))
    bot = await start(server, "echo_bot.py", "--call-id", call_id, "--frames", "60", "--seconds", "90")
    await bot.printed(f"echoing Alice (session {call.state.value.user_session_id[:8]}")
    await eventually(lambda: len(call.state.value.other_participants) == 1, MEDIA_WAIT, "the bot in the call")
    (echo,) = call.state.value.other_participants
    await eventually(lambda: call.received_frames(echo, SfuTrackType.VIDEO) >= 15
                     and call.received_frames(echo, SfuTrackType.AUDIO) >= 15, MEDIA_WAIT, "echoed frames")
    width, height = call.received_video_size(echo) or (0, 0)
    assert width * 112 == height * 208 and width >= 52, (width, height)
    out = await bot.finish()
    assert "echo-bot: done, echoed" in out and "echo-bot: left the call" in out


async def test_livestream_host_goes_live_and_a_viewer_counts_frames(
        server: RunningServer, uid: Callable[[str], str]) -> None:
    call_id = uid("live")
    host = await start(server, "livestream.py", "host", "--call-id", call_id, "--viewers", "1", "--seconds", "90")
    viewer = await start(server, "livestream.py", "viewer", "--call-id", call_id, "--frames", "30",
                         "--seconds", "90")
    viewed, hosted = await finish_both(viewer, host)
    assert "host: joined livestream:" in hosted and "backstage=True" in hosted and "host: live\n" in hosted
    assert "host: livestream-viewer is watching" in hosted and "host: 0 watching, 1 left" in hosted
    assert "host: live stopped" in hosted and "host: call ended" in hosted
    assert "viewer: watching livestream:" in viewed and "viewer: done, " in viewed
    done = next(line for line in viewed.splitlines() if line.startswith("viewer: done"))
    video, audio = (int(word) for word in done.split() if word.isdigit())
    assert video >= 30 and audio >= 30


async def test_audio_room_listener_asks_to_speak_and_the_host_hears_it(server: RunningServer) -> None:
    out = await (await start(server, "audio_room.py", "--frames", "25")).finish()
    assert "host: joined audio_room:" in out and "backstage=True" in out and "host: live\n" in out
    assert "listener: joined, can speak: False" in out
    heard_host = [line for line in out.splitlines() if line.startswith("listener: received ")]
    assert int(heard_host[-1].split()[2]) >= 25 and heard_host[-1].endswith("audio frames from Host")
    assert "asks for send-audio; granting" in out and "listener: permission granted: send-audio" in out
    heard = next(line for line in out.splitlines() if line.startswith("host: heard the listener: "))
    assert int(heard.split()[-3]) >= 25 and "host: room ended" in out


async def ring(server: RunningServer, uid: Callable[[str], str], *callee_args: str) -> tuple[str, str]:
    """The ringing example's callee (waiting first) and caller; their outputs."""
    caller_id, callee_id = uid("alice"), uid("bob")
    callee = await start(server, "ringing_call.py", "callee", "--user-id", callee_id, "--frames", "30",
                         *callee_args)
    await callee.printed(f"callee: {callee_id} waiting for a call")
    caller = await start(server, "ringing_call.py", "caller", "--user-id", caller_id, "--callee", callee_id,
                         "--frames", "30")
    return await finish_both(caller, callee)


async def test_ringing_call_accepted_then_both_sides_exchange_media(
        server: RunningServer, uid: Callable[[str], str]) -> None:
    called, answered = await ring(server, uid)
    assert "status CallStatusOutgoing(video=True)" in called and "accepted the call" in called
    assert "status CallStatusIncoming(video=True)" in answered and "callee: accepted" in answered
    for who, out in (("caller", called), ("callee", answered)):
        got = next(line for line in out.splitlines() if line.startswith(f"{who}: got "))
        video, audio = (int(word) for word in got.split() if word.isdigit())
        assert video >= 30 and audio >= 30, out
        assert "has received media too" in out and f"{who}: left" in out


async def test_ringing_call_rejected(server: RunningServer, uid: Callable[[str], str]) -> None:
    called, answered = await ring(server, uid, "--reject")
    assert "callee: rejected, status CallStatusDisconnected(reason=DisconnectReasonRejected(" in answered
    assert "rejected the call (decline), status CallStatusDisconnected(reason=DisconnectReasonRejected(" in called
    assert "joined" not in called + answered
