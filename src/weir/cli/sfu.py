"""``weir sfu``: an SFU node on another host, registered with the coordinator over its internal channel; and
``weir sfu drain``, which asks the coordinator to drain one.

The node runs ``--workers`` SFU worker processes (as ``weir serve`` runs its own), each telling the coordinator the
node's name, region, public URL and capacity, and its load every second. SIGTERM (or Ctrl-C) drains the node: its
participants are sent ``go_away``, migrate to other nodes, and the node exits once they have; a second signal
stops it at once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from typing import Annotated

import httpx
import typer

from weir.config import Settings
from weir.coordinator.sfu.supervisor import WorkerSupervisor
from weir.rtc.config import IceConfig
from weir.sfu.workers.channel import NODES_PATH, ChannelAuth
from weir.sfu.workers.spec import NodeSpec, node_specs

app = typer.Typer(help="SFU nodes on other hosts.")

Coordinator = Annotated[str | None, typer.Option(help="The coordinator's URL (its internal channel), e.g. "
                                                      "http://10.0.0.1:3030.")]


def _secret() -> str:
    secret = Settings().api_secret
    if not secret:
        typer.echo("Error: WEIR_API_SECRET must be set: the node authenticates with it.", err=True)
        raise typer.Exit(1)
    return secret


@app.callback(invoke_without_command=True)
def node(
    ctx: typer.Context,
    coordinator: Coordinator = None,
    public_url: Annotated[str | None, typer.Option(help="Where clients reach this node (http://host); each "
                                                        "worker on its own port.")] = None,
    ice_host_addresses: Annotated[str | None, typer.Option(
        help="Comma-separated addresses to gather and advertise for media [env WEIR_ICE_HOST_ADDRESSES].")] = None,
    region: Annotated[str, typer.Option(help="The node's region (eu, us, ca, uk, in…: see geofencing).")] = "",
    capacity: Annotated[int, typer.Option(help="Participants the node is meant to carry (0: not said).")] = 0,
    name: Annotated[str | None, typer.Option(help="The node's edge name [default: the host name].")] = None,
    host: Annotated[str, typer.Option(help="Address the workers listen on.")] = "0.0.0.0",
    port: Annotated[int, typer.Option(help="Worker i listens on this port + i (0: free ports).")] = 0,
    workers: Annotated[int, typer.Option(min=1, help="SFU worker processes.")] = 1,
    relay_host: Annotated[str | None, typer.Option(
        help="Address of the SFU-to-SFU relay (cascading) that the other nodes reach [default: --host; a "
             "wildcard: the address the coordinator sees the node connect from].")] = None,
) -> None:
    """Run an SFU node: worker processes that register with the coordinator and carry the calls it places here."""
    if ctx.invoked_subcommand is not None:
        return
    if not coordinator or not public_url:
        typer.echo("Error: --coordinator and --public-url are needed (or a command: drain).", err=True)
        raise typer.Exit(2)
    secret = _secret()
    env = dict(os.environ)
    if ice_host_addresses:
        env["WEIR_ICE_HOST_ADDRESSES"] = ice_host_addresses
    try:
        ice = IceConfig.from_env(env)
        spec = NodeSpec(name=name or socket.gethostname(), region=region.lower(), public_url=public_url,
                        capacity=capacity)
        specs = node_specs(Settings(api_secret=secret), ice, spec, coordinator.rstrip("/"), host, port, workers,
                           relay_host)
    except ValueError as error:
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(1) from error
    logging.basicConfig(level=logging.INFO)
    asyncio.run(_run(WorkerSupervisor(specs, _nobody_to_tell)))


async def _nobody_to_tell(_index: int) -> None:
    """A crashed worker's sessions: the coordinator ends them when its channel closes."""


async def _run(supervisor: WorkerSupervisor) -> None:
    signals = 0

    def signalled() -> None:
        nonlocal signals
        signals += 1
        asyncio.ensure_future(supervisor.drain() if signals == 1 else supervisor.stop())

    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, signalled)
    await supervisor.start()
    await supervisor.wait()


@app.command()
def drain(
    node_name: Annotated[str, typer.Argument(metavar="NAME", help="The node's edge name (GET /edges lists them).")],
    coordinator: Coordinator = None,
) -> None:
    """Drain a node: nothing more is placed on it, its participants migrate to other nodes, then it exits."""
    url = (coordinator or f"http://127.0.0.1:{Settings().port}").rstrip("/")
    response = httpx.post(f"{url}{NODES_PATH}/{node_name}/drain", auth=ChannelAuth(_secret(), None), timeout=10)
    if response.status_code != 200:
        typer.echo(f"Error: {response.json().get('message', response.text)}", err=True)
        raise typer.Exit(1)
    typer.echo(f"draining {node_name}: {response.json()['workers']} worker(s)")
