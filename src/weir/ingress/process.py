"""Entry point of the ingress worker process started by ``weir serve`` (``ingress.supervisor``)."""

from __future__ import annotations

from weir.egress.process import start
from weir.ingress.worker import run_worker

if __name__ == "__main__":
    start(run_worker, "ingress")
