"""Entry point: assembles the sub-commands."""

from __future__ import annotations

import typer

from weir.cli import serve, token

app = typer.Typer(help="Weir: self-hosted video calls, audio rooms and livestreams.", no_args_is_help=True)
app.command("serve")(serve.serve)
app.add_typer(token.app, name="token")
