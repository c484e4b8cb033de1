"""``fan_out``: one inbound packet's fan-out to every down-track of its layer in one C call.

In Python, each subscriber costs a packet about eight calls before the send (``DownTrack.write``, the forwarder,
the munger, the copy, the sequencer, ``ExtensionSink.send_forwarded``, ``MediaDtls.send_rtp``,
``NativeSender.send``). ``_srtpsend.fan_out`` does the common case's work in C: the packet is of the forwarder's
current layer and above the munger's highest, no RED blocks need rewriting (VP8's picture id and TL0PICIDX are
rewritten as ``downtrack.rewrite_vp8`` does, after a layer switch), and the sink is an
``ExtensionSink`` (or none) over a connected ``MediaDtls`` whose ``NativeSender`` is aimed at the ICE link's
nominated pair. It writes the header and extension block straight into the datagram (in the socket's batch),
copies the payload once behind them, protects and queues it, and updates the same state the Python path does:
the munger's highest packet, the sequencer, the down-track's counters, the transport's ``SendHistory`` and the
transport's ``rtp_sent``. Every other member (a first packet, a switch, a late packet, RED, another sink,
a relay, an outlet not aimed at the nominated pair) gets ``member.write(packet)``, unchanged.

The state stays in the Python objects: C reads and writes their slots at the offsets ``configure`` takes from
their member descriptors, so the Python path always finds what the C path did. ``WEIR_SFU_NATIVE_SEND=0`` keeps
the fan-out in Python too (``fan_out_for``).
"""

from __future__ import annotations

import time

from aiortc.rtcdtlstransport import State

from weir.rtc.aiortc_adapter import NOMINATED_MEMBER
from weir.rtc.ice import COMPONENT
from weir.sfu.downtrack import DownTrack, rewrite_vp8
from weir.sfu.forwarder import Forwarder
from weir.sfu.headerext import ExtensionSink, SendHistory
from weir.sfu.munger import Munger, Segment
from weir.sfu.packet import HEADROOM, InboundPacket
from weir.sfu.receiver import FanOut, write_each
from weir.sfu.rtc import _srtpsend
from weir.sfu.rtc.dtls import MediaDtls
from weir.sfu.rtc.srtpsend import NativeSender, native_send_enabled
from weir.sfu.sequencer import Sequencer

__all__ = ["fan_out", "fan_out_for"]

if len(HEADROOM) != _srtpsend.HEADROOM:
    raise ImportError(f"weir.sfu.rtc._srtpsend was built for a headroom of {_srtpsend.HEADROOM}, not {len(HEADROOM)}")

_srtpsend.configure(
    downtrack=DownTrack, forwarder=Forwarder, munger=Munger, segment=Segment, sequencer=Sequencer,
    sink=ExtensionSink, history=SendHistory, sender=NativeSender, packet=InboundPacket, dtls=MediaDtls,
    send_forwarded=ExtensionSink.send_forwarded, send_rtp=MediaDtls.send_rtp, rewrite_vp8=rewrite_vp8,
    connected=State.CONNECTED, monotonic_ns=time.monotonic_ns, component=COMPONENT, nominated=NOMINATED_MEMBER,
)

fan_out: FanOut = _srtpsend.fan_out


def fan_out_for(native: bool | None = None) -> FanOut:
    """The fan-out a new receiver uses: in C unless ``native`` is False (None reads ``WEIR_SFU_NATIVE_SEND``)."""
    return fan_out if (native_send_enabled() if native is None else native) else write_each
