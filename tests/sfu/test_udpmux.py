"""The SFU worker's shared UDP socket (weir.sfu.rtc.udpmux): every transport of a worker on one port, datagrams
sorted by STUN username and by the source address a check validated, over 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import aioice.ice
import aioice.stun
import pytest
from aioice import stun

from tests.sfu.rtc_peers import LOOPBACK, Peer, eventually
from tests.sfu.test_rtc_transport import CONFIG, End, rtp
from tests.sfu.test_srtpsend import session, udp
from weir.rtc.config import IceConfig
from weir.sfu.rtc import RtcRoom
from weir.sfu.rtc._srtpsend import Outlet
from weir.sfu.rtc.srtpsend import PROTECT, session_address
from weir.sfu.rtc.totals import MediaTotals, WorkerSnapshot
from weir.sfu.rtc.udpmux import SharedSockets, UdpMux, mux_enabled
from weir.sfu.rtp import RtpHeader


class SfuEnd(End):
    """The SFU's side of one transport, on the worker's shared sockets."""

    def __init__(self, sockets: SharedSockets, controlling: bool = True) -> None:
        super().__init__(controlling, sockets=sockets)


async def connect(sfu: End, client: End) -> None:
    await asyncio.gather(sfu.transport.gather(), client.transport.gather())
    await client.transport.apply_remote(sfu.remote("actpass"), "client")
    await sfu.transport.apply_remote(client.remote("active"), "server")
    await eventually(lambda: sfu.transport.state == client.transport.state == "connected", what="connected")


def port_of(end: End) -> int:
    (candidate,) = end.transport.link.newest.local_candidates
    return int(candidate.port)


def the_mux(sockets: SharedSockets) -> UdpMux:
    mux = sockets.mux("127.0.0.1")
    assert mux is not None
    return mux


@pytest.fixture
async def two() -> AsyncIterator[tuple[SharedSockets, list[tuple[End, End]]]]:
    """Two SFU transports of one worker, each connected to its own client transport."""
    sockets = SharedSockets(CONFIG)
    pairs = [(SfuEnd(sockets), End(controlling=False)) for _ in range(2)]
    for sfu, client in pairs:
        await connect(sfu, client)
    yield sockets, pairs
    for sfu, client in pairs:
        await asyncio.gather(sfu.transport.close(), client.transport.close())


async def test_two_transports_share_one_port_and_each_gets_only_its_own_media(
        two: tuple[SharedSockets, list[tuple[End, End]]]) -> None:
    sockets, [(sfu_a, client_a), (sfu_b, client_b)] = two
    mux = the_mux(sockets)
    assert port_of(sfu_a) == port_of(sfu_b) == mux.port and mux.connections == 2
    for seq in range(5):
        sfu_a.transport.send_rtp(rtp(seq))
        sfu_b.transport.send_rtp(rtp(100 + seq))
        client_a.transport.send_rtp(rtp(200 + seq))
        client_b.transport.send_rtp(rtp(300 + seq))
    await eventually(lambda: all(len(end.rtp) == 5 for end in (sfu_a, sfu_b, client_a, client_b)), what="media")
    assert client_a.rtp == [rtp(s) for s in range(5)] and client_b.rtp == [rtp(100 + s) for s in range(5)]
    assert sfu_a.rtp == [rtp(200 + s) for s in range(5)] and sfu_b.rtp == [rtp(300 + s) for s in range(5)]


async def test_stun_requests_go_by_username_and_strangers_reach_nobody(
        two: tuple[SharedSockets, list[tuple[End, End]]]) -> None:
    sockets, [(sfu_a, client_a), (sfu_b, _)] = two
    mux = the_mux(sockets)
    before = dict(mux.dropped)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger:
        stranger.settimeout(5)
        for local in (sfu_b.transport.local("actpass").ufrag, "nobody"):
            request = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
            request.attributes["USERNAME"] = f"{local}:x"
            stranger.sendto(bytes(request), ("127.0.0.1", mux.port))
        # the known ufrag's connection answers (no MESSAGE-INTEGRITY: 400); the unknown one is dropped
        answer = stun.parse_message(await asyncio.to_thread(stranger.recv, 1500))
        assert (answer.message_class, answer.attributes["ERROR-CODE"][0]) == (stun.Class.ERROR, 400)
        # SRTP with sfu_a's keys, DTLS, junk: from an address no check validated, none reaches a transport
        stranger.sendto(client_a.transport.dtls._tx_srtp.protect(rtp(7)), ("127.0.0.1", mux.port))
        stranger.sendto(b"\x16\xfe\xfd" + bytes(40), ("127.0.0.1", mux.port))
        for junk in (b"", b"\x00\x01\x00\x00", bytes([70, 1, 2])):
            stranger.sendto(junk, ("127.0.0.1", mux.port))
    await eventually(lambda: mux.dropped["unbound_source"] == before["unbound_source"] + 2, what="the drops")
    assert mux.dropped["unknown_ufrag"] == before["unknown_ufrag"] + 1
    assert (mux.dropped["empty"], mux.dropped["turn_channel"]) == (before["empty"] + 1, before["turn_channel"] + 1)
    assert mux.dropped["malformed_stun"] == before["malformed_stun"] + 1
    client_a.transport.send_rtp(rtp(8))  # and the real peer still gets through
    await eventually(lambda: len(sfu_a.rtp) == 1, what="media after the strangers")
    assert RtpHeader.parse(sfu_a.rtp[0]).sequence_number == 8 and sfu_a.transport.state == "connected"


async def test_the_workers_drop_totals_outlive_a_closed_socket_and_reach_its_metrics_snapshot() -> None:
    sockets = SharedSockets(CONFIG)
    sfu, client = SfuEnd(sockets), End(controlling=False)
    await connect(sfu, client)
    mux = the_mux(sockets)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger:
        stranger.sendto(b"\x16\xfe\xfd" + bytes(40), ("127.0.0.1", mux.port))  # DTLS from an unvalidated source
    await eventually(lambda: mux.dropped["unbound_source"] == 1, what="the drop")
    await asyncio.gather(sfu.transport.close(), client.transport.close())
    assert sockets.mux("127.0.0.1") is None  # closed with its last transport: its count stays the worker's
    snapshot = WorkerSnapshot.from_json(MediaTotals(sockets.dropped).snapshot().to_json())
    assert snapshot.datagrams_dropped["unbound_source"] == 1 and set(snapshot.datagrams_dropped) == set(mux.dropped)
    assert MediaTotals().snapshot().datagrams_dropped == {}  # no shared sockets (WEIR_SFU_UDP_MUX=0)


async def test_ice_restart_keeps_the_socket_and_closing_the_last_transport_frees_it() -> None:
    sockets = SharedSockets(CONFIG)
    sfu, client = SfuEnd(sockets), End(controlling=False)
    await connect(sfu, client)
    mux = the_mux(sockets)
    old_ufrag = sfu.transport.local("actpass").ufrag
    await sfu.transport.begin_restart()
    await client.transport.begin_restart()
    assert mux.connections == 2 and port_of(sfu) == mux.port  # new credentials, same socket
    new = sfu.remote("actpass")
    assert new.ufrag != old_ufrag
    await client.transport.apply_remote(new, "client")
    await sfu.transport.apply_remote(client.remote("active"), "server")
    await eventually(lambda: not sfu.transport.link.restarting, what="the restart")
    assert mux.connections == 1  # the old connection let go of the socket
    for seq in range(5):
        sfu.transport.send_rtp(rtp(seq))
        client.transport.send_rtp(rtp(seq))
    await eventually(lambda: len(client.rtp) == len(sfu.rtp) == 5, what="media on the new path")
    await asyncio.gather(sfu.transport.close(), client.transport.close())
    assert sockets.mux("127.0.0.1") is None and mux.transport is not None and mux.transport.is_closing()

    again, other = SfuEnd(sockets), End(controlling=False)  # a new transport binds a new socket
    await connect(again, other)
    again.transport.send_rtp(rtp(1))
    await eventually(lambda: len(other.rtp) == 1, what="media on the new socket")
    await asyncio.gather(again.transport.close(), other.transport.close())


async def test_consent_is_answered_through_the_mux_and_a_vanished_peer_expires(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Consent checks every 50 ms, one unanswered fails the connection: both directions' checks cross the shared
    socket for a second; then the client stops answering and the SFU's transport fails and leaves the mux."""
    monkeypatch.setattr(aioice.ice, "CONSENT_INTERVAL", 0.05)
    monkeypatch.setattr(aioice.ice, "CONSENT_FAILURES", 1)
    monkeypatch.setattr(aioice.stun, "RETRY_RTO", 0.2)
    sockets = SharedSockets(CONFIG)
    sfu, client = SfuEnd(sockets), End(controlling=False)
    await connect(sfu, client)
    mux = the_mux(sockets)
    await asyncio.sleep(1.0)
    assert sfu.transport.state == client.transport.state == "connected" and mux.dropped["stray_response"] == 0
    client.transport.link.connection.request_received = lambda *args: None  # type: ignore[method-assign]
    await eventually(lambda: sfu.transport.state == "failed", what="consent to expire")
    assert mux.connections == 0 and sockets.mux("127.0.0.1") is None
    await asyncio.gather(sfu.transport.close(), client.transport.close())


