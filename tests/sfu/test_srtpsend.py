"""The native send path (weir.sfu.rtc._srtpsend, srtpsend): SRTP as pylibsrtp makes it, sent from the right
socket to the right address, and what it cannot send handed back."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from pylibsrtp import Policy, Session

from weir.sfu.rtc import srtpsend
from weir.sfu.rtc._srtpsend import BATCH_SIZE, MAX_PACKET, Batch, Outlet
from weir.sfu.rtc.srtpsend import PROTECT, NativeSender, native_send_enabled, session_address
from weir.sfu.rtp import build_packet

PROFILES = {  # profile → master key and salt length
    "AES128_CM_SHA1_80": (Policy.SRTP_PROFILE_AES128_CM_SHA1_80, 30),
    "AEAD_AES_128_GCM": (Policy.SRTP_PROFILE_AEAD_AES_128_GCM, 28),
    "AEAD_AES_256_GCM": (Policy.SRTP_PROFILE_AEAD_AES_256_GCM, 44),
}


def session(profile: str, inbound: bool = False) -> Session:
    srtp_profile, key_length = PROFILES[profile]
    policy = Policy(key=bytes(range(7, 7 + key_length)), srtp_profile=srtp_profile,
                    ssrc_type=Policy.SSRC_ANY_INBOUND if inbound else Policy.SSRC_ANY_OUTBOUND)
    policy.allow_repeat_tx = True  # as aiortc's sessions
    return Session(policy)


def outlet(tx: Session) -> Outlet:
    return Outlet(PROTECT, session_address(tx), tx)


def rtp(seq: int, size: int = 1000) -> bytearray:
    return bytearray(build_packet(payload_type=96, sequence_number=seq, timestamp=seq * 3000, ssrc=4242,
                                  payload=bytes(i & 0xFF for i in range(seq, seq + size))))


def udp(host: str = "127.0.0.1") -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((host, 0))
    sock.settimeout(5)
    return sock


@pytest.fixture
def sockets() -> Iterator[tuple[socket.socket, socket.socket]]:
    """(sender, receiver) on 127.0.0.1."""
    sender, receiver = udp(), udp()
    yield sender, receiver
    sender.close()
    receiver.close()


@pytest.mark.parametrize("profile", PROFILES)
def test_an_outlet_sends_what_pylibsrtp_protects_from_the_socket_it_is_aimed_at(
        profile: str, sockets: tuple[socket.socket, socket.socket]) -> None:
    sender, receiver = sockets
    native, python, inbound = outlet(session(profile)), session(profile), session(profile, inbound=True)
    native.aim(sender.fileno(), *receiver.getsockname())
    for seq, size in [(65534, 1000), (65535, 1), (0, MAX_PACKET - 12), (1, 160)]:  # across a rollover
        packet = rtp(seq, size)
        assert native.send(packet) is None
        datagram, source = receiver.recvfrom(2048)
        assert source == sender.getsockname()
        assert datagram == python.protect(bytes(packet))  # same key, same packet: the same bytes
        assert inbound.unprotect(datagram) == packet
        assert packet == rtp(seq, size)  # the caller's packet is left as it was


def test_an_outlet_keeps_its_own_descriptor_and_can_be_aimed_again(
        sockets: tuple[socket.socket, socket.socket]) -> None:
    sender, first = sockets
    second = udp()
    native, inbound = outlet(session("AEAD_AES_128_GCM")), session("AEAD_AES_128_GCM", inbound=True)
    native.aim(sender.fileno(), *first.getsockname())
    source = sender.getsockname()
    sender.close()  # the number may be reused now; the outlet's duplicate still names the same socket
    other = udp()
    assert native.send(rtp(1)) is None
    assert first.recvfrom(2048)[1] == source
    native.aim(other.fileno(), *second.getsockname())
    native.send(rtp(2))
    datagram, from_other = second.recvfrom(2048)
    assert (from_other, inbound.unprotect(datagram)) == (other.getsockname(), rtp(2))
    native.close()
    with pytest.raises(RuntimeError, match="not aimed"):
        native.send(rtp(3))
    other.close()
    second.close()


def test_an_outlet_sends_over_ipv6() -> None:
    sender, receiver = udp("::1"), udp("::1")
    native, inbound = outlet(session("AES128_CM_SHA1_80")), session("AES128_CM_SHA1_80", inbound=True)
    native.aim(sender.fileno(), "::1", receiver.getsockname()[1])
    native.send(rtp(5))
    datagram, source = receiver.recvfrom(2048)
    assert (source[:2], inbound.unprotect(datagram)) == (sender.getsockname()[:2], rtp(5))
    sender.close()
    receiver.close()


def test_a_datagram_the_socket_does_not_take_comes_back_protected(
        sockets: tuple[socket.socket, socket.socket]) -> None:
    sender, _ = sockets
    native, inbound = outlet(session("AEAD_AES_256_GCM")), session("AEAD_AES_256_GCM", inbound=True)
    native.aim(sender.fileno(), "::1", 9)  # an IPv6 address from an IPv4 socket: sendto fails, nothing is sent
    unsent = native.send(rtp(7))
    assert unsent is not None and inbound.unprotect(unsent) == rtp(7)


def test_an_outlet_refuses_what_it_cannot_protect_or_address(sockets: tuple[socket.socket, socket.socket]) -> None:
    sender, receiver = sockets
    native = outlet(session("AES128_CM_SHA1_80"))
    with pytest.raises(RuntimeError, match="not aimed"):
        native.send(rtp(1))
    for host, port in [("localhost", 5000), ("127.0.0.1", 0), ("127.0.0.1", 65536), ("::1%" + "x" * 80, 5000)]:
        with pytest.raises(ValueError):
            native.aim(sender.fileno(), host, port)
    with pytest.raises(OSError):
        native.aim(-1, "127.0.0.1", 5000)
    native.aim(sender.fileno(), *receiver.getsockname())
    with pytest.raises(ValueError, match="too long"):
        native.send(rtp(1, MAX_PACKET - 11))
    with pytest.raises(ValueError, match="srtp_protect failed"):
        native.send(b"\x80\x60")  # shorter than an RTP header
    with pytest.raises(TypeError):
        native.send("not a buffer")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Outlet(0, 0, None)


class RecordingTransport:
    """An asyncio datagram transport's two members the sender uses, over a real socket, recording sendto."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.sent: list[tuple[bytes, tuple[str, int]]] = []

    def get_extra_info(self, name: str) -> socket.socket:
        assert name == "socket"
        return self.sock

    def sendto(self, data: bytes, address: tuple[str, int]) -> None:
        self.sent.append((data, address))


