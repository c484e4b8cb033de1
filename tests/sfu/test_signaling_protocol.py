"""The SFU signaling protocol: every message round-trips, the committed JSON Schema is current and describes
what the models produce, and the parser turns any input into a request or a clean error."""

from __future__ import annotations

import json
from typing import Any

import jsonschema_rs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from weir.protocol.sfu import EVENT_TYPES, REQUEST_TYPES, SfuErrorCode, SfuEvent, SignalError, parse_request
from weir.protocol.sfu.schema import SCHEMA_PATH, schema_text

NOW = "2025-01-02T03:04:05Z"
PARTICIPANT = {
    "user_id": "alice", "session_id": "s1", "name": "Alice", "image": "", "custom": {"team": "red"},
    "roles": ["user"], "source": "webrtc", "published_tracks": ["audio", "video"], "is_speaking": False,
    "is_dominant_speaker": False, "audio_level": 0.0, "connection_quality": "good", "joined_at": NOW,
    "pin": {"user_id": "alice", "session_id": "s1", "pinned_at": NOW},
}
CANDIDATE = {"candidate": "candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host", "sdp_mid": "0",
             "sdp_mline_index": 0, "username_fragment": "abcd"}

REQUESTS: list[dict[str, Any]] = [
    {"type": "join", "request_id": "r1", "token": "t", "session_id": "s1",
     "client_details": {"sdk": "weir-python", "sdk_version": "0.1.0", "os": "linux", "browser": "", "device": "",
                        "webrtc_version": "aiortc"},
     "capabilities": ["subscriber_video_pause"],
     "reconnect_details": {"strategy": "rejoin", "previous_session_id": "s0", "attempt": 2, "from_edge": "local"}},
    {"type": "set_publisher", "request_id": None, "sdp": "v=0\r\n", "tracks": [
        {"track_type": "audio", "mid": "0", "layers": [], "codec": "opus", "muted": False},
        {"track_type": "video", "mid": "1", "codec": "vp8", "muted": True, "layers": [
            {"rid": "q", "width": 320, "height": 180, "bitrate": 150000},
            {"rid": "f", "width": 1280, "height": 720, "bitrate": 1500000}]}]},
    {"type": "send_answer", "request_id": None, "sdp": "v=0\r\n", "negotiation_id": 3},
    {"type": "ice_trickle", "request_id": None, "target": "publisher", "candidate": CANDIDATE},
    {"type": "ice_trickle", "request_id": None, "target": "subscriber", "candidate": None},
    {"type": "update_subscriptions", "request_id": None, "tracks": [
        {"session_id": "s2", "track_type": "video", "dimension": {"width": 640, "height": 360}},
        {"session_id": "s2", "track_type": "audio", "dimension": None}]},
    {"type": "update_mute_states", "request_id": None, "mute_states": [{"track_type": "audio", "muted": True}]},
    {"type": "ice_restart", "request_id": None, "target": "subscriber"},
    {"type": "leave", "request_id": None, "reason": "bye"},
    {"type": "send_stats", "request_id": None, "publisher": {"bytes_sent": 10}, "subscriber": None},
    {"type": "health_check", "request_id": "h"},
]

EVENTS: list[dict[str, Any]] = [
    {"type": "join_response", "own_capabilities": ["send-audio"], "fast_reconnect_deadline_seconds": 15.0,
     "reconnected": False,
     "call_state": {"participants": [PARTICIPANT], "pins": [PARTICIPANT["pin"]], "started_at": NOW,
                    "participant_count": {"total": 1, "anonymous": 0}},
     "publish_options": [{"track_type": "video", "codec": "vp8", "max_bitrate": 1500000, "width": 1280,
                          "height": 720, "dtx": False, "red": False,
                          "layers": [{"rid": "q", "scale_resolution_down_by": 4.0, "max_bitrate": 93750}]}]},
    {"type": "publisher_answer", "sdp": "v=0\r\n"},
    {"type": "subscriber_offer", "sdp": "v=0\r\n", "negotiation_id": 1, "ice_restart": False},
    {"type": "ice_trickle", "target": "subscriber", "candidate": CANDIDATE},
    {"type": "participant_joined", "participant": PARTICIPANT},
    {"type": "participant_left", "participant": PARTICIPANT, "reason": "left"},
    {"type": "participant_updated", "participant": PARTICIPANT},
    {"type": "track_published", "session_id": "s1", "track_type": "video", "participant": PARTICIPANT},
    {"type": "track_unpublished", "session_id": "s1", "track_type": "video", "cause": "left",
     "participant": PARTICIPANT},
    {"type": "audio_level_changed", "audio_levels": [
        {"session_id": "s1", "user_id": "alice", "level": 0.5, "is_speaking": True}]},
    {"type": "dominant_speaker_changed", "session_id": "s1", "user_id": "alice"},
    {"type": "connection_quality_changed", "updates": [
        {"session_id": "s1", "user_id": "alice", "connection_quality": "poor"}]},
    {"type": "change_publish_quality", "video_senders": [
        {"track_type": "video", "layers": [{"rid": "f", "active": False}]}]},
    {"type": "inbound_state_notification", "inbound_video_states": [
        {"session_id": "s1", "user_id": "alice", "track_type": "video", "paused": True}]},
    {"type": "pins_updated", "pins": [PARTICIPANT["pin"]]},
    {"type": "call_grants_updated", "own_capabilities": ["send-video"], "message": "changed"},
    {"type": "call_ended", "reason": "max_duration_reached"},
    {"type": "go_away", "reason": "shutting_down"},
    {"type": "error", "error": {"code": "invalid_message", "message": "m", "should_retry": False},
     "reconnect_strategy": "unspecified", "request_id": "r1"},
    {"type": "health_check_response", "participant_count": {"total": 3, "anonymous": 1}},
]


