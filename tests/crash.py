"""Crashes on purpose: ``weir serve`` as a subprocess that is SIGKILLed and started again, its SFU media workers
killed one by one, and two SDK clients in a call who must find each other's media again each time.

Shared by the crash-recovery tests (tests/client/test_crash_recovery.py, tests/web/test_crash_recovery.py), which
assert that media comes back and no status reaches Disconnected, and by bench/recovery.py, which times it. Nothing
here imports pytest.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from weir.client import (
    Call,
    CallConnectOptions,
    CallPreferences,
    CallState,
    CallStatus,
    CallStatusConnected,
    StreamVideo,
    StreamVideoOptions,
    TrackOption,
    User,
)
from weir.domain.tokens import create_token

WEIR = Path(sys.executable).parent / "weir"
LOOPBACK = "127.0.0.1"
START_TIMEOUT_S = 120.0  # `weir serve` can take half a minute to start on a loaded 2-core machine
RECOVERY_TIMEOUT_S = 120.0  # generous: the tests assert that media comes back, bench/recovery.py how soon
# Clients wait for the server as long as the tests do (the default gives up after 30 s: ReconnectionFailed).
PATIENT = CallPreferences(reconnect_timeout=timedelta(seconds=RECOVERY_TIMEOUT_S + START_TIMEOUT_S))
POLL_S = 0.01
AV = CallConnectOptions(camera=TrackOption.enabled(), microphone=TrackOption.enabled())


def unused_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


@dataclass
class WeirServe:
    """``weir serve`` with SFU media workers, ICE on 127.0.0.1 only; ``kill`` and ``start`` again keep its port,
    data folder and credentials, as a crashed server restarted by its supervisor would."""

    data_dir: Path
    dev: bool = False
    workers: int = 2
    host: str = LOOPBACK
    env: dict[str, str] = field(default_factory=dict)  # more settings
    port: int = field(default_factory=unused_port)
    api_key: str = "crash-key"
    api_secret: str = field(default_factory=lambda: "crash-secret-" + uuid.uuid4().hex)
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def token(self, user_id: str) -> str:
        return create_token(self.api_secret, user_id)

    def start(self) -> float:
        """Start it; returns the moment (``time.monotonic()``) it first answered ``/api/v1/health``."""
        env = {**os.environ, "WEIR_API_KEY": self.api_key, "WEIR_API_SECRET": self.api_secret,
               "WEIR_SFU_WORKERS": str(self.workers), "WEIR_ICE_HOST_ADDRESSES": LOOPBACK,
               "WEIR_RATE_LIMITS_ENABLED": "false", **self.env}
        args = [str(WEIR), "serve", "--host", self.host, "--port", str(self.port), "--data-dir", str(self.data_dir),
                "--log-level", "warning", *(["--dev"] if self.dev else [])]
        self.process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT_S
        with httpx.Client(timeout=1.0) as http:
            while True:
                try:
                    if http.get(f"{self.base_url}/api/v1/health").status_code == 200:
                        return time.monotonic()
                except httpx.TransportError:
                    pass
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("weir serve did not start")
                time.sleep(POLL_S)

    def kill(self) -> None:
        """SIGKILL: no shutdown at all (its workers stop when their stdin ends)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def worker_ports(self) -> dict[int, set[int]]:
        """This server's SFU worker processes and the TCP ports each listens on."""
        assert self.process is not None
        listeners = _tcp_listeners()
        found = {}
        for pid in _children(self.process.pid):
            try:
                if b"weir.sfu.workers.process" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                    continue
                links = {os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()}
            except OSError:
                continue
            found[pid] = {port for inode, port in listeners.items() if f"socket:[{inode}]" in links}
        return found

    def worker_listening_on(self, port: int) -> int:
        """The pid of the SFU worker listening on ``port`` (the port of an SFU URL the server handed out)."""
        for pid, ports in self.worker_ports().items():
            if port in ports:
                return pid
        raise LookupError(f"no SFU worker of weir serve listens on port {port}")

    def wait_for_workers(self) -> None:
        """Until every SFU worker serves HTTP (its start-up, including its channel to the coordinator, is done):
        a kill then measures one worker's loss, not the wait for another that is still starting."""
        deadline = time.monotonic() + START_TIMEOUT_S
        with httpx.Client(timeout=1.0) as http:
            while sum(_answers(http, ports) for ports in self.worker_ports().values()) < self.workers:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.workers} SFU workers did not start")
                time.sleep(0.1)


def _answers(http: httpx.Client, ports: set[int]) -> bool:
    for port in ports:
        try:
            http.get(f"http://{LOOPBACK}:{port}/")
            return True
        except httpx.TransportError:
            pass
    return False


def _tcp_listeners() -> dict[str, int]:
    """Socket inode → port of every TCP listener (``/proc/net/tcp*``: state 0A is LISTEN)."""
    found = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A":
                found[fields[9]] = int(fields[1].rsplit(":", 1)[1], 16)
    return found


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent:
                    found.append(int(entry.name))
            except (OSError, IndexError):
                continue
    return found