async def test_clients_through_a_room_publish_and_subscribe_through_one_port() -> None:
    """A worker's room on shared sockets: real aiortc clients publish and decode each other's media."""
    sockets = SharedSockets(LOOPBACK)
    room = RtcRoom("default:mux", LOOPBACK, sockets)
    peers = [Peer(room, name) for name in ("alice", "bob", "carol")]
    try:
        for peer in peers:
            await peer.join()
        alice, bob, carol = peers
        await alice.publish()
        await bob.subscribe(alice)
        await carol.subscribe(alice)
        await eventually(lambda: all(p.received(alice, t) >= 15 for p in (bob, carol) for t in ("audio", "video")),
                         timeout_s=15, what="both subscribers decode")
        mux = the_mux(sockets)
        transports = [t for p in peers for t in (p.participant.publisher, p.participant.subscriber)]
        ports = {int(c.port) for t in transports for c in t.link.connection.local_candidates}
        assert ports == {mux.port} and mux.connections == 6
        assert mux.flushes > 0 and mux.unsent == 0  # the fan-outs left in batches
    finally:
        for peer in peers:
            await peer.close()
        await room.close()


async def test_what_a_batch_could_not_send_goes_to_the_asyncio_transport() -> None:
    """Three subscribers' packets sent during one inbound datagram: the first leaves in the sendmmsg, the socket
    refuses the second, and the second and third go to the socket's transport (the third arrives)."""
    sockets = SharedSockets(CONFIG)
    sfu, client = SfuEnd(sockets), End(controlling=False)
    await connect(sfu, client)
    mux = the_mux(sockets)
    first, third = udp(), udp()
    destinations = [first.getsockname(), ("::1", 9), third.getsockname()]  # IPv6 from an IPv4 socket: refused
    tx = session("AEAD_AES_128_GCM")
    outlets = [Outlet(PROTECT, session_address(tx), tx) for _ in destinations]
    for native, (host, port) in zip(outlets, destinations, strict=True):
        native.aim(mux.socket.fileno(), host, port, mux.batch)

    def fan_out(_: bytes) -> None:
        for seq, native in enumerate(outlets):
            assert native.send(rtp(seq)) is None
        assert mux.batch.pending() == 3

    flushes = mux.flushes
    sockets.forward(fan_out, b"")
    assert (mux.flushes, mux.unsent, mux.batch.pending()) == (flushes + 1, 2, 0)
    inbound = session("AEAD_AES_128_GCM", inbound=True)
    for receiver, seq in ((first, 0), (third, 2)):
        datagram, source = await asyncio.to_thread(receiver.recvfrom, 2048)
        assert (inbound.unprotect(datagram), source[1]) == (rtp(seq), mux.port)
        receiver.close()
    await asyncio.gather(sfu.transport.close(), client.transport.close())


def test_the_mux_is_on_unless_turned_off() -> None:
    assert mux_enabled({}) and mux_enabled({"WEIR_SFU_UDP_MUX": "1"}) and not mux_enabled({"WEIR_SFU_UDP_MUX": "0"})


async def test_an_address_that_cannot_be_bound_gathers_nothing_there() -> None:
    sockets = SharedSockets(IceConfig(host_addresses=("127.0.0.1", "192.0.2.1"), connect_timeout_s=1))
    sfu = SfuEnd(sockets)
    await sfu.transport.gather()
    assert [c.host for c in sfu.transport.link.connection.local_candidates] == ["127.0.0.1"]
    await sfu.transport.close()
    assert sockets.mux("127.0.0.1") is None
