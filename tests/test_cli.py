"""``weir calltype|call|user``: the admin commands, run in-process against the real server."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from tests.conftest import RunningServer, free_port
from weir.cli import app

Run = Callable[..., Result]


@pytest.fixture
def weir(server: RunningServer) -> Run:
    """``weir("calltype", "list")``: run the CLI with the test server's URL and credentials in the environment."""
    env = {"WEIR_URL": server.base_url, "WEIR_API_KEY": server.api_key, "WEIR_API_SECRET": server.api_secret,
           "COLUMNS": "250"}

    def run(*args: str, expect: int = 0, **extra_env: str | None) -> Result:
        result = CliRunner().invoke(app, list(args), env={**env, **extra_env})
        assert result.exit_code == expect, (result.stdout, result.stderr, result.exception)
        return result

    return run


def output_json(result: Result) -> Any:
    return json.loads(result.stdout)


def test_calltype_create_get_update_list_delete(weir: Run, uid: Callable[[str], str]) -> None:
    name = uid("t").replace("-", "_")
    created = output_json(weir("calltype", "create", name, "--settings", '{"audio": {"mic_default_on": false}}',
                               "--grants", '{"user": ["join-call", "read-call"]}'))
    assert created["name"] == name and created["settings"]["audio"]["mic_default_on"] is False
    assert created["grants"]["user"] == ["join-call", "read-call"]
    updated = output_json(weir("calltype", "update", name, "--settings", '{"video": {"camera_facing": "back"}}'))
    assert updated["settings"]["video"]["camera_facing"] == "back"
    assert output_json(weir("calltype", "get", name))["settings"]["audio"]["mic_default_on"] is False
    listing = weir("calltype", "list").stdout
    assert "Call types" in listing and name in listing and "livestream" in listing
    assert name in weir("calltype", "delete", name).stdout
    assert "does not exist" in weir("calltype", "get", name, expect=1).stderr


def test_errors_print_the_api_message_and_exit_1(weir: Run, uid: Callable[[str], str]) -> None:
    bad = weir("calltype", "create", uid("t").replace("-", "_"), "--settings", '{"video": {"enabled": "sometimes"}}',
               expect=1)
    assert "Error:" in bad.stderr and "settings.video.enabled" in bad.stderr and "HTTP 400" in bad.stderr
    assert "not valid JSON" in weir("calltype", "create", "x", "--grants", "{nope", expect=2).stderr
    assert "type:id" in weir("call", "get", "no-colon", expect=2).stderr
    assert "built-in" in weir("calltype", "delete", "default", expect=1).stderr
    unreachable = weir("calltype", "list", expect=1, WEIR_URL=f"http://127.0.0.1:{free_port()}")
    assert "cannot reach Weir" in unreachable.stderr


def test_credentials_come_from_the_data_dir(weir: Run, server: RunningServer, tmp_path: Path) -> None:
    no_env = {"WEIR_API_KEY": None, "WEIR_API_SECRET": None}
    assert "credentials missing" in weir("calltype", "--data-dir", str(tmp_path), "list", expect=1, **no_env).stderr
    (tmp_path / "credentials.json").write_text(json.dumps({"api_key": server.api_key,
                                                           "api_secret": server.api_secret}))
    assert "livestream" in weir("calltype", "--data-dir", str(tmp_path), "list", **no_env).stdout
    options = ["--url", server.base_url, "--api-key", server.api_key, "--api-secret", server.api_secret]
    assert output_json(weir("calltype", *options, "get", "default", WEIR_URL=None, **no_env))["name"] == "default"


def test_call_create_get_end_query(weir: Run, uid: Callable[[str], str]) -> None:
    run, owner = uid("run"), uid("owner")
    cids = [f"default:{uid('c')}" for _ in range(3)]
    for n, cid in enumerate(cids):
        created = output_json(weir("call", "create", cid, "--created-by", owner, "--member", f"{owner}:host",
                                   "--member", uid("m"), "--custom", json.dumps({"run": run, "n": n}),
                                   "--settings", '{"audio": {"mic_default_on": false}}'))
        assert created["created"] is True and created["call"]["cid"] == cid
        assert {m["role"] for m in created["members"]} == {"host", "call_member"}
    assert output_json(weir("call", "get", cids[0]))["call"]["custom"] == {"run": run, "n": 0}
    assert cids[0] in weir("call", "end", cids[0]).stdout
    assert output_json(weir("call", "get", cids[0]))["call"]["ended_at"] is not None
    query = ["call", "query", "--filter", json.dumps({"custom.run": run}), "--sort", "created_at:desc", "--limit", "1"]
    one_page = weir(*query).stdout
    assert "Calls (1)" in one_page and cids[-1] in one_page
    every_page = weir(*query, "--all").stdout
    assert "Calls (3)" in every_page and all(cid in every_page for cid in cids)
    assert "asc or desc" in weir("call", "query", "--sort", "created_at:up", expect=2).stderr
    assert cids[0] in weir("call", "delete", cids[0], "--mode", "hard").stdout  # waits for the task
    assert "Calls (2)" in weir(*query, "--all").stdout


