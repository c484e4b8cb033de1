"""One SFU session: the signaling socket and the two peer connections, from ``join`` to ``leave``.

Signaling events are handled in the order they arrive: subscriber offers are answered, trickled candidates
applied, and everything else (participants, audio levels, pins, grants, errors, ...) handed to the call. A lost
socket, an ICE failure of either connection, and SFU errors are reported through ``on_trouble`` for the
reconnection logic to judge.
"""

from __future__ import annotations

import logging
import platform
import ssl
from collections.abc import Callable
from dataclasses import dataclass

import aiortc
from aiortc.mediastreams import MediaStreamTrack

from weir import __version__
from weir.client.call_actions import SDK_NAME
from weir.client.media.ice import IceConfig
from weir.client.sfu.peers import Publisher, Subscriber
from weir.client.sfu.socket import SfuSocket
from weir.protocol.sfu.events import (
    AnyEvent,
    ChangePublishQualityEvent,
    IceTrickleEvent,
    JoinResponseEvent,
    SubscriberOfferEvent,
)
from weir.protocol.sfu.models import ClientCapability, ClientDetails, ReconnectDetails, TrackSubscription
from weir.protocol.sfu.requests import (
    IceRestartRequest,
    JoinRequest,
    LeaveRequest,
    Request,
    UpdateSubscriptionsRequest,
)
from weir.protocol.sfu_edges import Credentials

log = logging.getLogger(__name__)


def client_details() -> ClientDetails:
    return ClientDetails(sdk=SDK_NAME, sdk_version=__version__, os=f"{platform.system()} {platform.release()}"[:128],
                         device=platform.machine(), webrtc_version=f"aiortc {aiortc.__version__}")


@dataclass(frozen=True)
class SessionHandlers:
    on_event: Callable[[AnyEvent], None]  # every event but offers and candidates, after the socket's own use
    on_track: Callable[[MediaStreamTrack], None]  # a received track (its id is "<session id>|<track type>")
    on_trouble: Callable[[str], None]  # "socket" (lost) or "ice" (a connection failed)


class SfuSession:
    def __init__(self, credentials: Credentials, session_id: str, ice: IceConfig, handlers: SessionHandlers,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.credentials, self.session_id, self.handlers = credentials, session_id, handlers
        self.edge = credentials.server.edge_name
        self._ssl = ssl_context
        self.socket = self.new_socket()
        self.subscriber = Subscriber(ice, self.socket.send, handlers.on_track)
        self.publisher: Publisher | None = None
        self.join_response: JoinResponseEvent | None = None
        self._ice = ice
        self._closed = False
        self.subscriber.pc.on("connectionstatechange", lambda: self._pc_state(self.subscriber.pc.connectionState))

    async def join(self, reconnect: ReconnectDetails | None = None) -> JoinResponseEvent:
        """Open the socket and join; raises ``SfuError`` if the SFU refuses, ``ConnectionError`` if unreachable."""
        await self.socket.open()
        request = JoinRequest(token=self.credentials.token, session_id=self.session_id,
                              client_details=client_details(),
                              capabilities=[ClientCapability.SUBSCRIBER_VIDEO_PAUSE], reconnect_details=reconnect)
        response = await self.socket.request(request, JoinResponseEvent)
        self.join_response = response
        return response

    async def resume(self, attempt: int) -> JoinResponseEvent:
        """A fast reconnect: the same session over a new socket, then an ICE restart of both connections."""
        await self.socket.close()
        self.attach_socket(self.new_socket())
        response = await self.join(ReconnectDetails(strategy="fast", attempt=attempt))
        await self.socket.send(IceRestartRequest(target="subscriber"))
        if self.publisher is not None:
            await self.publisher.negotiate(ice_restart=True)
        return response

    def attach_socket(self, socket: SfuSocket) -> None:
        """A fast reconnect: the session continues over a new socket (``join`` with strategy fast on it)."""
        self.socket = socket
        self.subscriber._send = socket.send
        if self.publisher is not None:
            self.publisher._send, self.publisher._request = socket.send, socket.request

    def new_socket(self) -> SfuSocket:
        return SfuSocket(self.credentials.server.url, self._on_event, lambda: self._trouble("socket"),
                         ssl_context=self._ssl)

    def ensure_publisher(self, simulcast: bool = True, video_codec: str | None = None) -> Publisher:
        if self.publisher is None:
            options = self.join_response.publish_options if self.join_response else []
            self.publisher = Publisher(self._ice, self.socket.send, self.socket.request, options, simulcast,
                                       video_codec)
            self.publisher.pc.on("connectionstatechange",
                                 lambda: self._pc_state(self.publisher.pc.connectionState if self.publisher else ""))
        return self.publisher

    async def send(self, request: Request) -> None:
        await self.socket.send(request)

    async def update_subscriptions(self, tracks: list[TrackSubscription]) -> None:
        await self.socket.send(UpdateSubscriptionsRequest(tracks=tracks))

    async def _on_event(self, event: AnyEvent) -> None:
        if isinstance(event, SubscriberOfferEvent):
            await self.subscriber.answer(event)
        elif isinstance(event, ChangePublishQualityEvent):
            if self.publisher is not None:
                self.publisher.change_quality(event.video_senders)
            self.handlers.on_event(event)
        elif isinstance(event, IceTrickleEvent):
            peer = self.subscriber if event.target == "subscriber" else self.publisher
            if peer is not None:
                candidate = event.candidate.candidate if event.candidate is not None else None
                try:
                    await peer.add_candidate(candidate or None)
                except ValueError as error:
                    log.info("ignoring a bad candidate from the SFU: %s", error)
        else:
            self.handlers.on_event(event)

    def _pc_state(self, state: str) -> None:
        # aiortc closes a connection whose ICE path died (its DTLS transport ends with it): either is a failure
        # unless this session is closing
        if state in ("failed", "closed"):
            self._trouble("ice")

    def _trouble(self, what: str) -> None:
        if not self._closed:
            self.handlers.on_trouble(what)

    async def leave(self, reason: str = "") -> None:
        """Tell the SFU this participant leaves (it closes the socket), then close everything."""
        if self.socket.is_open:
            try:
                await self.socket.send(LeaveRequest(reason=reason))
            except ConnectionError:
                pass
        await self.close()

    async def close(self) -> None:
        self._closed = True
        await self.socket.close()
        await self.subscriber.close()
        if self.publisher is not None:
            await self.publisher.close()


__all__ = ["SessionHandlers", "SfuSession", "client_details"]
