"""Where Weir sends HTTP on an operator's or API caller's word (webhooks, push providers): never to loopback,
private, link-local, multicast or other non-public addresses, unless the operator allows it.

Two checks, because a name can resolve anywhere: a URL whose host is an address (in any form the resolver
accepts, "127.1" included) or a localhost name is refused when it is set; and every connection resolves the
name itself, refuses if any address is not public, and connects to the address it checked (no second lookup
a rebinding DNS server could answer differently).
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import unquote, urlsplit

import anyio
import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def non_public(address: IPAddress) -> str | None:
    """Why Weir doesn't send to ``address`` (None: it's a public address)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for kind in ("loopback", "link_local", "multicast", "private", "unspecified", "reserved"):
        if getattr(address, f"is_{kind}"):
            return kind.replace("_", "-")
    return None if address.is_global else "non-public"


def _numeric(host: str) -> IPAddress | None:
    """The address a host names without DNS ("127.1", "2130706433", "[::1]"), if it is one."""
    try:
        info = socket.getaddrinfo(host.strip("[]"), None, flags=socket.AI_NUMERICHOST)
    except (socket.gaierror, UnicodeError, ValueError):
        return None
    return ipaddress.ip_address(str(info[0][4][0]).split("%")[0])


def refused_host(host: str) -> str | None:
    """Why a URL's host is refused before any lookup (None: it is a name to check when connecting)."""
    name = host.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return "a loopback name"
    address = _numeric(name)
    reason = non_public(address) if address is not None else None
    return f"a {reason} address" if reason else None


def check_destination(url: str, allow_private: bool) -> None:
    """``ValueError`` when ``url`` points at a refused destination (for a 400 naming the field)."""
    host = urlsplit(url).hostname or ""
    reason = None if allow_private else refused_host(host)
    if reason:
        raise ValueError(f"points at {host}, {reason}: Weir sends only to public addresses "
                         "(WEIR_ALLOW_PRIVATE_DESTINATIONS allows others)")


def loggable(url: str) -> str:
    """``url`` without the password of a ``user:password@`` part, for logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:****@{parts.netloc.rsplit('@', 1)[1]}"
    return parts._replace(netloc=netloc).geturl()


def without_credentials(url: str) -> tuple[str, httpx.BasicAuth | None]:
    """``url`` without its ``user:password@`` part, and that part as Basic auth: the request is the same, and
    the URL httpx logs holds no password."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None
    bare = parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]).geturl()
    return bare, httpx.BasicAuth(unquote(parts.username or ""), unquote(parts.password or ""))


class RefusedDestination(httpcore.ConnectError):
    """The name resolved to an address Weir doesn't send to (httpx raises it as ``httpx.ConnectError``)."""


class _PublicOnly(httpcore.AsyncNetworkBackend):
    """Resolves, checks every address, and connects to a checked one."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self.inner = inner

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None, socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        try:
            infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise httpcore.ConnectError(f"{host} does not resolve: {exc}") from exc
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
        for address in addresses:
            reason = non_public(address)
            if reason:
                raise RefusedDestination(f"{host} resolves to {address}, a {reason} address: not sent")
        return await self.inner.connect_tcp(str(addresses[0]), port, timeout, local_address, socket_options)

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("Unix sockets are not a destination")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def outbound_client(allow_private: bool, **options: Any) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` for webhook and push requests: public addresses only unless ``allow_private``;
    no proxies from the environment (the check is on the address the request really goes to)."""
    transport_options = {k: options.pop(k) for k in ("http1", "http2", "limits") if k in options}
    transport = httpx.AsyncHTTPTransport(trust_env=False, **transport_options)
    if not allow_private:
        pool = transport._pool  # httpx builds the pool; the guard wraps its network backend
        pool._network_backend = _PublicOnly(pool._network_backend)
    return httpx.AsyncClient(transport=transport, trust_env=False, **options)