def test_the_sender_follows_the_nominated_pair_and_queues_what_the_socket_would_not_take(
        monkeypatch: pytest.MonkeyPatch, sockets: tuple[socket.socket, socket.socket]) -> None:
    sender, receiver = sockets
    transport = RecordingTransport(sender)
    reachable = SimpleNamespace(protocol=SimpleNamespace(transport=transport), remote_addr=receiver.getsockname())
    unreachable = SimpleNamespace(protocol=SimpleNamespace(transport=transport), remote_addr=("::1", 9))
    nominated: list[object] = [None]
    monkeypatch.setattr(srtpsend, "nominated_pair", lambda connection, component: nominated[0])
    tx, inbound = session("AEAD_AES_128_GCM"), session("AEAD_AES_128_GCM", inbound=True)
    native = NativeSender(SimpleNamespace(connection=None), tx)  # type: ignore[arg-type]
    native.send(rtp(1))  # before ICE completes: dropped
    nominated[0] = reachable
    native.send(rtp(2))
    assert inbound.unprotect(receiver.recvfrom(2048)[0]) == rtp(2)
    nominated[0] = unreachable  # renominated: a pair this socket cannot reach, so the transport gets it
    native.send(rtp(3))
    assert [(inbound.unprotect(data), address) for data, address in transport.sent] == [(rtp(3), ("::1", 9))]
    native.close()


def test_the_switch() -> None:
    assert native_send_enabled({}) and native_send_enabled({"WEIR_SFU_NATIVE_SEND": "1"})
    assert not native_send_enabled({"WEIR_SFU_NATIVE_SEND": " 0 "})



