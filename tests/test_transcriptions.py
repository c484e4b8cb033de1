"""Transcription and closed captions at the coordinator: the routes, capabilities, settings, language precedence
and a running job's language change, seen through the AI workers' internal channel (no worker runs here:
tests/client/test_captions.py runs the real one)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import RunningServer, assert_error
from weir.domain.egress_tokens import create_worker_token

AI = ["transcription", "closed_captions"]


@pytest.fixture
def worker(server: RunningServer) -> Iterator[Callable[..., dict[str, Any]]]:
    """``worker(path, **body)``: a request on the AI workers' channel, as worker ``test-ai``."""
    with httpx.Client(base_url=server.base_url + "/internal/egress", timeout=30) as http:
        def post(path: str, **body: Any) -> dict[str, Any]:
            response = http.post(path, json={"worker_id": "test-ai", **body},
                                 headers={"Authorization": f"Bearer {create_worker_token(server.api_secret)}"})
            assert response.status_code == 200, response.text
            return response.json()  # type: ignore[no-any-return]
        yield post


def claim(worker: Callable[..., dict[str, Any]], cid: str, kind: str) -> dict[str, Any]:
    """The pending job of ``kind`` for ``cid`` (other tests' pending AI jobs are claimed and ended on the way)."""
    while True:
        job = worker("/claim", kinds=[kind])["job"]
        assert job is not None, f"no {kind} job for {cid}"
        if job["call_cid"] == cid:
            return job  # type: ignore[no-any-return]
        worker(f"/{job['egress_id']}/finish", error=None)


def call_state(api: httpx.Client, cid: str) -> dict[str, Any]:
    return api.get(f"/video/call/{cid.replace(':', '/')}").json()["call"]  # type: ignore[no-any-return]


def make_call(api: httpx.Client, cid: str, **transcription: Any) -> str:
    path = "/video/call/" + cid.replace(":", "/")
    data: dict[str, Any] = {"created_by_id": "transcriber-host"}
    if transcription:
        data["settings_override"] = {"transcription": transcription}
    assert api.post(path, json={"data": data}).status_code == 200
    return path


def test_start_and_stop_switch_the_flags_and_a_second_start_conflicts(
    api: httpx.Client, uid: Callable[[str], str], worker: Callable[..., dict[str, Any]],
) -> None:
    cid = f"default:{uid('tr')}"
    path = make_call(api, cid)
    assert api.post(path + "/start_transcription", json={"enable_closed_captions": True}).status_code == 200
    state = call_state(api, cid)
    assert state["transcribing"] is True and state["captioning"] is True
    assert_error(api.post(path + "/start_transcription", json={}), 409, 23)
    assert_error(api.post(path + "/start_closed_captions", json={}), 409, 23)
    assert claim(worker, cid, "closed_captions")["recording_type"] == "closed_captions"
    assert api.post(path + "/stop_transcription", json={"stop_closed_captions": True}).status_code == 200
    state = call_state(api, cid)
    assert state["transcribing"] is False and state["captioning"] is False
    assert_error(api.post(path + "/stop_transcription", json={}), 400, 4)
    assert_error(api.post(path + "/stop_closed_captions"), 400, 4)
    assert api.get(path + "/transcriptions").json()["transcriptions"] == []
    assert_error(api.delete(path + "/nosession/transcriptions/none.jsonl"), 404, 16)


def test_go_live_starts_transcription_and_captions_and_stop_live_keeps_what_it_continues(
    api: httpx.Client, uid: Callable[[str], str],
) -> None:
    cid = f"default:{uid('live')}"
    path = make_call(api, cid)
    going = api.post(path + "/go_live", json={"start_transcription": True, "start_closed_caption": True})
    assert going.status_code == 200, going.text
    state = call_state(api, cid)
    assert state["transcribing"] is True and state["captioning"] is True
    assert api.post(path + "/stop_live", json={"continue_transcription": True}).status_code == 200
    state = call_state(api, cid)
    assert state["transcribing"] is True and state["captioning"] is False
    assert api.post(path + "/stop_transcription", json={}).status_code == 200


def test_recording_workers_never_claim_transcription_jobs(
    api: httpx.Client, uid: Callable[[str], str], worker: Callable[..., dict[str, Any]],
) -> None:
    cid = f"default:{uid('kinds')}"
    path = make_call(api, cid)
    assert api.post(path + "/start_closed_captions", json={}).status_code == 200  # the older job
    assert api.post(path + "/start_recording", json={"recording_type": "individual"}).status_code == 200
    while (job := worker("/claim")["job"])["call_cid"] != cid:  # the recording kinds
        worker(f"/{job['egress_id']}/finish", error=None)
    assert job["recording_type"] == "individual"
    worker(f"/{job['egress_id']}/finish", error=None)
    claim(worker, cid, "closed_captions")
    api.post(path + "/stop_closed_captions")


