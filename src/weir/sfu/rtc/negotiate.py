"""Offer/answer for the two peer connections, as pure functions over parsed SDP.

Publisher: the client offers, the SFU answers ``recvonly`` with one codec per m-section (the codecs the SFU can
pass through: Opus; VP8, H.264, VP9, AV1, VP8 first because the SFU rewrites its picture ids on layer switches; of
H.264, packetization mode 1 and a baseline profile first), only the header extensions it reads (mid, rid,
repaired-rid, ssrc-audio-level) and only the feedback it acts on (NACK, PLI, FIR; goog-remb, so that the publisher
takes the SFU's REMB). Where the offer has an ``rtx`` format for the chosen codec (``apt``), it is accepted too:
RTX packets are unwrapped on arrival. A ``red`` format for Opus (RFC 2198) is accepted, ahead of Opus, when the
client prefers it: it lists it before Opus, or announces the track's codec as ``red``. Simulcast is accepted by
rid, up to ``MAX_LAYERS`` layers.

Subscriber: the SFU offers one ``sendonly`` m-section per forwarded track, each with its own SSRC; every one with
the transport-wide sequence number extension and ``transport-cc`` feedback (a subscriber that keeps them reports
each packet's arrival), video with the ``abs-send-time`` header extension and ``goog-remb`` feedback (so that a
subscriber without transport-cc sends REMB), an ``rtx`` format and an RTX SSRC in an FID group, audio of a RED track
with ``red`` ahead of Opus, and the client answers; where its answer keeps ``rtx``, NACKs are answered with RTX
packets; where it drops ``red``, the subscriber gets each RED packet's primary block alone (plain Opus). A
receive-only client may offer instead (WHEP): ``answer_subscriber`` answers the same sections into the client's
mids, rejecting the rest.

Both connections are one BUNDLE transport with rtcp-mux. The SFU is DTLS client on the publisher side (it
answers ``active`` unless the client insists on being active) and offers ``actpass`` on the subscriber side.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from weir.rtc.extensions import AUDIO_LEVEL_URI, MID_URI, REPAIRED_RID_URI, RID_URI
from weir.rtc.sdp import Codec, Description, Media, SdpError, render_codec
from weir.sfu.headerext import ABS_SEND_TIME_URI, TRANSPORT_CC_URI
from weir.sfu.receiver import MAX_LAYERS
from weir.sfu.rtc.transport import LocalTransport, RemoteTransport

__all__ = [
    "MID_URI",
    "REPAIRED_RID_URI",
    "RID_URI",
    "AcceptedSection",
    "OfferedSlot",
    "answer_publisher",
    "answer_subscriber",
    "publisher_dtls_role",
    "read_subscriber_answer",
    "remote_transport",
    "kept_formats",
    "kept_transport_cc",
    "subscriber_offer",
]

CODECS: Mapping[str, tuple[str, ...]] = {"audio": ("opus",), "video": ("vp8", "h264", "vp9", "av1")}
FEEDBACK = ("nack", "nack pli", "ccm fir", "goog-remb")
TRANSPORT_CC = "transport-cc"
PUBLISHER_EXTENSIONS = {"audio": (MID_URI, AUDIO_LEVEL_URI), "video": (MID_URI, RID_URI, REPAIRED_RID_URI)}
_NO_ADDRESS = ("c=IN IP4 0.0.0.0", "a=rtcp:9 IN IP4 0.0.0.0")


@dataclass(frozen=True)
class AcceptedSection:
    """An offered m-section the SFU receives media on."""

    mid: str
    kind: str
    codec: Codec
    rids: tuple[str, ...]  # simulcast layers as offered, empty without simulcast
    extensions: Mapping[str, int]  # accepted header extensions: uri → id
    ssrc: int | None  # the signalled media SSRC, when the offer has one
    rtx: Codec | None = None  # the accepted RTX format, if any
    rtx_ssrc: int | None = None  # the signalled RTX SSRC (FID group), when the offer has one
    red: Codec | None = None  # the accepted RED format for Opus, if any


@dataclass(frozen=True)
class OfferedSlot:
    """One m-section of a subscriber offer."""

    mid: str
    kind: str
    codec: Codec
    ssrc: int
    stream_id: str
    track_id: str
    active: bool
    rtx: Codec | None = None  # offered with an RTX SSRC
    rtx_ssrc: int = 0
    red: Codec | None = None  # offered ahead of ``codec``
    abs_send_time_id: int = 0  # the abs-send-time header extension's id, 0 for none
    transport_cc_id: int = 0  # the transport-wide sequence number extension's id, 0 for none


def _session(bundle: Iterable[str], session_id: int, version: int) -> list[str]:
    return [
        "v=0",
        f"o=- {session_id} {version} IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE " + " ".join(bundle),
        "a=msid-semantic: WMS *",
    ]


def _transport(local: LocalTransport) -> list[str]:
    lines = [
        f"a=ice-ufrag:{local.ufrag}",
        f"a=ice-pwd:{local.pwd}",
        f"a=fingerprint:{local.fingerprint[0]} {local.fingerprint[1]}",
        f"a=setup:{local.setup}",
    ]
    return [*lines, *(f"a=candidate:{c}" for c in local.candidates), "a=end-of-candidates"]


def _rejected(media: Media) -> list[str]:
    return [f"m={media.kind} 0 {media.protocol} {' '.join(media.formats) or '0'}",
            *(["a=mid:" + media.mid] if media.mid else [])]


def _sdp(lines: list[str]) -> str:
    return "\r\n".join(lines) + "\r\n"


def remote_transport(description: Description) -> RemoteTransport:
    """The peer's transport, from its first m-section that is not rejected (all share it under BUNDLE)."""
    live = [m for m in description.media if not m.rejected]
    if not live:
        raise SdpError("every m-section is rejected")
    first = live[0]
    if len(live) > 1:
        if any(m.mid not in description.bundle for m in live):
            raise SdpError("all m-sections must be in one BUNDLE group")
        if any((m.ice_ufrag, m.ice_pwd) != (first.ice_ufrag, first.ice_pwd) for m in live):
            raise SdpError("bundled m-sections must share ICE credentials")
    if not first.ice_ufrag or not first.ice_pwd:
        raise SdpError("ICE username fragment or password is missing")
    if not first.fingerprints:
        raise SdpError("DTLS fingerprint is missing")
    candidates = list(dict.fromkeys(c for m in live for c in m.candidates))
    return RemoteTransport(
        ufrag=first.ice_ufrag,
        pwd=first.ice_pwd,
        fingerprints=tuple(first.fingerprints),
        setup=first.setup or "actpass",
        candidates=tuple(candidates),
        end_of_candidates=any(m.end_of_candidates for m in live),
    )