def test_outlets_aimed_with_an_open_batch_queue_and_one_flush_sends_each_protected_by_its_own_session(
        sockets: tuple[socket.socket, socket.socket]) -> None:
    sender, first = sockets
    second = udp()
    outlets = {first: outlet(session("AEAD_AES_128_GCM")), second: outlet(session("AES128_CM_SHA1_80"))}
    inbound = {first: session("AEAD_AES_128_GCM", inbound=True), second: session("AES128_CM_SHA1_80", inbound=True)}
    batch = Batch(sender.fileno())
    for receiver, native in outlets.items():
        native.aim(sender.fileno(), *receiver.getsockname(), batch)
    batch.begin()
    for seq in range(3):
        for native in outlets.values():
            assert native.send(rtp(seq)) is None
    assert batch.pending() == 6
    assert batch.flush() is None and batch.pending() == 0
    for receiver in outlets:
        got = [receiver.recvfrom(2048) for _ in range(3)]
        expected = [(rtp(seq), sender.getsockname()) for seq in range(3)]
        assert [(inbound[receiver].unprotect(data), source) for data, source in got] == expected
    outlets[first].send(rtp(3))  # the batch is not open: sent at once
    assert batch.pending() == 0 and inbound[first].unprotect(first.recvfrom(2048)[0]) == rtp(3)
    second.close()


def test_a_batch_hands_back_what_the_socket_did_not_take_with_its_destination(
        sockets: tuple[socket.socket, socket.socket]) -> None:
    """sendmmsg sends up to the first datagram the socket refuses; that one and the rest come back, protected."""
    sender, receiver = sockets
    batch = Batch(sender.fileno())
    reachable, unreachable = outlet(session("AEAD_AES_128_GCM")), outlet(session("AEAD_AES_128_GCM"))
    reachable.aim(sender.fileno(), *receiver.getsockname(), batch)
    unreachable.aim(sender.fileno(), "::1", 9, batch)  # an IPv6 address from an IPv4 socket
    inbound = session("AEAD_AES_128_GCM", inbound=True)
    batch.begin()
    for seq, native in enumerate([reachable, unreachable, reachable]):
        native.send(rtp(seq))
    unsent = batch.flush()
    assert unsent is not None and [to for _, to in unsent] == [("::1", 9), receiver.getsockname()]
    assert inbound.unprotect(receiver.recvfrom(2048)[0]) == rtp(0)
    assert inbound.unprotect(unsent[1][0]) == rtp(2)  # protected once, in order: sendable as it is
    assert batch.pending() == 0 and batch.flush() is None


def test_a_full_batch_is_sent_at_once_and_one_the_socket_refuses_leaves_the_packet_to_the_caller(
        sockets: tuple[socket.socket, socket.socket]) -> None:
    sender, receiver = sockets
    batch = Batch(sender.fileno())
    native, stuck = outlet(session("AES128_CM_SHA1_80")), outlet(session("AES128_CM_SHA1_80"))
    native.aim(sender.fileno(), *receiver.getsockname(), batch)
    stuck.aim(sender.fileno(), "::1", 9, batch)
    batch.begin()
    for seq in range(BATCH_SIZE + 1):
        assert native.send(rtp(seq, 10)) is None
    assert batch.pending() == 1  # the first BATCH_SIZE went when the next one came
    assert batch.flush() is None
    assert len([receiver.recvfrom(2048) for _ in range(BATCH_SIZE + 1)]) == BATCH_SIZE + 1
    batch.begin()
    for seq in range(BATCH_SIZE):
        stuck.send(rtp(seq, 10))
    assert native.send(rtp(99, 10)) is None  # full of what the socket refuses: this one is sent on its own
    assert receiver.recvfrom(2048)
    unsent = stuck.send(rtp(100, 10))  # and one the socket refuses comes back, as without a batch
    assert unsent is not None
    flushed = batch.flush()
    assert flushed is not None and len(flushed) == BATCH_SIZE
    with pytest.raises(ValueError, match="too long"):
        batch.begin()
        native.send(rtp(1, MAX_PACKET - 11))
    assert batch.pending() == 0 and batch.flush() is None
    batch.close()
    batch.begin()  # a closed batch stays shut: sent at once
    assert native.send(rtp(101, 10)) is None and batch.pending() == 0 and receiver.recvfrom(2048)
    with pytest.raises(TypeError):
        native.aim(sender.fileno(), *receiver.getsockname(), "not a batch")  # type: ignore[arg-type]
