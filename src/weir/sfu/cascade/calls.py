"""``Cascade``: this SFU's part in calls that span several SFUs.

The coordinator tells each SFU hosting a call how it relays (``cascade_peers``: its neighbours' relay addresses
and the SRTP keys of each direction, every host's parent, and whether the call is a mesh) and carries the SFUs'
``relay`` messages to the call's other hosts. Per call a ``CallRelay`` announces this SFU's participants and
tracks (``participant``, ``left``, ``track``, ``untrack``, ``muted``; to a host new to it, everything at once),
relays each of its published tracks to every neighbour (one ``RelayOut`` per track per neighbour, sending the
layers that neighbour asks for), and puts the other hosts' participants and tracks into the local rooms: into the
``SignalingRoom``'s roster, and as ``PublishedTrack``s fed by a ``RelayIn`` into the ``RtcRoom``, where local
subscribers attach to them like to any track. In a mesh a remote track comes from its origin and goes no
further; in a tree it comes from the neighbour toward its origin and goes on to the other neighbours, with one
``RelayOut`` per neighbour on its ``RelayIn``'s receiver (so NACKs are answered from this SFU's buffer, and PLIs
and layer demands travel up). When the tree changes, a remote track's feed moves to its new neighbour under the
same receiver, so local subscribers stay attached. A peer's state that arrives before the first local session
opens the room is kept and applied when it opens; when the last local session leaves, the call's relays end.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import functools
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any, cast

from weir.protocol.leave_reasons import SFU_WORKER_LOST
from weir.protocol.sfu.events import (
    ParticipantJoinedEvent,
    ParticipantLeftEvent,
    ParticipantUpdatedEvent,
    TrackUnpublishedEvent,
)
from weir.protocol.sfu.models import Participant
from weir.rtc.sdp import Codec
from weir.sfu.cascade.inbound import RelayIn
from weir.sfu.cascade.link import RelayLink, RelayPeer
from weir.sfu.cascade.outbound import RelayOut
from weir.sfu.cascade.wire import RelayTrackSpec, new_ssrcs
from weir.sfu.receiver import Receiver
from weir.sfu.rtc.model import Layer, TrackInfo
from weir.sfu.rtc.negotiate import AcceptedSection
from weir.sfu.rtc.room import RtcRoom
from weir.sfu.rtc.track import PublishedTrack
from weir.sfu.signaling.room import SignalingRoom
from weir.sfu.signaling.rooms import SignalingRooms
from weir.sfu.signaling.session import ParticipantSession

__all__ = ["Cascade", "CallRelay"]

log = logging.getLogger(__name__)

SendControl = Callable[[dict[str, Any]], Awaitable[None]]
Key = tuple[str, str]


def _codec_json(codec: Codec | None) -> dict[str, Any] | None:
    return None if codec is None else dataclasses.asdict(codec)


def _codec(data: dict[str, Any] | None) -> Codec | None:
    return None if data is None else Codec(int(data["payload_type"]), str(data["name"]), int(data["clock_rate"]),
                                           int(data["channels"]), str(data["fmtp"]), list(data["feedback"]))


def track_message(track: PublishedTrack, spec: RelayTrackSpec) -> dict[str, Any]:
    info = track.info
    return {"op": "track", "spec": spec.to_json(), "mid": info.mid, "muted": info.muted,
            "layers": [dataclasses.asdict(layer) for layer in info.layers], "codec": _codec_json(track.codec),
            "rids": list(track.rids), "red": _codec_json(track.section.red)}


def remote_track(body: dict[str, Any], spec: RelayTrackSpec, relayed: RelayIn) -> PublishedTrack:
    """The ``PublishedTrack`` of a peer's ``track`` message, its packets from ``relayed``."""
    codec = _codec(body["codec"])
    assert codec is not None
    info = TrackInfo(session_id=spec.session_id, track_type=cast(Any, spec.track_type), mid=str(body["mid"]),
                     layers=tuple(Layer(**layer) for layer in body["layers"]), muted=bool(body["muted"]))
    section = AcceptedSection(mid=info.mid, kind=spec.kind, codec=codec, rids=tuple(body["rids"]), extensions={},
                              ssrc=None, red=_codec(body["red"]))
    return PublishedTrack(info, section, upstream=_unused, sender_ssrc=0, receiver=relayed.receiver)


