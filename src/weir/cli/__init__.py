"""The ``weir`` command line: ``serve``, tokens and admin commands over the server SDK."""

from weir.cli.main import app

__all__ = ["app"]
