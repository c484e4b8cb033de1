"""A private nginx with Debian's RTMP module (scripts/nginx-rtmp.sh installs it) on a free loopback port: the
RTMP server the RTMP-out tests broadcast to and pull the stream back from."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import free_port, from_setup_script

STARTUP_S = 10.0


@dataclass
class NginxRtmp:
    process: subprocess.Popen[bytes]
    port: int

    @property
    def application(self) -> str:
        """The ``live`` application's URL: publish and play at ``<application>/<stream key>``."""
        return f"rtmp://127.0.0.1:{self.port}/live"

    def kill(self) -> None:
        """Gone at once, without a goodbye: the publisher's next write fails."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()


def _modules_path(nginx: str) -> str:
    version = subprocess.run([nginx, "-V"], capture_output=True, text=True, check=True).stderr
    found = re.search(r"--modules-path=(\S+)", version)
    return found[1] if found else "/usr/lib/nginx/modules"


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def running_nginx(directory: Path) -> Iterator[NginxRtmp]:
    """nginx in the foreground, one process, everything under ``directory``; killed when the block ends."""
    nginx = from_setup_script("WEIR_NGINX_RTMP", "nginx-rtmp.sh")
    port = free_port()
    (directory / "logs").mkdir(parents=True, exist_ok=True)
    config = directory / "nginx.conf"
    config.write_text(f"""load_module {_modules_path(nginx)}/ngx_rtmp_module.so;
daemon off;
master_process off;
pid {directory}/nginx.pid;
error_log {directory}/error.log info;
events {{ worker_connections 64; }}
rtmp {{
  server {{
    listen 127.0.0.1:{port};
    application live {{ live on; }}
  }}
}}
""")
    with (directory / "stderr.log").open("wb") as stderr:  # nginx has its own copy of the descriptor
        process = subprocess.Popen([nginx, "-p", str(directory), "-c", str(config)], stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        deadline = time.monotonic() + STARTUP_S
        while not _listening(port):
            assert process.poll() is None, (directory / "stderr.log").read_text()
            assert time.monotonic() < deadline, "nginx did not start listening"
            time.sleep(0.05)
        yield NginxRtmp(process, port)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
