"""``weir serve``'s ingress worker: one process, started when an ingress listener is configured, restarted
when it exits (the recording workers' supervision)."""

from __future__ import annotations

from weir.egress.supervisor import EgressWorkers

__all__ = ["IngressWorker"]


class IngressWorker(EgressWorkers):
    MODULE = "weir.ingress.process"

    def count(self) -> int:
        return 1 if self.settings.ingress_rtmp_port or self.settings.ingress_srt_port else 0
