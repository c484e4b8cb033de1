"""The admin dashboard at /dashboard, in Chromium: sign-in, each screen doing its job through the real API, and a
PNG of every screen (`make screenshots` keeps them in docs/screenshots/)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.conftest import RunningServer
from tests.egress.media import ColourTrack
from tests.push_fakes import apns_key, pem
from tests.test_gdpr import in_database
from tests.test_webhooks import Receiver, wait_until
from tests.web.conftest import Pages, by_user, join_call, off_loop
from weir.domain.clock import now
from weir.egress.frames import encode_jpeg
from weir.store.tables import RecordingRow

# One server for the module (the session's SQLite web server); every test names its own call types, users, calls.
pytestmark = pytest.mark.parametrize("web_server", ["sqlite"], indirect=True)


def signed_in(pages: Pages, web_server: RunningServer, screen: str) -> Page:
    """A dashboard page signed in with the API key and secret, on one screen."""
    page = pages.open(f"/dashboard/{screen}?theme=light")
    page.get_by_test_id("dash-api-key").fill(web_server.api_key)
    page.get_by_test_id("dash-api-secret").fill(web_server.api_secret)
    page.get_by_test_id("dash-sign-in-submit").click()
    expect(page.get_by_test_id(f"screen-{screen}")).to_be_visible()
    return page


def needs(web_server: RunningServer, path: str, what: str) -> None:
    """Skip (saying why) on a server without ``path``: the tasks and call stats APIs come from other branches."""
    if path not in httpx.get(f"{web_server.base_url}/openapi.json", timeout=30).json()["paths"]:
        pytest.skip(f"this server has no {what} ({path})")


def allow_refusals(pages: Pages, *statuses: int) -> None:
    """Forget the console errors of the API refusals a test provokes on purpose (Chromium logs each failed
    request as one); any other error still fails the test."""
    refused = tuple(f"the server responded with a status of {status} " for status in statuses)
    pages.errors[:] = [error for error in pages.errors if not any(text in error for text in refused)]


def test_sign_in_and_call_type_settings_and_grants(
    pages: Pages, web_server: RunningServer, server_api: httpx.Client, uid: Callable[[str], str],
    shoot: Callable[[Page, str], None],
) -> None:
    name = uid("ct")
    assert server_api.post("/video/calltypes", json={"name": name}).status_code == 201
    page = pages.open("/dashboard?theme=light")
    page.get_by_test_id("dash-api-key").fill(web_server.api_key)
    page.get_by_test_id("dash-api-secret").fill("not-the-secret")
    page.get_by_test_id("dash-sign-in-submit").click()
    expect(page.get_by_test_id("dash-sign-in-error")).to_contain_text("api_secret is wrong")
    shoot(page, "dashboard-sign-in")
    page.get_by_test_id("dash-api-secret").fill(web_server.api_secret)
    page.get_by_test_id("dash-sign-in-submit").click()
    expect(page.get_by_test_id("screen-call-types")).to_be_visible()
    assert web_server.api_secret not in page.evaluate("JSON.stringify(sessionStorage)"), "only the token is kept"

    page.get_by_test_id("calltype-select").select_option(name)
    page.get_by_test_id("setting-audio.mic_default_on").check()
    page.get_by_test_id("grant-user-send-video").uncheck()
    page.get_by_test_id("calltype-save").click()
    expect(page.get_by_test_id("calltype-saved")).to_be_visible()
    saved = server_api.get(f"/video/calltypes/{name}").json()
    assert saved["settings"]["audio"]["mic_default_on"] is True
    assert "send-video" not in saved["grants"]["user"] and "send-audio" in saved["grants"]["user"]

    # the API's validation error appears on the field it names, and nothing is saved
    page.get_by_test_id("group-ring").click()
    page.get_by_test_id("setting-ring.auto_cancel_timeout_ms").fill("100")
    page.get_by_test_id("calltype-save").click()
    field = page.locator('[data-field="ring.auto_cancel_timeout_ms"] [data-testid=field-error]')
    expect(field).to_be_visible()
    expect(page.locator("[data-testid=field-error]")).to_have_count(1)
    assert server_api.get(f"/video/calltypes/{name}").json()["settings"]["ring"]["auto_cancel_timeout_ms"] != 100
    shoot(page, "dashboard-call-types")
    allow_refusals(pages, 400, 401)


def test_roles_push_providers_and_external_storage(
    pages: Pages, web_server: RunningServer, uid: Callable[[str], str], shoot: Callable[[Page, str], None],
) -> None:
    page = signed_in(pages, web_server, "roles")
    role = uid("auditor")
    page.get_by_test_id("role-name").fill(role)
    page.get_by_test_id("role-create").click()
    expect(page.locator(f'[data-testid=role-row][data-name="{role}"]')).to_contain_text("custom")
    page.get_by_test_id("role-name").fill("Not A Role!")
    page.get_by_test_id("role-create").click()
    expect(page.get_by_test_id("field-error")).to_be_visible()
    shoot(page, "dashboard-roles")

    page.get_by_test_id("nav-push").click()
    provider, key = uid("ios"), pem(apns_key())
    page.get_by_test_id("push-type").select_option("apn")
    for field, value in (("name", provider), ("apn_key", key), ("apn_key_id", "ABC123DEFG"),
                         ("apn_team_id", "TEAM123456"), ("apn_topic", "org.weir.app")):
        page.get_by_test_id(f"push-{field}").fill(value)
    page.get_by_test_id("push-save").click()
    row = page.locator(f'[data-testid=push-provider][data-name="{provider}"]')
    expect(row.get_by_test_id("provider-apn_key")).to_contain_text("****")
    assert key.splitlines()[1] not in page.content(), "the key is never shown"
    shoot(page, "dashboard-push-providers")

    page.get_by_test_id("nav-storage").click()
    storage = uid("archive")
    for field, value in (("name", storage), ("bucket", "recordings"), ("s3_region", "eu-west-1"),
                         ("s3_api_key", "AKIATEST"), ("s3_secret", "shh"),
                         ("s3_custom_endpoint_url", "http://127.0.0.1:9")):
        page.get_by_test_id(f"storage-{field}").fill(value)
    page.get_by_test_id("storage-save").click()
    added = page.locator(f'[data-testid=storage][data-name="{storage}"]')
    added.get_by_test_id("storage-check").click()
    # nothing listens on port 9: the check says why the test file could not be written
    expect(added.get_by_test_id("storage-check-result")).to_have_class("error", timeout=60_000)
    shoot(page, "dashboard-external-storage")
    allow_refusals(pages, 400)


def test_users_search_ban_deactivate_and_delete(
    pages: Pages, web_server: RunningServer, server_api: httpx.Client, uid: Callable[[str], str],
    shoot: Callable[[Page, str], None],
) -> None:
    tag = uid("zed")
    ids = [f"{tag}-{n}" for n in ("ann", "bob", "cy")]
    users = {user_id: {"id": user_id, "name": f"{tag} {user_id[-3:]}"} for user_id in ids}
    assert server_api.post("/users", json={"users": users}).status_code == 200
    page = signed_in(pages, web_server, "users")
    page.get_by_test_id("user-search").fill(tag)
    expect(page.get_by_test_id("user-row")).to_have_count(3)
    ann, bob, cy = (by_user(page, "user-row", user_id) for user_id in ids)
    ann.get_by_test_id("user-ban").click()
    expect(ann.get_by_test_id("user-state")).to_have_text("banned")
    bob.get_by_test_id("user-deactivate").click()
    expect(bob.get_by_test_id("user-state")).to_have_text("deactivated")
    cy.get_by_test_id("user-delete").click()
    cy.get_by_test_id("user-delete-confirm").click()
    task = page.get_by_test_id("task")
    expect(task).to_contain_text(f"delete {ids[2]}")
    expect(page.get_by_test_id("user-row")).to_have_count(2)
    found = server_api.post("/users/query", json={"filter_conditions": {"id": {"$in": ids}},
                                                  "include_deactivated_users": True}).json()["users"]
    state = {user["id"]: user for user in found}
    assert state[ids[0]]["banned"] and state[ids[1]]["deactivated_at"] and ids[2] not in state
    assert task.get_attribute("data-task-id")
    shoot(page, "dashboard-users")
    allow_refusals(pages, 404)  # GET /tasks/{id} on a server without the tasks API: the id alone is shown


@pytest.fixture
def receiver(web_server: RunningServer, server_api: httpx.Client) -> Iterator[Receiver]:
    """An endpoint that fails each delivery's first three attempts; the app's hooks are cleared afterwards."""
    made = Receiver(web_server.api_secret, statuses=(500, 500, 500))
    yield made
    server_api.patch("/app", json={"event_hooks": []})
    made.close()


def test_event_hooks_test_delivery_log_and_retry(
    pages: Pages, web_server: RunningServer, receiver: Receiver, shoot: Callable[[Page, str], None],
) -> None:
    page = signed_in(pages, web_server, "event-hooks")
    page.get_by_test_id("hook-webhook_url").fill("ftp://example.org/hook")
    page.get_by_test_id("hook-add").click()
    expect(page.get_by_test_id("field-error")).to_contain_text("http")
    page.get_by_test_id("hook-webhook_url").fill(receiver.url)
    page.get_by_test_id("hook-event-types").fill("call.deleted")
    page.get_by_test_id("hook-add").click()
    expect(page.get_by_test_id("event-hook")).to_have_count(1)
    page.get_by_test_id("event-hook-test").click()
    test_row = page.locator("[data-testid=delivery]", has_text="app.test")
    expect(test_row).to_have_attribute("data-status", "failed", timeout=30_000)
    expect(test_row.get_by_test_id("delivery-attempts")).to_have_text("3")
    test_row.get_by_test_id("delivery-retry").click()
    expect(test_row).to_have_attribute("data-status", "delivered", timeout=30_000)
    expect(test_row.get_by_test_id("delivery-attempts")).to_have_text("4")
    assert [r.answer for r in receiver.received] == [500, 500, 500, 200]
    assert receiver.received[-1].event["type"] == "app.test"
    shoot(page, "dashboard-event-hooks")
    allow_refusals(pages, 400)


def test_live_call_participant_appears_then_kick_and_end(
    pages: Pages, web_server: RunningServer, uid: Callable[[str], str], shoot: Callable[[Page, str], None],
) -> None:
    page = signed_in(pages, web_server, "live")
    ada, grace, call_id = uid("ada"), uid("grace"), uid("c")
    cid = f"default:{call_id}"
    call = page.locator(f'[data-testid=live-call][data-cid="{cid}"]')

    def participant(user_id: str) -> Locator:
        return call.locator(f'[data-testid=live-participant][data-user-id="{user_id}"]')

    for user_id in (ada, grace):
        member = pages.signed_in(user_id, "/?theme=light")
        join_call(member, "default", call_id)
        expect(member.get_by_test_id("call-screen")).to_be_visible()
        expect(participant(user_id)).to_be_visible(timeout=30_000)
    expect(participant(ada).get_by_test_id("participant-quality")).to_be_visible()
    shoot(page, "dashboard-live-calls")

    participant(grace).get_by_test_id("kick").click()
    expect(participant(grace)).to_have_count(0, timeout=30_000)
    page.locator("section", has=call).get_by_test_id("end-call").click()
    expect(call).to_have_count(0, timeout=30_000)
    allow_refusals(pages, 404)  # GET /video/active_calls_status, once, on a server without the call stats API


def test_user_export_task_progress(
    pages: Pages, web_server: RunningServer, server_api: httpx.Client, uid: Callable[[str], str],
) -> None:
    needs(web_server, "/api/v1/export/users", "tasks API")
    user_id = uid("exported")
    assert server_api.post("/users", json={"users": {user_id: {"id": user_id}}}).status_code == 200
    page = signed_in(pages, web_server, "users")
    page.get_by_test_id("user-search").fill(user_id)
    by_user(page, "user-row", user_id).get_by_test_id("user-export").click()
    task = page.get_by_test_id("task")
    expect(task.get_by_test_id("task-status")).to_have_attribute("data-status", "completed", timeout=30_000)
    link = task.get_by_test_id("task-result")
    expect(link).to_be_visible()
    with httpx.Client() as client:
        exported = client.get(str(link.get_attribute("href")), timeout=30)
    assert exported.status_code == 200 and user_id in exported.text


def test_past_call_stats_report_with_quality_charts(
    pages: Pages, web_server: RunningServer, server_api: httpx.Client, uid: Callable[[str], str],
    shoot: Callable[[Page, str], None],
) -> None:
    needs(web_server, "/api/v1/video/call/stats", "call stats API")
    ada, call_id = uid("ada"), uid("c")
    cid = f"default:{call_id}"
    member = pages.signed_in(ada, "/?theme=light")
    join_call(member, "default", call_id)
    expect(member.get_by_test_id("call-screen")).to_be_visible()

    def classified() -> bool:
        calls = server_api.get("/video/active_calls_status").json()["calls"]
        return any(p["user_id"] == ada and p["quality"] != "unknown" for c in calls if c["call_cid"] == cid
                   for p in c["participants"])

    # (the SFU's first sample of a session has no earlier counters to compare with: its quality is unknown)
    wait_until(classified, "a classified stats sample of the participant")
    member.get_by_test_id("leave-call").click()

    def reported() -> bool:
        query = {"filter_conditions": {"call_cid": cid}}
        return bool(server_api.post("/video/call/stats", json=query).json()["reports"])

    wait_until(reported, "the call's stats report")
    page = signed_in(pages, web_server, "past")
    page.locator(f'[data-testid=report-row][data-cid="{cid}"]').get_by_test_id("open-report").click()
    participant = by_user(page, "report-participant", ada)
    expect(participant.get_by_test_id("quality").first).to_be_visible()
    expect(participant.get_by_test_id("participant-chart").locator("canvas")).to_be_visible()
    expect(page.get_by_test_id("call-chart").locator("canvas")).to_be_visible()
    shoot(page, "dashboard-past-call")


def frame_capture(web_server: RunningServer, call_id: str, session_id: str) -> Path:
    """A frame capture as a frame recording leaves it: its JPEG in Weir's store, and its row."""
    key, stamp = f"default/{call_id}/{session_id}/frame.jpg", now()
    image = web_server.data_dir / "recordings" / key
    image.parent.mkdir(parents=True, exist_ok=True)
    image.write_bytes(encode_jpeg(asyncio.run(ColourTrack((0, 0, 255)).recv()), "360p"))
    in_database(web_server.database_url, [RecordingRow(
        id=f"r-{session_id}", call_cid=f"default:{call_id}", session_id=session_id, egress_id=f"e-{session_id}",
        recording_type="frame", filename="frame.jpg", storage="weir", key=key, start_time=stamp, end_time=stamp,
        created_at=stamp)])
    return image