def publisher_dtls_role(remote: RemoteTransport) -> Literal["client", "server"]:
    """The SFU's DTLS role answering ``remote``'s offer: client, unless the client wants to be."""
    return "server" if remote.setup == "active" else "client"


def _choose_codec(media: Media, preferred: str, previous: Codec | None) -> Codec | None:
    supported = CODECS.get(media.kind, ())
    offered = [c for c in media.codecs if c.mime in supported and c.clock_rate > 0]
    if previous is not None:  # renegotiation keeps the codec a track started with, if still offered
        offered.sort(key=lambda c: c.payload_type != previous.payload_type or c.mime != previous.mime)
        if offered and offered[0].mime == previous.mime:
            return _filtered(offered[0])
    order = [preferred.lower(), *supported] if preferred else list(supported)

    def rank(codec: Codec) -> tuple[int, int, int]:
        if codec.mime != "h264":
            return order.index(codec.mime), 0, 0
        params = codec.fmtp_params()
        baseline = params.get("profile-level-id", "42").lower().startswith("42")  # what every decoder has
        return order.index(codec.mime), params.get("packetization-mode") != "1", not baseline

    offered.sort(key=rank)
    return _filtered(offered[0]) if offered else None


def _filtered(codec: Codec) -> Codec:
    chosen = copy.deepcopy(codec)
    chosen.feedback = [f for f in codec.feedback if f in FEEDBACK]
    return chosen


def _chosen_red(media: Media, codec: Codec, preferred: str) -> Codec | None:
    """The offered RED format for ``codec`` (Opus), if the client prefers it to plain Opus."""
    red = media.red_for(codec.payload_type) if media.kind == "audio" else None
    if red is None:
        return None
    formats = media.formats
    first = str(red.payload_type) in formats and str(codec.payload_type) in formats and (
        formats.index(str(red.payload_type)) < formats.index(str(codec.payload_type))
    )
    return red if first or preferred.lower() == "red" else None


