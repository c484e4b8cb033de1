"""The SFU's boundary: a media worker loads no coordinator, database or web-framework code, and no module of
``weir.sfu`` imports the coordinator's packages (``weir.coordinator.sfu`` is the coordinator's side)."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import weir.sfu

WORKER_ENTRY = "weir.sfu.workers.process"
NOT_IN_A_WORKER = ("sqlalchemy", "fastapi", "alembic", "weir.coordinator")
COORDINATOR_PACKAGES = ("weir.coordinator", "weir.store", "weir.push", "weir.webhooks")


def _within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == package or module.startswith(package + ".") for package in packages)


def test_a_media_worker_loads_no_coordinator_database_or_fastapi_module() -> None:
    script = f"import json, sys, {WORKER_ENTRY}; print(json.dumps(sorted(sys.modules)))"
    loaded = json.loads(subprocess.run([sys.executable, "-c", script], check=True, capture_output=True,
                                       text=True).stdout)
    assert WORKER_ENTRY in loaded
    assert [module for module in loaded if _within(module, NOT_IN_A_WORKER)] == []


def _imports(tree: ast.AST) -> list[str]:
    """Every module an ``import`` or ``from … import`` names, at any depth (functions, TYPE_CHECKING blocks)."""
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
    return found


def test_no_sfu_module_imports_the_coordinator_or_its_storage() -> None:
    root = Path(weir.sfu.__file__).parent
    files = sorted(root.rglob("*.py"))
    assert root / "workers" / "process.py" in files
    crossing = [f"{path.relative_to(root)}: {module}" for path in files
                for module in _imports(ast.parse(path.read_text(), str(path)))
                if _within(module, COORDINATOR_PACKAGES)]
    assert crossing == []
