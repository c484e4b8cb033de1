"""A video receiver's jitter buffer: packets in sequence order into whole frames, with a bounded wait for a hole.

aiortc's video jitter buffer hands on a frame only when every packet before it has come, and a hole it waits for
is given up only once 512 later packets have come: 8-17 s, or longer, at low layers. Frames after a hole whose
resends were all lost froze for that long (issue 11). This one, as libwebrtc's receiver does:

- hands on a frame once its packets are all there: it ends at a marker bit or where the next packet's timestamp
  differs;
- gives up on a hole when the NACK requester (``nack.NackRequester``) no longer asks for it or it has waited
  ``hole_wait`` (a few retry intervals, 0.2-1 s), and at once when a later keyframe is complete;
- after giving up, and after a padding-only stand-in (the SFU's packet for one it gave up on), drops frames
  until a keyframe starts and asks for one (``keyframe_request``, at most once per ``KEYFRAME_REQUEST_S``):
  a delta frame whose reference is lost decodes to garbage, and never to the picture;
- never holds more than ``capacity`` packets: a packet that far ahead drops everything and waits for a keyframe.

Per packet it stores four values in preallocated rings and scans the head frame; there is no timer, so a wait
is measured when packets arrive. ``insert`` is called once per packet and hands on at most one frame; a backlog
left by a repaired hole drains one frame per later packet, as aiortc's does.
"""

from __future__ import annotations

from collections import deque

from weir.client.media.nack import HALF, SEQ_MASK, NackRequester

__all__ = ["END", "FILLER", "KEY", "KEYFRAME_REQUEST_S", "START", "FrameBuffer"]

# A packet's flags
END = 1  # marker bit: the last packet of its frame
START = 2  # the first packet of a frame, where the codec tells
KEY = 4  # the first packet of a keyframe (implies START)
FILLER = 8  # padding only: the SFU's stand-in for a packet it gave up on

KEYFRAME_REQUEST_S = 0.5
MAX_MISORDER = 100  # a packet this far behind the head means the stream started over
CAPACITY = 512


