"""Entry point of the ingress worker process started by ``weir serve`` (``ingress.supervisor``)."""

from __future__ import annotations

from weir.egress.process import run_process
from weir.ingress.worker import run_worker

if __name__ == "__main__":
    run_process("ingress", run_worker)
