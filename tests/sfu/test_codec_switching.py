"""Every video codec starts a subscriber, and switches its simulcast layer, only on a keyframe: the receiver
tells keyframes with the codec's detector (``codecs.KEYFRAME_DETECTORS``)."""

from __future__ import annotations

import pytest

from tests.sfu.test_av1 import FRAME, obu, packet
from tests.sfu.test_h264 import PPS, SLICE, fu_a, nal, stap_a
from tests.sfu.test_vp9 import descriptor
from weir.sfu.codecs import KEYFRAME_DETECTORS
from weir.sfu.codecs.av1 import OBU_SEQUENCE_HEADER
from weir.sfu.codecs.h264 import IDR, SPS
from weir.sfu.downtrack import DownTrack
from weir.sfu.receiver import Receiver
from weir.sfu.rtp import build_packet

# per codec: payloads that start a keyframe, then ones that do not (continuations, predicted frames)
PAYLOADS = {
    "h264": ([stap_a(nal(SPS), nal(PPS)), fu_a(IDR, start=True)], [nal(SLICE), fu_a(IDR, start=False, end=True)]),
    "vp9": ([descriptor(picture_id=1, tid=0)], [descriptor(picture_id=2, inter=True, tid=0), descriptor(start=False)]),
    "av1": ([packet(obu(OBU_SEQUENCE_HEADER), obu(FRAME), n=True)], [packet(obu(FRAME)), packet(b"\x01", z=True)]),
}


@pytest.mark.parametrize("codec", sorted(PAYLOADS))
def test_a_down_track_starts_and_switches_layers_only_on_keyframes(codec: str) -> None:
    keyframes, others = PAYLOADS[codec]
    receiver = Receiver(kind="video", layers=2, keyframe=KEYFRAME_DETECTORS[codec])
    sent: list[bytearray] = []
    downtrack = DownTrack(receiver, sent.append, ssrc=9, payload_type=102, clock_rate=90_000, target_layer=0)
    receiver.add_downtrack(downtrack)
    seq = [0, 0]

    def send(layer: int, *payloads: bytes) -> None:
        for payload in payloads:
            data = build_packet(payload_type=102, sequence_number=seq[layer], timestamp=0, ssrc=layer + 1,
                                payload=payload)
            seq[layer] += 1
            receiver.receive(data, layer, 0)

    send(0, *others)
    assert sent == []  # nothing before a keyframe
    send(0, *keyframes, *others)
    assert len(sent) == len(keyframes) + len(others) and downtrack.forwarder.current == 0
    downtrack.set_target_layer(1)
    send(1, *others)
    send(0, others[0])
    assert downtrack.forwarder.current == 0  # layer 1 has sent no keyframe yet: layer 0 goes on
    before = len(sent)
    send(1, keyframes[0])
    assert len(sent) == before + 1 and downtrack.forwarder.current == 1
    assert receiver.malformed == 0
