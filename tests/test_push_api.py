"""The devices and push providers APIs, through the real server on both databases."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import assert_error
from tests.push_fakes import apns_key, pem, service_account
from weir.protocol.errors import ErrorCode
from weir.push.store import MAX_DEVICES_PER_USER

UNREACHABLE = "http://127.0.0.1:9/token"  # nothing these tests create is ever sent


def firebase(name: str, **extra: object) -> dict:
    return {"push_provider": {"name": name, "type": "firebase",
                              "firebase_credentials": service_account(UNREACHABLE)[0], **extra}}


def apn(name: str, **extra: object) -> dict:
    return {"push_provider": {"name": name, "type": "apn", "apn_key": pem(apns_key()), "apn_key_id": "ABC123DEFG",
                              "apn_team_id": "TEAM123456", "apn_topic": "org.weir.app", **extra}}


def make_user(api: httpx.Client, user_id: str) -> None:
    assert api.post("/users", json={"users": {user_id: {"id": user_id}}}).status_code == 200


def devices_of(api: httpx.Client, user_id: str) -> list[dict]:
    response = api.get("/devices", params={"user_id": user_id})
    assert response.status_code == 200, response.text
    return response.json()["devices"]


def test_provider_lifecycle_masks_secrets(api: httpx.Client, uid: Callable[[str], str]) -> None:
    name = uid("fcm")
    request = firebase(name)
    created = api.post("/push_providers", json=request)
    assert created.status_code == 201, created.text
    provider = created.json()["push_provider"]
    account = json.loads(request["push_provider"]["firebase_credentials"])
    assert provider["enabled"] is True and provider["type"] == "firebase"
    assert provider["firebase_project_id"] == account["project_id"]
    assert provider["firebase_client_email"] == account["client_email"]
    assert provider["firebase_credentials"] == "****" + account["private_key_id"][-4:]
    key_body = account["private_key"].splitlines()[1]
    listed = api.get("/push_providers")
    assert listed.status_code == 200 and key_body not in listed.text and key_body not in created.text
    assert name in [p["name"] for p in listed.json()["push_providers"]]

    updated = api.post("/push_providers", json={"push_provider": {"name": name, "type": "firebase", "enabled": False}})
    assert updated.status_code == 200, updated.text
    assert updated.json()["push_provider"]["enabled"] is False
    assert updated.json()["push_provider"]["firebase_project_id"] == account["project_id"], "credentials are kept"

    assert_error(api.post("/push_providers", json=apn(name)), 409, ErrorCode.CONFLICT)
    assert_error(api.delete(f"/push_providers/apn/{name}"), 404, ErrorCode.NOT_FOUND)
    assert api.delete(f"/push_providers/firebase/{name}").status_code == 200
    assert name not in [p["name"] for p in api.get("/push_providers").json()["push_providers"]]
    assert_error(api.delete(f"/push_providers/firebase/{name}"), 404)


def test_apn_provider_defaults_and_masking(api: httpx.Client, uid: Callable[[str], str]) -> None:
    request = apn(uid("apn"), apn_development=True, apn_host="http://127.0.0.1:7000/")
    response = api.post("/push_providers", json=request)
    assert response.status_code == 201, response.text
    provider = response.json()["push_provider"]
    assert provider["apn_key"].startswith("****") and len(provider["apn_key"]) == 8
    assert request["push_provider"]["apn_key"].splitlines()[1] not in response.text
    assert (provider["apn_key_id"], provider["apn_team_id"], provider["apn_topic"]) == (
        "ABC123DEFG", "TEAM123456", "org.weir.app")
    assert provider["apn_development"] is True and provider["apn_host"] == "http://127.0.0.1:7000"


def test_provider_bad_input(api: httpx.Client, user_api: Callable[..., httpx.Client],
                            uid: Callable[[str], str]) -> None:
    rsa_pem = pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    cases = {
        "push_provider.apn_key": firebase(uid("p"), apn_key=pem(apns_key())),
        "push_provider.firebase_credentials": {"push_provider": {"name": uid("p"), "type": "firebase"}},
        "push_provider.apn_key_id": {"push_provider": {**apn(uid("p"))["push_provider"], "apn_key_id": None}},
        "push_provider.name": firebase("bad name"),
        "push_provider.type": firebase(uid("p"), type="web"),
        "push_provider.firebase_host": firebase(uid("p"), firebase_host="ftp://example"),
        "push_provider.colour": firebase(uid("p"), colour="red"),
    }
    for field, body in cases.items():
        assert field in assert_error(api.post("/push_providers", json=body), 400, ErrorCode.INPUT_ERROR)[
            "exception_fields"], field
    for credentials, why in (("{not json", "not JSON"), (json.dumps({"type": "user"}), "service account"),
                             (json.dumps({"type": "service_account", "project_id": "p", "client_email": "e",
                                          "private_key": "nope"}), "PEM")):
        body = firebase(uid("p"), firebase_credentials=credentials)
        assert why in assert_error(api.post("/push_providers", json=body), 400)["message"]
    assert "P-256" in assert_error(api.post("/push_providers", json=apn(uid("p"), apn_key=rsa_pem)), 400)["message"]
    assert_error(user_api(uid("u")).post("/push_providers", json=firebase(uid("p"))), 403, ErrorCode.NOT_ALLOWED)
    assert_error(user_api(uid("u")).get("/push_providers"), 403)
    assert_error(api.delete("/push_providers/web/x"), 400)


def test_devices_add_list_move_and_remove(api: httpx.Client, user_api: Callable[..., httpx.Client],
                                          uid: Callable[[str], str]) -> None:
    provider = uid("apn")
    assert api.post("/push_providers", json=apn(provider)).status_code == 201
    alice, bob = uid("alice"), uid("bob")
    make_user(api, bob)
    as_alice = user_api(alice)
    token = "ab" * 32
    added = as_alice.post("/devices", json={"id": token, "push_provider": "apn", "push_provider_name": provider,
                                            "voip_token": True})
    assert added.status_code == 201, added.text
    assert as_alice.post("/devices", json={"id": "fcm:" + alice, "push_provider": "firebase"}).status_code == 201
    mine = as_alice.get("/devices").json()["devices"]
    assert {d["id"] for d in mine} == {token, "fcm:" + alice}
    voip = next(d for d in mine if d["id"] == token)
    assert voip["user_id"] == alice and voip["push_provider"] == "apn" and voip["push_provider_name"] == provider
    assert voip["voip"] is True and voip["disabled"] is False and voip["created_at"]
    assert devices_of(api, alice) == mine

    moved = api.post("/devices", json={"id": token, "push_provider": "apn", "user_id": bob})
    assert moved.status_code == 201, moved.text
    assert [d["id"] for d in devices_of(api, alice)] == ["fcm:" + alice]
    assert [(d["id"], d["voip"], d["push_provider_name"]) for d in devices_of(api, bob)] == [(token, False, None)]

    assert as_alice.delete("/devices", params={"id": "fcm:" + alice}).status_code == 200
    assert devices_of(api, alice) == []
    assert api.delete("/devices", params={"id": token, "user_id": bob}).status_code == 200
    assert devices_of(api, bob) == []


def test_device_bad_input(api: httpx.Client, user_api: Callable[..., httpx.Client],
                          uid: Callable[[str], str]) -> None:
    fcm_provider = uid("fcm")
    assert api.post("/push_providers", json=firebase(fcm_provider)).status_code == 201
    alice, bob = uid("alice"), uid("bob")
    as_alice = user_api(alice)
    make_user(api, bob)
    field_cases = {
        "user_id": (api, {"id": "t1", "push_provider": "firebase"}),
        "voip_token": (as_alice, {"id": "t1", "push_provider": "firebase", "voip_token": True}),
        "id": (as_alice, {"id": "not-hex", "push_provider": "apn"}),
        "push_provider": (as_alice, {"id": "t1", "push_provider": "web"}),
        "push_provider_name": (as_alice, {"id": "t1", "push_provider": "firebase", "push_provider_name": "nope"}),
    }
    for field, (client, body) in field_cases.items():
        assert field in assert_error(client.post("/devices", json=body), 400, ErrorCode.INPUT_ERROR)[
            "exception_fields"], field
    wrong_type = {"id": "ab", "push_provider": "apn", "push_provider_name": fcm_provider}
    assert "push_provider_name" in assert_error(as_alice.post("/devices", json=wrong_type), 400)["exception_fields"]
    assert "id" in assert_error(as_alice.post("/devices", json={"push_provider": "apn"}), 400)["exception_fields"]

    assert_error(as_alice.post("/devices", json={"id": "t1", "push_provider": "firebase", "user_id": bob}), 403)
    assert_error(as_alice.get("/devices", params={"user_id": bob}), 403, ErrorCode.NOT_ALLOWED)
    assert_error(api.post("/devices", json={"id": "t1", "push_provider": "firebase", "user_id": uid("ghost")}), 404)
    assert "user_id" in assert_error(api.get("/devices"), 400)["exception_fields"]
    assert "user_id" in assert_error(api.get("/devices", params={"user_id": "bad id"}), 400)["exception_fields"]

    assert api.post("/devices", json={"id": "b-" + bob, "push_provider": "firebase", "user_id": bob}).status_code == 201
    assert_error(as_alice.delete("/devices", params={"id": "b-" + bob}), 404, ErrorCode.NOT_FOUND)
    assert_error(as_alice.delete("/devices", params={"id": "missing"}), 404)
    assert "id" in assert_error(as_alice.delete("/devices"), 400)["exception_fields"]
    assert [d["id"] for d in devices_of(api, bob)] == ["b-" + bob], "failed requests change nothing"
    anonymous = user_api("!anon", call_cids=["default:x"])
    assert_error(anonymous.get("/devices"), 403)


def test_a_user_keeps_the_newest_devices(api: httpx.Client, uid: Callable[[str], str]) -> None:
    user = uid("u")
    make_user(api, user)
    for n in range(MAX_DEVICES_PER_USER + 1):
        body = {"id": f"{user}-{n:02d}", "push_provider": "firebase", "user_id": user}
        assert api.post("/devices", json=body).status_code == 201
    ids = [d["id"] for d in devices_of(api, user)]
    assert len(ids) == MAX_DEVICES_PER_USER and f"{user}-00" not in ids and f"{user}-{MAX_DEVICES_PER_USER}" in ids