# --- two SDK clients in one call ---------------------------------------------------------------------------------
@dataclass
class SdkCall:
    """Alice and Bob in one call, publishing the synthetic camera and microphone. ``statuses`` has every status each
    went through since joining, ``stale`` every former session of its own that it listed as a participant."""

    clients: list[StreamVideo]
    calls: list[Call]
    statuses: list[list[CallStatus]] = field(default_factory=list)
    stale: list[set[str]] = field(default_factory=list)

    @classmethod
    async def join(cls, serve: WeirServe, call_id: str) -> SdkCall:
        room = cls([], [])
        for name in ("alice", "bob"):
            user_id = f"{name}-{call_id}"
            client = StreamVideo.create(serve.api_key, user=User.regular(user_id), user_token=serve.token(user_id),
                                        options=StreamVideoOptions(coordinator_rpc_url=serve.base_url,
                                                                   default_call_preferences=PATIENT))
            room.clients.append(client)
            await client.connect()
            call = client.make_call(id=call_id)
            await call.join(create=not room.calls, connect_options=AV)
            room.calls.append(call)
            room._watch(call)
        return room

    def _watch(self, call: Call) -> None:
        statuses, stale = [call.state.value.status], set()
        had = {call.state.value.user_session_id}

        def changed(state: CallState) -> None:
            if state.status != statuses[-1]:
                statuses.append(state.status)
            had.add(state.user_session_id)
            stale.update(p.session_id for p in state.call_participants if p.user_id == state.current_user_id
                         and p.session_id in had and p.session_id != state.user_session_id)

        call.state.listen(changed)
        self.statuses.append(statuses)
        self.stale.append(stale)

    async def close(self) -> None:
        for client in self.clients:
            await client.disconnect()

    def sfu_port(self) -> int:
        """The port of the SFU (worker) both clients are connected to."""
        ports = {urlsplit(call._sfu.credentials.server.url).port for call in self.calls if call._sfu is not None}
        assert len(ports) == 1, f"the clients are not on one SFU: {ports}"
        port = ports.pop()
        assert port is not None
        return port

    def sessions(self) -> set[str]:
        """Every session either client has seen so far."""
        return {p.session_id for call in self.calls for p in call.state.value.call_participants}

    async def media_again(self, before: set[str], timeout_s: float = RECOVERY_TIMEOUT_S) -> float:
        """Wait until each client decodes a video frame of the other user's session that is new since ``before``
        (frames still in flight from the old ones don't count; a stale session can't pass for the other: each
        client must list exactly one other participant); returns the moment (``time.monotonic()``) the later of
        the two did."""
        deadline = time.monotonic() + timeout_s
        seen: dict[int, float] = {}
        while len(seen) < len(self.calls):
            now = time.monotonic()
            for i, call in enumerate(self.calls):
                others = call.state.value.other_participants
                if i not in seen and len(others) == 1 and others[0].session_id not in before:
                    if call.received_frames(others[0], "video") > 0:
                        seen[i] = now
            if now > deadline:
                raise AssertionError(f"video came back for clients {sorted(seen)} only; {self.describe(before)}")
            await asyncio.sleep(POLL_S)
        return max(seen.values())

    def describe(self, before: set[str]) -> str:
        """Per client: its session, SFU, statuses and local tracks, and each other participant it lists (session,
        whether in ``before``, published tracks, video frames decoded), for a failure message."""
        lines = []
        for i, call in enumerate(self.calls):
            state = call.state.value
            edge = call._sfu.credentials.server.edge_name if call._sfu is not None else None
            local = [t for t in ("audio", "video") if call.local_track(t) is not None]
            others = [f"{p.session_id} ({'old' if p.session_id in before else 'new'}, publishes "
                      f"{sorted(t.value for t in p.published_tracks)}, {call.received_frames(p, 'video')} frames)"
                      for p in state.other_participants]
            lines.append(f"client {i} ({state.user_session_id} on {edge}, sending {local}): statuses "
                         f"{self.statuses[i]}, stale {self.stale[i]}, others [{', '.join(others)}]")
        return "\n".join(lines)

    async def connected(self, timeout_s: float = RECOVERY_TIMEOUT_S) -> None:
        """Until both are Connected (media may flow a little before: a rejoin publishes again last)."""
        deadline = time.monotonic() + timeout_s
        while not all(isinstance(call.state.value.status, CallStatusConnected) for call in self.calls):
            if time.monotonic() > deadline:
                raise AssertionError(f"not connected again: {self.statuses}")
            await asyncio.sleep(POLL_S)

    def disconnected(self) -> list[CallStatus]:
        return [s for seen in self.statuses for s in seen if s.is_disconnected]


def kill_sfu_worker(serve: WeirServe, room: SdkCall) -> float:
    """SIGKILL the worker that carries the call; returns when it was killed (``time.monotonic()``)."""
    pid = serve.worker_listening_on(room.sfu_port())
    os.kill(pid, signal.SIGKILL)
    return time.monotonic()


async def sfu_worker_recoveries(serve: WeirServe, room: SdkCall, kills: int) -> list[float]:
    """Kill the call's worker ``kills`` times, each time once media flows and every worker is up; seconds from
    each kill to the first video frame of a new session on both sides."""
    spans = []
    for _ in range(kills):
        await room.connected()
        await room.media_again(set())
        await asyncio.to_thread(serve.wait_for_workers)
        before = room.sessions()
        killed = kill_sfu_worker(serve, room)
        spans.append(await room.media_again(before) - killed)
    return spans


async def coordinator_recovery(serve: WeirServe, room: SdkCall) -> tuple[float, float]:
    """SIGKILL ``weir serve`` and start it again at once; seconds from the kill, and from the server answering
    again, to the first video frame of a new session on both sides."""
    await room.connected()
    await room.media_again(set())
    before = room.sessions()
    killed = time.monotonic()
    serve.kill()
    ready = await asyncio.to_thread(serve.start)
    back = await room.media_again(before)
    return back - killed, back - ready
