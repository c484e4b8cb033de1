"""``CallMedia``: the media half of a ``Call``: the SFU session, local tracks and devices, subscriptions,
received frames, recordings and stats. Reconnection is ``call_reconnect.py``'s.

The call owns its ``CallMedia`` and calls its public methods (the ``Call`` methods of the same names delegate
here); the media reports back through the ``MediaListener`` it was given (it never imports ``call.py``): state
changes, background work, and the SFU's trouble (which the call's ``Reconnection`` answers).

Local tracks are kept by track type as *sources*; each publisher connection reads them through a
``SourceSwitch`` (media/switch.py), so a source outlives connections and can be swapped under a live sender.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

from aiortc.mediastreams import MediaStreamTrack

from weir.client._observable import StateStream
from weir.client.audio_processing import noise_cancellation_refusal
from weir.client.events import EventStream
from weir.client.media.denoise import DenoisedTrack, NoiseCancellation, rnnoise_library
from weir.client.media.devices import RtcMediaDevice, RtcMediaDeviceKind, enumerate_devices
from weir.client.media.ice import IceConfig
from weir.client.media.options import CallConnectOptions, FacingMode, TrackOption, VideoDimension
from weir.client.media.sinks import FrameStream, Recording, RemoteTracks, start_recording, track_key
from weir.client.media.sources import MediaSource, SyntheticSource, open_source
from weir.client.sfu.peers import KIND
from weir.client.sfu.reducer import apply_sfu_event
from weir.client.sfu.session import SessionHandlers, SfuSession
from weir.client.sfu.stats import CallStats, collect
from weir.client.state import CallParticipantState, CallState, SfuTrackType
from weir.client.status import CallStatus, CallStatusConnected, CallStatusDisconnected, DisconnectReasonEnded
from weir.protocol.calls import JoinCallResponse
from weir.protocol.sfu import events as sfu
from weir.protocol.sfu.models import Dimension, ReconnectDetails, TrackSubscription, TrackType
from weir.protocol.sfu.requests import SendStatsRequest

log = logging.getLogger(__name__)
T = TypeVar("T")
VIDEO_TYPES = (SfuTrackType.VIDEO, SfuTrackType.SCREEN_SHARE)
SCREEN_SHARE_SHADE = 96  # the synthetic screen share is a brighter pattern than the camera's
FACING_SHADE = {FacingMode.USER: 0, FacingMode.ENVIRONMENT: 160}
COORDINATOR_GRACE = 2.0  # seconds the coordinator's event may take to follow the SFU's word that the call is over


class MediaListener(Protocol):
    """What a ``CallMedia`` reports to the call that owns it."""

    def update(self, state: CallState) -> None:
        """Set the call's state (the call filters it and tells the client of a new status)."""
        ...

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` in the background, until it ends or the client disconnects."""
        ...

    def sfu_trouble(self, what: str) -> None:
        """The session's socket was lost (``"socket"``) or a peer connection failed (``"ice"``)."""
        ...

    def sfu_problem(self, event: sfu.ErrorEvent | sfu.GoAwayEvent) -> None:
        """The SFU sent an error or asked the client to go away."""
        ...


class CallMedia:
    """One call's media; every method here needs ``join()`` to have connected, unless it says otherwise."""

    def __init__(self, state: StateStream[CallState], events: EventStream, listener: MediaListener,
                 ssl_context: ssl.SSLContext | None) -> None:
        self._state = state
        self._events = events
        self._listener = listener
        self._ssl = ssl_context
        self.stats: StateStream[CallStats] = StateStream(CallStats())
        self.connect_options = CallConnectOptions()
        self._sfu: SfuSession | None = None
        self._stats_interval = 10.0
        self._remote = RemoteTracks()
        self._sources: dict[TrackType, MediaStreamTrack] = {}
        self._owned: set[MediaStreamTrack] = set()  # sources the SDK opened (the application's are not stopped)
        self._chosen: dict[TrackType, MediaSource | None] = {}
        self._facing = FacingMode.USER
        self._preferred: dict[str | None, VideoDimension | None] = {}  # None: every participant
        self._video_off: set[str | None] = set()  # None: incoming video disabled for everyone
        self._subscribed: list[TrackSubscription] | None = None
        self._seen_tracks: dict[str, set[SfuTrackType]] = {}  # by session: the tracks it has published
        self._media_tasks: list[asyncio.Task[Any]] = []
        self._media_lock = asyncio.Lock()
        self._noise = NoiseCancellation()
        self._denoised: DenoisedTrack | None = None  # the microphone as sent, through the noise filter

    # --- connecting -------------------------------------------------------------------------------------
    @property
    def session(self) -> SfuSession | None:
        """The current SFU session (None before ``join()`` and once the media closed)."""
        return self._sfu

    def restore(self, session: SfuSession) -> None:
        """A rejoin failed: ``session`` (the one it replaced) is current again, for the next attempt."""
        self._sfu = session

    async def open_sfu(self, joined: JoinCallResponse, reconnect: ReconnectDetails | None = None) -> SfuSession:
        """Join the SFU with the coordinator's credentials; the join response updates the state."""
        def current(handler: Callable[[T], None]) -> Callable[[T], None]:
            """Only the current session speaks for the call (a migration's old one carries media until closed)."""
            return lambda value: handler(value) if self._sfu is session else None

        handlers = SessionHandlers(current(self._on_sfu_event), self._remote.add, current(self._listener.sfu_trouble))
        session = SfuSession(joined.credentials, joined.user_session_id, IceConfig.from_env(), handlers,
                             self._ssl)
        self._sfu = session
        self._stats_interval = joined.stats_options.reporting_interval_ms / 1000
        try:
            await session.join(reconnect)
        except BaseException:
            self._sfu = None
            await session.close()
            raise
        return session

    async def start(self, options: CallConnectOptions) -> None:
        """After the first SFU join: the connect options' tracks, subscriptions and the stats loops."""
        self.connect_options = options
        self._facing = options.camera_facing_mode
        tracks: tuple[tuple[TrackType, TrackOption, MediaSource | None], ...] = (
            ("audio", options.microphone, options.audio_input_device),
            ("video", options.camera, options.video_input_device),
            ("screen_share", options.screen_share, None))
        for track_type, option, device in tracks:
            if option.source is not None or device is not None:  # else what a device setter chose stays
                self._chosen[track_type] = option.source or device
        self._listener.update(replace(self._state.value, video_input_device=self._chosen.get("video"),
                                      audio_input_device=self._chosen.get("audio")))
        for track_type, option, _ in tracks:
            if option.is_enabled:
                await self._set_enabled(track_type, True)
        await self.sync_subscriptions()
        self._media_tasks = [asyncio.ensure_future(self._collect_stats()), asyncio.ensure_future(self._report_stats())]

    async def close(self, leave: bool) -> None:
        """Leave (or just drop) the SFU session, stop the SDK's sources, the stats loops and the decoders."""
        session, self._sfu = self._sfu, None
        for task in self._media_tasks:
            task.cancel()
        self._media_tasks = []
        if session is not None:
            await (session.leave("left") if leave else session.close())
        for track in self._sources.values():
            if track in self._owned:
                track.stop()
        self._sources.clear()
        self._owned.clear()
        self._subscribed = None
        self._seen_tracks.clear()
        self._drop_denoised()
        await self._remote.close()

    # --- SFU events -------------------------------------------------------------------------------------
    def _on_sfu_event(self, event: sfu.AnyEvent) -> None:
        before = self._state.value.local_participant
        self._listener.update(apply_sfu_event(self._state.value, event))
        after = self._state.value.local_participant
        if (isinstance(event, sfu.ParticipantUpdatedEvent) and before is not None and after is not None
                and before.session_id == after.session_id):
            # The SFU tells a mute (a moderator's, a revoked permission) as participant_updated. A track_unpublished
            # of one's own track is the SFU dropping it with the publisher connection (failed: the reconnection
            # publishes it again), and a new session of one's own, after a rejoin, publishes nothing yet: neither
            # is a remote mute.
            self._follow_remote_mutes(before.published_tracks - after.published_tracks)
        if isinstance(event, sfu.CallEndedEvent):
            self._listener.spawn(self.end(CallStatusDisconnected(DisconnectReasonEnded())))
        elif isinstance(event, (sfu.ErrorEvent, sfu.GoAwayEvent)):
            self._listener.sfu_problem(event)
        self._events.publish(event)  # type: ignore[arg-type]  # the call's one stream carries SFU events too

    def _follow_remote_mutes(self, stopped: frozenset[SfuTrackType]) -> None:
        """Tracks the SFU stopped that this client did not mute (a moderator's ``mute_users``, a revoked
        permission): turn them off here too, so the state and the devices agree; the user may turn them on."""
        publisher = self._sfu.publisher if self._sfu is not None else None
        for track_type in stopped:
            if publisher is not None and publisher.muted.get(track_type.value) is False:
                self._listener.spawn(self._set_enabled(track_type.value, False))

    async def end(self, status: CallStatus) -> None:
        """The SFU ended this client's session (call ended, removed): close the media; the coordinator's event,
        which says why (ended, rejected, kicked, blocked), normally sets the status; ``status`` if it does not."""
        await self.close(leave=False)
        await asyncio.sleep(COORDINATOR_GRACE)
        if self._state.value.status.is_active:
            self._listener.update(replace(self._state.value, status=status))

    def after_update(self, state: CallState) -> None:
        """Each state change: a disconnected call drops its media; a connected one follows the participants."""
        if self._noise.enabled and noise_cancellation_refusal(state) is not None:
            self.set_audio_processing(False)  # the call's mode or this user's capability changed
            return  # that update ran this again, with the newer state
        if state.status.is_disconnected and self._sfu is not None:
            self._listener.spawn(self.close(leave=True))
        elif isinstance(state.status, CallStatusConnected) and self._sfu is not None:
            if self._wanted_subscriptions(state) != self._subscribed:
                self._listener.spawn(self.sync_subscriptions())

    # --- local tracks -----------------------------------------------------------------------------------
    async def set_camera_enabled(self, enabled: bool = True) -> None:
        """Publish the camera (the chosen device or source; without one, the first camera, or the synthetic
        pattern with a warning), or mute it."""
        await self._set_enabled("video", enabled)

    async def set_microphone_enabled(self, enabled: bool = True) -> None:
        """Publish the microphone (chosen, first, or the synthetic tone with a warning), or mute it."""
        await self._set_enabled("audio", enabled)

    async def set_screen_share_enabled(self, enabled: bool = True, source: MediaSource | None = None) -> None:
        """Share ``source`` (a file, a track, ...); without one, a synthetic pattern (headless machines have no
        screen to capture)."""
        if source is not None:
            self._chosen["screen_share"] = source
        await self._set_enabled("screen_share", enabled)

    async def set_video_input_device(self, device: MediaSource | None) -> None:
        """Use ``device`` (a ``RtcMediaDevice``, a ``FileSource``, a ``SyntheticSource`` or a track) as camera;
        a camera that is on switches at once."""
        await self._choose("video", device)

    async def set_audio_input_device(self, device: MediaSource | None) -> None:
        await self._choose("audio", device)

    async def flip_camera(self) -> None:
        """Switch the camera's facing mode: to the next camera where the machine has several; the synthetic
        camera shows the other facing as a brighter pattern."""
        self._facing = self._facing.flipped()
        cameras = enumerate_devices(RtcMediaDeviceKind.VIDEO_INPUT)
        if len(cameras) > 1:
            current = self._chosen.get("video")
            index = cameras.index(cast(RtcMediaDevice, current)) + 1 if current in cameras else 1
            await self._choose("video", cameras[index % len(cameras)])
        elif self._chosen.get("video") is None or isinstance(self._chosen.get("video"), SyntheticSource):
            await self._choose("video", SyntheticSource(shade=FACING_SHADE[self._facing]))

    @property
    def camera_facing_mode(self) -> FacingMode:
        return self._facing

    def local_track(self, track_type: SfuTrackType | str) -> MediaStreamTrack | None:
        """The source being published as ``track_type`` (a synthetic one counts its ``frames``), if any."""
        return self._sources.get(SfuTrackType(track_type).value)

    async def _choose(self, track_type: TrackType, source: MediaSource | None) -> None:
        self._chosen[track_type] = source
        if track_type == "video":
            self._listener.update(replace(self._state.value, video_input_device=source))
        elif track_type == "audio":
            self._listener.update(replace(self._state.value, audio_input_device=source))
        if track_type in self._sources:
            await self._set_enabled(track_type, True, reopen=True)

    def _open(self, track_type: TrackType) -> MediaStreamTrack:
        chosen = self._chosen.get(track_type)
        if chosen is None and track_type == "screen_share":
            chosen = SyntheticSource(shade=SCREEN_SHARE_SHADE)
        track = open_source(chosen, KIND[track_type])  # type: ignore[arg-type]
        if not (isinstance(chosen, MediaStreamTrack) and chosen is track):
            self._owned.add(track)
        return track

    async def _set_enabled(self, track_type: TrackType, enabled: bool, reopen: bool = False) -> None:
        async with self._media_lock:
            old = self._sources.get(track_type)
            if enabled and (old is None or reopen):
                self._sources[track_type] = self._open(track_type)
            elif not enabled:
                self._sources.pop(track_type, None)
            await self._publish(track_type)
            if old is not None and (reopen or not enabled) and old in self._owned:
                self._owned.discard(old)
                old.stop()

    async def _publish(self, track_type: TrackType) -> None:
        session = self._sfu
        if session is None:
            return
        publish_options = self._state.value.preferences.client_publish_options
        simulcast = publish_options is None or (publish_options.max_simulcast_layers or 3) > 1
        source = self._sources.get(track_type)
        if track_type == "audio" and source is not None:
            source = self._through_noise_filter(source)
        codec = publish_options.preferred_codec if publish_options is not None else None
        await session.ensure_publisher(simulcast, codec).publish(track_type, source)

    async def republish(self) -> None:
        """A new SFU session (rejoin, migrate): publish every source again on its new publisher; the
        subscriptions are sent again by the next ``sync_subscriptions``."""
        self._subscribed = None
        async with self._media_lock:
            for track_type in list(self._sources):
                await self._publish(track_type)

    # --- audio processing -------------------------------------------------------------------------------
    def _through_noise_filter(self, source: MediaStreamTrack) -> DenoisedTrack:
        """The microphone is always sent through its ``DenoisedTrack`` (a pass-through while processing is
        off), so turning processing on or off changes no track."""
        if self._denoised is None or self._denoised.source is not source:
            self._drop_denoised()
            self._denoised = DenoisedTrack(source, self._noise)
        return self._denoised

    def _drop_denoised(self) -> None:
        if self._denoised is not None:
            self._denoised.stop()
            self._denoised = None

    def set_audio_processing(self, enabled: bool) -> None:
        """Noise cancellation on (or off) for the microphone, now and for every microphone track after."""
        if enabled:
            rnnoise_library()  # a machine without it fails here, not in the sender's loop
        self._noise.enabled = enabled
        if self._state.value.is_audio_processing != enabled:
            self._listener.update(replace(self._state.value, is_audio_processing=enabled))

    @property
    def denoised_track(self) -> DenoisedTrack | None:
        """The microphone as it is sent (None while it is off)."""
        return self._denoised

    # --- subscriptions ----------------------------------------------------------------------------------
    def _wanted_subscriptions(self, state: CallState) -> list[TrackSubscription]:
        """Every track another participant publishes, or has published and muted: the SFU pauses a muted track,
        so staying subscribed makes unmuting need no renegotiation."""
        wanted = []
        for participant in state.other_participants:
            seen = self._seen_tracks.setdefault(participant.session_id, set())
            seen.update(participant.published_tracks)
            for track_type in sorted(seen):
                dimension = None
                if track_type in VIDEO_TYPES:
                    if None in self._video_off or participant.session_id in self._video_off:
                        continue
                    preferred = self._preferred.get(participant.session_id, self._preferred.get(None))
                    if preferred is not None:
                        dimension = Dimension(width=preferred.width, height=preferred.height)
                wanted.append(TrackSubscription(session_id=participant.session_id, track_type=track_type.value,
                                                dimension=dimension))
        return wanted

    async def sync_subscriptions(self, force: bool = False) -> None:
        session = self._sfu
        wanted = self._wanted_subscriptions(self._state.value)
        if session is None or (wanted == self._subscribed and not force):
            return
        self._subscribed = wanted
        try:
            await session.update_subscriptions(wanted)
        except ConnectionError:
            self._subscribed = None  # sent again once reconnected

    async def set_preferred_incoming_video_resolution(self, dimension: VideoDimension | None,
                                                      session_ids: Sequence[str] | None = None) -> None:
        """Ask for video near ``dimension`` (None: no preference) from everyone or from ``session_ids``; this
        also turns their incoming video back on."""
        targets: list[str | None] = list(session_ids) if session_ids is not None else [None]
        if session_ids is None:
            self._preferred.clear()
            self._video_off.clear()
        for target in targets:
            self._preferred[target] = dimension
            self._video_off.discard(target)
        await self.sync_subscriptions()

    async def set_incoming_video_enabled(self, enabled: bool, session_ids: Sequence[str] | None = None) -> None:
        """Stop (or resume) receiving video and screen share from everyone or from ``session_ids``."""
        targets: list[str | None] = list(session_ids) if session_ids is not None else [None]
        if session_ids is None and enabled:
            self._video_off.clear()
        for target in targets:
            (self._video_off.discard if enabled else self._video_off.add)(target)
        await self.sync_subscriptions()

    # --- received media ---------------------------------------------------------------------------------
    def frames(self, participant: CallParticipantState | str,
               track_type: SfuTrackType | str = SfuTrackType.VIDEO, maxsize: int = 30) -> FrameStream:
        """Decoded frames (PyAV ``VideoFrame`` / ``AudioFrame``) of a participant's track, from now on."""
        session_id = participant if isinstance(participant, str) else participant.session_id
        return self._remote.frames_for(track_key(session_id, SfuTrackType(track_type).value), maxsize)

    def received_frames(self, participant: CallParticipantState | str,
                        track_type: SfuTrackType | str = SfuTrackType.VIDEO) -> int:
        """How many frames of that track this client has decoded so far."""
        session_id = participant if isinstance(participant, str) else participant.session_id
        return self._remote.counts[track_key(session_id, SfuTrackType(track_type).value)]

    def received_video_size(self, participant: CallParticipantState | str,
                            track_type: SfuTrackType | str = SfuTrackType.VIDEO) -> tuple[int, int] | None:
        """(width, height) of the latest decoded frame of that video track."""
        session_id = participant if isinstance(participant, str) else participant.session_id
        return self._remote.sizes.get(track_key(session_id, SfuTrackType(track_type).value))

    def subscriber_transceivers(self) -> list[Any]:
        """The receiving side's aiortc transceivers (recording workers read their packets)."""
        session = self._sfu
        return [] if session is None else list(session.subscriber.pc.getTransceivers())

    async def record(self, path: str | Path, participant: CallParticipantState | str,
                     track_types: Sequence[SfuTrackType | str] = (SfuTrackType.AUDIO, SfuTrackType.VIDEO)) -> Recording:
        """Record a participant's received tracks to ``path`` until ``await recording.stop()``."""
        session_id = participant if isinstance(participant, str) else participant.session_id
        keys = [(track_key(session_id, SfuTrackType(t).value), KIND[SfuTrackType(t).value])
                for t in track_types]
        return await start_recording(self._remote, path, keys)

    # --- stats ------------------------------------------------------------------------------------------
    async def _gather_stats(self) -> CallStats:
        session = self._sfu
        if session is None:
            return CallStats()
        sent = session.publisher
        simulcast = sent.simulcast.stats() if sent is not None and sent.simulcast is not None else None
        publisher, subscriber = await asyncio.gather(collect(sent.pc if sent else None, simulcast),
                                                     collect(session.subscriber.pc))
        stats = CallStats(publisher, subscriber, datetime.now(UTC))
        self.stats.set(stats)
        return stats

    async def _collect_stats(self) -> None:
        """``call.stats`` every ``call_stats_reporting_interval``."""
        while True:
            await asyncio.sleep(self._state.value.preferences.call_stats_reporting_interval.total_seconds())
            with contextlib.suppress(Exception):
                await self._gather_stats()

    async def _report_stats(self) -> None:
        """``send_stats`` to the SFU every ``reporting_interval_ms`` of the join response."""
        next_at = time.monotonic()
        while True:
            next_at += self._stats_interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            session = self._sfu
            if session is None or not session.socket.is_open:
                continue
            stats = await self._gather_stats()
            with contextlib.suppress(ConnectionError):
                await session.send(SendStatsRequest(publisher=stats.publisher.summary,
                                                    subscriber=stats.subscriber.summary))


__all__ = ["CallMedia"]
