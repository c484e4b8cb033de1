"""Property-based fuzzing of every operation in the OpenAPI document: whatever the input, no answer is a 5xx.

Schemathesis generates valid and invalid requests for each operation and sends them to the running test server
(once on SQLite, once on PostgreSQL) with a server token, so requests get past authentication and reach the
handlers. Bounded and derandomized: a failure reproduces on the next run.

The document is built from the app at collection time (the pytest plugin needs it before fixtures exist);
``test_fuzzed_schema_is_the_served_one`` checks it is the one the server publishes.
"""

from __future__ import annotations

import re
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from tests.conftest import RunningServer, assert_error
from weir.config import Settings
from weir.coordinator.app import create_app
from weir.protocol.limits import CALL_ID_PATTERN, CALL_TYPE_PATTERN

MAX_EXAMPLES = 30
FUZZ_CALL_TYPE = "fuzz"
CALL_PATHS = "/api/v1/video/call/"
# Path parameters naming a call type, by path prefix.
CALL_TYPE_PARAMS = {CALL_PATHS: "type", "/api/v1/video/calltypes/": "name"}
STORAGE_PATHS = "/api/v1/external_storage"
APP_PATH = "/api/v1/app"


def _openapi_document() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        return create_app(Settings(data_dir=Path(tmp), api_key="fuzz", api_secret="fuzz")).openapi()


DOCUMENT = _openapi_document()
# The coverage phase enumerates every boundary of every field: thousands of requests for the settings bodies,
# minutes per database. Bounded random fuzzing (positive and negative) keeps the run under a minute.
CONFIG = schemathesis.Config.from_dict({"phases": {"coverage": {"enabled": False}}})
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)


def test_fuzzed_schema_is_the_served_one(server: RunningServer) -> None:
    served = httpx.get(f"{server.base_url}/openapi.json", timeout=30)
    assert served.status_code == 200
    assert served.json() == DOCUMENT


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_operation_answers_5xx(case: schemathesis.Case, server: RunningServer, api: httpx.Client) -> None:
    _aim_at_existing_targets(case, call_id=_fuzz_call(api))
    try:
        case.call_and_validate(
            base_url=server.base_url,
            headers={"Authorization": f"Bearer {server.token()}"},
            params={"api_key": server.api_key},
            checks=[not_a_server_error],
            timeout=30,
        )
    finally:
        if case.operation.path.startswith(STORAGE_PATHS):
            _forget_external_storages(api)
        if case.operation.path == APP_PATH:
            _reset_app_settings(api)


def _reset_app_settings(api: httpx.Client) -> None:
    """A fuzzed update may revoke every token issued so far (a date in the future) or add event destinations at
    made-up hosts: both are undone at once, so later tests' tokens work and no delivery leaves the machine."""
    reset = api.patch("/app", json={"event_hooks": [], "revoke_tokens_issued_before": None})
    assert reset.status_code == 200, reset.text


def _forget_external_storages(api: httpx.Client) -> None:
    """Fuzzed storages name made-up hosts: deleted at once, so no check ever sends to one, and the app's limit of
    10 stays free for the storage tests."""
    for name in api.get("/external_storage").json()["external_storages"]:
        api.delete(f"/external_storage/{name}")


def _fuzz_call(api: httpx.Client) -> str:
    """A fresh call of the fuzzer's own type (created first if the fuzzer deleted it), with two members."""
    created = api.post("/video/calltypes", json={"name": FUZZ_CALL_TYPE})
    assert created.status_code in (201, 409), created.text
    call_id = f"fuzz-{uuid.uuid4().hex[:8]}"
    members = [{"user_id": "fuzz-owner"}, {"user_id": "fuzz-member"}]
    response = api.post(f"/video/call/{FUZZ_CALL_TYPE}/{call_id}",
                        json={"data": {"created_by_id": "fuzz-owner", "members": members}})
    assert response.status_code == 200, response.text
    return call_id


def _aim_at_existing_targets(case: schemathesis.Case, call_id: str) -> None:
    """Point well-formed call type names, and half of the well-formed call ids, at the fuzzer's own.

    Random names almost never exist, so requests would stop at "unknown call type" (400) or "no such call"
    (404) before reaching the handlers; and updates or deletes must not touch the built-in types other tests
    rely on. Malformed values stay, to exercise validation; so do the other half of the ids, for the 404 path.
    """
    params = case.path_parameters or {}
    for prefix, name in CALL_TYPE_PARAMS.items():
        value = params.get(name)
        if case.operation.path.startswith(prefix) and isinstance(value, str) and re.fullmatch(CALL_TYPE_PATTERN, value):
            params[name] = FUZZ_CALL_TYPE
    value = params.get("id")
    if (case.operation.path.startswith(CALL_PATHS) and isinstance(value, str)
            and re.fullmatch(CALL_ID_PATTERN, value) and len(value) % 2 == 0):
        params["id"] = call_id


# Found by fuzzing: text PostgreSQL cannot store (NUL, in text columns) or that is not UTF-8 at all (a lone
# surrogate, legal as a JSON escape, anywhere). Each must be a 400 naming the field on both databases, never a 500.
NUL, LONE_SURROGATE = "a\\u0000b", "a\\ud800b"
USER = '{"users": {"%(user)s": {"id": "%(user)s", %(field)s}}}'
CALL = '{"data": {"created_by_id": "%(user)s", %(field)s}}'
BAN = '{"target_user_id": "%(user)s", %(field)s}'
UNSTORABLE_TEXT = {
    "user-name-nul": ("/users", USER, f'"name": "{NUL}"', "name"),
    "user-name-surrogate": ("/users", USER, f'"name": "{LONE_SURROGATE}"', "name"),
    "user-custom-surrogate": ("/users", USER, f'"custom": {{"k": "{LONE_SURROGATE}"}}', "custom"),
    "call-team-nul": ("/video/call/default/%(call)s", CALL, f'"team": "{NUL}"', "team"),
    "call-custom-surrogate": ("/video/call/default/%(call)s", CALL, f'"custom": {{"k": "{LONE_SURROGATE}"}}', "custom"),
    "ban-reason-nul": ("/moderation/ban", BAN, f'"reason": "{NUL}"', "reason"),
}


@pytest.mark.parametrize("case_", UNSTORABLE_TEXT.values(), ids=UNSTORABLE_TEXT.keys())
def test_unstorable_text_is_refused(
    api: httpx.Client, uid: Callable[[str], str], case_: tuple[str, str, str, str]
) -> None:
    path, body, field_json, field = case_
    values = {"user": uid("fuzz-user"), "call": uid("fuzz-call")}
    content = body % {**values, "field": field_json}
    response = api.post(path % values, content=content, headers={"content-type": "application/json"})
    error = assert_error(response, 400, 4)
    assert field in error["message"], error


# Found by fuzzing: a datetime whose UTC conversion leaves Python's range (year 1 or 9999 with an offset).
OUT_OF_RANGE_DATES = ["0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-00:01"]


@pytest.mark.parametrize("starts_at", OUT_OF_RANGE_DATES)
def test_out_of_range_dates_are_refused(api: httpx.Client, uid: Callable[[str], str], starts_at: str) -> None:
    path = f"/video/call/default/{uid('fuzz-date')}"
    created = api.post(path, json={"data": {"created_by_id": uid("fuzz-user"), "starts_at": starts_at}})
    assert "starts_at" in assert_error(created, 400, 4)["message"]
    assert api.post(path, json={"data": {"created_by_id": uid("fuzz-user")}}).status_code == 200
    assert "starts_at" in assert_error(api.patch(path, json={"starts_at": starts_at}), 400, 4)["message"]
