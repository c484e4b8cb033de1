"""A guard for "every public method has a test": each public callable of ``weir.client`` (the exported
functions and classes, and the public methods, properties and class methods those classes define) must be named
by some test module under tests/ (the SDK calls of recording, broadcasting and captions are tested beside their
workers, in tests/egress and tests/test_transcriptions.py). It is a name search, so it proves a test mentions the
name, not what the test checks; it fails the moment the SDK grows a public method nobody wrote a test for."""

from __future__ import annotations

import dataclasses
import inspect
import re
from collections.abc import Iterator
from enum import Enum
from functools import cache
from pathlib import Path

from pydantic import BaseModel

import weir.client

TESTS = Path(__file__).parent.parent
SDK_PREFIX = "weir.client"  # re-exported models of weir.domain / weir.protocol / weir.server are tested there

# Public names a test need not mention, and why. Keep this short: prefer writing the test.
EXEMPT = {
    # aliases of types for annotations, no behaviour of their own
    "Comparator": "a type alias of the sorting comparators",
    "MediaSource": "a type alias of what the device setters take",
}


def member_kinds(value: object) -> bool:
    return (inspect.isfunction(value) or isinstance(value, (property, classmethod, staticmethod))
            or hasattr(value, "__get__") and type(value).__module__.startswith(SDK_PREFIX))


def is_data_holder(exported: object) -> bool:
    """Enums, dataclasses and pydantic models: building one does nothing (their methods are still checked)."""
    return inspect.isclass(exported) and (issubclass(exported, (Enum, BaseModel))
                                          or dataclasses.is_dataclass(exported))


def public_callables() -> Iterator[tuple[str, str]]:
    """(qualified name, what a test would write) for every public callable of ``weir.client``: an exported
    function or class as itself, a method, property or class method as ``.member``."""
    for name in weir.client.__all__:
        exported = getattr(weir.client, name)
        if not is_data_holder(exported):
            yield name, name
        if not inspect.isclass(exported):
            continue
        for owner in exported.__mro__:
            if not owner.__module__.startswith(SDK_PREFIX):
                continue
            for attribute, value in vars(owner).items():
                if not attribute.startswith("_") and member_kinds(value):
                    yield f"{owner.__name__}.{attribute}", "." + attribute


@cache
def sources_of_tests() -> str:
    return "\n".join(path.read_text() for path in sorted(TESTS.rglob("test_*.py")) if path.name != Path(__file__).name)


def is_mentioned(written: str) -> bool:
    boundary = "" if written.startswith(".") else r"\b"
    return re.search(rf"{boundary}{re.escape(written)}\b", sources_of_tests()) is not None


def test_every_public_callable_is_named_by_a_test() -> None:
    untested = sorted({qualified for qualified, written in public_callables()
                       if qualified not in EXEMPT and not is_mentioned(written)})
    assert untested == [], f"public weir.client callables no test under tests/ names: {untested}"


def test_the_exemptions_are_still_needed() -> None:
    needed = {qualified for qualified, written in public_callables() if not is_mentioned(written)}
    assert set(EXEMPT) <= needed, f"stale exemptions (gone, or now tested): {sorted(set(EXEMPT) - needed)}"
