"""WebRTC through the SFU in Chromium: each page renders the other's video, mutes and screen shares show on
the other page."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Locator, Page, expect

from tests.web.conftest import Pages, by_user, join_call

# Frames the <video> decoded and how far it played, read twice a second apart by the page itself.
PLAYING_TRIES = 45  # a second each; a page's first frame took over 20 s once in a run at load 15-20
PLAYBACK = """async (video) => {
  const sample = () => [video.currentTime, video.getVideoPlaybackQuality().totalVideoFrames];
  const [t0] = sample();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const [t1, frames] = sample();
  return {advanced: t1 > t0, frames};
}"""


def record_instances(cls: str, into: str) -> str:
    """An init script that keeps every ``window.<cls>`` the page makes in ``window.<into>``."""
    return f"""(() => {{
  const Native = window.{cls};
  window.{into} = [];
  window.{cls} = class extends Native {{
    constructor(...args) {{ super(...args); window.{into}.push(this); }}
  }};
}})();"""


# Keeps the page's WebSockets reachable, so a test can drop one.
RECORD_SOCKETS = record_instances("WebSocket", "__sockets")
SFU_SOCKETS = "() => window.__sockets.filter((s) => s.url.includes('/sfu/'))"


def in_call(pages: Pages, users: list[str], call_id: str, init_script: str = "") -> list[Page]:
    opened = [pages.signed_in(user, init_script=init_script) for user in users]
    for page in opened:
        join_call(page, "default", call_id)
        expect(page.get_by_test_id("call-screen")).to_be_visible()
    for page in opened:
        expect(page.get_by_test_id("participant-tile")).to_have_count(len(users))
    return opened


def expect_playing(video: Locator) -> None:
    """The <video> decodes frames and its time advances (retried: media takes a moment to start)."""
    def playing() -> bool:
        state = video.evaluate(PLAYBACK)
        return bool(state["advanced"] and state["frames"] > 0)

    expect(video).to_be_visible()
    for _ in range(PLAYING_TRIES):
        if playing():
            return
    raise AssertionError(f"video is not playing: {video.evaluate(PLAYBACK)}")


def test_each_page_renders_the_others_video(pages: Pages, uid: Callable[[str], str]) -> None:
    alice, bob = uid("alice"), uid("bob")
    first, second = in_call(pages, [alice, bob], uid("c"))
    expect_playing(by_user(first, "participant-tile", bob).get_by_test_id("participant-video"))
    expect_playing(by_user(second, "participant-tile", alice).get_by_test_id("participant-video"))
    expect(second.get_by_test_id("remote-audio")).to_have_count(1)


def test_mute_and_camera_off_show_on_the_other_page(pages: Pages, uid: Callable[[str], str]) -> None:
    alice, bob = uid("alice"), uid("bob")
    first, second = in_call(pages, [alice, bob], uid("c"))
    seen = by_user(second, "participant-tile", alice)
    expect(seen.get_by_test_id("mic-indicator")).to_have_attribute("data-muted", "false")

    first.get_by_test_id("toggle-mic").click()
    expect(seen.get_by_test_id("mic-indicator")).to_have_attribute("data-muted", "true")
    first.get_by_test_id("toggle-mic").click()
    expect(seen.get_by_test_id("mic-indicator")).to_have_attribute("data-muted", "false")

    first.get_by_test_id("toggle-camera").click()
    expect(seen.get_by_test_id("camera-off-indicator")).to_be_visible()
    expect(seen.get_by_test_id("participant-video")).to_have_count(0)


def test_screen_share_is_a_tile_of_its_own(pages: Pages, uid: Callable[[str], str]) -> None:
    alice, bob = uid("alice"), uid("bob")
    first, second = in_call(pages, [alice, bob], uid("c"))
    first.get_by_test_id("screen-share").click()
    shared = by_user(second, "screen-share-tile", alice)
    expect_playing(shared.get_by_test_id("screen-video"))
    expect(second.get_by_test_id("participant-tile")).to_have_count(2)

    first.get_by_test_id("screen-share").click()
    expect(shared).to_have_count(0)


def test_moderator_mutes_a_participant(pages: Pages, uid: Callable[[str], str]) -> None:
    host, guest = uid("host"), uid("guest")
    moderator, member = in_call(pages, [host, guest], uid("c"))
    moderator.get_by_test_id("toggle-participants").click()
    by_user(moderator, "participant-entry", guest).get_by_test_id("mute-user").click()
    expect(member.get_by_test_id("notice")).to_contain_text(host)
    expect(member.get_by_test_id("toggle-mic")).to_have_attribute("aria-pressed", "false")
    expect(by_user(moderator, "participant-tile", guest).get_by_test_id("mic-indicator")).to_have_attribute(
        "data-muted", "true")


def test_a_lost_sfu_socket_reconnects_fast(pages: Pages, uid: Callable[[str], str]) -> None:
    alice, bob = uid("alice"), uid("bob")
    first, second = in_call(pages, [alice, bob], uid("c"), init_script=RECORD_SOCKETS)
    seen = by_user(second, "participant-tile", alice).get_by_test_id("mic-indicator")
    expect(seen).to_have_attribute("data-muted", "false")

    first.evaluate(f"() => ({SFU_SOCKETS})().forEach((s) => s.close())")
    first.wait_for_function(f"() => ({SFU_SOCKETS})().filter((s) => s.readyState === 1).length === 1")
    assert first.evaluate(f"() => ({SFU_SOCKETS})().length") == 2, "one new socket, same session"
    first.get_by_test_id("toggle-mic").click()  # travels over the new socket
    expect(seen).to_have_attribute("data-muted", "true")
    expect(second.get_by_test_id("participant-tile")).to_have_count(2)
