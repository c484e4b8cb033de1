"""A small, safe subset of Handlebars for the call type's push notification templates.

Supported: ``{{ a.b }}`` (HTML-escaped, as Handlebars does), ``{{{ a.b }}}`` (raw) and ``{{! comment }}``.
Lookups only walk dicts; nothing is evaluated, so a template can never run code. A missing value renders as
the empty string, and a tag this subset does not know (block helpers such as ``{{#if}}``) renders nothing.
The existing Python Handlebars/Mustache packages are unmaintained (pybars3 also compiles templates to Python
code), so the subset is written here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_TAG = re.compile(r"\{\{\{\s*(?P<raw>[^{}]*?)\s*\}\}\}|\{\{\s*(?P<escaped>[^{}]*?)\s*\}\}")
_PATH = re.compile(r"^[A-Za-z_@][\w@\-]*(\.[A-Za-z_@][\w@\-]*)*$")
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;", "`": "&#x60;", "=": "&#x3D;"}


def escape(text: str) -> str:
    """Handlebars' escaping of ``{{ }}`` output."""
    return "".join(_ESCAPES.get(ch, ch) for ch in text)


def lookup(context: Mapping[str, Any], path: str) -> Any:
    """``a.b.c`` through nested mappings; ``None`` when any step is missing."""
    value: Any = context
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def to_text(value: Any) -> str:
    """Scalars as JavaScript would print them; objects, lists and null render nothing."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str | int | float):
        return str(value)
    return ""


def render(template: str, context: Mapping[str, Any]) -> str:
    """Render ``template`` with ``context``; never raises on template content."""

    def substitute(match: re.Match[str]) -> str:
        raw = match.group("raw")
        expression = raw if raw is not None else match.group("escaped")
        if not _PATH.match(expression):
            return ""
        text = to_text(lookup(context, expression))
        return text if raw is not None else escape(text)

    return _TAG.sub(substitute, template)
