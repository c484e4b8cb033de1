"""Entry point: assembles the sub-commands."""

from __future__ import annotations

import typer

from weir.cli import app_settings, call, call_stats, calltype, serve, sfu, storage, token, user, worker

app = typer.Typer(help="Weir: self-hosted video calls, audio rooms and livestreams.", no_args_is_help=True)
app.command("serve")(serve.serve)
app.add_typer(token.app, name="token")
app.add_typer(calltype.app, name="calltype")
app.add_typer(call.app, name="call")
call.app.add_typer(call_stats.app, name="stats")
app.add_typer(user.app, name="user")
app.add_typer(app_settings.app, name="app")
app.add_typer(storage.app, name="storage")
app.add_typer(worker.app, name="worker")
app.add_typer(sfu.app, name="sfu")
