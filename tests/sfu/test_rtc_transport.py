"""Two of the SFU's own peer transports (ICE + DTLS-SRTP) talking over 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket

import pylibsrtp
import pytest
from aiortc.rtcdtlstransport import RTCCertificate

from tests.sfu.rtc_peers import eventually
from weir.rtc.config import IceConfig
from weir.sfu.rtc.transport import PeerTransport, RemoteTransport, TransportState
from weir.sfu.rtc.udpmux import SharedSockets
from weir.sfu.rtcp import Pli, parse_compound
from weir.sfu.rtp import RtpHeader, build_packet

CONFIG = IceConfig(host_addresses=("127.0.0.1",), connect_timeout_s=5)


class End:
    """One side: a transport and everything it delivered."""

    def __init__(self, controlling: bool, config: IceConfig = CONFIG, sockets: SharedSockets | None = None) -> None:
        self.rtp: list[bytes] = []
        self.rtcp: list[bytes] = []
        self.states: list[TransportState] = []
        self.transport = PeerTransport(
            config, RTCCertificate.generateCertificate(), controlling=controlling, on_rtp=self.rtp.append,
            on_rtcp=self.rtcp.append, on_state=self.states.append, sockets=sockets,
        )

    def remote(self, setup: str) -> RemoteTransport:
        local = self.transport.local(setup)
        return RemoteTransport(local.ufrag, local.pwd, (local.fingerprint,), setup, local.candidates)


def rtp(seq: int) -> bytes:
    return build_packet(payload_type=96, sequence_number=seq, timestamp=seq * 3000, ssrc=77, payload=bytes(100))


async def connected_pair() -> tuple[End, End]:
    offerer, answerer = End(controlling=True), End(controlling=False)
    await asyncio.gather(offerer.transport.gather(), answerer.transport.gather())
    await answerer.transport.apply_remote(offerer.remote("actpass"), "client")
    await offerer.transport.apply_remote(answerer.remote("active"), "server")
    await eventually(lambda: offerer.transport.state == answerer.transport.state == "connected", what="connected")
    return offerer, answerer


@pytest.mark.parametrize("native", [True, False], ids=["native-send", "python-send"])
async def test_rtp_and_rtcp_cross_in_both_directions_byte_for_byte(
        native: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """On either RTP send path (weir.sfu.rtc.srtpsend): the native one never calls pylibsrtp's protect."""
    monkeypatch.setenv("WEIR_SFU_NATIVE_SEND", "1" if native else "0")
    protected = []
    python_protect = pylibsrtp.Session.protect
    monkeypatch.setattr(pylibsrtp.Session, "protect", lambda s, p: protected.append(p) or python_protect(s, p))
    offerer, answerer = await connected_pair()
    offerer.transport.send_rtp(bytearray(rtp(1)))
    answerer.transport.send_rtp(rtp(2))
    answerer.transport.send_rtcp(bytes(Pli(1, 77)))
    await eventually(lambda: bool(offerer.rtp and answerer.rtp and offerer.rtcp), what="packets")
    assert (answerer.rtp, offerer.rtp) == ([rtp(1)], [rtp(2)])
    assert protected == ([] if native else [rtp(1), rtp(2)])
    assert parse_compound(offerer.rtcp[0]) == [Pli(1, 77)]
    assert offerer.states == answerer.states == ["connecting", "connected"]
    await offerer.transport.close()
    await eventually(lambda: answerer.transport.state == "closed", what="the peer's DTLS close")
    assert answerer.states[-1] == "closed"
    await answerer.transport.close()


async def test_an_end_of_candidates_trickled_before_the_remote_description_waits_for_it() -> None:
    """A client answered an offer the SFU had already replaced (that answer is ignored) and trickled its
    end-of-candidates; the answer to the newer offer still brings its candidates, and the transport connects."""
    offerer, answerer = End(controlling=True), End(controlling=False)
    await asyncio.gather(offerer.transport.gather(), answerer.transport.gather())
    await offerer.transport.add_remote_candidate(None)
    await answerer.transport.apply_remote(offerer.remote("actpass"), "client")
    await offerer.transport.apply_remote(answerer.remote("active"), "server")
    await eventually(lambda: offerer.transport.state == answerer.transport.state == "connected", what="connected")
    assert offerer.states == ["connecting", "connected"]
    await asyncio.gather(offerer.transport.close(), answerer.transport.close())


async def test_ice_restart_moves_media_to_new_candidates_without_a_new_dtls_handshake() -> None:
    offerer, answerer = await connected_pair()
    old_ports = {c.port for c in offerer.transport.link.connection.local_candidates}
    dtls = offerer.transport.dtls
    await offerer.transport.begin_restart()
    await answerer.transport.begin_restart()
    new = offerer.remote("actpass")
    assert new.ufrag != offerer.transport.remote_ufrag and not {int(c.split()[5]) for c in new.candidates} & old_ports
    await answerer.transport.apply_remote(new, "client")
    await offerer.transport.apply_remote(answerer.remote("active"), "server")
    await eventually(lambda: not offerer.transport.link.restarting, what="the restart")
    for seq in range(10):
        offerer.transport.send_rtp(rtp(seq))
    await eventually(lambda: len(answerer.rtp) == 10, what="media on the new path")
    assert {c.port for c in offerer.transport.link.connection.local_candidates}.isdisjoint(old_ports)
    assert offerer.transport.dtls is dtls and offerer.states == ["connecting", "connected"]
    await asyncio.gather(offerer.transport.close(), answerer.transport.close())


async def test_datagrams_from_anywhere_else_are_dropped_and_media_goes_on() -> None:
    offerer, answerer = await connected_pair()
    port = answerer.transport.link.connection.local_candidates[0].port
    junk = [b"", b"\x00", b"\x16\xfe\xfd" + bytes(40), b"\x80\x60" + bytes(30), b"\x80\xc8" + bytes(30),
            b"\x00\x01\x00\x00"]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger:
        for data in junk:
            stranger.sendto(data, ("127.0.0.1", port))
    await asyncio.sleep(0.2)
    offerer.transport.send_rtp(rtp(5))
    await eventually(lambda: len(answerer.rtp) == 1, what="media after the junk")
    assert RtpHeader.parse(answerer.rtp[0]).sequence_number == 5 and answerer.transport.state == "connected"
    await asyncio.gather(offerer.transport.close(), answerer.transport.close())


async def test_a_peer_that_never_answers_checks_fails_after_the_timeout() -> None:
    lonely = End(controlling=False, config=IceConfig(host_addresses=("127.0.0.1",), connect_timeout_s=0.5))
    await lonely.transport.gather()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        remote = RemoteTransport(
            "abcd", "a" * 22, (("sha-256", "00:11"),), "actpass", (f"1 1 udp 2130706431 127.0.0.1 {port} typ host",)
        )
        await lonely.transport.apply_remote(remote, "client")
        await eventually(lambda: lonely.transport.state == "failed", what="failure")
    assert lonely.states == ["connecting", "failed"]
    lonely.transport.send_rtp(rtp(1))  # dropped, not raised
    await lonely.transport.close()
    assert lonely.transport.state == "failed"
