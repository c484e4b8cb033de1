"""The worker packages (recording, ingress, AI) reach Weir over HTTP as any client does: none imports the
coordinator, its database tables or outboxes, or the SFU."""

import ast
from pathlib import Path
from types import ModuleType

import pytest

import weir.ai
import weir.egress
import weir.ingress
from tests.sfu.test_boundary import _imports, _within

SERVER_PACKAGES = ("weir.coordinator", "weir.store", "weir.sfu", "weir.push", "weir.webhooks")


@pytest.mark.parametrize("package", [weir.egress, weir.ingress, weir.ai], ids=lambda p: p.__name__)
def test_no_worker_module_imports_the_server(package: ModuleType) -> None:
    root = Path(str(package.__file__)).parent
    files = sorted(root.rglob("*.py"))
    assert root / "worker.py" in files
    crossing = [f"{path.relative_to(root)}: {module}" for path in files
                for module in _imports(ast.parse(path.read_text(), str(path)))
                if _within(module, SERVER_PACKAGES)]
    assert crossing == []
