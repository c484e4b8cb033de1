"""``weir worker egress|ai``: a recording or transcription worker, for running workers beside (or apart from)
``weir serve``."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path
from typing import Annotated

import typer

from weir.config import Settings
from weir.egress.process import Run
from weir.egress.worker import run_worker

app = typer.Typer(help="Background workers.", no_args_is_help=True)


Host = Annotated[str | None, typer.Option(help="The coordinator's address [env WEIR_HOST].")]
Port = Annotated[int | None, typer.Option(help="The coordinator's port [env WEIR_PORT].")]
DataDir = Annotated[Path | None, typer.Option(help="The coordinator's data folder [env WEIR_DATA_DIR].")]


def _run(run: Run, host: str | None, port: int | None, data_dir: Path | None) -> None:
    overrides = {k: v for k, v in {"host": host, "port": port, "data_dir": data_dir}.items() if v is not None}
    settings = Settings(**overrides)  # type: ignore[arg-type]
    settings.ensure_credentials()
    logging.basicConfig(level=logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)

    async def main() -> None:
        stop = asyncio.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(signum, stop.set)
        await run(settings, stop)

    asyncio.run(main())


@app.command()
def egress(host: Host = None, port: Port = None, data_dir: DataDir = None) -> None:
    """Record calls: claim recording jobs from the coordinator until interrupted (shares its data folder)."""
    _run(run_worker, host, port, data_dir)


@app.command()
def ai(host: Host = None, port: Port = None, data_dir: DataDir = None) -> None:
    """Transcribe and caption calls: claim those jobs from the coordinator until interrupted (shares its data
    folder)."""
    from weir.ai.worker import run_ai_worker  # the speech engines load only for this command

    _run(run_ai_worker, host, port, data_dir)
