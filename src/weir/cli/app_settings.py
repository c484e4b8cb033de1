"""``weir app get|set-webhook|remove-webhook``: the app's settings, webhook endpoints first of all."""

from __future__ import annotations

from typing import Annotated

import typer

from weir.cli.remote import connection, print_json, session

app = typer.Typer(help="App settings: webhook endpoints.", no_args_is_help=True, callback=connection)


@app.command()
def get(ctx: typer.Context) -> None:
    """Print the app settings (webhook endpoints and their event filters) as JSON."""
    with session(ctx) as client:
        print_json(client.get_app().data)


@app.command("set-webhook")
def set_webhook(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="Where events are POSTed (http or https).")],
    hook_id: Annotated[
        str, typer.Option("--id", help="Endpoint id; an endpoint with this id is replaced.")
    ] = "default",
    event: Annotated[list[str] | None, typer.Option("--event", help="Only this event type (repeatable); "
                                                    "none means every event.")] = None,
    disabled: Annotated[bool, typer.Option("--disabled", help="Keep the endpoint but send nothing.")] = False,
) -> None:
    """Add or replace one webhook endpoint, keeping the others."""
    with session(ctx) as client:
        hooks = [h for h in client.get_app().data["app"]["event_hooks"] if h["id"] != hook_id]
        hooks.append({"id": hook_id, "hook_type": "webhook", "webhook_url": url, "enabled": not disabled,
                      "event_types": event or []})
        print_json(client.update_app(event_hooks=hooks).data)


@app.command("remove-webhook")
def remove_webhook(
    ctx: typer.Context, hook_id: Annotated[str, typer.Argument(help="The endpoint's id.")] = "default",
) -> None:
    """Remove one webhook endpoint."""
    with session(ctx) as client:
        hooks = client.get_app().data["app"]["event_hooks"]
        kept = [h for h in hooks if h["id"] != hook_id]
        if len(kept) == len(hooks):
            typer.echo(f"no webhook endpoint with id {hook_id!r}", err=True)
            raise typer.Exit(1)
        print_json(client.update_app(event_hooks=kept).data)
