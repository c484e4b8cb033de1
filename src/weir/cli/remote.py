"""What the admin commands (``weir calltype|call|user``) share: connecting, output and errors.

Each command group takes the connection options before its sub-command (``weir call --url … get …``); they
default to ``WEIR_URL``, ``WEIR_API_KEY``, ``WEIR_API_SECRET``, then the credentials ``weir serve`` keeps in
the data folder.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskProgressColumn, TextColumn
from rich.table import Table

from weir.server import Client, WeirAPIError, WeirResponse


@dataclass(frozen=True)
class Connection:
    url: str | None
    api_key: str | None
    api_secret: str | None
    data_dir: Path


def connection(
    ctx: typer.Context,
    url: Annotated[
        str | None, typer.Option(envvar="WEIR_URL", help="Server URL (default http://127.0.0.1:3030).")
    ] = None,
    api_key: Annotated[str | None, typer.Option(envvar="WEIR_API_KEY", help="API key.")] = None,
    api_secret: Annotated[str | None, typer.Option(envvar="WEIR_API_SECRET", help="API secret.")] = None,
    data_dir: Annotated[Path, typer.Option(envvar="WEIR_DATA_DIR",
                                           help="Server data folder whose credentials.json is used when "
                                                "no key or secret is given.")] = Path(".weir"),
) -> None:
    """Group callback: remember how to reach the server."""
    ctx.obj = Connection(url, api_key, api_secret, data_dir)


def fail(message: str) -> NoReturn:
    Console(stderr=True).print(f"[bold red]Error:[/] {message}", highlight=False)
    raise typer.Exit(1)


@contextmanager
def session(ctx: typer.Context) -> Iterator[Client]:
    """A connected client; API and connection errors print their message and exit with status 1."""
    conn: Connection = ctx.obj
    try:
        client = Client(conn.api_key, conn.api_secret, conn.url, data_dir=conn.data_dir)
    except ValueError as exc:
        fail(str(exc))
    with client:
        try:
            yield client
        except WeirAPIError as exc:
            fields = "".join(f"\n  {name}: {problem}" for name, problem in exc.exception_fields.items())
            fail(f"{exc.message} (HTTP {exc.status_code}, code {exc.code}){fields}")
        except httpx.HTTPError as exc:
            fail(f"cannot reach Weir at {client.base_url}: {exc}")


def parse_json(value: str | None) -> Any:
    """Option parser for JSON-valued options (``--settings '{"audio": {...}}'``)."""
    if value is None:
        return None
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"not valid JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise typer.BadParameter("must be a JSON object")
    return parsed


JSONObject = dict[str, Any] | None


def json_option(help: str, *names: str) -> Any:
    """A typer option holding a JSON object."""
    return typer.Option(*names, parser=parse_json, metavar="JSON", help=help)


def parse_sort(values: list[str] | None) -> list[Mapping[str, Any]] | None:
    """``--sort created_at:desc --sort id`` → ``[{"field": "created_at", "direction": -1}, {"field": "id", ...}]``."""
    if not values:
        return None
    sort: list[Mapping[str, Any]] = []
    for value in values:
        field, _, order = value.partition(":")
        if order not in ("", "asc", "desc"):
            raise typer.BadParameter(f"{value!r}: the order after ':' is asc or desc")
        sort.append({"field": field, "direction": -1 if order == "desc" else 1})
    return sort


def print_json(data: Any) -> None:
    Console().print_json(json.dumps(data, default=str))


def print_table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    Console().print(table)


def collect(fetch: Callable[[str | None], WeirResponse], key: str, every_page: bool) -> list[dict[str, Any]]:
    """One page of a query, or (``every_page``) all of them, following ``next`` cursors with a progress line."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    columns = (SpinnerColumn(), TextColumn("{task.description}"))
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(f"fetching {key}", total=None)
        pages = 0
        while True:
            page = fetch(cursor)
            pages += 1
            items += page.data.get(key, [])
            progress.update(task, description=f"{len(items)} {key} fetched ({pages} pages)")
            cursor = page.data.get("next")
            if not every_page or not cursor:
                return items


Filter = Annotated[JSONObject, json_option("Filter conditions, e.g. '{\"type\": \"livestream\"}'.", "--filter")]
SortBy = Annotated[list[str] | None, typer.Option("--sort", metavar="FIELD[:asc|desc]",
                                                  help="Sort field; repeat for more.")]
PageSize = Annotated[int, typer.Option("--limit", min=1, max=100, help="Results per page.")]
EveryPage = Annotated[bool, typer.Option("--all", help="Follow the cursors through every page.")]


TASK_POLL_SECONDS = 0.2


def follow_task(client: Client, task_id: str, what: str) -> Any:
    """Poll an async task with a progress bar until it ends; its data once completed, and exit 1 if it failed."""
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TaskProgressColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        bar = progress.add_task(what, total=100)
        while True:
            task = client.get_task(task_id).data
            progress.update(bar, completed=task.progress, description=f"{what} ({task.status})")
            if task.status in ("completed", "failed"):
                break
            time.sleep(TASK_POLL_SECONDS)
    if task.status == "failed":
        fail(f"task {task_id} failed: {task.error.description}")
    return task
