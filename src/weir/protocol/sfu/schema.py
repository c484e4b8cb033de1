"""The protocol's JSON Schema, which the browser client turns into TypeScript types.

``scripts/gen-sfu-schema.py`` writes it to ``src/weir/protocol/sfu.schema.json``; a test keeps that file current.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic.json_schema import models_json_schema

from weir.protocol.sfu.events import SfuEvent
from weir.protocol.sfu.requests import SfuRequest

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "sfu.schema.json"
SCHEMA_ID = "https://github.com/weir-video/weir/blob/main/src/weir/protocol/sfu.schema.json"


def protocol_schema() -> dict[str, Any]:
    """Requests in validation mode (what the SFU accepts), events in serialization mode (what it sends)."""
    _, schema = models_json_schema(
        [(SfuRequest, "validation"), (SfuEvent, "serialization")], ref_template="#/$defs/{model}",
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Weir SFU signaling",
        "description": "One JSON object per WebSocket text frame, told apart by 'type' (ice_trickle goes both "
                       "ways). See docs/protocol.md.",
        "anyOf": [{"$ref": "#/$defs/SfuRequest"}, {"$ref": "#/$defs/SfuEvent"}],
        **schema,
    }


def schema_text() -> str:
    return json.dumps(protocol_schema(), indent=2, sort_keys=True) + "\n"


__all__ = ["SCHEMA_PATH", "protocol_schema", "schema_text"]
