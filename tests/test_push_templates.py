"""Push templates (the Handlebars subset) and the payloads built from an event."""

from __future__ import annotations

from datetime import timedelta

from weir.domain.calltypes import default_notification_settings
from weir.push.payload import SENDER, apns_request, build_notification, call_display_name, fcm_message
from weir.push.templates import render

SCOPE = {"user": {"display_name": "Ann <3 & \"Bob\"", "id": "ann", "age": 3, "vip": True},
         "call": {"display_name": "Standup", "custom": {"room": "4'b"}}}


def test_lookups_escape_like_handlebars() -> None:
    assert render("{{ user.display_name }} calls you", SCOPE) == "Ann &lt;3 &amp; &quot;Bob&quot; calls you"
    assert render("{{call.custom.room}}={{ user.age }}", SCOPE) == "4&#x27;b=3"
    assert render("{{ user.vip }}", SCOPE) == "true"


def test_triple_braces_are_raw() -> None:
    assert render("{{{ user.display_name }}} / {{{call.custom.room}}}", SCOPE) == "Ann <3 & \"Bob\" / 4'b"


def test_missing_values_objects_and_unknown_tags_render_nothing() -> None:
    assert render("[{{ user.nope }}][{{ nothing.at.all }}][{{ call.custom }}]", SCOPE) == "[][][]"
    assert render("{{! a comment }}{{#if user.vip}}yes{{/if}}", SCOPE) == "yes"
    assert render("plain text, no tags", SCOPE) == "plain text, no tags"


def test_templates_cannot_reach_python() -> None:
    for template in ("{{ __class__ }}", "{{ user.__class__.__name__ }}", "{{ user.id.upper }}",
                     "{{ user.display_name | upper }}", "{{ ''.join(x) }}", "{{ user['id'] }}"):
        assert render(template, SCOPE) == "", template


def _ring_event(custom: dict, **extra: object) -> dict:
    creator = {"id": "owner", "name": "Olga Owner", "role": "user"}
    return {
        "type": "call.ring", "created_at": "2030-01-02T03:04:05Z", "call_cid": "default:c1",
        "call": {"cid": "default:c1", "type": "default", "id": "c1", "custom": custom, "created_by": creator,
                 "settings": {"ring": {"incoming_call_timeout_ms": 20000}}},
        "members": [{"user_id": "bob"}], "user": {"id": "carl", "name": "Carl Caller"}, "video": True, **extra,
    }


def test_call_display_name_prefers_display_name_then_name_then_title() -> None:
    assert call_display_name({"custom": {"title": "t", "name": "n", "display_name": "d"}}) == "d"
    assert call_display_name({"custom": {"title": "t", "name": "n"}}) == "n"
    assert call_display_name({"custom": {"title": "t"}}) == "t"
    assert call_display_name({"custom": {"display_name": 5}}) == ""
    assert call_display_name({"custom": {}}) == ""


def test_notification_payload_and_provider_bodies() -> None:
    settings = default_notification_settings()["call_ring"]
    settings["fcm"] = {"data": {"sender": "spoofed", "greeting": "hi {{ user.display_name }}", "n": 2}}
    settings["apns"].update(sound="ring.caf", data={"deep_link": "app://call/{{ call.id }}", "aps": "ignored"})
    note = build_notification(_ring_event({"name": "Team sync"}), settings)
    assert note.data == {
        "sender": SENDER, "type": "call.ring", "call_cid": "default:c1", "call_type": "default", "call_id": "c1",
        "call_display_name": "Team sync", "created_by_id": "owner", "created_by_display_name": "Olga Owner",
        "video": "true",
    }
    assert (note.title, note.body) == ("Carl Caller calls you", "Carl Caller is calling")
    assert note.ttl == timedelta(seconds=20)

    message = fcm_message(note, "bob")
    assert message["data"] == {**note.data, "receiver_id": "bob", "greeting": "hi Carl Caller", "n": "2"}
    assert all(isinstance(v, str) for v in message["data"].values())
    assert message["android"] == {"priority": "high", "ttl": "20s"}

    request = apns_request(note, "bob", voip=True)
    assert request["push_type"] == "voip" and request["priority"] == 10
    assert request["expiration"] == int(note.expires_at.timestamp())
    body = request["body"]
    assert body["aps"] == {"alert": {"title": "Carl Caller calls you", "body": "Carl Caller is calling"},
                           "sound": "ring.caf"}
    assert body["stream"] == {**note.data, "receiver_id": "bob"}
    assert body["deep_link"] == "app://call/c1"
    assert apns_request(note, "bob", voip=False)["push_type"] == "alert"


def test_alert_falls_back_to_the_call_id_and_creator() -> None:
    event = _ring_event({})
    del event["user"], event["video"]
    event["type"] = "call.live_started"
    note = build_notification(event, default_notification_settings()["call_live_started"])
    assert note.data["call_display_name"] == "" and "video" not in note.data
    assert (note.title, note.body) == ("c1 started", "Olga Owner went live")
    assert note.ttl == timedelta(hours=24)
