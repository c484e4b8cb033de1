"""A coordinator that does not answer an SFU worker's admission: the joiner gets a clear, retryable error (503 for
WHIP/WHEP, ``internal_error`` on the signaling socket), not a 500, and the worker keeps its state."""

from __future__ import annotations

from typing import Any, cast

import httpx
import pytest

from weir.domain.sfu_tokens import create_sfu_token, verify_sfu_token
from weir.protocol.errors import APIError
from weir.protocol.sfu.errors import SfuErrorCode, SignalError
from weir.protocol.sfu.requests import JoinRequest
from weir.sfu.local_entry import LocalEntry
from weir.sfu.signaling.join import join
from weir.sfu.signaling.join_limit import JoinLimit
from weir.sfu.signaling.link import CallRecord, CoordinatorUnavailable, ParticipantRecord
from weir.sfu.signaling.outbox import Outbox
from weir.sfu.signaling.rooms import SignalingRooms
from weir.sfu.workers.channel import CHANNEL_PREFIX
from weir.sfu.workers.remote import RemoteCoordinator

SECRET = "s" * 32


class SilentCoordinator:
    """A coordinator link whose admissions time out."""

    async def admit(self, call_cid: str, session_id: str) -> tuple[CallRecord, ParticipantRecord] | None:
        raise CoordinatorUnavailable("timed out")


def token() -> str:
    return create_sfu_token(SECRET, call_cid="default:c1", user_id="ann", session_id="s1", role="user",
                            capabilities=["send-audio"])


def remote_answering(handler: httpx.MockTransport) -> RemoteCoordinator:
    remote = RemoteCoordinator("http://127.0.0.1:9", SECRET, worker=1)
    remote.http = httpx.AsyncClient(base_url=remote.coordinator_url + CHANNEL_PREFIX, transport=handler)
    return remote


@pytest.mark.parametrize("failure", ["timeout", "refused", "502"])
async def test_a_worker_reads_a_silent_or_failing_coordinator_as_unavailable(failure: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if failure == "timeout":
            raise httpx.ReadTimeout("no answer", request=request)
        if failure == "refused":
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(502)

    remote = remote_answering(httpx.MockTransport(handler))
    with pytest.raises(CoordinatorUnavailable):
        await remote.admit("default:c1", "s1")
    await remote.http.aclose()


async def test_a_refusal_is_not_read_as_unavailable() -> None:
    remote = remote_answering(httpx.MockTransport(lambda request: httpx.Response(401)))
    with pytest.raises(httpx.HTTPStatusError):
        await remote.admit("default:c1", "s1")
    await remote.http.aclose()


async def test_whip_and_whep_answer_503_when_the_coordinator_does_not_admit() -> None:
    rooms = SignalingRooms(cast(Any, SilentCoordinator()), cast(Any, None), 1.0)
    grant = verify_sfu_token(SECRET, token())
    with pytest.raises(APIError) as raised:
        await LocalEntry(rooms).open("whip", grant, "v=0")
    assert raised.value.status_code == 503
    assert "try again" in raised.value.message
    assert rooms.find("default:c1", "s1") is None


async def test_a_signaling_join_gets_a_retryable_error_when_the_coordinator_does_not_admit() -> None:
    rooms = SignalingRooms(cast(Any, SilentCoordinator()), cast(Any, None), 1.0)
    request = JoinRequest(token=token(), session_id="s1")
    with pytest.raises(SignalError) as raised:
        await join(SECRET, rooms, Outbox(), request, JoinLimit(100))
    assert raised.value.code is SfuErrorCode.INTERNAL_ERROR
    assert raised.value.policy.should_retry
    assert "s1" not in rooms.joining
    assert rooms.find("default:c1", "s1") is None
