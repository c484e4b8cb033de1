"""The programs a composite recording runs, each its own process group, each ended when the recording ends or
its worker dies: Xvfb (a display), PulseAudio (a null sink the browser plays into), Chromium (the layout page)
and ffmpeg."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Child", "EgressToolError", "chromium", "pulseaudio", "spawn", "tool", "xvfb"]

STARTUP_S = 15.0  # how long a program may take to come up on a loaded machine
STOP_S = 10.0  # how long a program may take to exit once asked
SINK = "weir_mix"


class EgressToolError(RuntimeError):
    """A program composite recording needs is missing, or failed."""


def tool(name: str) -> str:
    """The program ``name`` from scripts/egress-tools.sh's directory (WEIR_EGRESS_TOOLS), else from PATH."""
    directory = os.environ.get("WEIR_EGRESS_TOOLS")
    found = shutil.which(name, path=directory) if directory else None
    found = found or shutil.which(name)
    if not found:
        raise EgressToolError(f"{name} is missing: run scripts/egress-tools.sh (Xvfb, PulseAudio, ffmpeg)")
    return found


@dataclass(slots=True)
class Child:
    """A started program and where its output goes (its last lines explain a failure)."""

    name: str
    process: asyncio.subprocess.Process
    log: Path

    def failure(self) -> str:
        tail = self.log.read_text(errors="replace").strip().splitlines()[-5:] if self.log.exists() else []
        return f"{self.name} exited with {self.process.returncode}: " + " | ".join(tail)

    async def stop(self, sig: int = signal.SIGTERM) -> None:
        """``sig`` to the program's whole process group, then SIGKILL if it is still there after STOP_S."""
        if self.process.returncode is None:
            _signal_group(self.process.pid, sig)
            try:
                await asyncio.wait_for(self.process.wait(), STOP_S)
            except TimeoutError:
                pass
        _signal_group(self.process.pid, signal.SIGKILL)  # whatever the program left behind in its group
        await self.process.wait()


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


@asynccontextmanager
async def spawn(name: str, argv: Sequence[str], workdir: Path, env: Mapping[str, str] | None = None,
                pass_fds: Sequence[int] = ()) -> AsyncIterator[Child]:
    """Start ``argv`` in a new session; stopped (with its children) when the block ends, however it ends. The
    program gets SIGTERM if this process dies first (a worker killed mid-recording has no ``finally``): setpriv
    sets its parent-death signal, else the program would keep capturing, and the page stay in the call, for good."""
    log = workdir / f"{name}.log"
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            tool("setpriv"), "--pdeathsig", "TERM", "--", *argv, stdin=asyncio.subprocess.DEVNULL, stdout=output,
            stderr=output, start_new_session=True,
            env={**os.environ, **(env or {})}, pass_fds=tuple(pass_fds))
    child = Child(name, process, log)
    try:
        yield child
    finally:
        await asyncio.shield(child.stop())


async def _appears(path: Path, child: Child) -> None:
    deadline = asyncio.get_running_loop().time() + STARTUP_S
    while not path.exists():
        if child.process.returncode is not None:
            raise EgressToolError(child.failure())
        if asyncio.get_running_loop().time() > deadline:
            raise EgressToolError(f"{child.name} did not start in {STARTUP_S:.0f} s")
        await asyncio.sleep(0.05)


@asynccontextmanager
async def xvfb(width: int, height: int, workdir: Path) -> AsyncIterator[str]:
    """A virtual screen of ``width`` × ``height``; yields its DISPLAY. Xvfb picks a free display number."""
    read_end, write_end = os.pipe()
    try:
        argv = [tool("Xvfb"), "-displayfd", str(write_end), "-screen", "0", f"{width}x{height}x24", "-nolisten",
                "tcp", "-noreset"]
        async with spawn("xvfb", argv, workdir, pass_fds=[write_end]) as child:
            os.close(write_end)
            write_end = -1
            loop = asyncio.get_running_loop()
            try:
                number = await asyncio.wait_for(loop.run_in_executor(None, os.read, read_end, 32), STARTUP_S)
            except TimeoutError as error:
                raise EgressToolError(f"Xvfb did not start in {STARTUP_S:.0f} s") from error
            if not number.strip():
                raise EgressToolError(child.failure())
            yield f":{number.decode().strip()}"
    finally:
        os.close(read_end)
        if write_end >= 0:
            os.close(write_end)


@asynccontextmanager
async def pulseaudio(workdir: Path) -> AsyncIterator[dict[str, str]]:
    """A private PulseAudio server whose only (so default) sink is a null sink; yields the environment that
    points a client at it. Record ``weir_mix.monitor`` to hear everything played."""
    runtime = workdir / "pulse"
    runtime.mkdir()
    socket = runtime / "native"
    env = {"HOME": str(runtime), "XDG_RUNTIME_DIR": str(runtime), "PULSE_RUNTIME_PATH": str(runtime),
           "PULSE_STATE_PATH": str(runtime), "PULSE_SERVER": f"unix:{socket}"}
    argv = [tool("pulseaudio"), "--daemonize=no", "--exit-idle-time=-1", "--use-pid-file=no", "--system=no",
            "-n", "--disallow-module-loading", "--log-target=stderr",
            "-L", f"module-native-protocol-unix socket={socket} auth-anonymous=1",
            "-L", f"module-null-sink sink_name={SINK} rate=48000 channels=2"]
    async with spawn("pulseaudio", argv, workdir, env=env) as child:
        await _appears(socket, child)
        yield {"PULSE_SERVER": env["PULSE_SERVER"], "PULSE_SINK": SINK}


@asynccontextmanager
async def chromium(url: str, display: str, audio_env: Mapping[str, str], width: int, height: int,
                   workdir: Path) -> AsyncIterator[Child]:
    """Chromium showing ``url`` full screen on ``display``, playing into the PulseAudio sink. Kiosk mode with
    ``--app`` and ``--test-type`` leaves no browser chrome and no infobar in the frame."""
    browser = os.environ.get("WEIR_CHROMIUM") or shutil.which("chromium")
    if not browser:
        raise EgressToolError("chromium is missing: run scripts/chromium.sh and set WEIR_CHROMIUM to what it prints")
    argv = [browser, f"--user-data-dir={workdir / 'chromium'}", "--no-first-run", "--no-default-browser-check",
            "--kiosk", f"--window-size={width},{height}", "--window-position=0,0", "--force-device-scale-factor=1",
            "--autoplay-policy=no-user-gesture-required", "--allow-loopback-in-peer-connection",
            "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
            "--disable-backgrounding-occluded-windows", "--hide-scrollbars", "--password-store=basic",
            "--disable-features=Translate,MediaRouter,DialMediaRouteProvider", "--disable-dev-shm-usage",
            "--noerrdialogs", "--disable-infobars", "--disable-gpu", "--test-type"]
    if os.geteuid() == 0:
        argv.append("--no-sandbox")  # Chromium's sandbox refuses root
    async with spawn("chromium", [*argv, f"--app={url}"], workdir, env={"DISPLAY": display, **audio_env}) as child:
        yield child
