"""The synchronous inbound path on two real transports: an SRTP datagram read from the socket is unprotected and
handed to the packet core inside ``datagram_received``, with no queue and no ``await`` in between."""

from __future__ import annotations

from tests.sfu.rtc_peers import eventually
from tests.sfu.test_rtc_transport import connected_pair, rtp
from weir.sfu.rtc.inbound import DemuxProtocol
from weir.sfu.rtcp import Pli, parse_compound


async def test_media_is_delivered_inside_datagram_received_and_junk_is_counted() -> None:
    offerer, answerer = await connected_pair()
    link = answerer.transport.link
    assert link.inlet.sink == answerer.transport.dtls.receive_srtp
    protocol = link.connection._nominated[1].protocol
    assert isinstance(protocol, DemuxProtocol)
    sender = offerer.transport.dtls._tx_srtp
    addr = ("127.0.0.1", 9)

    protocol.datagram_received(sender.protect(rtp(5)), addr)
    assert answerer.rtp == [rtp(5)]  # already there: nothing was awaited
    protocol.datagram_received(sender.protect_rtcp(bytes(Pli(1, 77))), addr)
    assert parse_compound(answerer.rtcp[0]) == [Pli(1, 77)]

    protocol.datagram_received(b"", addr)
    protocol.datagram_received(bytes([70, 1, 2, 3]), addr)
    protocol.datagram_received(bytes([0x80]) + bytes(40), addr)  # SRTP that does not authenticate
    assert (protocol.demux.dropped["empty"], protocol.demux.dropped["turn_channel"]) == (1, 1)
    assert answerer.transport.dtls.srtp_refused == 1
    assert answerer.rtp == [rtp(5)]

    offerer.transport.send_rtp(rtp(6))  # and through the socket, the same way
    await eventually(lambda: len(answerer.rtp) == 2, what="the packet over UDP")
    assert answerer.rtp[1] == rtp(6)
    await offerer.transport.close()
    await eventually(lambda: answerer.transport.state == "closed", what="the peer's DTLS close")
    assert link.inlet.sink is None
    await answerer.transport.close()
