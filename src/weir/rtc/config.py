"""``IceConfig``: which addresses and UDP ports the media plane gathers and advertises.

``WEIR_ICE_HOST_ADDRESSES`` (comma-separated) names the addresses; without it, every address of the machine
except loopback and IPv6 link-local, or ``127.0.0.1`` alone when loopback is the only interface (a network
namespace with only ``lo``, as under ``unshare -n``). ``WEIR_ICE_PORT_MIN`` and ``WEIR_ICE_PORT_MAX`` bound the
UDP ports; 0 leaves the choice to the system.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass

from aioice.ice import get_host_addresses

__all__ = ["CONNECT_TIMEOUT_S", "IceConfig", "machine_addresses"]

CONNECT_TIMEOUT_S = 20.0  # ICE checks plus DTLS handshake; past it the transport has failed
LOOPBACK = "127.0.0.1"


def machine_addresses() -> tuple[str, ...]:
    """The machine's addresses a peer could reach (no loopback, no IPv6 link-local), else 127.0.0.1 alone."""
    return tuple(dict.fromkeys(get_host_addresses(use_ipv4=True, use_ipv6=True))) or (LOOPBACK,)


def _port(environ: Mapping[str, str], name: str) -> int:
    raw = environ.get(name, "0").strip() or "0"
    try:
        port = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a port number, not {raw!r}") from None
    if not 0 <= port <= 65535:
        raise ValueError(f"{name} must be 0..65535, not {port}")
    return port


@dataclass(frozen=True)
class IceConfig:
    host_addresses: tuple[str, ...]  # only these are gathered and advertised
    port_min: int = 0
    port_max: int = 0
    connect_timeout_s: float = CONNECT_TIMEOUT_S

    def __post_init__(self) -> None:
        if not self.host_addresses:
            raise ValueError("at least one ICE host address is needed")
        for address in self.host_addresses:
            ipaddress.ip_address(address)  # raises ValueError naming the bad address
        if (self.port_min == 0) != (self.port_max == 0) or self.port_min > self.port_max:
            raise ValueError(f"bad ICE port range {self.port_min}-{self.port_max}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> IceConfig:
        env = os.environ if environ is None else environ
        listed = tuple(a.strip() for a in env.get("WEIR_ICE_HOST_ADDRESSES", "").split(",") if a.strip())
        return cls(
            host_addresses=listed or machine_addresses(),
            port_min=_port(env, "WEIR_ICE_PORT_MIN"),
            port_max=_port(env, "WEIR_ICE_PORT_MAX"),
        )
