"""Server configuration from flags and ``WEIR_*`` environment variables."""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from pydantic import Field, IPvAnyNetwork, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from weir.protocol.sfu_edges import IceServer
from weir.turn.credentials import derive_turn_secret

WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


def reachable_host(host: str) -> str:
    """An address of this machine to reach a listener bound to ``host`` (a wildcard becomes loopback)."""
    return WILDCARDS.get(host, host)


@contextmanager
def private_files() -> Iterator[None]:
    """Files and folders made inside are the owner's alone (0600, 0700) from creation: the umask says so while
    they are made, instead of a chmod after a moment of being readable. The umask is the process's."""
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


class Settings(BaseSettings):
    """Everything ``weir serve`` needs; each field reads ``WEIR_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="WEIR_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 3030
    data_dir: Path = Path(".weir")
    database_url: str | None = None
    api_key: str | None = None
    api_secret: str | None = None
    dev: bool = False
    max_body_bytes: int = Field(default=1_048_576, description="Larger request bodies get a 413.")
    rate_limits_enabled: bool = True
    redis_url: str | None = Field(default=None, description="Redis (redis://host:port/db): events, rate limits and "
                                  "presence shared by several coordinator processes. Default: this process's memory.")
    cluster_index: int = Field(
        default=0, ge=0, description="This process's index among `weir serve --workers N`'s processes (set by it): "
        "only process 0 supervises the SFU media, recording, AI and ingress workers and coturn.")
    internal_port: int = Field(default=0, ge=0, le=65535, description="The loopback port this process's SFU media "
                               "workers reach it at (0: the public port; `--workers N` gives process 0 its own).")
    redis_prefix: str = Field(default="weir", min_length=1, description="Prefix of Weir's Redis keys and channel "
                              "(one Redis can serve several Weir clusters).")
    tls_certfile: Path | None = Field(default=None, description="PEM certificate (chain): serve HTTPS and WSS.")
    tls_keyfile: Path | None = Field(default=None, description="The certificate's PEM private key.")
    secret_key: str | None = Field(default=None, description="Fernet key that encrypts stored push-provider "
                                   "secrets. Default: secret.key in the data folder, made on the first start.")
    allow_private_destinations: bool = Field(
        default=False, description="Let webhooks and push providers reach loopback, private, link-local and other "
        "non-public addresses (on with --dev).")
    ws_auth_timeout_seconds: float = Field(default=10, description="Time a new WebSocket has to authenticate.")
    ws_health_check_seconds: float = Field(default=10, description="Server health.check interval on idle sockets.")
    ws_idle_timeout_seconds: float = Field(default=30, description="A socket silent this long is closed.")
    ws_max_connections_per_user: int = Field(default=10, ge=1, description="Coordinator WebSockets a user may "
                                             "keep open at once.")
    sfu_joins_per_minute: int = Field(default=60, ge=1, description="SFU joins a user may start a minute.")
    webhook_request_timeout_seconds: float = Field(default=6, gt=0, description="Timeout of one webhook request.")
    webhook_total_timeout_seconds: float = Field(default=15, gt=0, description="All attempts of one delivery.")
    webhook_retry_delays_seconds: tuple[float, ...] = Field(default=(0.5, 1.5), description="Before attempts 2, 3.")
    webhook_poll_interval_seconds: float = Field(default=1, gt=0, description="Outbox poll interval.")
    webhook_concurrency: int = Field(default=32, ge=1, description="Webhook deliveries in flight at once.")
    webhook_endpoint_concurrency: int = Field(default=4, ge=1, description="Of those, per endpoint.")
    aws_endpoint_url: str | None = Field(
        default=None, description="Send SQS and SNS event deliveries here instead of AWS (an AWS-compatible server "
        "such as LocalStack or moto); queue URLs must then be on this host.")
    sfu_public_url: str | None = Field(
        default=None, description="The SFU's public base URL (http[s]://host[:port]); clients get its /sfu/ws and "
        "/sfu/latency. Default: the URL the client reached the coordinator at.")
    public_url: str | None = Field(
        default=None, description="This server's public base URL (http[s]://host[:port]) in the links it hands out "
        "(recordings). Default: http://<host>:<port>.")
    egress_workers: int = Field(default=1, ge=0, le=16, description="Recording worker processes `weir serve` "
                                "starts (0: none; run `weir worker egress` yourself).")
    ai_workers: int = Field(default=1, ge=0, le=16, description="Transcription and caption worker processes "
                            "`weir serve` starts (0: none; run `weir worker ai` yourself).")
    egress_lease_seconds: float = Field(default=10, ge=1, le=300, description="A recording whose worker sends no "
                                        "sign of life for this long fails, keeping what it wrote.")
    recording_url_ttl_seconds: int = Field(default=14 * 24 * 3600, ge=60, description="How long the signed URLs "
                                           "of recordings stay valid (the seed: two weeks).")
    ingress_host: str = Field(default="127.0.0.1", description="Where the ingress listeners (RTMP) listen.")
    ingress_rtmp_port: int = Field(default=1935, ge=0, le=65535, description="The RTMP ingress port (0: none).")
    ingress_srt_port: int = Field(default=8890, ge=0, le=65535, description="The SRT ingress port, UDP (0: none).")
    ingress_public_host: str | None = Field(
        default=None, description="Host of the ingress addresses calls show. Default: the listening host.")
    sfu_edge_name: str = Field(default="local", description="This SFU's name in join credentials and /edges.")
    sfu_token_ttl_seconds: int = Field(default=300, ge=30, le=3600, description="Lifetime of SFU join tokens.")
    sfu_fast_reconnect_deadline_seconds: float = Field(
        default=15, gt=0, description="How long the SFU keeps a session whose socket or ICE connection is lost.")
    sfu_stats_seconds: float = Field(
        default=5, gt=0, description="How often the SFU sends each call's stats samples to the coordinator.")
    sfu_keepalive_seconds: float = Field(
        default=4, gt=0, description="How often the SFU marks its participants present (below the 5 s minimum "
        "session.inactivity_timeout_seconds).")
    sfu_ice_servers: list[IceServer] = Field(default_factory=list, description="STUN/TURN servers for clients (JSON).")
    sfu_admission_window_seconds: float = Field(
        default=30, gt=0, description="A joined session whose client hasn't reached the SFU this long is dropped.")
    stats_reporting_interval_ms: int = Field(default=10_000, ge=1000, description="Client stats report interval.")
    sfu_workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1, ge=0, description="SFU media worker processes, each owning "
        "whole calls. Default: one per core; 0 runs the SFU in the coordinator's process.")
    sfu_nodes: bool = Field(
        default=False, description="Place calls on SFU nodes on other hosts too (`weir sfu`, registered over the "
        "internal channel with the API secret); with WEIR_SFU_WORKERS=0, on them only.")
    sfu_region_networks: dict[str, list[IPvAnyNetwork]] = Field(
        default_factory=dict, description='Client networks by SFU node region, for placement near the client '
        '(JSON, e.g. {"eu": ["10.1.0.0/16"]}); a join\'s "location" names a region first.')
    sfu_cascade_call_size: int = Field(
        default=0, ge=0, description="Cascading: once a call has this many participants on a worker, the next go "
        "to other workers, which relay its media to each other (1 spreads every call over all workers; 0: off, "
        "every call on one worker).")
    sfu_cascade_fanout: int = Field(
        default=4, ge=1, description="Cascading: a call's hosts relay to each other in a full mesh while each "
        "would send to at most this many others; beyond that, through a tree (origin → relays → edges) in which "
        "each host relays to at most this many children.")
    sfu_worker_base_port: int = Field(
        default=0, ge=0, le=65535, description="Worker i listens on this port + i (0: free ports the system picks).")
    turn_enabled: bool = Field(default=False, description="Start coturn with `weir serve`; join hands out "
                               "time-limited TURN credentials for it (clients without UDP relay over TCP).")
    turnserver: str = Field(default="turnserver", description="coturn's binary: a path or a name on PATH.")
    turn_listening_address: str = Field(default="127.0.0.1", description="Where coturn listens (UDP and TCP).")
    turn_port: int = Field(default=3478, ge=1, le=65535, description="coturn's listening port.")
    turn_public_host: str | None = Field(
        default=None, description="Host of the turn: URLs clients get. Default: the listening address.")
    turn_relay_address: str | None = Field(
        default=None, description="Address coturn relays from; must reach the SFU. Default: the listening address.")
    turn_relay_port_min: int = Field(default=49152, ge=1, le=65535, description="coturn's relay port range.")
    turn_relay_port_max: int = Field(default=65535, ge=1, le=65535)
    turn_realm: str = Field(default="weir", min_length=1)
    turn_static_auth_secret: str | None = Field(
        default=None, description="Secret shared with coturn (TURN REST API). Default: derived from the API secret.")
    turn_credential_ttl_seconds: int = Field(default=86_400, ge=60, description="Lifetime of TURN credentials.")
    whisper_model: Path | None = Field(default=None, description="A faster-whisper (CTranslate2) model folder for "
                                       "transcription; needs the speech-whisper extra. Never downloaded by Weir.")
    vosk_model: Path | None = Field(default=None, description="A Vosk model folder for transcription; needs the "
                                    "speech-vosk extra. Never downloaded by Weir.")
    vosk_language: str = Field(default="en", description="The language of the Vosk model (a seed language code).")
    metrics_token: str | None = Field(default=None, min_length=16, description="Bearer token /metrics asks for. "
                                      "Unset: /metrics answers loopback clients only.")
    log_format: Literal["plain", "json"] = Field(default="plain", description="Log lines as text, or one JSON "
                                                 "object per line.")

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'weir.db').resolve()}"

    @model_validator(mode="after")
    def _tls_settings_paired(self) -> Settings:
        if (self.tls_certfile is None) != (self.tls_keyfile is None):
            raise ValueError("TLS needs both a certificate and its key (--certfile and --keyfile)")
        return self

    @property
    def scheme(self) -> str:
        return "https" if self.tls_certfile else "http"

    @property
    def public_base_url(self) -> str:
        """Where this server's API is reached: ``public_url``, else its own listener (workers on this host use it)."""
        return self.public_url or f"{self.scheme}://{reachable_host(self.host)}:{self.port}"

    @model_validator(mode="after")
    def _turn_settings_consistent(self) -> Settings:
        if self.turn_relay_port_min > self.turn_relay_port_max:
            raise ValueError("WEIR_TURN_RELAY_PORT_MIN must not exceed WEIR_TURN_RELAY_PORT_MAX")
        for name in ("turn_listening_address", "turn_relay_address"):
            address = getattr(self, name)
            try:
                if address is not None:
                    ipaddress.ip_address(address)
            except ValueError:
                raise ValueError(f"WEIR_{name.upper()} must be an IP address, not {address!r}") from None
        if self.turn_enabled and not self.turn_public_host and self.turn_listening_address in ("0.0.0.0", "::"):
            raise ValueError("coturn listens on a wildcard address: set WEIR_TURN_PUBLIC_HOST for the turn: URLs")
        return self

    @property
    def supervises_workers(self) -> bool:
        """Whether this process starts the SFU media, recording, AI and ingress workers and coturn."""
        return self.cluster_index == 0

    @property
    def private_destinations_allowed(self) -> bool:
        return self.allow_private_destinations or self.dev

    @property
    def turn_url_host(self) -> str:
        """The host clients are told to reach coturn at."""
        return self.turn_public_host or self.turn_listening_address

    @property
    def turn_secret(self) -> str:
        """The TURN REST API secret shared by join's credentials and coturn (after ``ensure_credentials``)."""
        if self.turn_static_auth_secret:
            return self.turn_static_auth_secret
        assert self.api_secret is not None, "ensure_credentials() first"
        return derive_turn_secret(self.api_secret)

    def ensure_credentials(self) -> bool:
        """Fill api_key/api_secret from the environment or the data folder, generating them once.

        Returns True when new credentials were generated.
        """
        if self.api_key and self.api_secret:
            return False
        path = self.data_dir / "credentials.json"
        generated = False
        with private_files():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            if path.exists():
                stored = json.loads(path.read_text())
            else:
                stored = {"api_key": secrets.token_hex(8), "api_secret": secrets.token_urlsafe(48)}
                path.write_text(json.dumps(stored, indent=2))
                generated = True
        self.api_key = self.api_key or stored["api_key"]
        self.api_secret = self.api_secret or stored["api_secret"]
        return generated
