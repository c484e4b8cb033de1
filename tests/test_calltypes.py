"""Call types CRUD, roles and permissions, through the real server."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.conftest import assert_error
from weir.domain.calltypes import BUILTIN_CALL_TYPES
from weir.protocol.errors import ErrorCode


def test_builtin_types_have_the_documented_defaults(api: httpx.Client) -> None:
    response = api.get("/video/calltypes")
    assert response.status_code == 200, response.text
    types = response.json()["call_types"]
    assert set(types) >= {"default", "audio_room", "livestream", "development"}
    audio_room, default = types["audio_room"]["settings"], types["default"]["settings"]
    livestream, development = types["livestream"]["settings"], types["development"]["settings"]
    assert audio_room["backstage"]["enabled"] and livestream["backstage"]["enabled"]
    assert not default["backstage"]["enabled"] and not development["backstage"]["enabled"]
    assert audio_room["video"]["enabled"] is False and audio_room["audio"]["mic_default_on"] is False
    assert default["audio"]["default_device"] == "earpiece" and livestream["audio"]["default_device"] == "speaker"
    assert livestream["audio"]["access_request_enabled"] is False
    assert default["video"]["target_resolution"] == {"width": 2560, "height": 1440, "bitrate": 5_000_000}
    assert livestream["video"]["target_resolution"] == {"width": 1920, "height": 1080, "bitrate": 3_000_000}
    assert default["ring"]["incoming_call_timeout_ms"] == 15000 and audio_room["ring"]["auto_cancel_timeout_ms"] == 0
    for settings in (audio_room, default, livestream, development):
        assert settings["recording"] == {**settings["recording"], "mode": "available", "quality": "720p"}
        assert settings["broadcasting"]["hls"]["quality_tracks"] == ["720p"]
        assert settings["geofencing"]["names"] == [] and settings["transcription"]["mode"] == "available"
    assert types["development"]["grants"]["user"] == sorted(types["development"]["grants"]["user"])
    assert "send-audio" not in types["audio_room"]["grants"]["user"]
    assert types["default"]["notification_settings"]["call_ring"]["enabled"] is True


def test_create_get_update_delete(api: httpx.Client, uid: Callable[[str], str]) -> None:
    name = uid("t").replace("-", "_")
    created = api.post("/video/calltypes", json={
        "name": name,
        "settings": {"audio": {"mic_default_on": False}, "ring": {"auto_cancel_timeout_ms": 30000}},
        "grants": {"user": ["send-audio", "join-call", "read-call"]},
        "notification_settings": {"call_ring": {"apns": {"title": "{{ user.display_name }} rings"}}},
    })
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["settings"]["audio"]["mic_default_on"] is False
    assert body["settings"]["audio"]["default_device"] == "earpiece", "unset fields keep the defaults"
    assert body["settings"]["ring"]["auto_cancel_timeout_ms"] == 30000
    assert body["grants"]["user"] == ["join-call", "read-call", "send-audio"]
    assert body["grants"]["host"] == BUILTIN_CALL_TYPES["default"].grants["host"], "other roles keep the defaults"
    assert body["notification_settings"]["call_ring"]["apns"]["title"] == "{{ user.display_name }} rings"
    assert body["notification_settings"]["call_ring"]["enabled"] is True

    updated = api.put(f"/video/calltypes/{name}", json={"settings": {"video": {"camera_facing": "back"}}})
    assert updated.status_code == 200, updated.text
    assert updated.json()["settings"]["video"]["camera_facing"] == "back"
    assert updated.json()["settings"]["audio"]["mic_default_on"] is False, "update merges, it doesn't replace"
    assert api.get(f"/video/calltypes/{name}").json()["settings"]["video"]["camera_facing"] == "back"

    assert api.delete(f"/video/calltypes/{name}").status_code == 200
    assert_error(api.get(f"/video/calltypes/{name}"), 404, ErrorCode.NOT_FOUND)


def test_calls_of_a_custom_type_use_its_settings(api: httpx.Client, uid: Callable[[str], str]) -> None:
    name = uid("t").replace("-", "_")
    api.post("/video/calltypes", json={"name": name, "settings": {"screensharing": {"enabled": False}}})
    call = api.post(f"/video/call/{name}/{uid('c')}", json={"data": {"created_by_id": "owner"}})
    assert call.status_code == 200, call.text
    assert call.json()["call"]["settings"]["screensharing"]["enabled"] is False
    assert_error(api.delete(f"/video/calltypes/{name}"), 409, ErrorCode.CONFLICT)


def test_builtin_types_can_be_updated_but_not_deleted(api: httpx.Client) -> None:
    assert_error(api.delete("/video/calltypes/default"), 403, ErrorCode.NOT_ALLOWED)
    response = api.put("/video/calltypes/development", json={"settings": {"thumbnails": {"enabled": False}}})
    assert response.status_code == 200, response.text


def test_documented_ranges_are_enforced(api: httpx.Client, uid: Callable[[str], str]) -> None:
    name = uid("t").replace("-", "_")
    bad_settings = [
        ({"ring": {"auto_cancel_timeout_ms": 4000}}, "auto_cancel_timeout_ms"),
        ({"ring": {"incoming_call_timeout_ms": 200000}}, "incoming_call_timeout_ms"),
        ({"video": {"target_resolution": {"width": 100, "height": 720}}}, "width"),
        ({"video": {"target_resolution": {"width": 1280, "height": 720, "bitrate": 7_000_000}}}, "bitrate"),
        ({"broadcasting": {"hls": {"quality_tracks": ["360p", "480p", "720p", "1080p"]}}}, "quality_tracks"),
        ({"frame_recording": {"capture_interval_in_seconds": 1}}, "capture_interval_in_seconds"),
        ({"session": {"inactivity_timeout_seconds": 1000}}, "inactivity_timeout_seconds"),
        ({"recording": {"mode": "sometimes"}}, "mode"),
        ({"geofencing": {"names": ["atlantis"]}}, "names"),
        ({"audio": {"default_device": "headphones"}}, "default_device"),
        ({"ingress": {"audio_encoding_options": {"bitrate": 8000, "channels": 2}}}, "bitrate"),
        ({"video": {"sparkles": True}}, "sparkles"),
    ]
    for settings, field in bad_settings:
        body = assert_error(api.post("/video/calltypes", json={"name": name, "settings": settings}), 400,
                            ErrorCode.INPUT_ERROR)
        assert field in body["message"], (settings, body)
    assert_error(api.get(f"/video/calltypes/{name}"), 404, ErrorCode.NOT_FOUND)


def test_grants_name_known_roles_and_capabilities(api: httpx.Client, uid: Callable[[str], str]) -> None:
    name, role = uid("t").replace("-", "_"), uid("r").replace("-", "_")
    body = assert_error(api.post("/video/calltypes", json={"name": name, "grants": {role: ["join-call"]}}), 400)
    assert f"grants.{role}" in body["exception_fields"]
    body = assert_error(api.post("/video/calltypes", json={"name": name, "grants": {"user": ["fly"]}}), 400)
    assert "fly" in body["message"]
    assert api.post("/roles", json={"name": role}).status_code == 201
    created = api.post("/video/calltypes", json={"name": name, "grants": {role: ["join-call", "send-audio"]}})
    assert created.status_code == 201, created.text
    assert created.json()["grants"][role] == ["join-call", "send-audio"]
    assert role in {r["name"] for r in api.get("/roles").json()["roles"]}
    assert_error(api.delete(f"/roles/{role}"), 409, ErrorCode.CONFLICT)
    api.delete(f"/video/calltypes/{name}")
    assert api.delete(f"/roles/{role}").status_code == 200
    assert role not in {r["name"] for r in api.get("/roles").json()["roles"]}


def test_roles_and_duplicates(api: httpx.Client, uid: Callable[[str], str]) -> None:
    assert_error(api.post("/roles", json={"name": "admin"}), 409, ErrorCode.CONFLICT)
    assert_error(api.delete("/roles/admin"), 403, ErrorCode.NOT_ALLOWED)
    assert_error(api.delete(f"/roles/{uid('nope')}"), 404, ErrorCode.NOT_FOUND)
    assert_error(api.post("/video/calltypes", json={"name": "default"}), 409, ErrorCode.CONFLICT)
    assert_error(api.post("/video/calltypes", json={"name": "Bad Name!"}), 400, ErrorCode.INPUT_ERROR)


def test_call_type_endpoints_are_server_only(user_api: Callable[..., httpx.Client], uid: Callable[[str], str]) -> None:
    client = user_api(uid("u"))
    assert_error(client.get("/video/calltypes"), 403, ErrorCode.NOT_ALLOWED)
    assert_error(client.post("/video/calltypes", json={"name": "x"}), 403, ErrorCode.NOT_ALLOWED)
    assert_error(client.post("/roles", json={"name": "x"}), 403, ErrorCode.NOT_ALLOWED)


def test_list_permissions(user_api: Callable[..., httpx.Client], uid: Callable[[str], str]) -> None:
    response = user_api(uid("u")).get("/permissions")
    assert response.status_code == 200, response.text
    actions = {p["action"] for p in response.json()["permissions"]}
    assert {"join-call", "send-audio", "end-call", "kick-user", "update-call-member"} <= actions
    assert len(actions) == 36


def test_a_call_type_update_shows_in_the_next_call_read(api: httpx.Client, uid: Callable[[str], str]) -> None:
    """Call types are cached per process; writing one empties the cache, so the next read of a call sees it."""
    name = uid("t").replace("-", "_")
    assert api.post("/video/calltypes", json={"name": name}).status_code == 201
    path = f"/video/call/{name}/{uid('c')}"
    assert api.post(path, json={"data": {"created_by_id": "owner"}}).status_code == 200
    assert api.get(path).json()["call"]["settings"]["screensharing"]["enabled"] is True  # now cached
    updated = api.put(f"/video/calltypes/{name}", json={"settings": {"screensharing": {"enabled": False}}})
    assert updated.status_code == 200, updated.text
    assert api.get(path).json()["call"]["settings"]["screensharing"]["enabled"] is False
    assert api.post(path, json={}).json()["call"]["settings"]["screensharing"]["enabled"] is False
