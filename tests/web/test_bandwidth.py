"""Bandwidth with Chromium through the SFU: Chromium's subscriber connection keeps transport-cc, so the SFU
estimates its downlink send-side from the feedback; and the browser app stops sending the simulcast layers the SFU
says nobody receives."""

from __future__ import annotations

import time
from collections.abc import Callable

from tests.conftest import RunningServer
from tests.web.conftest import Pages, by_user
from tests.web.test_media import expect_playing, in_call
from weir.sfu.rtc import RtcParticipant
from weir.sfu.sendside import START_BPS, SendSideEstimate

WAIT_S = 30


def wait_until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def arriving_layers(participant: RtcParticipant) -> set[int]:
    """The simulcast layers of the participant's camera whose packets keep arriving at the SFU."""
    (track,) = [t for t in participant.published if t.info.track_type == "video"]
    before = track.receiver.counters()
    time.sleep(1.5)
    after = track.receiver.counters()
    return {layer for layer, (old, new) in enumerate(zip(before, after, strict=True)) if new[0] > old[0]}


def grown(estimate: SendSideEstimate) -> bool:
    """The send-side estimate, which is the ceiling, has grown past where it started, past what the subscriber
    asks for and past what the feedback says arrives: only its growth on a clean path takes it there."""
    acked = estimate.delay.acked.bps
    floor = max(START_BPS, estimate.wanted_bps, 1.1 * (acked or 0.0))
    return acked is not None and estimate.bps > floor and estimate.ceiling == estimate.bps


def test_chromium_sends_transport_cc_feedback_and_stops_the_layers_nobody_receives(
    pages: Pages, web_server: RunningServer, uid: Callable[[str], str]
) -> None:
    alice, bob, call_id = uid("alice"), uid("bob"), uid("c")
    first, second = in_call(pages, [alice, bob], call_id)
    expect_playing(by_user(second, "participant-tile", alice).get_by_test_id("participant-video"))
    room = web_server.app.state.sfu.server.rooms.rooms[f"default:{call_id}"]
    media = {session.user_id: session.media for session in room.sessions.values()}
    assert isinstance(media[alice], RtcParticipant)
    estimates = [m.downlink.estimate for m in media.values()]
    assert all(isinstance(estimate, SendSideEstimate) for estimate in estimates), "chosen at negotiation"
    wait_until(lambda: all(isinstance(e, SendSideEstimate) and e.feedbacks > 20 for e in estimates),
               "transport-cc feedback from both pages")
    wait_until(lambda: all(isinstance(e, SendSideEstimate) and grown(e) for e in estimates),
               "the send-side estimates growing")
    expect_playing(by_user(first, "participant-tile", bob).get_by_test_id("participant-video"))
    # One subscriber (bob, at his tile's size) needs one of alice's three layers: the others stop arriving.
    wait_until(lambda: 1 <= len(arriving_layers(media[alice])) < 3, "alice's browser pausing unneeded layers")
    expect_playing(by_user(second, "participant-tile", alice).get_by_test_id("participant-video"))