def _unused(_: bytes) -> None:
    """A relayed track's receiver has its own upstream (the relay)."""


class _Remote:
    """A track another SFU publishes (``origin``), fed to us by ``fed_by``: the origin itself in a mesh, our
    neighbour toward it in a tree."""

    __slots__ = ("body", "fed_by", "origin", "relayed", "spec", "track")

    def __init__(self, origin: int, spec: RelayTrackSpec, body: dict[str, Any]) -> None:
        self.origin = origin
        self.spec = spec
        self.body = body
        self.fed_by: int | None = None
        self.relayed: RelayIn | None = None
        self.track: PublishedTrack | None = None


class _Out:
    """A track this SFU relays on: its own (``origin`` None), or, in a tree, one it receives from a neighbour,
    with one ``RelayOut`` per neighbour it goes to."""

    __slots__ = ("origin", "outs", "receiver", "spec", "track")

    def __init__(self, spec: RelayTrackSpec, receiver: Receiver, origin: int | None,
                 track: PublishedTrack | None = None) -> None:
        self.spec = spec
        self.receiver = receiver
        self.origin = origin
        self.track = track
        self.outs: dict[int, RelayOut] = {}

    def demanded(self) -> frozenset[int]:
        return frozenset().union(*(out.demanded for out in self.outs.values()))


