"""``weir serve``: the whole platform in one process on an embedded default (SQLite, local files)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from rich.console import Console
from rich.panel import Panel

from weir.cli.serve_cluster import cluster_problem, run_cluster
from weir.config import Settings
from weir.coordinator.app import create_app
from weir.domain.tokens import create_token
from weir.logging_setup import configure_logging
from weir.serving import uvicorn_config
from weir.turn.coturn import TurnServerError

SAMPLE_USER = "alice"
SAMPLE_TOKEN_TTL = 24 * 3600


def banner_lines(settings: Settings, generated: bool) -> list[str]:
    """What the start banner says. The API secret is shown whole only when it was just generated (the one time
    the operator must copy it); otherwise its last 4 characters, so that logs of later starts don't hold it."""
    url = f"{settings.scheme}://{settings.host}:{settings.port}"
    assert settings.api_secret is not None
    sample = create_token(settings.api_secret, SAMPLE_USER, expiration=SAMPLE_TOKEN_TTL)
    secret = settings.api_secret if generated else f"****{settings.api_secret[-4:]} (in credentials.json or env)"
    lines = [
        f"URL         {url}   (API docs: {url}/docs)",
        f"API key     {settings.api_key}",
        f"API secret  {secret}",
        f"User token  {sample}   (user '{SAMPLE_USER}', 24 h)",
        f"Data        {settings.data_dir.resolve()}  ({'new credentials' if generated else 'stored credentials'})",
        f"SFU         {settings.sfu_workers} media worker processes" if settings.sfu_workers else
        "SFU         in this process",
    ]
    if settings.redis_url:
        lines.append(f"Redis       {settings.redis_url.split('@')[-1]}  (events, rate limits, presence)")
    if settings.turn_enabled:
        lines.append(f"TURN        {settings.turn_url_host}:{settings.turn_port} (coturn, TCP and UDP; "
                     f"log in {settings.data_dir.resolve() / 'turn'})")
    return lines


def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on [env WEIR_HOST].")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on [env WEIR_PORT].")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Data folder [env WEIR_DATA_DIR].")] = None,
    database_url: Annotated[str | None, typer.Option(help="SQLAlchemy URL [env WEIR_DATABASE_URL].")] = None,
    sfu_workers: Annotated[int | None, typer.Option(
        help="SFU media worker processes; 0 runs the SFU in this process [env WEIR_SFU_WORKERS; default: one per "
        "core].")] = None,
    certfile: Annotated[Path | None, typer.Option(
        help="PEM certificate: serve HTTPS and WSS (with --keyfile) [env WEIR_TLS_CERTFILE].")] = None,
    keyfile: Annotated[Path | None, typer.Option(
        help="The certificate's PEM private key [env WEIR_TLS_KEYFILE].")] = None,
    dev: Annotated[bool, typer.Option("--dev", help="Enable development sign-in (never in production).")] = False,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    log_format: Annotated[str | None, typer.Option(
        help="plain, or json: one JSON object per line with the request id, call cid and user id where known "
        "[env WEIR_LOG_FORMAT].")] = None,
    workers: Annotated[int, typer.Option(
        min=1, help="Coordinator processes on this port, sharing PostgreSQL and Redis (more than 1 needs "
        "WEIR_REDIS_URL and a PostgreSQL database).")] = 1,
) -> None:
    """Start Weir: the coordinator API, the SFU (in media worker processes unless told 0) and background work."""
    given = {"host": host, "port": port, "data_dir": data_dir, "database_url": database_url,
             "sfu_workers": sfu_workers, "tls_certfile": certfile, "tls_keyfile": keyfile,
             "log_format": log_format}
    overrides: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    try:
        settings = Settings(**overrides)
        if dev:
            settings.dev = True
        generated = settings.ensure_credentials()
        configure_logging(settings.log_format, log_level)
        problem = cluster_problem(settings, workers)
        if problem is not None:
            raise ValueError(problem)
        app = create_app(settings) if workers == 1 else None
    except (TurnServerError, ValueError) as exc:  # pydantic's ValidationError is a ValueError too
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(1) from exc
    console = Console()
    lines = banner_lines(settings, generated)
    if workers > 1:
        lines.append(f"Processes   {workers} coordinator processes on this port (process 0 supervises the workers)")
    console.print(Panel("\n".join(lines), title="Weir is starting", expand=False))
    if settings.dev:
        console.print("[bold yellow]WARNING[/]: --dev is on: development sign-in hands out tokens to anyone.")
    if app is None:
        overrides.update(api_key=settings.api_key, api_secret=settings.api_secret, dev=settings.dev)
        run_cluster(overrides, settings, workers, log_level)
        return
    uvicorn.Server(uvicorn_config(app, host=settings.host, port=settings.port, log_level=log_level,
                                  ssl_certfile=settings.tls_certfile, ssl_keyfile=settings.tls_keyfile,
                                  log_config=None)).run()  # configure_logging did it