def _formats(codec: Codec, rtx: Codec | None, red: Codec | None) -> tuple[str, list[str]]:
    """An m-line's format list and the format lines: RED first (the format to send), the codec, its RTX."""
    used = [c for c in (red, codec, rtx) if c is not None]
    return " ".join(str(c.payload_type) for c in used), [line for c in used for line in render_codec(c)]


def _rids(media: Media) -> tuple[str, ...]:
    sending = {rid for rid, direction in media.rids if direction == "send"}
    listed = media.simulcast_rids("send") or [rid for rid, direction in media.rids if direction == "send"]
    return tuple(rid for rid in listed if rid in sending)[:MAX_LAYERS]


def _check_offered(media: Media) -> None:
    if not media.mid:
        raise SdpError(f"{media.kind} m-section without a mid")
    if not media.rtcp_mux:
        raise SdpError(f"m-section {media.mid} does not use rtcp-mux")
    if "SAVP" not in media.protocol:
        raise SdpError(f"m-section {media.mid} is not secure RTP ({media.protocol})")


def answer_publisher(
    offer: Description,
    local: LocalTransport,
    wanted: Mapping[str, str],
    previous: Mapping[str, Codec],
    *,
    session_id: int,
    version: int,
) -> tuple[str, list[AcceptedSection]]:
    """Answer a publisher's offer; ``wanted`` maps the mids announced as tracks to a preferred codec name.

    Announced sections that send get ``recvonly`` and are returned; every other section gets ``inactive``
    (audio/video) or port 0 (anything else).
    """
    accepted: list[AcceptedSection] = []
    sections: list[list[str]] = []
    bundle: list[str] = []
    for media in offer.media:
        if media.kind not in CODECS or media.rejected:
            sections.append(_rejected(media))
            continue
        _check_offered(media)
        codec = _choose_codec(media, wanted.get(media.mid, ""), previous.get(media.mid))
        sending = media.direction in ("sendrecv", "sendonly")
        receive = codec is not None and sending and media.mid in wanted
        rids = _rids(media) if receive else ()
        extensions = {uri: media.extensions[uri] for uri in PUBLISHER_EXTENSIONS[media.kind] if uri in media.extensions}
        rtx = None if codec is None else media.rtx_for(codec.payload_type)
        red = None if codec is None else _chosen_red(media, codec, wanted.get(media.mid, ""))
        if not rids:
            extensions.pop(RID_URI, None)
        if not rids or rtx is None:
            extensions.pop(REPAIRED_RID_URI, None)
        if codec is None:
            sections.append([f"m={media.kind} 0 {media.protocol} {media.formats[0] if media.formats else '0'}",
                             f"a=mid:{media.mid}"])
            continue
        bundle.append(media.mid)
        formats, format_lines = _formats(codec, rtx, red)
        lines = [f"m={media.kind} 9 {media.protocol} {formats}", *_NO_ADDRESS, *_transport(local)]
        lines.append(f"a=mid:{media.mid}")
        lines += [f"a=extmap:{ext_id} {uri}" for uri, ext_id in extensions.items()]
        lines += ["a=recvonly" if receive else "a=inactive", "a=rtcp-mux"]
        if media.rtcp_rsize:
            lines.append("a=rtcp-rsize")
        lines += format_lines
        if rids:
            lines += [f"a=rid:{rid} recv" for rid in rids]
            lines.append("a=simulcast:recv " + ";".join(rids))
        sections.append(lines)
        if receive:
            accepted.append(AcceptedSection(media.mid, media.kind, codec, rids, extensions, media.media_ssrc(),
                                            rtx, media.repair_ssrc() if rtx is not None else None, red))
    if not bundle:
        raise SdpError("the offer has no audio or video the SFU can receive")
    return _sdp(_session(bundle, session_id, version) + [line for s in sections for line in s]), accepted


