"""``weir user upsert|query|delete|restore|export``: manage users."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import httpx
import typer

from weir.cli.remote import (
    EveryPage,
    Filter,
    JSONObject,
    PageSize,
    SortBy,
    collect,
    connection,
    follow_task,
    json_option,
    parse_sort,
    print_json,
    print_table,
    session,
)

app = typer.Typer(help="Manage users.", no_args_is_help=True, callback=connection)

Mode = Literal["soft", "pruning", "hard"]
CallMode = Literal["soft", "hard"]


@app.command()
def upsert(
    ctx: typer.Context,
    user_id: Annotated[str, typer.Argument(help="User id.")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    role: Annotated[str | None, typer.Option(help="App role: user, admin, guest or a custom role.")] = None,
    image: Annotated[str | None, typer.Option(help="Avatar URL.")] = None,
    language: Annotated[str | None, typer.Option(help="Language code.")] = None,
    teams: Annotated[list[str] | None, typer.Option("--team", help="A team; repeatable.")] = None,
    custom: Annotated[JSONObject, json_option("Custom data (JSON).")] = None,
) -> None:
    """Create or replace a user; prints it as JSON."""
    fields = {"id": user_id, "name": name, "role": role, "image": image, "language": language, "teams": teams,
              "custom": custom}
    with session(ctx) as client:
        response = client.upsert_users({k: v for k, v in fields.items() if v is not None})
    print_json(response.data.users[user_id])


@app.command()
def query(ctx: typer.Context, filter: Filter = None, sort: SortBy = None, limit: PageSize = 25,
          every_page: EveryPage = False) -> None:
    """List users matching a filter, as a table."""
    with session(ctx) as client:
        users = collect(lambda cursor: client.query_users(filter, parse_sort(sort), limit, next=cursor),
                        "users", every_page)
    rows = [[u["id"], u.get("name"), u["role"], u["created_at"], u["banned"], u.get("deactivated_at")] for u in users]
    print_table(f"Users ({len(rows)})", ["ID", "Name", "Role", "Created", "Banned", "Deactivated"], rows)


@app.command()
def delete(
    ctx: typer.Context,
    user_ids: Annotated[list[str], typer.Argument(help="Users to delete.")],
    mode: Annotated[Mode, typer.Option(help="soft keeps the data, marked deleted; pruning also nulls the users' "
                                            "details; hard removes them.")] = "soft",
    calls: Annotated[CallMode | None, typer.Option(help="Also delete their 1:1 calls.")] = None,
    new_call_owner: Annotated[str | None, typer.Option(help="Takes over the calls hard-deleted users created.")]
    = None,
) -> None:
    """Delete users, waiting for the task and showing its progress."""
    with session(ctx) as client:
        task_id = client.delete_users(user_ids, user=mode, calls=calls, new_call_owner_id=new_call_owner).data.task_id
        follow_task(client, task_id, f"deleting {len(user_ids)} user(s)")
    typer.echo(f"Deleted {len(user_ids)} user(s) ({mode}): {', '.join(user_ids)}")


@app.command()
def restore(ctx: typer.Context, user_ids: Annotated[list[str], typer.Argument(help="Soft-deleted users.")]) -> None:
    """Undo the soft delete of users."""
    with session(ctx) as client:
        client.restore_users(user_ids)
    typer.echo(f"Restored {len(user_ids)} user(s): {', '.join(user_ids)}")


@app.command()
def export(
    ctx: typer.Context,
    user_ids: Annotated[list[str], typer.Argument(help="Users to export with the calls they took part in.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Save the export here too.")] = None,
) -> None:
    """Export users: waits for the task, showing its progress, then prints the file's URL (and saves it)."""
    with session(ctx) as client:
        task_id = client.export_users(user_ids).data.task_id
        task = follow_task(client, task_id, f"exporting {len(user_ids)} user(s)")
        if output is not None:
            download = httpx.get(task.result.url, timeout=60)
            download.raise_for_status()
            output.write_bytes(download.content)
    typer.echo(task.result.url)
