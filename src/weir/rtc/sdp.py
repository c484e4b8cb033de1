"""SDP (RFC 8866) as WebRTC uses it (RFC 8829): parse a peer's offer or answer, write the SFU's sections.

Only what the media plane acts on is kept: per m-section its mid, direction, codecs (rtpmap, fmtp, rtcp-fb),
header extensions, SSRCs, simulcast rids, and the transport attributes (ICE credentials, candidates, DTLS
fingerprints and setup role), session-level ones copied into every section that lacks its own. aiortc's own
parser knows nothing of rids and reports bad input with ``assert``, so the SFU has this one: anything malformed
raises ``SdpError`` naming the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["Codec", "Description", "Media", "SdpError", "parse", "render_codec"]

_MEDIA_LINE = re.compile(r"^m=(\S+) (\d+)(?:/\d+)? (\S+) ?(.*)$")
_TOKEN = re.compile(r"^[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+$")
MAX_SDP_BYTES = 64_000
DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
SETUPS = ("actpass", "active", "passive", "holdconn")


class SdpError(ValueError):
    """A description the SFU cannot read."""


@dataclass
class Codec:
    payload_type: int
    name: str
    clock_rate: int
    channels: int = 0  # 0 when the rtpmap gives none
    fmtp: str = ""
    feedback: list[str] = field(default_factory=list)  # "nack", "nack pli", "ccm fir", ...

    @property
    def mime(self) -> str:
        return self.name.lower()

    def fmtp_params(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for item in self.fmtp.split(";"):
            key, _, value = item.strip().partition("=")
            if key:
                out[key.lower()] = value.strip()
        return out


@dataclass
class Media:
    kind: str
    port: int
    protocol: str
    formats: list[str]
    mid: str = ""
    direction: str = "sendrecv"
    codecs: list[Codec] = field(default_factory=list)
    extensions: dict[str, int] = field(default_factory=dict)  # uri → id
    ssrcs: list[int] = field(default_factory=list)  # distinct, in order of appearance
    ssrc_groups: list[tuple[str, tuple[int, ...]]] = field(default_factory=list)
    rids: list[tuple[str, str]] = field(default_factory=list)  # (rid, "send" | "recv")
    simulcast: str = ""  # the a=simulcast value, as written
    msid: str = ""
    ice_ufrag: str = ""
    ice_pwd: str = ""
    fingerprints: list[tuple[str, str]] = field(default_factory=list)  # (algorithm, value)
    setup: str = ""
    candidates: list[str] = field(default_factory=list)  # SDP form, without "candidate:"
    end_of_candidates: bool = False
    rtcp_mux: bool = False
    rtcp_rsize: bool = False
    bundle_only: bool = False  # RFC 8843: port 0 in an offer, yet meant to share the BUNDLE transport

    @property
    def rejected(self) -> bool:
        return self.port == 0 and not self.bundle_only

    def codec(self, payload_type: int) -> Codec | None:
        return next((c for c in self.codecs if c.payload_type == payload_type), None)

    def simulcast_rids(self, direction: str) -> list[str]:
        """The rids of ``a=simulcast:<direction>``, first alternative of each, paused (~) ones included."""
        words = self.simulcast.split()
        for index in range(0, len(words) - 1, 2):
            if words[index] == direction:
                return [alt.split(",")[0].lstrip("~") for alt in words[index + 1].split(";") if alt]
        return []

    def media_ssrc(self) -> int | None:
        """The primary SSRC: first of an FID group (its second is RTX), else the first listed."""
        for semantics, ssrcs in self.ssrc_groups:
            if semantics == "FID" and ssrcs:
                return ssrcs[0]
        return self.ssrcs[0] if self.ssrcs else None

    def repair_ssrc(self) -> int | None:
        """The RTX SSRC: second of an FID group (RFC 4588 section 8.3), if signalled."""
        for semantics, ssrcs in self.ssrc_groups:
            if semantics == "FID" and len(ssrcs) > 1:
                return ssrcs[1]
        return None

    def rtx_for(self, payload_type: int) -> Codec | None:
        """The ``rtx`` format whose ``apt`` is ``payload_type``, if offered."""
        wanted = str(payload_type)
        return next((c for c in self.codecs if c.mime == "rtx" and c.fmtp_params().get("apt") == wanted), None)

    def red_for(self, payload_type: int) -> Codec | None:
        """The ``red`` format (RFC 2198) whose every block is ``payload_type``, if offered."""
        wanted = str(payload_type)
        return next((c for c in self.codecs if c.mime == "red" and set(c.fmtp.strip().split("/")) == {wanted}), None)


@dataclass
class Description:
    media: list[Media]
    bundle: list[str]


def _int(value: str, what: str, line: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise SdpError(f"{what} is not a number in {line!r}") from None


class _Parser:
    def __init__(self) -> None:
        self.media: list[Media] = []
        self.bundle: list[str] = []
        self.session: dict[str, str] = {}
        self.session_fingerprints: list[tuple[str, str]] = []

    def line(self, line: str) -> None:
        if line.startswith("m="):
            self.media.append(self._media_line(line))
        elif line.startswith("a="):
            name, _, value = line[2:].partition(":")
            if self.media:
                self._media_attribute(self.media[-1], name, value, line)
            else:
                self._session_attribute(name, value, line)

    @staticmethod
    def _media_line(line: str) -> Media:
        match = _MEDIA_LINE.match(line)
        if match is None:
            raise SdpError(f"malformed media line {line!r}")
        kind, port, protocol, formats = match.groups()
        number = int(port)
        if number > 65535:
            raise SdpError(f"port out of range in {line!r}")
        return Media(kind=kind, port=number, protocol=protocol, formats=formats.split())

    def _session_attribute(self, name: str, value: str, line: str) -> None:
        if name == "group":
            words = value.split()
            if words and words[0] == "BUNDLE":
                self.bundle = words[1:]
        elif name == "fingerprint":
            self.session_fingerprints.append(_fingerprint(value, line))
        elif name in ("ice-ufrag", "ice-pwd", "setup"):
            self.session[name] = value.strip()

    def _media_attribute(self, media: Media, name: str, value: str, line: str) -> None:
        value = value.strip()
        if name in DIRECTIONS and not value:
            media.direction = name
        elif name == "mid":
            media.mid = value
        elif name == "rtpmap":
            media.codecs.append(_rtpmap(value, line))
        elif name == "fmtp":
            pt, _, params = value.partition(" ")
            codec = media.codec(_int(pt, "payload type", line))
            if codec is not None:
                codec.fmtp = params.strip()
        elif name == "rtcp-fb":
            pt, _, feedback = value.partition(" ")
            for codec in media.codecs if pt == "*" else filter(None, [media.codec(_int(pt, "payload type", line))]):
                codec.feedback.append(" ".join(feedback.split()))
        elif name == "extmap":
            ext_id, _, rest = value.partition(" ")
            words = rest.split()
            if not words:
                raise SdpError(f"extmap without a URI in {line!r}")
            number = _int(ext_id.split("/")[0], "extension id", line)
            if not 1 <= number <= 255:
                raise SdpError(f"extension id out of range in {line!r}")
            media.extensions.setdefault(words[0], number)
        elif name == "ssrc":
            ssrc = _int(value.split(" ")[0], "SSRC", line)
            if not 0 <= ssrc < 1 << 32:
                raise SdpError(f"SSRC out of range in {line!r}")
            if ssrc not in media.ssrcs:
                media.ssrcs.append(ssrc)
        elif name == "ssrc-group":
            words = value.split()
            if words:
                media.ssrc_groups.append((words[0], tuple(_int(w, "SSRC", line) for w in words[1:])))
        elif name == "rid":
            words = value.split()
            if len(words) < 2 or words[1] not in ("send", "recv"):
                raise SdpError(f"malformed rid in {line!r}")
            media.rids.append((words[0], words[1]))
        elif name == "simulcast":
            media.simulcast = value
        elif name == "msid":
            media.msid = value
        elif name == "candidate":
            media.candidates.append(value)
        elif name == "end-of-candidates":
            media.end_of_candidates = True
        elif name == "ice-ufrag":
            media.ice_ufrag = value
        elif name == "ice-pwd":
            media.ice_pwd = value
        elif name == "fingerprint":
            media.fingerprints.append(_fingerprint(value, line))
        elif name == "setup":
            if value not in SETUPS:
                raise SdpError(f"unknown DTLS setup role in {line!r}")
            media.setup = value
        elif name == "rtcp-mux":
            media.rtcp_mux = True
        elif name == "rtcp-rsize":
            media.rtcp_rsize = True
        elif name == "bundle-only":
            media.bundle_only = True

    def finish(self) -> Description:
        for media in self.media:
            media.ice_ufrag = media.ice_ufrag or self.session.get("ice-ufrag", "")
            media.ice_pwd = media.ice_pwd or self.session.get("ice-pwd", "")
            media.setup = media.setup or self.session.get("setup", "")
            if not media.fingerprints:
                media.fingerprints = list(self.session_fingerprints)
        return Description(self.media, self.bundle)


def _fingerprint(value: str, line: str) -> tuple[str, str]:
    words = value.split()
    if len(words) != 2:
        raise SdpError(f"malformed fingerprint in {line!r}")
    return words[0].lower(), words[1].upper()


def _rtpmap(value: str, line: str) -> Codec:
    pt, _, encoding = value.partition(" ")
    parts = encoding.strip().split("/")
    if len(parts) < 2 or not _TOKEN.match(parts[0]):
        raise SdpError(f"malformed rtpmap in {line!r}")
    payload_type = _int(pt, "payload type", line)
    if not 0 <= payload_type <= 127:
        raise SdpError(f"payload type out of range in {line!r}")
    channels = _int(parts[2], "channel count", line) if len(parts) > 2 else 0
    return Codec(payload_type, parts[0], _int(parts[1], "clock rate", line), channels)


def parse(text: str) -> Description:
    if len(text) > MAX_SDP_BYTES:
        raise SdpError(f"description over {MAX_SDP_BYTES} bytes")
    parser = _Parser()
    for raw in text.splitlines():
        line = raw.strip()
        if line:
            parser.line(line)
    if not parser.media:
        raise SdpError("description has no m-section")
    return parser.finish()


def render_codec(codec: Codec) -> list[str]:
    """The rtpmap, rtcp-fb and fmtp lines of ``codec``."""
    encoding = f"{codec.name}/{codec.clock_rate}" + (f"/{codec.channels}" if codec.channels else "")
    lines = [f"a=rtpmap:{codec.payload_type} {encoding}"]
    lines += [f"a=rtcp-fb:{codec.payload_type} {feedback}" for feedback in codec.feedback]
    if codec.fmtp:
        lines.append(f"a=fmtp:{codec.payload_type} {codec.fmtp}")
    return lines
