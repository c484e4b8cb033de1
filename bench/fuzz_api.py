"""schemathesis over the whole API of a running ``weir serve``, with hostile values added: 0 answers may be 5xx.

Starts a real ``weir serve`` (rate limits off) on SQLite, or on a fresh PostgreSQL database
(``scripts/postgres.sh``, or ``WEIR_TEST_POSTGRES_URL``). For every operation of its OpenAPI document,
Hypothesis draws ``--examples`` valid and invalid requests (schemathesis, set up as tests/test_fuzz_api.py
does: a server token, well-formed call types and half of the call ids aimed at a call of the fuzzer's own). Each
one is sent as drawn, then once more with hostile values in turn:

- ``nested``: a 100-level nested object in every free-form field (custom data, filters, settings' free-form
  parts: every ``additionalProperties: true`` object of the body's schema);
- ``nonfinite``: ``NaN``, ``Infinity``, ``-Infinity`` and ``1e999`` as raw JSON numbers, in every number of
  the body and in every free-form field;
- ``huge``: every string of the body 64 KB long (one time in four, 1.5 MB: over the body limit);

for operations without a body, the query parameters get the same values as text (8 KB at most). Every answer is counted.

    PYTHONPATH=. .venv/bin/python bench/fuzz_api.py --database sqlite
    PYTHONPATH=. .venv/bin/python bench/fuzz_api.py --database postgres --examples 20

Prints the answers' statuses by kind (drawn, or the hostile mode) on stderr, then
``fuzz api database=<db> operations=<n> requests=<n> server_errors=<n>``, each 5xx (or dropped connection) before it
as a curl command, and exits non-zero if there was any.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import itertools
import json
import os
import random
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import requests
import schemathesis
from events import free_port
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from join import API_KEY, API_SECRET, weir_serve

from tests.conftest import fresh_postgres_database
from tests.test_fuzz_api import CALL_PATHS, CONFIG, _aim_at_existing_targets, _fuzz_call
from weir.domain.tokens import create_token

DEPTH = 100
HUGE, OVERSIZED = 64 * 1024, 1536 * 1024
HUGE_QUERY = 8 * 1024  # the request line must stay under the HTTP parser's 16 KB
NON_FINITE = ("NaN", "Infinity", "-Infinity", "1e999")
MODES = ("nested", "nonfinite", "huge")
SHOWN_FAILURES = 20
JsonPath = tuple[str | int, ...]  # a place in a JSON body: keys, "*" for every key of a map, 0 for every list item


@dataclass
class Tally:
    requests: int = 0
    server_errors: int = 0
    shown: list[str] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)  # "<mode> <status>", the mode "drawn" or a hostile one

    def record(self, status: int | None, how: str, mode: str = "drawn") -> None:
        self.requests += 1
        self.statuses[f"{mode} {status or 'none'}"] += 1
        if status is None or status >= 500:
            self.server_errors += 1
            if len(self.shown) < SHOWN_FAILURES:
                self.shown.append(f"{status or 'no answer'}: {how}")


# --- where the free-form fields are ---------------------------------------------------------------------------

def free_form_paths(
    document: dict[str, Any], schema: dict[str, Any], path: JsonPath = (), depth: int = 0
) -> Iterator[JsonPath]:
    """Places in a body of ``schema`` that take any JSON object (``additionalProperties: true``)."""
    if depth > 24:
        return
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        yield from free_form_paths(document, document["components"]["schemas"][name], path, depth + 1)
        return
    for option in schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", []):
        yield from free_form_paths(document, option, path, depth + 1)
    if schema.get("type") == "object" and schema.get("additionalProperties") is True and not schema.get("properties"):
        yield path
    for key, child in schema.get("properties", {}).items():
        yield from free_form_paths(document, child, (*path, key), depth + 1)
    if isinstance(schema.get("additionalProperties"), dict):
        yield from free_form_paths(document, schema["additionalProperties"], (*path, "*"), depth + 1)
    if isinstance(schema.get("items"), dict):
        yield from free_form_paths(document, schema["items"], (*path, 0), depth + 1)


def body_schema(document: dict[str, Any], operation: schemathesis.APIOperation) -> dict[str, Any] | None:
    definition = document["paths"][operation.path][operation.method.lower()]
    return definition.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")


def put(node: Any, path: JsonPath, value: Any) -> None:
    """Set ``value`` at ``path`` inside ``node``, creating missing objects along named keys."""
    head, rest = path[0], path[1:]
    if head == "*" and isinstance(node, dict):
        children = list(node)
    elif head == 0 and isinstance(node, list):
        children = list(range(len(node)))
    elif isinstance(head, str) and head != "*" and isinstance(node, dict):
        if rest and not isinstance(node.get(head), dict | list):
            node[head] = {}
        children = [head]
    else:
        return
    for child in children:
        if rest:
            put(node[child], rest, value)
        else:
            node[child] = value


# --- hostile values --------------------------------------------------------------------------------------------

class Raw(str):
    """A JSON token written as is (``NaN``, ``1e999``): marked here, spliced in by ``dumps``."""


def dumps(body: Any) -> str:
    marks: dict[str, str] = {}

    def mark(value: Any) -> Any:
        if isinstance(value, Raw):
            key = f"\x00raw{len(marks)}\x00"
            marks[json.dumps(key)] = str(value)
            return key
        if isinstance(value, dict):
            return {k: mark(v) for k, v in value.items()}
        if isinstance(value, list):
            return [mark(v) for v in value]
        return value

    text = json.dumps(mark(body))
    for key, token in marks.items():
        text = text.replace(key, token)
    return text


def nested(depth: int = DEPTH) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for level in range(depth - 1):
        value = {f"k{level % 3}": value}
    return value


def hostile_leaves(node: Any, mode: str, rng: random.Random, size: int) -> Any:
    """``node`` with its numbers (``nonfinite``) or strings (``huge``) replaced; keys kept."""
    if isinstance(node, dict):
        return {k: hostile_leaves(v, mode, rng, size) for k, v in node.items()}
    if isinstance(node, list):
        return [hostile_leaves(v, mode, rng, size) for v in node]
    if mode == "nonfinite" and isinstance(node, int | float) and not isinstance(node, bool):
        return Raw(rng.choice(NON_FINITE))
    if mode == "huge" and isinstance(node, str):
        return rng.choice("xé€😀") * size
    return node


def free_form_value(mode: str, rng: random.Random, size: int) -> Any:
    if mode == "nested":
        return nested()
    if mode == "nonfinite":
        return {"n": Raw(rng.choice(NON_FINITE)), "list": [Raw(token) for token in NON_FINITE],
                "deep": {"x": Raw("NaN")}}
    return {"s": "y" * size, rng.choice("kz") * 1024: "key"}


def hostile_body(body: Any, paths: list[JsonPath], mode: str, rng: random.Random) -> str:
    size = OVERSIZED if mode == "huge" and rng.random() < 0.25 else HUGE
    body = hostile_leaves(body, mode, rng, size) if mode != "nested" else copy.deepcopy(body)
    if isinstance(body, dict):
        for path in paths:
            if path:
                put(body, path, free_form_value(mode, rng, size))
    elif paths == [()]:
        body = free_form_value(mode, rng, size)
    return dumps(body)


def hostile_query(query: dict[str, Any], mode: str, rng: random.Random) -> dict[str, str]:
    def value() -> str:
        if mode == "nested":
            return json.dumps(nested())
        if mode == "nonfinite":
            return rng.choice(NON_FINITE)
        return "q" * HUGE_QUERY

    return {key: value() for key in query}


# --- the campaign ------------------------------------------------------------------------------------------------

def strategy(operation: schemathesis.APIOperation) -> st.SearchStrategy[schemathesis.Case]:
    modes = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
    return st.one_of(*(operation.as_strategy(mode) for mode in modes))


def fuzz_operation(operation: schemathesis.APIOperation, document: dict[str, Any], base: str, api: httpx.Client,
                   session: requests.Session, examples: int, tally: Tally) -> None:
    schema = body_schema(document, operation)
    paths = list(dict.fromkeys(free_form_paths(document, schema))) if schema else []
    modes = itertools.cycle(MODES)
    rng = random.Random(operation.label)
    auth = {"Authorization": f"Bearer {create_token(API_SECRET, None)}"}

    @given(case=strategy(operation))
    @settings(max_examples=examples, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: schemathesis.Case) -> None:
        if case.operation.path.startswith(CALL_PATHS):
            _aim_at_existing_targets(case, call_id=_fuzz_call(api))
        try:
            status: int | None = case.call(base_url=base, session=session, headers=auth,
                                           params={"api_key": API_KEY}, timeout=60).status_code
        except Exception:  # noqa: BLE001  # a dropped connection counts as a server error
            status = None
        tally.record(status, case.as_curl_command(headers=auth, base_url=base))
        mode = next(modes)
        query = {**(case.query or {}), "api_key": API_KEY}
        content: str | None = None
        if schema is not None and isinstance(case.body, dict | list):
            content = hostile_body(case.body, paths, mode, rng)
        elif case.query:
            query = {**hostile_query(case.query, mode, rng), "api_key": API_KEY}
        else:
            return
        url = base + case.formatted_path
        try:
            answer: int | None = api.request(case.method, url, params=query, content=content, timeout=60,
                                             headers={**auth, "content-type": "application/json"}).status_code
        except httpx.InvalidURL:  # a drawn path httpx cannot send as is
            return
        except httpx.TransportError:
            answer = None
        tally.record(answer, f"{mode} {case.method} {case.formatted_path} ({len(content or '')} bytes)", mode)

    with contextlib.suppress(Unsatisfiable):
        run()


def campaign(base: str, examples: int) -> tuple[int, Tally]:
    document = httpx.get(f"{base}/openapi.json", timeout=30).json()
    schema = schemathesis.openapi.from_dict(document, config=CONFIG)
    tally = Tally()
    operations = 0
    headers = {"Authorization": f"Bearer {create_token(API_SECRET, None)}"}
    with (httpx.Client(base_url=f"{base}/api/v1", params={"api_key": API_KEY}, headers=headers, timeout=60) as api,
          requests.Session() as session):
        for result in schema.get_all_operations():
            operations += 1
            fuzz_operation(result.ok(), document, base, api, session, examples, tally)
    return operations, tally


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--examples", type=int, default=60,
                        help="requests drawn per operation (twice the test suite's; most sent twice)")
    args = parser.parse_args()
    env = {"WEIR_SFU_WORKERS": "0"}
    drop = None
    if args.database == "postgres":
        env["WEIR_DATABASE_URL"], drop = fresh_postgres_database()
    try:
        with weir_serve(free_port(), **env) as (base, _):
            operations, tally = campaign(base, args.examples)
    finally:
        if drop is not None:
            drop()
    for failure in tally.shown:
        print(failure, file=sys.stderr)
    print("answers:", " ".join(f"{key.replace(' ', ':')}={n}" for key, n in sorted(tally.statuses.items())),
          file=sys.stderr)
    print(f"fuzz api database={args.database} operations={operations} requests={tally.requests} "
          f"server_errors={tally.server_errors}", flush=True)
    if tally.server_errors:
        sys.exit(f"{tally.server_errors} server errors")


if __name__ == "__main__":
    os.environ.setdefault("WEIR_ICE_HOST_ADDRESSES", "127.0.0.1")
    main()