class FrameBuffer:
    """One video stream's packets (16-bit sequence numbers) in, whole decodable frames out."""

    __slots__ = ("_payloads", "_flags", "_highest", "_keys", "_last_request", "_mask", "_nack", "_origin", "_stamps",
                 "capacity", "frame_timestamp", "frames_dropped", "holes_given_up", "keyframe_request",
                 "waiting_for_keyframe")

    def __init__(self, nack: NackRequester, capacity: int = CAPACITY) -> None:
        if capacity & (capacity - 1):
            raise ValueError("capacity must be a power of 2")
        self.capacity = capacity
        self._mask = capacity - 1
        self._payloads: list[bytes | None] = [None] * capacity
        self._stamps = [0] * capacity
        self._flags = [0] * capacity
        self._nack = nack
        self._origin: int | None = None  # the next packet to hand on
        self._highest = 0  # the newest packet held
        self._keys: deque[int] = deque()  # keyframe starts held, oldest first
        self._last_request = float("-inf")
        self.frame_timestamp = 0  # the RTP timestamp of the frame ``insert`` returned last
        self.waiting_for_keyframe = True
        self.keyframe_request = False  # set when a PLI should go out; the caller clears it
        self.frames_dropped = 0
        self.holes_given_up = 0

    def insert(self, seq: int, timestamp: int, flags: int, data: bytes, now: float) -> bytes | None:
        """Add one packet (``data``: its depayloaded payload) arriving at ``now`` (seconds, monotonic); return
        the next frame for the decoder (its timestamp in ``frame_timestamp``) or None."""
        origin = self._origin
        if origin is None:
            self._start(seq, now)
        else:
            ahead = (seq - origin) & SEQ_MASK
            if ahead >= HALF:  # before the head: late, already handed on or given up
                if (origin - seq) & SEQ_MASK < MAX_MISORDER:
                    return self._next_frame(now)
                self._drop_all(seq, now)
            elif ahead >= self.capacity:
                self._drop_all(seq, now)
        pos = seq & self._mask
        if self._payloads[pos] is not None:  # a duplicate
            return self._next_frame(now)
        self._payloads[pos] = data
        self._stamps[pos] = timestamp
        self._flags[pos] = flags
        if (seq - self._highest) & SEQ_MASK < HALF:
            self._highest = seq
        if flags & KEY:
            self._keys.append(seq)
        return self._next_frame(now)

    def _start(self, seq: int, now: float) -> None:
        self._origin = self._highest = seq
        self._last_request = now  # the first keyframe is on its way: ask only if it does not come

    def _drop_all(self, seq: int, now: float) -> None:
        """The stream jumped: forget everything held, start again at ``seq`` and wait for a keyframe."""
        self._payloads = [None] * self.capacity
        self._keys.clear()
        self._origin = self._highest = seq
        self._nack.clear_up_to(seq)
        self._want_keyframe(now)

    def _want_keyframe(self, now: float) -> None:
        self.waiting_for_keyframe = True
        if now - self._last_request >= KEYFRAME_REQUEST_S:
            self._last_request = now
            self.keyframe_request = True

    def _next_frame(self, now: float) -> bytes | None:
        """Hand on the first decodable frame at the head, dropping undecodable ones and giving up on holes."""
        while True:
            origin = self._origin
            assert origin is not None
            end, hole = self._scan(origin)
            if end < 0:
                if hole >= 0 and self._on_hole(hole, now):
                    continue
                if self.waiting_for_keyframe:
                    self._want_keyframe(now)
                return None
            frame = self._take(origin, end, now)
            if frame is not None:
                return frame

    def _scan(self, first: int) -> tuple[int, int]:
        """Where the frame starting at ``first`` ends (the sequence number after it), or -1 and the hole it lacks
        (-1: none, its next packets have not come yet)."""
        data, stamps, flags, mask = self._payloads, self._stamps, self._flags, self._mask
        after = (self._highest + 1) & SEQ_MASK
        timestamp = stamps[first & mask]
        seq = first
        while seq != after:
            pos = seq & mask
            if data[pos] is None:
                return -1, seq
            if stamps[pos] != timestamp:
                return seq, -1
            seq = (seq + 1) & SEQ_MASK
            if flags[pos] & END:
                return seq, -1
        return -1, -1

    def _take(self, first: int, end: int, now: float) -> bytes | None:
        """Remove the frame ``first``..``end - 1`` from the head; its data when it is decodable."""
        data, flags, mask = self._payloads, self._flags, self._mask
        decodable = not self.waiting_for_keyframe or flags[first & mask] & KEY != 0
        parts: list[bytes] = []
        seq = first
        while seq != end:
            pos = seq & mask
            decodable = decodable and not flags[pos] & FILLER
            parts.append(data[pos] or b"")
            data[pos] = None
            seq = (seq + 1) & SEQ_MASK
        self._forget_keys_before(end)
        self._origin = end
        if not decodable:
            self.frames_dropped += 1
            self._want_keyframe(now)
            return None
        if self.waiting_for_keyframe:  # the keyframe came: the next loss may ask at once
            self.waiting_for_keyframe = False
            self._last_request = float("-inf")
        self.frame_timestamp = self._stamps[first & mask]
        return b"".join(parts)

    def _forget_keys_before(self, seq: int) -> None:
        keys = self._keys
        while keys and (keys[0] - seq) & SEQ_MASK >= HALF:
            keys.popleft()

    def _on_hole(self, hole: int, now: float) -> bool:
        """The head frame lacks ``hole``: skip to a later complete keyframe, or give up on the hole once it has
        waited long enough. True when the head moved."""
        key = self._complete_keyframe()
        if key is not None:
            self._skip_to(key)
            return True
        waited = self._nack.waited(hole, now)
        if waited is not None and waited < self._nack.hole_wait:
            return False
        self.holes_given_up += 1
        self._skip_to(self._after_hole(hole))
        self._want_keyframe(now)
        return True

    def _complete_keyframe(self) -> int | None:
        """The first keyframe held beyond the head whose packets are all there."""
        origin = self._origin
        for key in self._keys:
            if key != origin and self._scan(key)[0] >= 0:
                return key
        return None

    def _after_hole(self, hole: int) -> int:
        """Where the head goes when ``hole`` is given up: the first packet after it if that starts a frame, else
        the end of the frame it broke (the next hole, or past the newest packet)."""
        data, flags, mask = self._payloads, self._flags, self._mask
        seq = hole
        while data[seq & mask] is None:  # the newest packet is held, so this stops
            seq = (seq + 1) & SEQ_MASK
        if flags[seq & mask] & (START | KEY):
            return seq
        end, next_hole = self._scan(seq)
        return end if end >= 0 else next_hole if next_hole >= 0 else (self._highest + 1) & SEQ_MASK

    def _skip_to(self, seq: int) -> None:
        """Drop every packet before ``seq`` and stop asking for those missing."""
        data, mask = self._payloads, self._mask
        skipped = self._origin
        assert skipped is not None
        while skipped != seq:
            data[skipped & mask] = None
            skipped = (skipped + 1) & SEQ_MASK
        self._origin = seq
        self._forget_keys_before(seq)
        self._nack.clear_up_to(seq)
