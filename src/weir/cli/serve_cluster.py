"""``weir serve --workers N``: N coordinator processes on one listening socket, sharing PostgreSQL and Redis.

The parent binds the socket, starts the processes (each a whole coordinator: API, WebSockets, scheduler, outboxes)
and starts again any that dies. Process 0 alone supervises the SFU media, recording, AI and ingress workers and
coturn; its SFU media workers reach it on a loopback port of its own (``internal_port``), since a request to the
shared port may land on any process.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import signal
import socket
import sys
import time
from multiprocessing.process import BaseProcess
from typing import Any

import uvicorn

from weir.config import Settings
from weir.logging_setup import configure_logging
from weir.sealing import load_sealer
from weir.serving import uvicorn_config

log = logging.getLogger(__name__)

RESTART_DELAY_SECONDS = 1.0
PR_SET_PDEATHSIG = 1


def cluster_problem(settings: Settings, workers: int) -> str | None:
    """Why ``workers`` processes can't share this configuration, or None."""
    if workers <= 1:
        return None
    missing = []
    if not settings.redis_url:
        missing.append("WEIR_REDIS_URL (events, rate limits and presence shared by the processes)")
    if not settings.resolved_database_url.startswith("postgresql"):
        missing.append("a PostgreSQL WEIR_DATABASE_URL (SQLite is one process's database)")
    if not settings.sfu_workers:
        missing.append("SFU media workers (WEIR_SFU_WORKERS > 0: the SFU can't run inside several processes)")
    if not missing:
        return None
    return f"--workers {workers} needs " + " and ".join(missing)


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _child(index: int, overrides: dict[str, Any], sockets: list[socket.socket], log_level: str) -> None:
    """One coordinator process (in a fresh interpreter: the multiprocessing spawn method)."""
    if sys.platform == "linux":  # SIGTERM when the parent dies, even by SIGKILL: no coordinator outlives it
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    from weir.coordinator.app import create_app  # imported in the child, after the spawn

    settings = Settings(**overrides)
    settings.cluster_index = index
    if index == 0:
        settings.internal_port = sockets[1].getsockname()[1]
    configure_logging(settings.log_format, log_level, f"coordinator-{index}")
    app = create_app(settings)
    server = uvicorn.Server(uvicorn_config(app, host=settings.host, port=settings.port, log_level=log_level,
                                           ssl_certfile=settings.tls_certfile, ssl_keyfile=settings.tls_keyfile,
                                           log_config=None))  # configure_logging did it
    server.run(sockets=sockets)


def run_cluster(overrides: dict[str, Any], settings: Settings, workers: int, log_level: str) -> None:
    """Serve until SIGINT or SIGTERM, which every process receives in turn and shuts down on."""
    load_sealer(settings.secret_key, settings.data_dir)  # the data folder's key, made once before the processes
    shared = _listen(settings.host, settings.port)
    internal = _listen("127.0.0.1", 0)  # process 0's SFU media workers' channel
    context = multiprocessing.get_context("spawn")
    stopping = False

    def start(index: int) -> BaseProcess:
        sockets = [shared, internal] if index == 0 else [shared]
        process = context.Process(target=_child, args=(index, overrides, sockets, log_level),
                                  name=f"weir-coordinator-{index}")
        process.start()
        return process

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    processes = [start(index) for index in range(workers)]
    while not stopping:
        time.sleep(0.2)
        for index, process in enumerate(processes):
            if not process.is_alive() and not stopping:
                log.warning("coordinator process %d exited (%s); starting it again", index, process.exitcode)
                time.sleep(RESTART_DELAY_SECONDS)
                processes[index] = start(index)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(30)
        if process.is_alive():
            process.kill()
