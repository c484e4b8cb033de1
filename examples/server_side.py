"""The seed's server-side examples, run one after another against a Weir server through ``weir.server``.

    make run                              # in one terminal
    python examples/server_side.py        # in another

Credentials come from WEIR_URL, WEIR_API_KEY and WEIR_API_SECRET, or else from the .weir/credentials.json that
``make run`` writes (WEIR_DATA_DIR names another folder). Every id carries a per-run suffix, so the script can run
again and again against the same server. It exits 1 if any section failed.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from weir.server import Client, WeirAPIError

RUN = uuid.uuid4().hex[:8]


def finished(client: Client, task_id: str) -> Any:
    """Poll an async task (``get_task``) until it has completed or failed."""
    while (task := client.get_task(task_id).data).status not in ("completed", "failed"):
        time.sleep(0.1)
    return task


@dataclass(frozen=True)
class Ids:
    """Everything this run creates."""

    call_type: str = f"allhands_{RUN}"
    role: str = f"customrole_{RUN}"
    host: str = f"host-{RUN}"
    alice: str = f"alice-{RUN}"
    bob: str = f"bob-{RUN}"
    carol: str = f"carol-{RUN}"
    dave: str = f"dave-{RUN}"
    call: str = f"townhall-{RUN}"
    short_call: str = f"standup-{RUN}"

    @property
    def users(self) -> list[str]:
        return [self.host, self.alice, self.bob, self.carol, self.dave]


def show(step: str, value: Any) -> None:
    """One step and what it returned."""
    print(f"  {step}: {json.dumps(value, default=str)}")


def call_types(client: Client, ids: Ids) -> None:
    show("list_call_types", sorted(client.video.list_call_types().data.call_types))
    show("get_call_type('livestream') backstage", client.video.get_call_type("livestream").data.settings.backstage)
    created = client.video.create_call_type(ids.call_type, settings={
        "audio": {"mic_default_on": True, "default_device": "speaker"},
    }, grants={
        "admin": ["send-audio", "send-video", "mute-users"],
        "user": ["send-audio", "send-video", "read-call", "join-call", "create-call"],
    })
    show(f"create_call_type({ids.call_type!r}) audio", created.data.settings.audio)
    updated = client.video.update_call_type(ids.call_type, settings={
        "audio": {"mic_default_on": False, "default_device": "earpiece"},
    })
    show("update_call_type audio", updated.data.settings.audio)


def roles_and_grants(client: Client, ids: Ids) -> None:
    permissions = client.list_permissions().data.permissions
    show("list_permissions", f"{len(permissions)} permissions, e.g. {[p.id for p in permissions[:4]]}")
    show("create_role", client.create_role(ids.role).data)
    show("list_roles (custom)", [r.name for r in client.list_roles().data.roles if r.custom])
    granted = client.video.update_call_type(ids.call_type, grants={
        "admin": ["send-audio", "send-video", "mute-users"],
        ids.role: ["send-audio", "send-video", "read-call", "join-call"],
    })
    show(f"grants of {ids.call_type}", {role: granted.data.grants[role] for role in ("admin", ids.role)})


def users(client: Client, ids: Ids) -> None:
    upserted = client.upsert_users(
        {"id": ids.host, "name": "Hannah Host", "role": "admin"},
        *({"id": user, "name": user.split("-")[0].title(), "custom": {"run": RUN}} for user in ids.users[1:]),
    )
    show("upsert_users", {u.id: u.role for u in upserted.data.users.values()})
    partial = client.update_users_partial({"id": ids.alice, "set": {"name": "Alice A.", "teams": ["blue"]},
                                           "unset": ["custom"]})
    alice = partial.data.users[ids.alice]
    show("update_users_partial", {"name": alice.name, "teams": alice.teams, "custom": alice.custom})
    found = client.query_users(filter_conditions={"id": {"$in": ids.users}}, sort=[{"field": "id", "direction": 1}])
    show("query_users", [u.id for u in found.data.users])
    show("deactivate_user", client.deactivate_user(ids.bob).data.user.deactivated_at)
    show("reactivate_user", client.reactivate_user(ids.bob).data.user.deactivated_at)
    show("block_users (alice blocks bob)", client.block_users(ids.bob, ids.alice).data.blocked_user_id)
    show("get_blocked_users(alice)", [b.blocked_user_id for b in client.get_blocked_users(ids.alice).data.blocks])
    client.unblock_users(ids.bob, ids.alice)
    show("after unblock_users", [b.blocked_user_id for b in client.get_blocked_users(ids.alice).data.blocks])
    export = finished(client, client.export_users([ids.alice]).data.task_id)
    show("export_users([alice]) then get_task", {"status": export.status, "file": export.result.url})
    deleted = finished(client, client.delete_users([ids.carol], user="pruning").data.task_id)
    show("delete_users([carol], user='pruning') then get_task", {"status": deleted.status, **deleted.result})
    client.restore_users([ids.carol])
    show("restore_users([carol])", client.query_users(filter_conditions={"id": ids.carol}).data.users[0].deleted_at)
    guest = client.create_guest({"id": "visitor", "name": "Visitor"})
    show("create_guest", {"id": guest.data.user.id, "role": guest.data.user.role})


def calls(client: Client, ids: Ids) -> None:
    call = client.video.call(ids.call_type, ids.call)
    created = call.get_or_create(data={
        "created_by_id": ids.host,
        "members": [{"user_id": ids.host, "role": "host"}, {"user_id": ids.alice}, {"user_id": ids.bob}],
        "custom": {"title": "Town hall", "run": RUN},
        "settings_override": {"audio": {"mic_default_on": True}},
    })
    show("get_or_create", {"cid": created.data.call.cid, "created": created.data.created,
                           "members": {m.user_id: m.role for m in created.data.members},
                           "mic_default_on": created.data.call.settings.audio.mic_default_on})
    show("get (custom)", call.get().data.call.custom)
    starts_at = datetime.now(timezone.utc) + timedelta(days=1)
    updated = call.update(custom={"title": "Town hall (moved)", "run": RUN}, starts_at=starts_at,
                          settings_override={"recording": {"mode": "auto-on"}})
    show("update", {"custom": updated.data.call.custom, "starts_at": updated.data.call.starts_at,
                    "recording": updated.data.call.settings.recording.mode})
    # A soft-deleted call still counts as a call of its type, so this one uses the built-in type.
    short = client.video.call("default", ids.short_call)
    short.get_or_create(data={"created_by_id": ids.host, "custom": {"run": RUN}})
    short.end()
    show("end", {"cid": short.cid, "ended_at": short.get().data.call.ended_at})
    short.delete()
    try:
        short.get()
    except WeirAPIError as error:
        show("get after delete", f"{error.status_code} {error.message}")


def members(client: Client, ids: Ids) -> None:
    call = client.video.call(ids.call_type, ids.call)
    changed = call.update_call_members(update_members=[{"user_id": ids.alice, "role": ids.role},
                                                       {"user_id": ids.dave, "custom": {"seat": 7}}],
                                       remove_members=[ids.bob])
    show("update_call_members", {m.user_id: m.role for m in changed.data.members})
    with_role = call.query_members(filter_conditions={"role": {"$eq": ids.role}})
    show(f"query_members role={ids.role}", [m.user_id for m in with_role.data.members])
    first = client.video.query_members(ids.call_type, ids.call, sort=[{"field": "user_id", "direction": 1}], limit=2)
    rest = client.video.query_members(ids.call_type, ids.call, sort=[{"field": "user_id", "direction": 1}], limit=2,
                                      next=first.data.next)
    show("query_members pages", [[m.user_id for m in first.data.members], [m.user_id for m in rest.data.members]])


def queries(client: Client, ids: Ids) -> None:
    for n in range(3):
        client.video.call(ids.call_type, f"weekly-{n}-{RUN}").get_or_create(
            data={"created_by_id": ids.host, "custom": {"run": RUN, "series": "weekly", "n": n}})
    newest = client.video.query_calls(filter_conditions={"custom.series": "weekly", "custom.run": RUN},
                                      sort=[{"field": "created_at", "direction": -1}])
    show("query_calls newest first", [c.call.id for c in newest.data.calls])
    pages, cursor = [], None
    while True:
        page = client.video.query_calls(filter_conditions={"type": ids.call_type},
                                        sort=[{"field": "cid", "direction": 1}], limit=2, next=cursor)
        pages.append([c.call.id for c in page.data.calls])
        cursor = page.data.get("next")
        if not cursor:
            break
    show("query_calls pages of 2", pages)


def moderation(client: Client, ids: Ids) -> None:
    client.ban(ids.bob, banned_by_id=ids.host, reason="spamming the chat", timeout=30)
    bob = client.query_users(filter_conditions={"id": ids.bob}).data.users[0]
    show("ban (30 minutes)", {"banned": bob.banned, "ban_expires": bob.ban_expires})
    try:
        client.video.call(ids.call_type, f"bobs-{RUN}").get_or_create(data={"created_by_id": ids.bob})
    except WeirAPIError as error:
        show("banned user creates a call", f"refused: {error.status_code} {error.message}")
    client.unban(ids.bob)
    show("unban", client.query_users(filter_conditions={"id": ids.bob}).data.users[0].banned)
    call = client.video.call(ids.call_type, ids.call)
    call.block_user(ids.bob)
    show("call.block_user(bob)", call.get().data.call.blocked_user_ids)
    call.unblock_user(ids.bob)
    show("call.unblock_user(bob)", call.get().data.call.blocked_user_ids)
    call.kick_user(ids.dave, block=True)
    show("call.kick_user(dave, block=True)", call.get().data.call.blocked_user_ids)


def clean_up(client: Client, ids: Ids) -> None:
    calls = client.video.query_calls(filter_conditions={"type": ids.call_type}, limit=100).data.calls
    for state in calls:
        client.video.call(ids.call_type, state.call.id).delete(hard=True)
    show("hard-deleted calls", len(calls))
    client.video.delete_call_type(ids.call_type)
    client.delete_role(ids.role)
    show("deleted call type and role", [ids.call_type, ids.role])
    client.delete_users(ids.users, user="hard")
    show("hard-deleted users", len(ids.users))


SECTIONS: list[tuple[str, Callable[[Client, Ids], None]]] = [
    ("Call types", call_types),
    ("Roles and grants", roles_and_grants),
    ("Users", users),
    ("Calls", calls),
    ("Members", members),
    ("Queries", queries),
    ("Moderation", moderation),
    ("Clean up", clean_up),
]


def main() -> int:
    data_dir = Path(os.environ.get("WEIR_DATA_DIR", ".weir"))
    failed = []
    with Client(data_dir=data_dir) as client:
        print(f"Weir at {client.base_url}, run {RUN}")
        ids = Ids()
        for title, section in SECTIONS:
            print(f"\n== {title} ==")
            try:
                section(client, ids)
            except WeirAPIError as error:
                print(f"  FAILED: {error}")
                failed.append(title)
    print(f"\n{len(SECTIONS) - len(failed)} of {len(SECTIONS)} sections succeeded" +
          (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
