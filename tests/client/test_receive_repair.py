"""The SDK's receive-side loss repair as pure logic: NACK retries (media/nack.py), the frame buffer's bounded wait
for a hole and its resumption at a keyframe (media/framebuffer.py), and the codec flags (media/keyframes.py)."""

from __future__ import annotations

import pytest

from weir.client.media.framebuffer import END, FILLER, KEY, KEYFRAME_REQUEST_S, START, FrameBuffer
from weir.client.media.keyframes import flags_for, h264_flags, vp8_flags
from weir.client.media.nack import MAX_AGE_S, MAX_TRACKED, MAX_TRIES, NackRequester

# NackRequester


def test_a_new_gap_is_asked_for_at_once() -> None:
    nack = NackRequester()
    assert not nack.received(100, 0.0)
    assert nack.received(103, 0.01)
    assert nack.due == [101, 102]


def test_a_packet_whose_resend_was_lost_is_asked_for_again_without_a_new_gap() -> None:
    """aiortc's generator would stay silent here: packets keep coming in order after the loss."""
    nack = NackRequester()
    nack.received(1, 0.0)
    nack.received(3, 0.0)  # 2 is missing, asked for once
    assert not nack.received(4, nack.retry_interval / 2)
    assert nack.received(5, nack.retry_interval)
    assert nack.due == [2]
    assert not nack.received(6, nack.retry_interval * 1.5)  # not again within the interval
    assert nack.received(7, nack.retry_interval * 2)
    assert nack.due == [2]


def test_retries_stop_after_the_bounded_tries_and_a_repair_ends_them() -> None:
    nack = NackRequester()
    nack.received(1, 0.0)
    nack.received(3, 0.0)
    asked, seq, now = 1, 4, 0.0
    while seq < 200:
        now += 0.06
        asked += nack.received(seq, now) and 2 in nack.due
        seq += 1
    assert asked == MAX_TRIES
    assert nack.waited(2, now) is None and nack.given_up == 1

    nack = NackRequester()
    nack.received(1, 0.0)
    nack.received(3, 0.0)
    nack.received(2, 0.2)  # the resend
    assert not nack.received(4, 10.0)
    assert nack.waited(2, 10.0) is None


def test_retries_stop_at_the_maximum_age() -> None:
    nack = NackRequester()
    nack.received(1, 0.0)
    nack.received(3, 0.0)
    assert not nack.received(4, MAX_AGE_S)
    assert nack.waited(2, MAX_AGE_S) is None


def test_the_retry_interval_follows_the_timed_repairs() -> None:
    nack = NackRequester()
    nack.received(1, 0.0)
    for seq in range(3, 60, 2):  # every other packet lost, each repaired 0.2 s after its NACK
        now = seq * 0.01
        nack.received(seq, now)
        nack.received(seq - 1, now + 0.2)
    assert 0.2 <= nack.retry_interval <= 0.5
    assert nack.hole_wait == pytest.approx(min(4 * nack.retry_interval, 1.0))


def test_a_long_gap_tracks_only_the_latest_packets_and_clear_up_to_forgets() -> None:
    nack = NackRequester()
    nack.received(65000, 0.0)
    nack.received(65000 + 1000 - 65536, 0.0)  # across the wrap
    assert len(nack.due) == MAX_TRACKED
    assert nack.due[-1] == 463 and nack.due[0] == (464 - MAX_TRACKED) & 0xFFFF
    nack.clear_up_to(400)
    assert nack.waited(399, 0.0) is None and nack.waited(400, 0.0) == 0.0


# FrameBuffer: one frame is one or two packets with the timestamp 100 × the frame's number

def frame_of(seq: int) -> int:
    return seq // 2 * 100


def packet(buffer: FrameBuffer, seq: int, now: float = 0.0, key: bool = False,
           flags: int = 0) -> bytes | None:
    """Insert packet ``seq`` of a stream whose frames are two packets each (seq 2n and 2n + 1)."""
    first = seq % 2 == 0
    flags |= (START | (KEY if key else 0)) if first else END
    return buffer.insert(seq & 0xFFFF, frame_of(seq), flags, b"%d," % seq, now)


def started() -> tuple[FrameBuffer, NackRequester]:
    nack = NackRequester()
    buffer = FrameBuffer(nack)
    for seq in (0, 1):
        nack.received(seq, 0.0)
    assert packet(buffer, 0, key=True) is None
    assert packet(buffer, 1) == b"0,1,"
    return buffer, nack


def feed(buffer: FrameBuffer, nack: NackRequester, seqs: range | list[int], now: float,
         key: int | None = None) -> list[bytes]:
    frames = []
    for seq in seqs:
        nack.received(seq & 0xFFFF, now)
        frame = packet(buffer, seq, now, key=seq == key)
        if frame is not None:
            frames.append(frame)
    return frames


def test_frames_come_out_whole_and_in_order_at_their_marker() -> None:
    buffer, nack = started()
    assert feed(buffer, nack, [3, 2], 0.0) == [b"2,3,"]
    assert not buffer.waiting_for_keyframe and buffer.frame_timestamp == 100


