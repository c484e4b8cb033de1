"""Several ``weir serve`` processes sharing one PostgreSQL database and one Redis (a key prefix of their own), as
subprocesses on free loopback ports. Used by tests/test_two_coordinators.py and bench/scale_coordinators.py;
nothing here imports pytest."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from weir.domain.tokens import create_token

WEIR = Path(sys.executable).parent / "weir"
LOOPBACK = "127.0.0.1"
START_TIMEOUT_S = 120.0  # `weir serve` can take a while to start on a loaded 2-core machine


@dataclass
class Cluster:
    database_url: str
    redis_url: str
    root: Path
    env: dict[str, str] = field(default_factory=dict)  # extra WEIR_* settings for every process
    api_key: str = "cluster-key"
    api_secret: str = field(default_factory=lambda: "cluster-secret-" + uuid.uuid4().hex)
    prefix: str = field(default_factory=lambda: "weir-cluster-" + uuid.uuid4().hex[:10])
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    by_url: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)  # each `weir serve`, by its base URL

    def token(self, user_id: str | None = None) -> str:
        return create_token(self.api_secret, user_id)

    def start(self, port: int, workers: int = 1, **env: str) -> str:
        """One more ``weir serve`` (``--workers`` processes; ``env``: further variables) on ``port``; its base URL
        once it answers."""
        data_dir = self.root / f"weir-{port}"
        env = {**os.environ, "WEIR_API_KEY": self.api_key, "WEIR_API_SECRET": self.api_secret,
               "WEIR_DATABASE_URL": self.database_url, "WEIR_REDIS_URL": self.redis_url,
               "WEIR_REDIS_PREFIX": self.prefix, "WEIR_ICE_HOST_ADDRESSES": LOOPBACK, "WEIR_SFU_WORKERS": "0",
               "WEIR_EGRESS_WORKERS": "0", "WEIR_AI_WORKERS": "0", "WEIR_INGRESS_RTMP_PORT": "0",
               "WEIR_INGRESS_SRT_PORT": "0", **self.env, **env}
        args = [str(WEIR), "serve", "--host", LOOPBACK, "--port", str(port), "--data-dir", str(data_dir),
                "--log-level", "warning", "--workers", str(workers)]
        process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, start_new_session=True)
        self.processes.append(process)
        base_url = f"http://{LOOPBACK}:{port}"
        self.by_url[base_url] = process
        deadline = time.monotonic() + START_TIMEOUT_S
        with httpx.Client(timeout=1.0) as http:
            while True:
                try:
                    if http.get(f"{base_url}/api/v1/health").status_code == 200:
                        return base_url
                except httpx.TransportError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"weir serve on port {port} did not start")
                time.sleep(0.05)

    @staticmethod
    def kill(process: subprocess.Popen[bytes]) -> None:
        """SIGKILL the whole process group: no shutdown at all."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill(process)