def _slot_section(slot: OfferedSlot, local: LocalTransport) -> list[str]:
    rtx = slot.rtx
    formats, format_lines = _formats(slot.codec, rtx, slot.red)
    lines = [f"m={slot.kind} 9 UDP/TLS/RTP/SAVPF {formats}", *_NO_ADDRESS, *_transport(local)]
    lines += [f"a=mid:{slot.mid}", "a=sendonly" if slot.active else "a=inactive"]
    if slot.abs_send_time_id:
        lines.append(f"a=extmap:{slot.abs_send_time_id} {ABS_SEND_TIME_URI}")
    if slot.transport_cc_id:
        lines.append(f"a=extmap:{slot.transport_cc_id} {TRANSPORT_CC_URI}")
    # an inactive section names no track: Chromium refuses an msid in two sections, and a track subscribed
    # again gets a new section
    msid = f"msid:{slot.stream_id} {slot.track_id}" if slot.active else ""
    lines += [*([f"a={msid}"] if msid else []), "a=rtcp-mux", "a=rtcp-rsize", *format_lines]
    ssrcs = [slot.ssrc]
    if rtx is not None:
        lines.append(f"a=ssrc-group:FID {slot.ssrc} {slot.rtx_ssrc}")
        ssrcs.append(slot.rtx_ssrc)
    for ssrc in ssrcs:
        lines += [f"a=ssrc:{ssrc} cname:{slot.stream_id}", *([f"a=ssrc:{ssrc} {msid}"] if msid else [])]
    return lines


def subscriber_offer(slots: Iterable[OfferedSlot], local: LocalTransport, *, session_id: int, version: int) -> str:
    slots = list(slots)
    lines = _session([s.mid for s in slots], session_id, version)
    for slot in slots:
        lines += _slot_section(slot, local)
    return _sdp(lines)


def answer_subscriber(
    offer: Description, local: LocalTransport, slots: Mapping[str, OfferedSlot], *, session_id: int, version: int
) -> str:
    """Answer a receive-only client's offer: the m-sections with a slot (by mid) send, every other is rejected."""
    lines = _session([m.mid for m in offer.media if m.mid in slots], session_id, version)
    for media in offer.media:
        slot = slots.get(media.mid)
        lines += _rejected(media) if slot is None else _slot_section(slot, local)
    return _sdp(lines)


def read_subscriber_answer(
    answer: Description, slots: Iterable[OfferedSlot]
) -> tuple[RemoteTransport, Literal["client", "server"], set[str]]:
    """The client's transport, the SFU's DTLS role, and the mids the client accepted."""
    offered = [s.mid for s in slots]
    if [m.mid for m in answer.media] != offered:
        raise SdpError("the answer's m-sections do not match the offer")
    remote = remote_transport(answer)
    if remote.setup not in ("active", "passive"):
        raise SdpError("an answer's DTLS setup must be active or passive")
    accepted = {m.mid for m in answer.media if not m.rejected and m.direction in ("recvonly", "sendrecv")}
    return remote, "server" if remote.setup == "active" else "client", accepted


def kept_formats(answer: Description, slots: Iterable[OfferedSlot]) -> tuple[set[str], set[str]]:
    """The mids of offered slots whose answer kept their ``rtx`` format (their NACKs get RTX packets), and those
    whose answer kept their ``red`` format (they get RED packets whole)."""
    by_mid = {media.mid: media for media in answer.media if not media.rejected}
    rtx: set[str] = set()
    red: set[str] = set()
    for slot in slots:
        media = by_mid.get(slot.mid)
        if media is None:
            continue
        if slot.rtx is not None and media.rtx_for(slot.codec.payload_type) is not None:
            rtx.add(slot.mid)
        if slot.red is not None and media.red_for(slot.codec.payload_type) is not None:
            red.add(slot.mid)
    return rtx, red


def kept_transport_cc(answer: Description, slots: Iterable[OfferedSlot]) -> set[str]:
    """The mids of offered slots whose answer kept both the transport-wide sequence number extension and
    ``transport-cc`` feedback: the subscriber reports their packets' arrival."""
    by_mid = {media.mid: media for media in answer.media if not media.rejected}
    kept: set[str] = set()
    for slot in slots:
        media = by_mid.get(slot.mid)
        codec = None if media is None else media.codec(slot.codec.payload_type)
        if slot.transport_cc_id and media is not None and codec is not None and (
            TRANSPORT_CC_URI in media.extensions and TRANSPORT_CC in codec.feedback
        ):
            kept.add(slot.mid)
    return kept
