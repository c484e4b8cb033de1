"""``weir call stats status|report|query|aggregate|feedback``: how calls are going now and how past ones went."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import typer

from weir.cli.call import Cid, call_of
from weir.cli.remote import (
    EveryPage,
    Filter,
    PageSize,
    SortBy,
    collect,
    parse_sort,
    print_json,
    print_table,
    session,
)

app = typer.Typer(help="Call stats and health: live status, reports of past sessions, feedback.",
                  no_args_is_help=True)


def _issues(issues: list[dict[str, Any]]) -> str:
    return "; ".join(i["text"] for i in issues)


def _p(value: dict[str, float] | None, name: str = "p90") -> str:
    return "" if not value else f"{value[name]:.1f}"


@app.command()
def status(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help="Print the JSON.")] = False,
           ) -> None:
    """Calls running now: counts, join call rates, and each call's participants with their quality."""
    with session(ctx) as client:
        data = client.video.get_active_calls_status().data
    if as_json:
        print_json(data)
        return
    summary, joins = data["summary"], data["metrics"]["join_call_api"]
    subscribers = data["metrics"]["subscribers"]["all"]
    typer.echo(f"{summary['active_calls']} calls, {summary['participants']} participants "
               f"({summary['active_publishers']} publishing, {summary['active_subscribers']} subscribing); "
               f"join call {joins['total']:.2f}/s, {joins['failures']:.2f} failed/s, "
               f"p90 {_p(joins['latency'])} ms; subscriber loss p90 video "
               f"{_p(subscribers['video']['packets_lost_pct'])}, rtt p90 {_p(subscribers['rtt_ms'])} ms")
    rows = [[c["call_cid"], p["user_id"], p["quality"], ",".join(p["publishing"]), _issues(p["issues"])]
            for c in data["calls"] for p in c["participants"]]
    print_table(f"Live participants ({len(rows)})", ["Call", "User", "Quality", "Publishing", "Issues"], rows)


@app.command()
def report(ctx: typer.Context, cid: Cid,
           session_id: Annotated[str, typer.Argument(help="The call session id.")],
           as_json: Annotated[bool, typer.Option("--json", help="Print the whole report as JSON.")] = False) -> None:
    """A past session's stats report: each participant's quality, issues and tracks."""
    with session(ctx) as client:
        data = call_of(client, cid).get_call_stats(session_id).data
    if as_json:
        print_json(data)
        return
    typer.echo(f"{data['call_cid']} session {data['session_id']}: {data['quality']}, "
               f"{data['participants_count']} participants, {data['duration_seconds']} s. {_issues(data['issues'])}")
    rows = [[p["user_id"], p["quality"], _issues(p["issues"]), len(p["timeline"]),
             " ".join(f"{t['direction'][:3]}:{t['track_type']}:{t['packets']}pk/{t['packets_lost']}lost"
                      for t in p["tracks"])]
            for p in data["participants"]]
    print_table("Participants", ["User", "Quality", "Issues", "Points", "Tracks"], rows)


@app.command()
def query(ctx: typer.Context, filter: Filter = None, sort: SortBy = None, limit: PageSize = 25,
          every_page: EveryPage = False) -> None:
    """Stats reports of past sessions matching a filter (e.g. '{"quality": "poor"}'), as a table."""
    with session(ctx) as client:
        reports = collect(lambda cursor: client.video.query_call_stats(filter, parse_sort(sort), limit, next=cursor),
                          "reports", every_page)
    rows = [[r["call_cid"], r["session_id"], r["started_at"], r["duration_seconds"], r["participants_count"],
             r["quality"], _issues(r["issues"])] for r in reports]
    print_table(f"Call stats reports ({len(rows)})",
                ["Call", "Session", "Started", "Seconds", "People", "Quality", "Issues"], rows)


@app.command()
def aggregate(
    ctx: typer.Context,
    days: Annotated[int, typer.Option(min=1, max=366, help="The last this many days (unless --from).")] = 7,
    from_: Annotated[datetime | None, typer.Option("--from", help="Start, e.g. 2026-01-01 (UTC).")] = None,
    to: Annotated[datetime | None, typer.Option(help="End (default now).")] = None,
    interval: Annotated[Literal["hour", "day", "week"], typer.Option(help="Bucket size.")] = "day",
    call_type: Annotated[str | None, typer.Option(help="Only calls of this type.")] = None,
) -> None:
    """Totals of past sessions per hour, day or week: calls, people, minutes, quality and ratings."""
    end = (to or datetime.now(UTC)).replace(tzinfo=(to.tzinfo if to else None) or UTC)
    start = from_.replace(tzinfo=from_.tzinfo or UTC) if from_ else end - timedelta(days=days)
    with session(ctx) as client:
        data = client.video.query_aggregate_call_stats(start, end, interval, call_type).data
    rows = [[b["start"], b["calls"], b["participant_sessions"], f"{b['call_minutes']:.1f}", b["good"], b["fair"],
             b["poor"], b["feedback_count"], "" if b["average_rating"] is None else f"{b['average_rating']:.2f}"]
            for b in [*data["buckets"], {**data["totals"], "start": "total"}]]
    print_table(f"Calls per {interval}", ["From", "Calls", "Participants", "Minutes", "Good", "Fair", "Poor",
                                          "Ratings", "Average"], rows)


@app.command()
def feedback(ctx: typer.Context, filter: Filter = None, sort: SortBy = None, limit: PageSize = 25,
             every_page: EveryPage = False) -> None:
    """The ratings users gave their calls (e.g. --filter '{"rating": {"$lte": 2}}'), as a table."""
    with session(ctx) as client:
        given = collect(lambda cursor: client.video.query_user_feedback(filter, parse_sort(sort), limit, next=cursor),
                        "user_feedback", every_page)
    rows = [[f["created_at"], f["call_cid"], f["user_id"], f["rating"], f["reason"]] for f in given]
    print_table(f"Feedback ({len(rows)})", ["When", "Call", "User", "Rating", "Reason"], rows)