def test_call_recording_commands(weir: Run, uid: Callable[[str], str]) -> None:
    cid = f"default:{uid('rec')}"
    weir("call", "create", cid, "--created-by", uid("owner"))
    egress_id = weir("call", "start-recording", cid, "--type", "raw").stdout.strip()
    assert len(egress_id) == 32  # no worker runs here: the job waits, and stopping it ends it
    assert output_json(weir("call", "get", cid))["call"]["egress"]["raw_recording"]["status"] == "running"
    assert "Stopping" in weir("call", "stop-recording", cid).stdout
    assert "Recordings (0)" in weir("call", "recordings", cid).stdout
    assert "no recording" in weir("call", "stop-recording", cid, expect=1).stderr


def test_call_transcription_commands(weir: Run, uid: Callable[[str], str]) -> None:
    cid = f"default:{uid('tr')}"
    weir("call", "create", cid, "--created-by", uid("owner"))
    assert "Transcribing" in weir("call", "start-transcription", cid, "--language", "fr", "--captions").stdout
    call = output_json(weir("call", "get", cid))["call"]
    assert call["transcribing"] is True and call["captioning"] is True  # no worker runs here: the jobs wait
    assert "Stopping" in weir("call", "stop-transcription", cid).stdout
    assert output_json(weir("call", "get", cid))["call"]["captioning"] is False
    assert "Transcriptions (0)" in weir("call", "transcriptions", cid).stdout
    assert "no transcription" in weir("call", "stop-transcription", cid, expect=1).stderr


def test_user_upsert_query_export_delete(weir: Run, uid: Callable[[str], str], tmp_path: Path) -> None:
    alice, bob = uid("alice"), uid("bob")
    user = output_json(weir("user", "upsert", alice, "--name", "Alice", "--role", "admin", "--team", "red",
                            "--custom", '{"level": 3}'))
    assert user["id"] == alice and user["role"] == "admin"
    assert user["teams"] == ["red"] and user["custom"] == {"level": 3}
    weir("user", "upsert", bob)
    filter_ = json.dumps({"id": {"$in": [alice, bob]}})
    listing = weir("user", "query", "--filter", filter_, "--sort", "id", "--limit", "1", "--all").stdout
    assert "Users (2)" in listing and alice in listing and bob in listing and "Alice" in listing
    saved = tmp_path / "export.json"
    assert "/storage/local/exports/" in weir("user", "export", alice, bob, "--output", str(saved)).stdout
    assert sorted(u["user"]["id"] for u in json.loads(saved.read_text())["users"]) == sorted([alice, bob])
    assert bob in weir("user", "delete", bob, "--mode", "hard").stdout
    remaining = weir("user", "query", "--filter", filter_).stdout
    assert "Users (1)" in remaining and bob not in remaining


def test_app_webhooks(weir: Run, uid: Callable[[str], str]) -> None:
    hook_id = uid("hook")
    added = output_json(weir("app", "set-webhook", "http://127.0.0.1:9/events", "--id", hook_id,
                             "--event", "call.created", "--event", "call.ended"))
    hook = next(h for h in added["app"]["event_hooks"] if h["id"] == hook_id)
    assert hook["event_types"] == ["call.created", "call.ended"] and hook["enabled"] is True
    assert hook_id in weir("app", "get").stdout
    assert "webhook_url" in weir("app", "set-webhook", "ftp://nope", "--id", hook_id, expect=1).stderr
    remaining = output_json(weir("app", "remove-webhook", hook_id))
    assert hook_id not in {h["id"] for h in remaining["app"]["event_hooks"]}
    assert "no webhook endpoint" in weir("app", "remove-webhook", hook_id, expect=1).stderr