def test_recordings_screen_for_a_call(
    pages: Pages, web_server: RunningServer, server_api: httpx.Client, uid: Callable[[str], str],
    shoot: Callable[[Page, str], None],
) -> None:
    call_id = uid("c")
    assert server_api.post(f"/video/call/default/{call_id}", json={"data": {"created_by_id": "host"}}).is_success
    image = off_loop(lambda: frame_capture(web_server, call_id, uid("s")))
    page = signed_in(pages, web_server, "recordings")
    page.get_by_test_id("recordings-cid").fill(f"default:{call_id}")
    page.get_by_test_id("recordings-open").click()
    expect(page.get_by_text("No recordings.")).to_be_visible()
    expect(page.get_by_text("No transcriptions.")).to_be_visible()
    assert page.url.endswith(f"/dashboard/recordings/default%3A{call_id}?theme=light")
    thumbnail = page.get_by_test_id("frame-capture").locator("img")
    expect(thumbnail).to_have_count(1)
    page.wait_for_function("img => img.complete && img.naturalWidth === 640", arg=thumbnail.element_handle())
    link = page.get_by_test_id("frame-capture").locator("a").get_attribute("href") or ""
    assert httpx.get(link, timeout=30).content == image.read_bytes(), "the thumbnail links to the full image"
    shoot(page, "dashboard-recordings")
