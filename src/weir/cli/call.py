"""``weir call get|create|end|query|start-recording|stop-recording|recordings|start-transcription|...``: inspect and
manage calls."""

from __future__ import annotations

from typing import Annotated, Literal

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
from weir.server import Client
from weir.server.operations import JSON
from weir.server.response import WeirResponse
from weir.server.video import Call

app = typer.Typer(help="Inspect and manage calls.", no_args_is_help=True, callback=connection)


def _check_cid(value: str) -> str:
    type_, _, id_ = value.partition(":")
    if not type_ or not id_:
        raise typer.BadParameter("a call is named type:id, e.g. default:standup")
    return value


Cid = Annotated[str, typer.Argument(callback=_check_cid, help="The call as type:id, e.g. default:standup.")]


def call_of(client: Client, cid: str) -> Call[WeirResponse]:
    type_, _, id_ = cid.partition(":")
    return client.video.call(type_, id_)


def _member(value: str) -> JSON:
    user_id, _, role = value.partition(":")
    return {"user_id": user_id, **({"role": role} if role else {})}


@app.command()
def get(ctx: typer.Context, cid: Cid) -> None:
    """Print a call, its members and settings as JSON."""
    with session(ctx) as client:
        print_json(call_of(client, cid).get().data)


@app.command()
def create(
    ctx: typer.Context, cid: Cid,
    created_by: Annotated[str, typer.Option("--created-by", help="User id of the call's creator.")],
    members: Annotated[list[str] | None, typer.Option("--member", metavar="USER[:ROLE]",
                                                      help="A member, with an optional call role; repeatable.")] = None,
    custom: Annotated[JSONObject, json_option("Custom data (JSON).")] = None,
    settings: Annotated[JSONObject, json_option("Settings override for this call (JSON).")] = None,
    starts_at: Annotated[str | None, typer.Option(help="Scheduled start, ISO 8601.")] = None,
    team: Annotated[str | None, typer.Option(help="Team the call belongs to.")] = None,
) -> None:
    """Get a call, creating it if it does not exist; prints it as JSON."""
    data = {"created_by_id": created_by, "members": [_member(m) for m in members or []], "custom": custom,
            "settings_override": settings, "starts_at": starts_at, "team": team}
    with session(ctx) as client:
        response = call_of(client, cid).get_or_create(data={k: v for k, v in data.items() if v is not None})
    print_json(response.data)


@app.command()
def end(ctx: typer.Context, cid: Cid) -> None:
    """End a call for everyone."""
    with session(ctx) as client:
        call_of(client, cid).end()
    typer.echo(f"Ended call {cid}")


@app.command("start-recording")
def start_recording(ctx: typer.Context, cid: Cid, type: Annotated[
        Literal["composite", "individual", "raw"], typer.Option(help="What to record.")] = "composite") -> None:
    """Start recording a call; prints the egress id."""
    with session(ctx) as client:
        response = call_of(client, cid).start_recording(type)
    typer.echo(response.data["egress_id"])


@app.command("stop-recording")
def stop_recording(ctx: typer.Context, cid: Cid) -> None:
    """Stop every recording of a call (the files follow, in `weir call recordings`)."""
    with session(ctx) as client:
        call_of(client, cid).stop_recording()
    typer.echo(f"Stopping the recordings of {cid}")


@app.command()
def recordings(ctx: typer.Context, cid: Cid) -> None:
    """List a call's recording files with their signed URLs."""
    with session(ctx) as client:
        response = call_of(client, cid).list_recordings()
    rows = [[r["filename"], r["recording_type"], r["start_time"], r["url"]] for r in response.data["recordings"]]
    print_table(f"Recordings ({len(rows)})", ["File", "Type", "Started", "URL"], rows)


@app.command("start-transcription")
def start_transcription(ctx: typer.Context, cid: Cid, language: Annotated[
        str | None, typer.Option(help="The spoken language (default: the call's).")] = None,
        captions: Annotated[bool, typer.Option(help="Also caption the call live.")] = False) -> None:
    """Start transcribing a call (the transcript follows, in `weir call transcriptions`)."""
    with session(ctx) as client:
        call_of(client, cid).start_transcription(language, enable_closed_captions=captions or None)
    typer.echo(f"Transcribing {cid}")


@app.command("stop-transcription")
def stop_transcription(ctx: typer.Context, cid: Cid) -> None:
    """Stop transcribing a call (and its captions)."""
    with session(ctx) as client:
        call_of(client, cid).stop_transcription(stop_closed_captions=True)
    typer.echo(f"Stopping the transcription of {cid}")


@app.command()
def transcriptions(ctx: typer.Context, cid: Cid) -> None:
    """List a call's transcripts (JSONL) with their signed URLs."""
    with session(ctx) as client:
        response = call_of(client, cid).list_transcriptions()
    rows = [[t["filename"], t["start_time"], t["url"]] for t in response.data["transcriptions"]]
    print_table(f"Transcriptions ({len(rows)})", ["File", "Started", "URL"], rows)


@app.command()
def delete(ctx: typer.Context, cid: Cid,
           mode: Annotated[Literal["soft", "hard"], typer.Option(help="hard removes it with its data.")]
           = "soft") -> None:
    """Delete a call; a hard delete waits for its task, showing progress."""
    with session(ctx) as client:
        response = call_of(client, cid).delete(hard=mode == "hard")
        if response.data.get("task_id"):
            follow_task(client, response.data.task_id, f"deleting {cid}")
    typer.echo(f"Deleted call {cid} ({mode})")


@app.command()
def query(ctx: typer.Context, filter: Filter = None, sort: SortBy = None, limit: PageSize = 25,
          every_page: EveryPage = False) -> None:
    """List calls matching a filter, as a table."""
    with session(ctx) as client:
        calls = collect(lambda cursor: client.video.query_calls(filter, parse_sort(sort), limit, next=cursor),
                        "calls", every_page)
    rows = [[c["call"]["cid"], c["call"]["created_by"]["id"], len(c.get("members", [])), c["call"]["created_at"],
             c["call"]["starts_at"], c["call"]["ended_at"]] for c in calls]
    print_table(f"Calls ({len(rows)})", ["CID", "Created by", "Members", "Created", "Starts", "Ended"], rows)
