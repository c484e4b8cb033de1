"""The call screen in Chromium: sign-in, lobby, deep links, two pages in one call, reactions, moderation, leave."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import expect

from tests.web.conftest import Pages, by_user, join_call, tiles


def test_two_pages_join_one_call_and_see_each_other(pages: Pages, uid: Callable[[str], str]) -> None:
    alice, bob, call_id = uid("alice"), uid("bob"), uid("c")
    first = pages.signed_in(alice)
    join_call(first, "default", call_id)
    expect(first.get_by_test_id("call-screen")).to_have_attribute("data-call-cid", f"default:{call_id}")
    assert first.url.endswith(f"/join/default/{call_id}")

    second = pages.signed_in(bob, f"/join/default/{call_id}")  # the deep link opens the lobby for that call
    expect(second.get_by_test_id("call-id")).to_have_value(call_id)
    second.get_by_test_id("join-call").click()

    for page in (first, second):
        expect(page.get_by_test_id("participant-tile")).to_have_count(2)
        assert set(tiles(page)) == {alice, bob}
        page.get_by_test_id("toggle-participants").click()
        expect(page.get_by_test_id("participant-entry")).to_have_count(2)
    expect(by_user(first, "participant-tile", alice)).to_have_attribute("data-local", "true")
    expect(by_user(first, "participant-tile", bob).get_by_test_id("participant-name")).to_have_text(bob)

    second.get_by_test_id("leave-call").click()
    expect(second.get_by_test_id("call-ended")).to_have_attribute("data-reason", "left")
    expect(first.get_by_test_id("participant-tile")).to_have_count(1)


def test_reactions_arrive_and_dismiss_themselves(pages: Pages, uid: Callable[[str], str]) -> None:
    alice, bob, call_id = uid("alice"), uid("bob"), uid("c")
    sender, receiver = pages.signed_in(alice), pages.signed_in(bob)
    join_call(sender, "default", call_id)
    expect(sender.get_by_test_id("call-screen")).to_be_visible()
    join_call(receiver, "default", call_id)
    expect(receiver.get_by_test_id("participant-tile")).to_have_count(2)

    sender.get_by_test_id("reactions").click()
    sender.get_by_test_id("send-reaction-fireworks").click()
    shown = by_user(receiver, "participant-tile", alice).get_by_test_id("reaction")
    expect(shown).to_have_attribute("data-reaction-type", "fireworks")
    expect(shown).to_be_hidden(timeout=8000)  # reactionAutoDismissTime: 5 s


def test_moderator_pins_for_everyone_and_removes_a_participant(pages: Pages, uid: Callable[[str], str]) -> None:
    host, guest, call_id = uid("host"), uid("guest"), uid("c")
    moderator, member = pages.signed_in(host), pages.signed_in(guest)
    join_call(moderator, "default", call_id)  # the creator is the call's host
    join_call(member, "default", call_id)
    expect(moderator.get_by_test_id("participant-tile")).to_have_count(2)

    moderator.get_by_test_id("toggle-participants").click()
    entry = by_user(moderator, "participant-entry", guest)
    expect(member.get_by_test_id("toggle-participants")).to_be_visible()
    assert member.get_by_test_id("kick-user").count() == 0, "a plain participant has no moderation"

    entry.get_by_test_id("pin-user").click()
    expect(by_user(member, "participant-tile", guest).get_by_test_id("pinned-indicator")).to_be_visible()
    assert tiles(member)[0] == guest, "pinned participants come first in the grid"

    entry.get_by_test_id("kick-user").click()
    expect(member.get_by_test_id("call-ended")).to_have_attribute("data-reason", "kicked")
    expect(moderator.get_by_test_id("participant-tile")).to_have_count(1)


def test_end_for_everyone(pages: Pages, uid: Callable[[str], str]) -> None:
    host, guest, call_id = uid("host"), uid("guest"), uid("c")
    moderator, member = pages.signed_in(host), pages.signed_in(guest)
    join_call(moderator, "default", call_id)
    join_call(member, "default", call_id)
    expect(member.get_by_test_id("participant-tile")).to_have_count(2)
    assert member.get_by_test_id("end-call").count() == 0
    moderator.get_by_test_id("end-call").click()
    for page in (moderator, member):
        expect(page.get_by_test_id("call-ended")).to_have_attribute("data-reason", "ended")
