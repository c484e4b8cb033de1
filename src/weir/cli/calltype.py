"""``weir calltype list|get|create|update|delete``: manage call types and their grants."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

from weir.cli.remote import JSONObject, connection, json_option, print_json, print_table, session

app = typer.Typer(help="Manage call types (settings, grants, notifications).", no_args_is_help=True,
                  callback=connection)

Name = Annotated[str, typer.Argument(help="Call type name, e.g. default or my_type.")]


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """List call types with a summary of their settings."""
    with session(ctx) as client:
        types = client.video.list_call_types().data.call_types
    rows = [[t.name, t.settings.video.enabled, t.settings.backstage.enabled, t.settings.recording.mode,
             ", ".join(sorted(t.grants)), t.updated_at] for t in types.values()]
    print_table("Call types", ["Name", "Video", "Backstage", "Recording", "Roles granted", "Updated"], rows)


@app.command()
def get(ctx: typer.Context, name: Name) -> None:
    """Print one call type as JSON."""
    with session(ctx) as client:
        print_json(client.video.get_call_type(name).data)


def _save(update: bool, doc: str) -> Callable[..., None]:
    """``create`` and ``update`` take the same options and differ only in the operation."""

    def command(
        ctx: typer.Context, name: Name,
        settings: Annotated[JSONObject, json_option("Settings (JSON), merged over the current ones.")] = None,
        grants: Annotated[JSONObject, json_option('Role → capabilities, e.g. \'{"user": ["join-call"]}\'; '
                                                  "replaces the lists of the roles named.")] = None,
        notification_settings: Annotated[JSONObject, json_option("Notification settings (JSON).")] = None,
        external_storage: Annotated[str | None, typer.Option(help="External storage for recordings.")] = None,
    ) -> None:
        with session(ctx) as client:
            save = client.video.update_call_type if update else client.video.create_call_type
            print_json(save(name, settings, grants, notification_settings, external_storage).data)

    command.__doc__ = doc
    return command


app.command("create")(_save(False, "Create a call type; it starts from the default type's settings and grants."))
app.command("update")(_save(True, "Update a call type: settings merge, grants replace the lists of the roles named."))


@app.command()
def delete(ctx: typer.Context, name: Name) -> None:
    """Delete a custom call type that has no calls."""
    with session(ctx) as client:
        client.video.delete_call_type(name)
    typer.echo(f"Deleted call type {name}")
