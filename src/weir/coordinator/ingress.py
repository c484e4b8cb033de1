"""The coordinator's side of ingress: the addresses calls show, and the ingress worker process it starts.

The addresses depend on this server's settings, which call views do not see: the ``IngressBases`` ride in every
database session's ``info`` (set once at start-up), where ``callview.load`` picks them up.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from weir.config import Settings, reachable_host
from weir.domain.ingress import IngressBases
from weir.protocol.ingress import CallIngressResponse, IngressAddress

__all__ = ["INGRESS_INFO", "ingress_bases", "ingress_of", "ingress_response"]

INGRESS_INFO = "weir.ingress"
WHIP_PATH = "/sfu/whip"  # coordinator/sfu/whip.py's


def ingress_bases(settings: Settings) -> IngressBases:
    public = settings.public_base_url
    host = settings.ingress_public_host or reachable_host(settings.ingress_host)
    rtmp = f"rtmp://{host}:{settings.ingress_rtmp_port}" if settings.ingress_rtmp_port else ""
    srt = f"srt://{host}:{settings.ingress_srt_port}" if settings.ingress_srt_port else ""
    return IngressBases(rtmp=rtmp, srt=srt, whip=public.rstrip("/") + WHIP_PATH, api_key=settings.api_key or "")


def ingress_of(session: AsyncSession) -> IngressBases | None:
    found = session.info.get(INGRESS_INFO)
    return found if isinstance(found, IngressBases) else None


def ingress_response(bases: IngressBases | None, call_type: str, call_id: str) -> CallIngressResponse:
    if bases is None:
        return CallIngressResponse()
    found = bases.addresses(call_type, call_id)
    return CallIngressResponse(rtmp=IngressAddress(address=found["rtmp"]), srt=IngressAddress(address=found["srt"]),
                               whip=IngressAddress(address=found["whip"]))
