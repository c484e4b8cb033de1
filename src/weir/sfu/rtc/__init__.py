"""Weir's WebRTC media plane: ICE, DTLS-SRTP and SDP around the packet core, forwarding without decoding.

Built on aiortc's transport stack (aioice for ICE, aiortc's DTLS transport, pylibsrtp), but not on its
``RTCPeerConnection``: no aiortc receiver, sender, decoder or encoder exists on the SFU side. Decrypted RTP
goes straight from the DTLS transport to the packet core (``weir.sfu.receiver``), and each down-track's
rewritten packets are protected and sent from there (see ``dtls.py``).

Layers, from the wire inward: ``weir.rtc.ice`` (aioice connections on configured addresses, shared with the
client SDK) → ``dtls`` → ``transport`` (one peer connection) → ``router`` / ``subscriber`` (packets in and out) →
``participant`` → ``room``. ``negotiate`` is pure offer/answer code over ``weir.rtc.sdp``.
"""

from weir.rtc.config import IceConfig
from weir.rtc.sdp import SdpError
from weir.sfu.rtc.model import Layer, Subscription, TrackInfo
from weir.sfu.rtc.participant import RtcParticipant
from weir.sfu.rtc.room import RtcRoom

__all__ = ["IceConfig", "Layer", "RtcParticipant", "RtcRoom", "SdpError", "Subscription", "TrackInfo"]