class CallRelay:
    """One call's relays (``TrackRelay`` of its ``RtcRoom``, ``ParticipantRelay`` of its ``SignalingRoom``)."""

    def __init__(self, cascade: Cascade, call_cid: str) -> None:
        self.cascade = cascade
        self.call_cid = call_cid
        self.peers: set[int] = set()  # the SFUs we relay with (all other hosts in a mesh; parent, children)
        self.hosts: set[int] = set()  # every other SFU hosting the call
        self.parents: dict[int, int | None] = {}  # in a tree: each host's parent
        self.mesh = True
        self.me: int | None = None
        self.room: SignalingRoom | None = None
        self.outs: dict[Key, _Out] = {}
        self.remote_tracks: dict[Key, _Remote] = {}
        self.remote_participants: dict[str, tuple[int, Participant]] = {}

    @property
    def media(self) -> RtcRoom | None:
        return None if self.room is None else cast(RtcRoom, self.room.media)

    def _say(self, body: dict[str, Any], to: list[int] | None = None) -> None:
        self.cascade.say(self.call_cid, body, to)

    # --- the arrangement -------------------------------------------------------------------------------------
    def arrange(self, peers: set[int], parents: dict[int, int | None], mesh: bool, me: int | None) -> None:
        """The coordinator's ``cascade_peers``: relay with ``peers`` now, in a mesh or along the tree
        ``parents``. Tracks go to the neighbours that receive them through us, remote tracks are fed by the
        neighbour toward their origin (moved without a gap for local subscribers), and hosts new to us hear
        who is here."""
        hosts = (set(parents) if parents else set(peers)) - {me}
        new_hosts = hosts - self.hosts
        self.peers, self.hosts, self.parents, self.mesh, self.me = set(peers), hosts, parents, mesh, me
        for entry in list(self.outs.values()):
            self._sync(entry)
        for remote in list(self.remote_tracks.values()):
            self._attach_remote(remote)
        if new_hosts:
            self.announce_all(sorted(new_hosts))

    def _upstream(self, origin: int) -> int | None:
        """The neighbour a track published on ``origin`` comes from."""
        if self.mesh or self.me is None:
            return origin
        node: int | None = origin
        seen: set[int] = set()
        while node is not None and node not in seen:  # up from the origin: do we meet one of our children?
            seen.add(node)
            parent = self.parents.get(node)
            if parent == self.me:
                return node
            node = parent
        return self.parents.get(self.me)

    def _targets(self, origin: int | None) -> set[int]:
        """The neighbours a track from ``origin`` (None: published here) goes on to from here."""
        if origin is None:
            return set(self.peers)
        if self.mesh:
            return set()
        return self.peers - {self._upstream(origin)}

    def _sync(self, entry: _Out) -> None:
        targets = self._targets(entry.origin)
        for index in [index for index in entry.outs if index not in targets]:
            self._stop_one(entry, index)
        for index in sorted(targets - entry.outs.keys()):
            peer = self.cascade.peers.get(index)
            if peer is not None:
                entry.outs[index] = peer.relay_out(entry.spec, entry.receiver)

    def _stop_one(self, entry: _Out, index: int) -> None:
        out = entry.outs.pop(index)
        peer = self.cascade.peers.get(index)
        if peer is not None:
            peer.stop_out(out)
        entry.receiver.remove_downtrack(out)

    def forget_peer(self, index: int) -> None:
        """Worker ``index``'s process is gone: stop relaying to it, drop what it published, and what it fed us
        waits for its next feed."""
        self.peers.discard(index)
        self.hosts.discard(index)
        for entry in self.outs.values():
            out = entry.outs.pop(index, None)
            if out is not None:
                entry.receiver.remove_downtrack(out)
        for session_id, (origin, _) in list(self.remote_participants.items()):
            if origin == index:
                self.remote_left(session_id, SFU_WORKER_LOST)
        for key, remote in list(self.remote_tracks.items()):
            if remote.origin == index:
                self._drop_remote(key)
            elif remote.fed_by == index:
                remote.fed_by = None  # its old link goes with it

    def announce_all(self, to: list[int] | None = None) -> None:
        """Tell the other hosts (``to``: these) who is here and what they publish."""
        if self.room is None:
            return
        for session in self.room.listed():
            self._say({"op": "participant", "participant": session.participant().model_dump(mode="json")}, to)
        for entry in self.outs.values():
            if entry.track is not None:
                self._say(track_message(entry.track, entry.spec), to)

    def local_joined(self, session: ParticipantSession) -> None:
        self._say({"op": "participant", "participant": session.participant().model_dump(mode="json")})

    def local_left(self, session: ParticipantSession, reason: str) -> None:
        self._say({"op": "left", "session_id": session.id, "reason": reason})

    def _owner_changed(self, session_id: str) -> None:
        session = None if self.room is None else self.room.sessions.get(session_id)
        if session is not None and not session.hidden:
            self._say({"op": "participant", "participant": session.participant().model_dump(mode="json")})

    def local_track_published(self, track: PublishedTrack) -> None:
        spec = RelayTrackSpec(
            session_id=track.info.session_id, track_type=track.info.track_type, kind=cast(Any, track.kind),
            mime=track.codec.mime, clock_rate=track.codec.clock_rate, payload_type=track.codec.payload_type,
            ssrcs=new_ssrcs(max(1, len(track.rids)), self.cascade.ssrcs),
            red_payload_type=-1 if track.section.red is None else track.section.red.payload_type,
        )
        self._stop_out(track.key)
        entry = self.outs[track.key] = _Out(spec, track.receiver, None, track)
        self._sync(entry)
        self._say(track_message(track, spec))
        self._owner_changed(track.info.session_id)

    def local_track_unpublished(self, track: PublishedTrack) -> None:
        found = self.outs.get(track.key)
        if found is None or found.track is not track:
            return
        self._stop_out(track.key)
        self._say({"op": "untrack", "session_id": track.info.session_id, "track_type": track.info.track_type})
        self._owner_changed(track.info.session_id)

    def local_track_muted(self, track: PublishedTrack) -> None:
        self._say({"op": "muted", "session_id": track.info.session_id, "track_type": track.info.track_type,
                   "muted": track.info.muted})
        self._owner_changed(track.info.session_id)

    def needed(self, layers: dict[PublishedTrack, set[int]]) -> None:
        """Ask for each remote track the layers local subscriptions need and those the neighbours we pass it on
        to ask for."""
        for remote in self.remote_tracks.values():
            if remote.relayed is not None:
                local = layers.get(remote.track, set()) if remote.track is not None else set()
                entry = self.outs.get(remote.spec.key)
                remote.relayed.need(frozenset(local) | (entry.demanded() if entry is not None else frozenset()))

    def demanded(self) -> dict[PublishedTrack, frozenset[int]]:
        return {entry.track: entry.demanded() for entry in self.outs.values() if entry.track is not None}

    def _stop_out(self, key: Key) -> None:
        entry = self.outs.pop(key, None)
        if entry is not None:
            for index in list(entry.outs):
                self._stop_one(entry, index)
            if entry.origin is None:
                self.cascade.ssrcs.difference_update(entry.spec.ssrcs)

    # --- the peers' side -----------------------------------------------------------------------------------------
    def from_peer(self, index: int, body: dict[str, Any]) -> None:
        op = body.get("op")
        if op == "participant":
            participant = Participant.model_validate(body["participant"])
            known = participant.session_id in self.remote_participants
            self.remote_participants[participant.session_id] = index, participant
            if self.room is not None:
                self.room.remote[participant.session_id] = participant
                self.room.broadcast(ParticipantUpdatedEvent(participant=participant) if known
                                    else ParticipantJoinedEvent(participant=participant))
        elif op == "left":
            self.remote_left(str(body["session_id"]), str(body.get("reason", "")))
        elif op == "track":
            spec = RelayTrackSpec.from_json(body["spec"])
            told = self.remote_tracks.get(spec.key)
            if told is not None and told.origin == index and told.spec == spec:  # told again
                told.body = body
                return
            self._drop_remote(spec.key)
            remote = self.remote_tracks[spec.key] = _Remote(index, spec, body)
            self._attach_remote(remote)
        elif op == "untrack":
            self._drop_remote((str(body["session_id"]), str(body["track_type"])))
        elif op == "muted":
            found = self.remote_tracks.get((str(body["session_id"]), str(body["track_type"])))
            if found is not None:
                found.body["muted"] = bool(body["muted"])
                media = self.media
                if found.track is not None and media is not None:
                    found.track.info = dataclasses.replace(found.track.info, muted=bool(body["muted"]))
                    media.remote_track_muted(found.track)

    def remote_left(self, session_id: str, reason: str) -> None:
        gone = self.remote_participants.pop(session_id, None)
        keys = [key for key in self.remote_tracks if key[0] == session_id]
        if self.room is not None and gone is not None:
            for key in sorted(keys):
                self.room.broadcast(TrackUnpublishedEvent(session_id=session_id, track_type=cast(Any, key[1]),
                                                          cause="left", participant=gone[1]))
            self.room.remote.pop(session_id, None)
            self.room.broadcast(ParticipantLeftEvent(participant=gone[1], reason=reason))
        for key in keys:
            self._drop_remote(key)

    def _attach_remote(self, remote: _Remote) -> None:
        """Feed ``remote`` from the neighbour toward its origin (moving it there if it came from another), pass it
        on to the neighbours behind us, and put it into the local room."""
        upstream = self._upstream(remote.origin)
        peer = self.cascade.peers.get(upstream) if upstream in self.peers else None
        if remote.relayed is None:
            if peer is None:
                return
            remote.relayed = peer.relay_in(remote.spec)
            remote.fed_by = upstream
            self.outs[remote.spec.key] = _Out(remote.spec, remote.relayed.receiver, remote.origin)
        elif remote.fed_by != (upstream if peer is not None else None):
            old = None if remote.fed_by is None else self.cascade.peers.get(remote.fed_by)
            if old is not None:
                old.unfeed(remote.relayed)
            remote.fed_by = None
            if peer is not None:
                peer.feed(remote.relayed)
                remote.relayed.reroute(peer.send_rtcp)
                remote.fed_by = upstream
        self._sync(self.outs[remote.spec.key])
        media = self.media
        if media is not None and remote.track is None:
            remote.track = remote_track(remote.body, remote.spec, remote.relayed)
            remote.relayed.on_audio = functools.partial(media.observe_audio, remote.track)
            media.add_remote_track(remote.track)

    def _detach_remote(self, remote: _Remote) -> None:
        media = self.media
        if remote.track is not None and media is not None:
            media.remove_remote_track(remote.track)
        entry = self.outs.get(remote.spec.key)
        if entry is not None and entry.origin is not None:
            self._stop_out(remote.spec.key)
        feeder = None if remote.fed_by is None else self.cascade.peers.get(remote.fed_by)
        if remote.relayed is not None:
            if feeder is not None:
                feeder.unfeed(remote.relayed)
            remote.relayed.close()
        remote.relayed = remote.track = None
        remote.fed_by = None

    def _drop_remote(self, key: Key) -> None:
        remote = self.remote_tracks.pop(key, None)
        if remote is not None:
            self._detach_remote(remote)

    # --- the local rooms ---------------------------------------------------------------------------------------
    def attach(self, room: SignalingRoom) -> None:
        self.room = room
        room.relay = self
        cast(RtcRoom, room.media).relay = self
        for _, participant in self.remote_participants.values():
            room.remote[participant.session_id] = participant
        for remote in self.remote_tracks.values():
            self._attach_remote(remote)

    def detach(self) -> None:
        for remote in self.remote_tracks.values():
            self._detach_remote(remote)
        for key in list(self.outs):
            self._stop_out(key)
        self.room = None


