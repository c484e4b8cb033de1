"""``weir token create``: sign user, call and server tokens with the API secret."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from weir.config import Settings
from weir.domain.tokens import create_token

app = typer.Typer(help="Create tokens.", no_args_is_help=True)


@app.command("create")
def create(
    user: Annotated[str | None, typer.Option(help="User id; omit for a server token.")] = None,
    role: Annotated[str | None, typer.Option(help="Call role carried by a call token.")] = None,
    call_cids: Annotated[list[str] | None, typer.Option("--call-cids", help="Calls the token is limited to.")] = None,
    ttl: Annotated[int | None, typer.Option(help="Seconds until it expires; none for no expiry.")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Data folder holding the credentials.")] = None,
) -> None:
    """Print a JWT signed with the API secret (WEIR_API_SECRET or the data folder's)."""
    overrides: dict[str, Any] = {"data_dir": data_dir} if data_dir else {}
    settings = Settings(**overrides)
    settings.ensure_credentials()
    assert settings.api_secret is not None
    typer.echo(create_token(settings.api_secret, user, expiration=ttl, call_cids=call_cids, role=role))
