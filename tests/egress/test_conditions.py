"""The filter DSL and custom-action conditions: the layout page's TypeScript evaluator and its Python mirror give
the same answers on the same cases (web/src/layout/conditions.cases.json)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from weir.egress.composite.conditions import ConditionError, matches

CASES_PATH = ROOT / "web" / "src" / "layout" / "conditions.cases.json"
CASES: list[dict[str, Any]] = json.loads(CASES_PATH.read_text())


def outcome(case: dict[str, Any]) -> dict[str, bool]:
    return {"error": True} if case.get("error") else {"matches": case["matches"]}


@pytest.mark.parametrize("case", CASES, ids=[json.dumps(c["condition"])[:60] for c in CASES])
def test_python_evaluator(case: dict[str, Any]) -> None:
    try:
        got = {"matches": matches(case["condition"], case["subject"])}
    except ConditionError:
        got = {"error": True}
    assert got == outcome(case)


def test_typescript_evaluator_gives_the_same_answers(tmp_path: Path) -> None:
    out = subprocess.run(["node", str(ROOT / "tests/egress/conditions_cases.mjs"), str(ROOT / "web"),
                          str(CASES_PATH), str(tmp_path)], check=True, capture_output=True, text=True).stdout
    assert [json.loads(line) for line in out.splitlines()] == [outcome(case) for case in CASES]