class Cascade:
    def __init__(self, link: RelayLink, rooms: SignalingRooms, send: SendControl) -> None:
        self.link = link
        self.rooms = rooms
        self._send = send
        self.peers: dict[int, RelayPeer] = {}  # worker index → its relay
        self.calls: dict[str, CallRelay] = {}
        self.ssrcs: set[int] = set()  # relay SSRCs in use for our tracks
        self._outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._sender: asyncio.Task[None] | None = None
        rooms.on_room_opened = self._opened
        rooms.on_room_closed = self._closed

    def start(self) -> None:
        self._sender = asyncio.ensure_future(self._send_in_order())

    async def stop(self) -> None:
        if self._sender is not None:
            self._sender.cancel()
            await asyncio.gather(self._sender, return_exceptions=True)

    def hello(self) -> dict[str, Any]:
        """What the coordinator needs to put us in touch with the other SFUs."""
        host, port = self.link.address
        return {"relay": [host, port]}

    def say(self, call_cid: str, body: dict[str, Any], to: list[int] | None = None) -> None:
        """A relay message to the call's other hosts (``to``: these only), through the coordinator."""
        message: dict[str, Any] = {"type": "relay", "call_cid": call_cid, "body": body}
        if to is not None:
            message["to"] = to
        self._outbox.put_nowait(message)

    async def _send_in_order(self) -> None:
        while True:
            message = await self._outbox.get()
            try:
                await self._send(message)
            except Exception:
                log.exception("could not send a relay message")

    def _call(self, call_cid: str) -> CallRelay:
        call = self.calls.get(call_cid)
        if call is None:
            call = self.calls[call_cid] = CallRelay(self, call_cid)
        return call

    def on_message(self, message: dict[str, Any]) -> None:
        """A message of the coordinator's channel: ``cascade_peers`` or a peer's ``relay``."""
        try:
            if message.get("type") == "cascade_peers":
                call_cid = str(message["call_cid"])
                call = self._call(call_cid)
                neighbours: set[int] = set()
                for peer in message["peers"]:
                    index, (host, port) = int(peer["worker"]), peer["relay"]
                    self._meet(index, (str(host), int(port)), base64.b64decode(peer["tx_key"]),
                               base64.b64decode(peer["rx_key"]))
                    neighbours.add(index)
                parents = {int(host): None if parent is None else int(parent)
                           for host, parent in dict(message.get("parents") or {}).items()}
                me = message.get("worker")
                call.arrange(neighbours, parents, bool(message.get("mesh", True)), None if me is None else int(me))
                if not call.peers and call.room is None:  # we host the call no more
                    del self.calls[call_cid]
                    call.detach()
            elif message.get("type") == "relay":
                index, known = int(message["from"]), self.calls.get(str(message["call_cid"]))
                if known is not None:  # the call's arrangement came first
                    known.from_peer(index, message["body"])
        except (KeyError, TypeError, ValueError) as error:  # a malformed message costs that message only
            log.warning("bad cascade message %r: %r", message.get("type"), error)

    def _meet(self, index: int, address: tuple[str, int], tx_key: bytes, rx_key: bytes) -> None:
        """Know worker ``index`` at ``address``; a worker restarted (a new address or keys) is met anew, and
        what came from or went to its old process is forgotten."""
        known = self.peers.get(index)
        if known is not None and known.address == address and known.keys == (tx_key, rx_key):
            return
        if known is not None:
            for call in self.calls.values():
                call.forget_peer(index)
            self.link.remove_peer(known.address)
        self.peers[index] = self.link.add_peer(address, tx_key, rx_key, random.getrandbits(32) or 1)

    def _opened(self, room: SignalingRoom) -> None:
        self._call(room.cid).attach(room)

    def _closed(self, room: SignalingRoom) -> None:
        call = self.calls.pop(room.cid, None)
        if call is not None:
            call.detach()
