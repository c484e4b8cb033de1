"""Entry point of a transcription worker process started by ``weir serve`` (``egress.supervisor``)."""

from __future__ import annotations

from weir.ai.worker import run_ai_worker
from weir.egress.process import start

if __name__ == "__main__":
    start(run_ai_worker, "ai")
