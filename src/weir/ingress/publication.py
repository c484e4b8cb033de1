"""One encoder's stream in one call: its participant, joined through Weir's client SDK, its tracks, its events.

The protocol readers (``rtmp_server.py``) take the encoder's bytes apart and hand this class H.264 access units
and AAC frames; it publishes them (``media.py``), so the SFU sees an ordinary WebRTC publisher and its packet
path stays as it is. The coordinator hears of the stream through the internal channel (``channel.py``), which
emits ``ingress.started``, ``ingress.stopped`` and ``ingress.error``.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from dataclasses import dataclass

from weir.client import (
    Call,
    CallConnectOptions,
    CallPreferences,
    ClientPublishOptions,
    PreferredCodec,
    StreamVideo,
    StreamVideoOptions,
    TrackOption,
    User,
)
from weir.domain.ingress import IngressProtocol, publisher_token
from weir.ingress.channel import Channel
from weir.ingress.flv import AacPacket, AvcConfig, AvcFrame
from weir.ingress.media import AacDecoder, PacketTrack, QueueTrack
from weir.protocol.errors import APIError

__all__ = ["Publication", "Refused"]

log = logging.getLogger(__name__)


class Refused(Exception):
    """The stream may not be published (bad key, no such call, no permission): tell the encoder why."""


@dataclass(frozen=True)
class Target:
    call_type: str
    call_id: str
    stream_key: str

    @property
    def cid(self) -> str:
        return f"{self.call_type}:{self.call_id}"


def parse_target(path: str) -> Target:
    """``<call_type>/<call_id>/<user token>`` (the app and the stream key joined; encoders split them
    differently)."""
    parts = [part for part in path.split("/") if part]
    if len(parts) != 3:
        raise Refused("publish to <address>/<call_type>/<call_id> with a user token as the stream key")
    return Target(*parts)


class Publication:
    def __init__(self, channel: Channel, protocol: IngressProtocol, client_ip: str | None) -> None:
        self.channel, self.protocol, self.client_ip = channel, protocol, client_ip
        self.id = uuid.uuid4().hex
        self.video = PacketTrack()
        self.audio = QueueTrack("audio")
        self.target: Target | None = None
        self.user_id = ""
        self._client: StreamVideo | None = None
        self._call: Call | None = None
        self._decoder: AacDecoder | None = None
        self._started = False

    async def open(self, target: Target) -> None:
        """Check the key and join the call as its user, publishing both tracks; ``Refused`` saying why not."""
        settings = self.channel.settings
        assert settings.api_key is not None and settings.api_secret is not None
        try:
            self.user_id, token = publisher_token(settings.api_secret, target.stream_key, self.protocol)
        except APIError as error:
            raise Refused(f"the stream key is refused: {error.message}") from None
        self._client = StreamVideo.create(settings.api_key, user=User.regular(self.user_id), user_token=token,
                                          options=StreamVideoOptions(coordinator_rpc_url=self.channel.base_url,
                                                                     include_user_details_for_auto_connect=False))
        call = self._client.make_call(target.call_type, target.call_id)
        call.update_call_preferences(CallPreferences(client_publish_options=ClientPublishOptions(
            preferred_codec=PreferredCodec.H264, max_simulcast_layers=1)))
        try:
            ingress = (await call.get(watch=False)).call.settings.get("ingress") or {}
            if not ingress.get("enabled", True):
                raise Refused("ingress is turned off for this call (settings.ingress.enabled)")
            await call.join(connect_options=CallConnectOptions(camera=TrackOption.enabled(self.video),
                                                               microphone=TrackOption.enabled(self.audio)))
            await call.set_incoming_video_enabled(False)
        except Refused:
            await self._disconnect()
            raise
        except Exception as error:  # noqa: BLE001 (a join refused for any reason is the encoder's refusal)
            await self._disconnect()
            message = error.message if isinstance(error, APIError) else str(error)
            raise Refused(f"cannot join call {target.cid}: {message}") from None
        self._call, self.target = call, target

    @property
    def is_started(self) -> bool:
        return self._started

    async def started(self, client_name: str | None, version: str | None) -> None:
        if self._started or self.target is None:
            return
        self._started = True
        await self.channel.event(self.target.cid, "ingress.started", ingress_stream_id=self.id,
                                 user_id=self.user_id, publisher_type=self.protocol, client_ip=self.client_ip,
                                 client_name=client_name, version=version)

    def push_video(self, frame: AvcFrame, config: AvcConfig, timestamp_ms: int) -> None:
        self.video.push(frame, config, timestamp_ms)

    def push_audio(self, packet: AacPacket) -> None:
        if packet.kind == "config":
            self._decoder = AacDecoder(packet.data)
        elif self._decoder is not None:
            self._decode(self._decoder, packet.data)

    def push_adts(self, data: bytes) -> None:
        """AAC frames with ADTS headers (MPEG-TS): no configuration needed."""
        if self._decoder is None:
            self._decoder = AacDecoder(None)
        self._decode(self._decoder, data)

    def _decode(self, decoder: AacDecoder, data: bytes) -> None:
        for frame in decoder.decode(data):
            self.audio.put(frame)

    async def close(self, error: str | None = None, code: str | None = None) -> None:
        """Leave the call; ``ingress.error`` (if ``error``) and ``ingress.stopped`` once it had started."""
        self.video.end()
        self.audio.end()
        await self._disconnect()
        if self.target is None:
            return
        cid, user_id = self.target.cid, self.user_id
        if error is not None:
            await self.channel.event(cid, "ingress.error", ingress_stream_id=self.id, user_id=user_id,
                                     error=error, code=code)
        if self._started:
            await self.channel.event(cid, "ingress.stopped", ingress_stream_id=self.id, user_id=user_id)
        self.target = None

    async def _disconnect(self) -> None:
        client, self._client, self._call = self._client, None, None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.disconnect()