def test_a_repaired_hole_releases_the_frames_behind_it() -> None:
    buffer, nack = started()
    assert feed(buffer, nack, [3, 4, 5], 0.0) == []  # 2 lost
    assert feed(buffer, nack, [2], 0.05) == [b"2,3,"]
    assert feed(buffer, nack, [6], 0.05) == [b"4,5,"]  # the backlog drains one frame per packet
    assert buffer.holes_given_up == 0


def test_a_hole_is_given_up_after_the_bounded_wait_and_decoding_resumes_at_a_keyframe() -> None:
    buffer, nack = started()
    assert feed(buffer, nack, range(3, 10), 0.0) == []  # 2 lost for good
    wait = nack.hole_wait
    assert feed(buffer, nack, range(10, 12), wait / 2) == []
    assert feed(buffer, nack, range(12, 14), wait) == []  # given up: delta frames after it are dropped
    assert buffer.holes_given_up == 1 and buffer.waiting_for_keyframe
    assert buffer.keyframe_request
    assert nack.waited(2, wait) is None  # no longer asked for
    buffer.keyframe_request = False
    assert feed(buffer, nack, range(14, 20), wait, key=16) == [b"16,17,", b"18,19,"]
    assert not buffer.waiting_for_keyframe and not buffer.keyframe_request


def test_a_complete_keyframe_after_a_hole_is_decoded_at_once() -> None:
    buffer, nack = started()
    assert feed(buffer, nack, [3, 4, 5], 0.0) == []
    assert feed(buffer, nack, [6, 7], 0.0, key=6) == [b"6,7,"]
    assert feed(buffer, nack, [8, 9], 0.0) == [b"8,9,"]
    assert nack.waited(2, 0.0) is None and buffer.holes_given_up == 0


def test_a_padding_stand_in_breaks_its_frame_until_a_keyframe() -> None:
    buffer, nack = started()
    assert buffer.insert(2, 100, FILLER, b"", 1.0) is None
    assert feed(buffer, nack, range(3, 6), 1.0) == []  # 3 ends the broken frame; 4-5 depend on it
    assert buffer.waiting_for_keyframe and buffer.keyframe_request
    assert feed(buffer, nack, [6, 7], 1.0, key=6) == [b"6,7,"]


def test_keyframe_requests_repeat_at_most_every_interval_while_waiting() -> None:
    buffer, nack = started()
    buffer.insert(2, 100, FILLER, b"", 1.0)
    requests = 0
    for seq in range(3, 60):
        now = 1.0 + seq * 0.02
        nack.received(seq, now)
        packet(buffer, seq, now)
        requests += buffer.keyframe_request
        buffer.keyframe_request = False
    assert requests == pytest.approx(57 * 0.02 / KEYFRAME_REQUEST_S, abs=1)


def test_a_stream_starts_at_its_first_keyframe_and_asks_for_one_if_it_does_not_come() -> None:
    nack = NackRequester()
    buffer = FrameBuffer(nack)
    assert feed(buffer, nack, range(10, 14), 0.0) == []  # delta frames: dropped
    assert not buffer.keyframe_request
    assert feed(buffer, nack, range(14, 16), KEYFRAME_REQUEST_S) == []
    assert buffer.keyframe_request


def test_packets_far_ahead_or_far_behind_restart_the_buffer() -> None:
    buffer, nack = started()
    assert feed(buffer, nack, [2000, 2001], 0.0) == []  # beyond the capacity: everything held is dropped
    assert buffer.waiting_for_keyframe
    assert feed(buffer, nack, [2002, 2003], 0.0, key=2002) == [b"2002,2003,"]
    assert feed(buffer, nack, [1990], 0.0) == []  # late: ignored
    assert feed(buffer, nack, [1000, 1001], 0.0, key=1000) == [b"1000,1001,"]  # far behind: started over


def test_the_capacity_must_be_a_power_of_two() -> None:
    with pytest.raises(ValueError, match="power of 2"):
        FrameBuffer(NackRequester(), capacity=500)


# Codec flags

def test_vp8_flags_read_the_descriptor_and_the_payload_header() -> None:
    assert vp8_flags(b"\x10\x00", b"\x00") == START | KEY  # S, partition 0, P clear
    assert vp8_flags(b"\x90\x80\x01\x10\x00", b"\x01") == START  # extended descriptor, an interframe
    assert vp8_flags(b"\x00\x00", b"\x00") == 0  # a continuation
    assert vp8_flags(b"\x11\x00", b"\x00") == 0  # partition 1


def test_h264_flags_find_sps_and_idr_starts() -> None:
    assert h264_flags(b"\x67\x42", b"") == START | KEY  # SPS
    assert h264_flags(b"\x78\x00\x02\x67\x42\x00\x02\x68\xce", b"") == START | KEY  # STAP-A with an SPS
    assert h264_flags(b"\x7c\x85\x00", b"") == START | KEY  # FU-A, first fragment of an IDR slice
    assert h264_flags(b"\x7c\x05\x00", b"") == 0  # FU-A continuation
    assert h264_flags(b"\x41\x9a", b"") == 0  # a non-IDR slice
    assert flags_for("H264") is h264_flags and flags_for("vp8") is vp8_flags
    assert flags_for(None)(b"\x00", b"") == START | KEY
