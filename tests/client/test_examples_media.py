"""The SDK's media examples run as subprocesses against a real server on loopback, as a user runs them against
``make run`` (ICE on 127.0.0.1 on both sides)."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable

from tests.client.test_calls import MakeClient
from tests.client.media_helpers import MEDIA_WAIT, loopback_ice, server  # noqa: F401
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
    # A pattern size only Alice's camera has: frames of that size from the bot can only be echoes.
    camera = TestPatternTrack(width=208, height=112)
    await call.join(create=True, connect_options=CallConnectOptions(
        camera=TrackOption.enabled(camera), microphone=TrackOption.enabled()))
    bot = await start(server, "echo_bot.py", "--call-id", call_id, "--frames", "60", "--seconds", "90")
    await bot.printed(f"echoing Alice (session {call.state.value.user_session_id[:8]}")
    await eventually(lambda: len(call.state.value.other_participants) == 1, MEDIA_WAIT, "the bot in the call")
    (echo,) = call.state.value.other_participants
    await eventually(lambda: call.received_frames(echo, SfuTrackType.VIDEO) >= 15
                     and call.received_frames(echo, SfuTrackType.AUDIO) >= 15, MEDIA_WAIT, "echoed frames")
    assert call.received_video_size(echo) == (208, 112)
    out = await bot.finish()
    assert "echo-bot: done, echoed" in out and "echo-bot: left the call" in out


async def test_livestream_host_goes_live_and_a_viewer_counts_frames(
        server: RunningServer, uid: Callable[[str], str]) -> None:
    call_id = uid("live")
    host = await start(server, "livestream.py", "host", "--call-id", call_id, "--viewers", "1", "--seconds", "90")
    viewer = await start(server, "livestream.py", "viewer", "--call-id", call_id, "--frames", "30",
                         "--seconds", "90")
    viewed, hosted = await viewer.finish(), await host.finish()
    assert "host: joined livestream:" in hosted and "backstage=True" in hosted and "host: live\n" in hosted
    assert "host: livestream-viewer is watching" in hosted and "host: 0 watching, 1 left" in hosted
    assert "host: live stopped" in hosted and "host: call ended" in hosted
    assert "viewer: watching livestream:" in viewed and "viewer: done, " in viewed
    done = next(line for line in viewed.splitlines() if line.startswith("viewer: done"))
    video, audio = (int(word) for word in done.split() if word.isdigit())
    assert video >= 30 and audio >= 30
