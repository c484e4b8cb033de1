"""Coordinator API models that point clients at an SFU: join credentials, stats options and the edge list."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class IceServer(BaseModel):
    """A STUN or TURN server for the client's peer connections (``RTCIceServer``)."""

    model_config = ConfigDict(extra="forbid")

    urls: list[str] = Field(min_length=1, description="stun:, turn: or turns: URLs")
    username: str = ""
    password: str = ""


class SfuServer(BaseModel):
    url: str = Field(description="The SFU's signaling WebSocket (docs/protocol.md)")
    edge_name: str


class Credentials(BaseModel):
    server: SfuServer
    token: str = Field(description="Short-lived SFU token: the 'join' request's token")
    ice_servers: list[IceServer]


class StatsOptions(BaseModel):
    reporting_interval_ms: int = Field(description="How often the client sends 'send_stats' to the SFU")


class Edge(BaseModel):
    name: str
    latency_test_url: str = Field(description="GET it a few times and time the answers to pick the nearest edge")


class GetEdgesResponse(BaseModel):
    edges: list[Edge]
    duration: str = ""
