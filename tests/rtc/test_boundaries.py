"""Package boundaries, read from the source: the client SDK stands on ``weir.rtc``, never on the SFU or the
coordinator, and ``weir.rtc`` stands on nothing else of Weir's."""

from __future__ import annotations

import ast
from pathlib import Path

import weir

SRC = Path(weir.__file__).parent


def imported_modules(source: str, package: str) -> set[str]:
    """Every module ``source`` (a module of ``package``) imports, absolute, with each parent package."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0]
                base = f"{parent}.{base}" if base else parent
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def forbidden_imports(package: str, forbidden: tuple[str, ...], allowed: tuple[str, ...] = ()) -> list[str]:
    """``path imports module`` for every module under weir/``package`` importing one of ``forbidden``."""
    def matches(module: str, names: tuple[str, ...]) -> bool:
        return any(module == name or module.startswith(name + ".") for name in names)

    lines = []
    for path in sorted((SRC / package).rglob("*.py")):
        module_package = ".".join(path.relative_to(SRC.parent).parts[:-1])
        lines += [f"{path.relative_to(SRC.parent)} imports {module}"
                  for module in sorted(imported_modules(path.read_text(), module_package))
                  if matches(module, forbidden) and not matches(module, allowed)]
    return lines


def test_the_client_sdk_imports_neither_the_sfu_nor_the_coordinator() -> None:
    assert forbidden_imports("client", ("weir.sfu", "weir.coordinator")) == []


def test_weir_rtc_imports_nothing_of_weir_but_itself() -> None:
    assert forbidden_imports("rtc", ("weir",), allowed=("weir.rtc",)) == []


def test_imports_are_seen_in_every_form() -> None:
    source = "import weir.sfu.rtp\nfrom weir.coordinator import app\nfrom ..sfu import rtc\nfrom . import call\n"
    assert imported_modules(source, "weir.client") == {
        "weir.sfu.rtp", "weir.coordinator", "weir.coordinator.app", "weir.sfu", "weir.sfu.rtc", "weir.client",
        "weir.client.call"}
