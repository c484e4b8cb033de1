"""Ingress in the wire format: the addresses a call shows (``CallResponse.ingress``) and the internal channel's
event report."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["CallIngressResponse", "IngressAddress", "IngressEventReport"]


class IngressAddress(BaseModel):
    address: str = ""


class CallIngressResponse(BaseModel):
    """Where encoders publish into the call: RTMP (the stream key is a user token), SRT (the token ends the
    stream id) and WHIP (a user token as bearer). An address is empty where that listener is off."""

    rtmp: IngressAddress = IngressAddress()
    srt: IngressAddress = IngressAddress()
    whip: IngressAddress = IngressAddress()


class IngressEventReport(BaseModel):
    """What the ingress worker asks the coordinator to emit."""

    model_config = ConfigDict(extra="forbid")

    call_cid: str
    event: dict[str, Any]


IngressEventType = Literal["ingress.started", "ingress.stopped", "ingress.error"]
