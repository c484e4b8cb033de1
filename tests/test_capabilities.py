"""Capabilities: every capability × role × built-in call type, in the domain and through the API."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.conftest import RunningServer, assert_error
from weir.domain.calltypes import BUILTIN_CALL_TYPES
from weir.domain.capabilities import (
    ALL_CAPABILITIES,
    BUILTIN_ROLES,
    Capability,
    call_roles,
    disabled_by_settings,
    own_capabilities,
)
from weir.domain.settings import merge_settings
from weir.protocol.errors import ErrorCode

TYPES = sorted(BUILTIN_CALL_TYPES)
TALK = {"send-audio", "send-video", "screenshare"}
MODERATE = {"end-call", "block-users", "kick-user", "mute-users", "update-call-permissions", "remove-call-member"}


def expected(call_type: str, role: str) -> set[str]:
    builtin = BUILTIN_CALL_TYPES[call_type]
    return set(builtin.grants.get(role, ())) - disabled_by_settings(builtin.settings)


@pytest.mark.parametrize("call_type", TYPES)
@pytest.mark.parametrize("role", BUILTIN_ROLES)
def test_every_capability_follows_the_grants(call_type: str, role: str) -> None:
    builtin = BUILTIN_CALL_TYPES[call_type]
    have = set(own_capabilities(builtin.grants, [role], builtin.settings))
    for capability in Capability:
        granted = capability.value in builtin.grants.get(role, ())
        switched_off = capability.value in disabled_by_settings(builtin.settings)
        assert (capability.value in have) == (granted and not switched_off), (call_type, role, capability)


def test_the_documented_character_of_each_type() -> None:
    for role in BUILTIN_ROLES:
        assert expected("development", role) == ALL_CAPABILITIES, "development: everything for everyone"
    for role in ("user", "call_member", "guest", "anonymous"):
        assert not expected("audio_room", role) & TALK, "audio_room: listeners must request to speak"
        assert not expected("livestream", role) & TALK, "livestream: viewers watch"
        assert not expected("default", role) & MODERATE, "default: only hosts and admins moderate"
    assert expected("livestream", "anonymous") == {"read-call", "join-call"}
    assert expected("default", "anonymous") == set()
    assert TALK <= expected("default", "user")
    assert "send-audio" in expected("audio_room", "host")
    assert not {"send-video", "screenshare"} & expected("audio_room", "admin"), "video is off in audio rooms"
    for call_type in ("default", "audio_room", "livestream"):
        assert expected(call_type, "host") >= MODERATE | {"update-call", "update-call-settings", "join-backstage"}


def test_settings_and_runtime_permissions_change_capabilities() -> None:
    builtin = BUILTIN_CALL_TYPES["default"]
    no_recording = merge_settings(builtin.settings, {"recording": {"mode": "disabled"}})
    admin = set(own_capabilities(builtin.grants, ["admin"], no_recording))
    assert not {"start-record-call", "stop-record-call"} & admin and "end-call" in admin
    user = own_capabilities(builtin.grants, ["user"], builtin.settings, granted=["end-call"], revoked=["send-video"])
    assert "end-call" in user and "send-video" not in user


def test_call_roles() -> None:
    assert call_roles("user", None, False, None) == ["user"]
    assert call_roles("user", "call_member", True, "moderator") == ["user", "call_member", "host", "moderator"]
    assert call_roles(None, None, False, None) == ["anonymous"]


# Endpoints that need one capability each (besides read-call), with a request that exercises it.
ENDPOINT_CHECKS: list[tuple[str, str, str, dict]] = [
    ("update-call", "PATCH", "", {"custom": {"touched": True}}),
    ("update-call-member", "POST", "/members", {"update_members": [{"user_id": "cap-target"}]}),
    ("remove-call-member", "POST", "/members", {"remove_members": ["cap-target"]}),
    ("block-users", "POST", "/block", {"user_id": "cap-target"}),
    ("kick-user", "POST", "/kick", {"user_id": "cap-target"}),
    ("end-call", "POST", "/mark_ended", {}),
]


@pytest.mark.parametrize("call_type", TYPES)
def test_api_enforces_every_role_in_every_type(
    server: RunningServer, api: httpx.Client, user_api: Callable[..., httpx.Client], uid: Callable[[str], str],
    call_type: str,
) -> None:
    for role in BUILTIN_ROLES:
        call_id = uid("cap")
        path = f"/video/call/{call_type}/{call_id}"
        assert api.post(path, json={"data": {"created_by_id": "cap-owner"}}).status_code == 200
        if role == "anonymous":
            client = user_api("!anon", call_cids=[f"{call_type}:{call_id}"])
        else:
            user_id = uid(role)
            upserted = api.post("/users", json={"users": {user_id: {"id": user_id, "role": role}}})
            assert upserted.status_code == 200, upserted.text
            client = user_api(user_id)
        want = expected(call_type, role)
        got = client.get(path)
        if "read-call" not in want:
            assert_error(got, 403, ErrorCode.NOT_ALLOWED)
            continue
        assert got.status_code == 200, got.text
        assert set(got.json()["own_capabilities"]) == want, (call_type, role)
        for capability, method, suffix, body in ENDPOINT_CHECKS:
            response = client.request(method, path + suffix, json=body)
            if role == "anonymous":
                assert_error(response, 403, ErrorCode.NOT_ALLOWED)
            elif capability in want:
                assert response.status_code == 200, (call_type, role, capability, response.text)
            else:
                assert_error(response, 403, ErrorCode.NOT_ALLOWED)
        create = client.post(f"/video/call/{call_type}/{uid('new')}", json={})
        if "create-call" in want and role != "anonymous":
            assert create.status_code == 200, (call_type, role, create.text)
        else:
            assert_error(create, 403, ErrorCode.NOT_ALLOWED)