def test_the_capabilities_and_the_modes_guard_every_route(
    api: httpx.Client, user_api: Callable[..., httpx.Client], uid: Callable[[str], str],
) -> None:
    host, guest = uid("host"), uid("guest")
    cid = f"default:{uid('caps')}"
    path = "/video/call/" + cid.replace(":", "/")
    api.post("/users", json={"users": {guest: {"id": guest}}})
    assert user_api(host).post(path, json={"data": {"members": [{"user_id": guest}]}}).status_code == 200
    for route in ("start_transcription", "stop_transcription", "start_closed_captions", "stop_closed_captions"):
        assert_error(user_api(guest).post(f"{path}/{route}", json={}), 403, 17)
    off = {"settings_override": {"transcription": {"mode": "disabled", "closed_caption_mode": "disabled"}}}
    assert api.patch(path, json=off).status_code == 200
    assert_error(user_api(host).post(path + "/start_transcription", json={}), 403, 17)
    assert_error(user_api(host).post(path + "/start_closed_captions", json={}), 403, 17)
    assert call_state(api, cid)["transcribing"] is False


@pytest.mark.parametrize(("segments", "ok"), [
    ({"max_speech_caption_ms": 4999}, False), ({"max_speech_caption_ms": 10001}, False),
    ({"silence_duration_ms": 299}, False), ({"silence_duration_ms": 2001}, False),
    ({"max_speech_caption_ms": 5000, "silence_duration_ms": 300}, True),
    ({"max_speech_caption_ms": 10000, "silence_duration_ms": 2000}, True),
])
def test_speech_segment_config_keeps_the_seeds_ranges(
    api: httpx.Client, uid: Callable[[str], str], segments: dict[str, int], ok: bool,
) -> None:
    path = make_call(api, f"default:{uid('seg')}")
    update = api.patch(path, json={"settings_override": {"transcription": {"speech_segment_config": segments}}})
    started = api.post(path + "/start_closed_captions", json={"speech_segment_config": segments})
    if ok:
        assert update.status_code == 200 and started.status_code == 200
        api.post(path + "/stop_closed_captions")
    else:
        assert_error(update, 400, 4)
        assert_error(started, 400, 4)
        assert call_state(api, f"default:{path.rsplit('/', 1)[1]}")["captioning"] is False


def test_language_precedence_and_a_change_reaching_the_running_job(
    api: httpx.Client, uid: Callable[[str], str], worker: Callable[..., dict[str, Any]],
) -> None:
    cid = f"default:{uid('lang')}"
    path = make_call(api, cid, language="fr", speech_segment_config={"silence_duration_ms": 500})
    api.post(path + "/start_closed_captions", json={})  # the call's language over its type's
    job = claim(worker, cid, "closed_captions")
    assert job["options"]["language"] == "fr"
    assert job["options"]["speech_segment_config"] == {"max_speech_caption_ms": 9000, "silence_duration_ms": 500}
    api.post(path + "/start_transcription", json={"language": "de"})  # the request's over the call's
    assert claim(worker, cid, "transcription")["options"]["language"] == "de"
    beat = worker(f"/{job['egress_id']}/heartbeat")
    assert beat == {"status": "running", "options": job["options"]}
    assert api.patch(path, json={"settings_override": {"transcription": {"language": "es"}}}).status_code == 200
    assert worker(f"/{job['egress_id']}/heartbeat")["options"]["language"] == "es"
    api.post(path + "/stop_closed_captions", json={"stop_transcription": True})
    assert worker(f"/{job['egress_id']}/heartbeat")["status"] == "stopping"


def test_translation_without_an_engine_is_refused_clearly(api: httpx.Client, uid: Callable[[str], str]) -> None:
    cid = f"default:{uid('tl')}"
    path = make_call(api, cid, translation={"enabled": True, "languages": ["fr", "de"]})
    assert call_state(api, cid)["settings"]["transcription"]["translation"] == {"enabled": True,
                                                                                "languages": ["fr", "de"]}
    body = assert_error(api.post(path + "/start_closed_captions", json={}), 400, 4)
    assert "no translation engine configured" in body["message"]
    assert call_state(api, cid)["captioning"] is False
    path = make_call(api, f"default:{uid('bad')}")
    assert_error(api.post(path + "/start_transcription", json={"language": "xx"}), 400, 4)
    assert_error(api.post(path + "/start_transcription", json={"transcription_external_storage": "nowhere"}),
                 400, 4)