def _validator(definition: str) -> Any:
    schema = json.loads(SCHEMA_PATH.read_text())
    return jsonschema_rs.validator_for({**schema, "anyOf": [{"$ref": f"#/$defs/{definition}"}]})


@pytest.fixture(scope="module")
def request_schema() -> Any:
    return _validator("SfuRequest")


@pytest.fixture(scope="module")
def event_schema() -> Any:
    return _validator("SfuEvent")


def test_the_committed_schema_is_current() -> None:
    assert SCHEMA_PATH.read_text() == schema_text(), "run scripts/gen-sfu-schema.py"


def test_the_examples_cover_every_message_type() -> None:
    assert {m["type"] for m in REQUESTS} == REQUEST_TYPES
    assert {m["type"] for m in EVENTS} == EVENT_TYPES
    assert not REQUEST_TYPES & {"error", "join_response"}


@pytest.mark.parametrize("message", REQUESTS, ids=lambda m: m["type"])
def test_requests_round_trip_and_match_the_schema(message: dict[str, Any], request_schema: Any) -> None:
    request_schema.validate(message)
    request = parse_request(json.dumps(message))
    assert request.type == message["type"]
    assert request.model_dump(mode="json") == message


@pytest.mark.parametrize("message", EVENTS, ids=lambda m: m["type"])
def test_events_round_trip_and_match_the_schema(message: dict[str, Any], event_schema: Any) -> None:
    event = SfuEvent.model_validate(message).root
    written = json.loads(event.model_dump_json())
    assert written == message
    event_schema.validate(written)


def test_the_schema_refuses_what_the_parser_refuses(request_schema: Any) -> None:
    for bad in ({"type": "health_check", "extra": 1}, {"type": "dance"}, {"type": "ice_restart", "target": "x"},
                {"type": "join", "token": "t", "session_id": "has space"}):
        assert not request_schema.is_valid(bad), bad
        with pytest.raises(SignalError):
            parse_request(json.dumps(bad))


def test_every_event_field_is_required_in_the_schema() -> None:
    """Events always carry every field, so generated TypeScript types need no optional checks."""
    schema = json.loads(SCHEMA_PATH.read_text())
    participant = schema["$defs"]["Participant"]
    assert set(participant["required"]) == set(participant["properties"])


@pytest.mark.parametrize("raw, code, text", [
    ("not json", SfuErrorCode.INVALID_MESSAGE, "JSON"),
    ("[1, 2]", SfuErrorCode.INVALID_MESSAGE, "JSON objects"),
    ('{"type": "dance"}', SfuErrorCode.UNKNOWN_MESSAGE_TYPE, "dance"),
    ('{"no_type": 1}', SfuErrorCode.UNKNOWN_MESSAGE_TYPE, "None"),
    ('{"type": "join", "session_id": "s"}', SfuErrorCode.INVALID_MESSAGE, "token"),
    ('{"type": "health_check", "extra": 1}', SfuErrorCode.INVALID_MESSAGE, "extra"),
    ('{"type": "ice_trickle", "target": "sideways", "candidate": null}', SfuErrorCode.INVALID_MESSAGE, "target"),
    ('{"type": "leave", "reason": "a\\u0000b"}', SfuErrorCode.INVALID_MESSAGE, "reason"),
    ('{"type": "send_answer", "sdp": "v=0", "negotiation_id": 0}', SfuErrorCode.INVALID_MESSAGE, "negotiation_id"),
    ('[' * 100_000, SfuErrorCode.INVALID_MESSAGE, "JSON"),
    ('"' + "x" * 300_000 + '"', SfuErrorCode.INVALID_MESSAGE, "limited"),
])
def test_bad_messages_are_clean_errors(raw: str, code: SfuErrorCode, text: str) -> None:
    with pytest.raises(SignalError) as caught:
        parse_request(raw)
    assert caught.value.code == code
    assert text in caught.value.message


def test_errors_echo_the_request_id() -> None:
    with pytest.raises(SignalError) as caught:
        parse_request('{"type": "update_mute_states", "request_id": "m7", "mute_states": []}')
    assert caught.value.request_id == "m7"
    assert "mute_states" in caught.value.message


def test_a_publish_names_each_track_type_once() -> None:
    track = {"track_type": "video", "mid": "0"}
    with pytest.raises(SignalError, match="one track of each"):
        parse_request(json.dumps({"type": "set_publisher", "sdp": "v=0", "tracks": [track, {**track, "mid": "1"}]}))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)


def _check(raw: str | bytes) -> None:
    try:
        request = parse_request(raw)
    except SignalError as error:
        assert error.code in (SfuErrorCode.INVALID_MESSAGE, SfuErrorCode.UNKNOWN_MESSAGE_TYPE)
        return
    assert request.type in REQUEST_TYPES


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_fuzz_any_json_is_a_request_or_a_clean_error(value: Any) -> None:
    _check(json.dumps(value))


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(REQUESTS), st.data())
def test_fuzz_mutated_requests_are_requests_or_clean_errors(message: dict[str, Any], data: st.DataObject) -> None:
    mutated = dict(message)
    key = data.draw(st.sampled_from(sorted(mutated) + ["surprise"]))
    if data.draw(st.booleans()):
        mutated[key] = data.draw(json_values)
    else:
        mutated.pop(key, None)
    _check(json.dumps(mutated))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200))
def test_fuzz_garbage_is_a_clean_error(raw: str | bytes) -> None:
    _check(raw)
