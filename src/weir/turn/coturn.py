"""coturn as a child process of ``weir serve`` (``WEIR_TURN_ENABLED``).

``Coturn`` writes a config file into ``<data dir>/turn/`` (mode 0600: it holds the shared secret), starts
``turnserver -c`` on it, waits until its TCP listener accepts, and stops it with the app (should Weir be killed,
the kernel stops it: ``PR_SET_PDEATHSIG``). coturn listens only on the configured address, authenticates with
the TURN REST API secret that join's credentials are made from, and has no CLI, TLS or RFC 5780 listeners.

Clients may relay only to public addresses and to the SFU's own ICE addresses: loopback, private, link-local and
other local ranges are denied (coturn's ``denied-peer-ip``), the SFU's addresses allowed (``allowed-peer-ip``,
which coturn checks first). coturn filters addresses, not ports: every UDP port of an SFU address stays
reachable through the relay (docs/security.md).
"""

from __future__ import annotations

import asyncio
import ctypes
import ipaddress
import logging
import shutil
import signal
import socket
from pathlib import Path

from weir.config import Settings, private_files

logger = logging.getLogger(__name__)

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0
WILDCARDS = ("0.0.0.0", "::")
PR_SET_PDEATHSIG = 1
# Peers no client may relay to: "this network", loopback, private (RFC 1918, shared, unique local), link-local
# (169.254.169.254 included), IETF-reserved, benchmarking, multicast and reserved ranges.
DENIED_PEERS = (
    "0.0.0.0-0.255.255.255", "10.0.0.0-10.255.255.255", "100.64.0.0-100.127.255.255",
    "127.0.0.0-127.255.255.255", "169.254.0.0-169.254.255.255", "172.16.0.0-172.31.255.255",
    "192.0.0.0-192.0.0.255", "192.168.0.0-192.168.255.255", "198.18.0.0-198.19.255.255",
    "224.0.0.0-255.255.255.255", "::", "::1", "fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    "fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
)


class TurnServerError(RuntimeError):
    """coturn is missing, or did not start."""


def coturn_config(settings: Settings, state_dir: Path, sfu_addresses: tuple[str, ...]) -> str:
    """The text of coturn's config file for these settings, with its pid, log and database in ``state_dir``;
    peers are limited to public addresses and ``sfu_addresses``."""
    listening = settings.turn_listening_address
    relay = settings.turn_relay_address or listening
    lines = [
        f"listening-port={settings.turn_port}",
        f"min-port={settings.turn_relay_port_min}",
        f"max-port={settings.turn_relay_port_max}",
        f"realm={settings.turn_realm}",
        "use-auth-secret",
        f"static-auth-secret={settings.turn_secret}",
        "fingerprint",
        "no-cli",
        "no-tls",
        "no-dtls",
        "no-rfc5780",
        "no-multicast-peers",
        "no-software-attribute",
        f"pidfile={state_dir / 'turnserver.pid'}",
        f"userdb={state_dir / 'turndb'}",
        f"log-file={state_dir / 'turnserver.log'}",
        "simple-log",
        "no-stdout-log",
    ]
    if listening not in WILDCARDS:
        lines.append(f"listening-ip={listening}")
    if relay not in WILDCARDS:
        lines.append(f"relay-ip={relay}")
    if any(ipaddress.ip_address(address).is_loopback for address in sfu_addresses):
        lines.append("allow-loopback-peers")  # coturn's own switch; the lists below still keep loopback to the SFU
    lines += [f"allowed-peer-ip={address}" for address in sfu_addresses]
    lines += [f"denied-peer-ip={peers}" for peers in DENIED_PEERS]
    return "\n".join(lines) + "\n"


def _die_with_parent() -> None:
    """Run in the child before exec: coturn is sent SIGTERM when Weir's process dies, even when it is killed."""
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Coturn:
    """One coturn process for the app's lifetime."""

    def __init__(self, settings: Settings, sfu_addresses: tuple[str, ...]) -> None:
        binary = shutil.which(settings.turnserver)
        if binary is None:
            raise TurnServerError(
                f"WEIR_TURN_ENABLED is set but coturn's turnserver was not found (WEIR_TURNSERVER="
                f"{settings.turnserver!r}). Install Debian's coturn package (scripts/coturn.sh does) or point "
                "WEIR_TURNSERVER at the binary.")
        self._binary = binary
        self._settings = settings
        self._sfu_addresses = sfu_addresses
        self._dir = (settings.data_dir / "turn").resolve()
        self._process: asyncio.subprocess.Process | None = None

    @property
    def log_path(self) -> Path:
        return self._dir / "turnserver.log"

    async def start(self) -> None:
        self._ensure_port_free()
        config = self._dir / "turnserver.conf"
        with private_files():  # the config holds the shared secret
            self._dir.mkdir(parents=True, exist_ok=True)
            config.unlink(missing_ok=True)  # written anew, so made with the umask's mode
            config.write_text(coturn_config(self._settings, self._dir, self._sfu_addresses))
        self.log_path.unlink(missing_ok=True)
        self._process = await asyncio.create_subprocess_exec(
            self._binary, "-c", str(config),
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        try:
            await asyncio.wait_for(self._until_listening(), START_TIMEOUT_S)
        except (TimeoutError, TurnServerError) as exc:
            await self.stop()
            raise TurnServerError(f"coturn did not start ({exc or 'timed out'}); its log:\n{self._log_tail()}") from exc
        logger.info("coturn (pid %s) listening on %s:%s", self._process.pid, self._settings.turn_listening_address,
                    self._settings.turn_port)

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            process.kill()
            await process.wait()

    def _ensure_port_free(self) -> None:
        """coturn binds with SO_REUSEPORT, so a second coturn on the port would start and share its traffic with
        the first; a bind without it tells us first (SO_REUSEADDR on TCP: a listener fails it, TIME_WAIT does not)."""
        address, port = self._settings.turn_listening_address, self._settings.turn_port
        family = socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            with socket.socket(family, kind) as probe:
                if kind == socket.SOCK_STREAM:
                    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    probe.bind((address, port))
                except OSError as exc:
                    raise TurnServerError(f"cannot start coturn on {address}:{port}: {exc.strerror}") from exc

    async def _until_listening(self) -> None:
        address = self._settings.turn_listening_address
        host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(address, address)
        assert self._process is not None
        while True:
            if self._process.returncode is not None:
                raise TurnServerError(f"exit status {self._process.returncode}")
            try:
                _, writer = await asyncio.open_connection(host, self._settings.turn_port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            return

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
