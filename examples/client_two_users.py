"""Two users with the client SDK: Alice rings Bob, Bob accepts, both join, they exchange a reaction and a
custom event, and both leave.

    make run                                   # in one terminal
    python examples/client_two_users.py        # in another

Tokens come from a stand-in for your backend: the server SDK signs them with the API secret from WEIR_API_KEY
and WEIR_API_SECRET, or from the .weir/credentials.json that ``make run`` writes (WEIR_URL, default
http://127.0.0.1:3030, says where the server is). ``join()`` makes each user a participant of the call and
connects it to the SFU; neither publishes media here (see docs/python-sdk.md, "Media").
"""

from __future__ import annotations

import asyncio
import os
import uuid

from weir.client import StreamCallType, StreamVideo, StreamVideoOptions, User
from weir.protocol.events import CallAcceptedEvent, CallReactionEvent, CustomVideoEvent
from weir.server import Client

RUN = uuid.uuid4().hex[:6]
WAIT = 10.0


def client_for(backend: Client, user: User) -> StreamVideo:
    """A client whose token_loader asks "the backend" (here: the server SDK) for the user's token."""
    async def token_loader(user_id: str) -> str:
        return backend.create_token(user_id, expiration=3600)

    return StreamVideo.create(backend.api_key, user=user, token_loader=token_loader,
                              options=StreamVideoOptions(coordinator_rpc_url=backend.base_url))


async def main() -> None:
    with Client(data_dir=os.environ.get("WEIR_DATA_DIR", ".weir")) as backend:
        alice = client_for(backend, User.regular(f"alice-{RUN}", name="Alice"))
        bob = client_for(backend, User.regular(f"bob-{RUN}", name="Bob"))
        try:
            await run(alice, bob)
        finally:
            await alice.disconnect()
            await bob.disconnect()


async def run(alice: StreamVideo, bob: StreamVideo) -> None:
    print("1. Both connect")
    for client in (alice, bob):
        await client.connect()
        print(f"   {client.current_user.name} connected as {client.current_user.id}")
    incoming = bob.state.incoming_call.partial(lambda call: call)
    await incoming.next(WAIT)

    print("2. Alice rings Bob")
    outgoing = alice.make_call(StreamCallType.default_type(), f"two-users-{RUN}")
    await outgoing.get_or_create(member_ids=[bob.current_user.id], ringing=True, video=True,
                                 custom={"display_name": "Catch-up"})
    print(f"   Alice: {outgoing.state.value.status}")
    ringing = await incoming.first(lambda call: call is not None, WAIT)
    assert ringing is not None
    print(f"   Bob: {ringing.state.value.status}, from {ringing.state.value.created_by_user_id}")

    print("3. Bob accepts; both join")
    async with outgoing.events.subscribe() as alice_events:
        await ringing.accept()
        accepted = await alice_events.first(lambda e: isinstance(e, CallAcceptedEvent), WAIT)
    print(f"   Alice sees call.accepted by {accepted.user.id}")  # type: ignore[attr-defined]
    await ringing.join()
    await outgoing.join()
    everyone = await outgoing.partial_state(lambda s: sorted(p.name for p in s.call_participants)).first(
        lambda names: len(names) == 2, WAIT)
    print(f"   participants: {', '.join(everyone)}; Alice: {outgoing.state.value.status}")

    print("4. A reaction and a custom event")
    async with ringing.events.subscribe() as bob_events:
        await outgoing.send_reaction("raise-hand", emoji_code=":raised_hand:")
        reaction = await bob_events.first(lambda e: isinstance(e, CallReactionEvent), WAIT)
    print(f"   Bob sees {reaction.reaction.type} from {reaction.reaction.user.id}")  # type: ignore[attr-defined]
    async with outgoing.events.subscribe() as alice_events:
        await ringing.send_custom_event("wave", {"message": "hi Alice"})
        custom = await alice_events.first(lambda e: isinstance(e, CustomVideoEvent), WAIT)
    print(f"   Alice sees custom event {custom.custom['type']}: {custom.custom['message']}")  # type: ignore[attr-defined]

    print("5. Bob leaves; alone in a ringing call, Alice's client leaves too (drop_if_alone_in_ringing_flow)")
    await ringing.leave()
    print(f"   Bob: {ringing.state.value.status}")
    dropped = await outgoing.partial_state(lambda s: s.status).first(lambda status: status.is_disconnected, WAIT)
    print(f"   Alice: {dropped}")


if __name__ == "__main__":
    asyncio.run(main())
