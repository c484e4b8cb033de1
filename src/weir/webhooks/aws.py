"""SQS and SNS event destinations: one delivery attempt through boto3, as an ``Outcome`` like a webhook POST's.

boto3 blocks, so each call runs in a thread; its own retries are off (the outbox's ``RetryPolicy`` decides). The
message is the same signed JSON body a webhook gets, and the webhook headers travel as message attributes.
Clients are kept per destination and credentials; ``role`` uses the server's own AWS credentials (its
environment, profile or instance role), assuming the destination's role ARN through STS when one is given.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, ReadTimeoutError

from weir.protocol.app_settings import EventHook, aws_region_of
from weir.sealing import Sealer
from weir.webhooks.policy import Outcome

DEFAULT_REGION = "us-east-1"
ROLE_SESSION_SECONDS = 3600
ROLE_RENEW_MARGIN = 300  # assume the role again this long before its credentials end


@dataclass(frozen=True, slots=True)
class AwsTarget:
    """Where one SQS or SNS destination is, and how to sign in (the secret unsealed)."""

    service: str  # "sqs" | "sns"
    address: str  # the queue URL or the topic ARN
    region: str
    auth_type: str
    key: str | None
    secret: str | None
    role_arn: str | None


def target_of(hook: EventHook, sealer: Sealer) -> AwsTarget:
    """The hook's AWS destination; ``SealError`` when its secret was sealed with another key."""
    kind = hook.hook_type
    secret = hook.aws(kind, "secret")
    return AwsTarget(
        service=kind, address=hook.destination,
        region=str(hook.aws(kind, "region") or aws_region_of(kind, hook.destination) or DEFAULT_REGION),
        auth_type=str(hook.aws(kind, "auth_type") or "keys"), key=hook.aws(kind, "key"),  # type: ignore[arg-type]
        secret=sealer.unseal(str(secret)) if secret else None, role_arn=hook.aws(kind, "role_arn"),  # type: ignore[arg-type]
    )


def attributes(headers: dict[str, str]) -> dict[str, dict[str, str]]:
    return {name: {"DataType": "String", "StringValue": value} for name, value in headers.items()}


class AwsSender:
    def __init__(self, endpoint_url: str | None) -> None:
        self.endpoint_url = endpoint_url
        self._clients: dict[tuple[Any, ...], tuple[Any, float]] = {}
        self._lock = threading.Lock()

    async def send(self, target: AwsTarget, body: str, headers: dict[str, str], timeout: float) -> Outcome:
        try:
            await asyncio.wait_for(asyncio.to_thread(self._send, target, body, headers, timeout), timeout + 1)
        except (TimeoutError, ConnectTimeoutError, ReadTimeoutError) as exc:
            return Outcome(error="timeout", detail=f"no answer within {timeout:g} s ({type(exc).__name__})")
        except ClientError as exc:
            error = exc.response.get("Error", {})
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 400)
            return Outcome(status=status, detail=f"{error.get('Code', 'error')}: {error.get('Message', '')}")
        except BotoCoreError as exc:  # no connection, no credentials, a bad endpoint
            return Outcome(error="network", detail=str(exc) or type(exc).__name__)
        return Outcome(status=200)

    def _send(self, target: AwsTarget, body: str, headers: dict[str, str], timeout: float) -> None:
        client = self._client(target, timeout)
        if target.service == "sqs":
            client.send_message(QueueUrl=target.address, MessageBody=body, MessageAttributes=attributes(headers))
        else:
            client.publish(TopicArn=target.address, Message=body, MessageAttributes=attributes(headers))

    def _client(self, target: AwsTarget, timeout: float) -> Any:
        key = (target.service, target.region, target.auth_type, target.key, target.secret, target.role_arn, timeout)
        with self._lock:
            client, until = self._clients.get(key, (None, 0.0))
            if client is None or time.monotonic() > until:
                client, until = self._new_client(target, timeout)
                self._clients[key] = (client, until)
            return client

    def _new_client(self, target: AwsTarget, timeout: float) -> tuple[Any, float]:
        config = Config(connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 1})
        common: dict[str, Any] = {"region_name": target.region, "endpoint_url": self.endpoint_url, "config": config}
        if target.auth_type == "keys":
            client = boto3.client(target.service, aws_access_key_id=target.key,
                                  aws_secret_access_key=target.secret, **common)
            return client, float("inf")
        if target.role_arn is None:
            return boto3.client(target.service, **common), float("inf")
        assumed = boto3.client("sts", **common).assume_role(
            RoleArn=target.role_arn, RoleSessionName="weir-events", DurationSeconds=ROLE_SESSION_SECONDS)["Credentials"]
        client = boto3.client(target.service, aws_access_key_id=assumed["AccessKeyId"],
                              aws_secret_access_key=assumed["SecretAccessKey"],
                              aws_session_token=assumed["SessionToken"], **common)
        return client, time.monotonic() + ROLE_SESSION_SECONDS - ROLE_RENEW_MARGIN
