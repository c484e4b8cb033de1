"""Ringing in Chromium: the outgoing screen, the incoming screen from coordinator events, accept, decline,
cancel, and missed calls."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from playwright.sync_api import Page, expect

from tests.web.conftest import Pages, tiles


def ring(caller: Page, callee_id: str, call_id: str) -> None:
    caller.get_by_test_id("call-id").fill(call_id)
    caller.get_by_test_id("ring-users").fill(callee_id)
    caller.get_by_test_id("ring-call").click()
    expect(caller.get_by_test_id("outgoing-call")).to_be_visible()


def test_ring_and_accept(pages: Pages, uid: Callable[[str], str]) -> None:
    alice, bob, call_id = uid("alice"), uid("bob"), uid("c")
    caller, callee = pages.signed_in(alice), pages.signed_in(bob)
    ring(caller, bob, call_id)
    incoming = callee.get_by_test_id("incoming-call")
    expect(incoming).to_have_attribute("data-call-cid", f"default:{call_id}")
    expect(callee.get_by_test_id("incoming-caller")).to_contain_text(alice)

    callee.get_by_test_id("accept-call").click()
    expect(incoming).to_be_hidden()
    for page in (caller, callee):
        expect(page.get_by_test_id("call-screen")).to_be_visible()
        expect(page.get_by_test_id("participant-tile")).to_have_count(2)
        assert set(tiles(page)) == {alice, bob}


def test_ring_and_decline(pages: Pages, uid: Callable[[str], str]) -> None:
    alice, bob, call_id = uid("alice"), uid("bob"), uid("c")
    caller, callee = pages.signed_in(alice), pages.signed_in(bob)
    ring(caller, bob, call_id)
    callee.get_by_test_id("reject-call").click()
    expect(callee.get_by_test_id("incoming-call")).to_be_hidden()
    expect(caller.get_by_test_id("call-ended")).to_have_attribute("data-reason", "rejected")
    expect(callee.get_by_test_id("lobby")).to_be_visible()


def test_caller_cancels(pages: Pages, uid: Callable[[str], str]) -> None:
    alice, bob, call_id = uid("alice"), uid("bob"), uid("c")
    caller, callee = pages.signed_in(alice), pages.signed_in(bob)
    ring(caller, bob, call_id)
    expect(callee.get_by_test_id("incoming-call")).to_be_visible()
    caller.get_by_test_id("cancel-call").click()
    expect(caller.get_by_test_id("lobby")).to_be_visible()
    expect(callee.get_by_test_id("incoming-call")).to_be_hidden()


def test_unanswered_ring_becomes_a_missed_call(
    pages: Pages, server_api: httpx.Client, uid: Callable[[str], str]
) -> None:
    alice, bob, call_id = uid("alice"), uid("bob"), uid("c")
    callee = pages.signed_in(bob)
    shortest = {"incoming_call_timeout_ms": 5000, "auto_cancel_timeout_ms": 5000, "missed_call_timeout_ms": 5000}
    created = server_api.post(f"/video/call/default/{call_id}", json={"ring": True, "data": {
        "created_by_id": alice, "members": [{"user_id": alice}, {"user_id": bob}],
        "settings_override": {"ring": shortest},
    }})
    assert created.status_code == 200, created.text
    expect(callee.get_by_test_id("incoming-call")).to_be_visible()
    expect(callee.get_by_test_id("incoming-call")).to_be_hidden(timeout=15_000)
    expect(callee.get_by_test_id("missed-call")).to_contain_text(alice, timeout=15_000)
