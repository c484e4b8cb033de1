"""``weir worker egress``: a recording worker, for running workers beside (or apart from) ``weir serve``."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path
from typing import Annotated

import typer

from weir.config import Settings
from weir.egress.worker import run_worker

app = typer.Typer(help="Background workers.", no_args_is_help=True)


@app.command()
def egress(
    host: Annotated[str | None, typer.Option(help="The coordinator's address [env WEIR_HOST].")] = None,
    port: Annotated[int | None, typer.Option(help="The coordinator's port [env WEIR_PORT].")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="The coordinator's data folder [env WEIR_DATA_DIR].")] = None,
) -> None:
    """Record calls: claim recording jobs from the coordinator until interrupted (shares its data folder)."""
    overrides = {k: v for k, v in {"host": host, "port": port, "data_dir": data_dir}.items() if v is not None}
    settings = Settings(**overrides)  # type: ignore[arg-type]
    settings.ensure_credentials()
    logging.basicConfig(level=logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)

    async def main() -> None:
        stop = asyncio.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(signum, stop.set)
        await run_worker(settings, stop)

    asyncio.run(main())
