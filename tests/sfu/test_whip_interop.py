"""What WHIP and WHEP clients need of the media plane beyond the browsers: max-bundle offers (``bundle-only``
m-sections), a DTLS peer with an RSA certificate, and a receive-only offer answered by the SFU."""

from __future__ import annotations

import datetime

import pytest
from aiortc.rtcdtlstransport import SRTP_PROFILES, RTCCertificate
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from OpenSSL import SSL

from tests.sfu.rtc_peers import LOOPBACK, Peer
from weir.rtc.sdp import SdpError, parse
from weir.sfu.rtc import RtcRoom, Subscription
from weir.sfu.rtc.dtls import MediaCertificate
from weir.sfu.rtc.negotiate import remote_transport

TRANSPORT = ("a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
             "a=fingerprint:sha-256 AA:BB\r\na=setup:actpass\r\na=rtcp-mux\r\n")
MAX_BUNDLE_OFFER = (
    "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE video0 audio1\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\n" + TRANSPORT + "a=mid:video0\r\na=sendrecv\r\n"
    "a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack pli\r\n"
    "m=audio 0 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n" + TRANSPORT + "a=bundle-only\r\na=mid:audio1\r\n"
    "a=sendrecv\r\na=rtpmap:111 OPUS/48000/2\r\n"
)


def test_a_bundle_only_section_is_live() -> None:
    audio = parse(MAX_BUNDLE_OFFER).media[1]
    assert audio.port == 0 and audio.bundle_only and not audio.rejected
    assert not parse(MAX_BUNDLE_OFFER.replace("a=bundle-only\r\n", "")).media[1].bundle_only
    assert parse(MAX_BUNDLE_OFFER.replace("a=bundle-only\r\n", "")).media[1].rejected


def _rsa_server() -> SSL.Context:
    """A DTLS server context with an RSA certificate, as GStreamer's webrtcbin has."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "webrtcbin")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    context = SSL.Context(SSL.DTLS_METHOD)
    context.use_certificate(cert)
    context.use_privatekey(key)
    context.set_tlsext_use_srtp(b"SRTP_AES128_CM_SHA1_80")
    return context


def _handshake(client_context: SSL.Context, server_context: SSL.Context) -> SSL.Connection:
    client, server = SSL.Connection(client_context), SSL.Connection(server_context)
    client.set_connect_state()
    server.set_accept_state()
    for _ in range(10):
        for sender, receiver in ((client, server), (server, client)):
            try:
                sender.do_handshake()
            except SSL.WantReadError:
                pass
            try:
                while True:
                    receiver.bio_write(sender.bio_read(65536))
            except SSL.WantReadError:
                pass
    return client


def test_the_sfu_as_dtls_client_reaches_an_rsa_server() -> None:
    client = _handshake(MediaCertificate.generateCertificate()._create_ssl_context(SRTP_PROFILES), _rsa_server())
    assert "RSA" in (client.get_cipher_name() or "")
    assert client.get_selected_srtp_profile() == b"SRTP_AES128_CM_SHA1_80"
    with pytest.raises(SSL.Error, match="no shared cipher"):  # aiortc's own context offers ECDSA suites only
        _handshake(RTCCertificate.generateCertificate()._create_ssl_context(SRTP_PROFILES), _rsa_server())


async def test_a_receive_only_offer_is_answered_in_its_own_mids_and_payload_types() -> None:
    room = RtcRoom("default:whep", LOOPBACK)
    publisher = Peer(room, "pub")
    await publisher.join()
    await publisher.publish(audio=True, video=True)
    viewer = await room.add_participant("viewer", "fan")
    offer = (MAX_BUNDLE_OFFER.replace("a=sendrecv", "a=recvonly").replace("96", "102")
             .replace("m=audio 0", "m=audio 9").replace("a=bundle-only\r\n", ""))
    offer = offer.replace("BUNDLE video0 audio1", "BUNDLE video0 audio1 data")
    offer += "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n" + TRANSPORT + "a=mid:data\r\n"
    try:
        wanted = [Subscription("pub", "video"), Subscription("pub", "audio")]
        answer = parse(await viewer.answer_subscriber_offer(offer, wanted))
        assert [(m.mid, m.direction, m.rejected) for m in answer.media] == [
            ("video0", "sendonly", False), ("audio1", "sendonly", False), ("data", "sendrecv", True)]
        assert answer.bundle == ["video0", "audio1"]
        assert [c.payload_type for c in answer.media[0].codecs] == [102]
        assert answer.media[1].codecs[0].mime == "opus"
        assert remote_transport(answer).setup == "active"
        with pytest.raises(SdpError, match="negotiated already"):
            await viewer.answer_subscriber_offer(offer, wanted)
        other = await room.add_participant("other", "fan2")
        with pytest.raises(SdpError, match="can receive"):  # nothing it offers matches: H.264 only
            await other.answer_subscriber_offer(offer.replace("VP8", "H264").replace("OPUS", "G722"), wanted)
    finally:
        await publisher.close()
        await room.close()

