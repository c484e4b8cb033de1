"""Tracebacks that Weir's servers log while the suite runs: every one is a bug unless the test that caused it
says it expects it (``expect_tracebacks``); the session's summary lists any other, and where it came from."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

import pytest


class TracebackCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.unexpected: list[str] = []
        self.test = "(outside any test)"
        self._expected: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info is None or record.exc_info[1] is None:
            return
        kind = type(record.exc_info[1]).__name__
        if kind in self._expected:
            return
        text = "".join(traceback.format_exception(*record.exc_info))
        self.unexpected.append(f"{self.test}: {record.name}: {record.getMessage()}\n{text}")

    @contextmanager
    def expecting(self, *kinds: str) -> Iterator[None]:
        before = set(self._expected)
        self._expected |= set(kinds)
        try:
            yield
        finally:
            self._expected = before


COLLECTOR = TracebackCollector()


@pytest.fixture
def expect_tracebacks() -> TracebackCollector:
    """For a test that makes a server log a traceback on purpose: ``with expect_tracebacks.expecting("X"):``."""
    return COLLECTOR
