"""``weir serve``'s ingress worker: one process, started when an ingress listener is configured, restarted
when it exits (the recording workers' supervision)."""

from __future__ import annotations

from weir.config import Settings
from weir.egress.supervisor import EgressWorkers

__all__ = ["IngressWorker"]


class IngressWorker(EgressWorkers):
    def __init__(self, settings: Settings) -> None:
        listening = bool(settings.ingress_rtmp_port or settings.ingress_srt_port)
        super().__init__(settings, "weir.ingress.process", 1 if listening else 0)
