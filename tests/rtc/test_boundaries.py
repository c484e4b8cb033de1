"""Package boundaries, read from the source: the client SDK stands on ``weir.rtc``, never on the SFU or the
coordinator; ``weir.rtc`` stands on nothing else of Weir's; and only ``weir.rtc.aiortc_adapter`` reaches into
aiortc's and aioice's private members."""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import re
import sys
import textwrap
from pathlib import Path

import pytest

import weir

SRC = Path(weir.__file__).parent


@functools.cache
def parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), str(path))


def imported_modules(tree: ast.Module, package: str) -> set[str]:
    """Every module ``tree`` (a module of ``package``) imports, absolute, with each parent package."""
    found: set[str] = set()
    for node in ast.walk(tree):
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
                  for module in sorted(imported_modules(parsed(path), module_package))
                  if matches(module, forbidden) and not matches(module, allowed)]
    return lines


def test_the_client_sdk_imports_neither_the_sfu_nor_the_coordinator() -> None:
    assert forbidden_imports("client", ("weir.sfu", "weir.coordinator")) == []


def test_weir_rtc_imports_nothing_of_weir_but_itself() -> None:
    assert forbidden_imports("rtc", ("weir",), allowed=("weir.rtc",)) == []


def test_imports_are_seen_in_every_form() -> None:
    source = "import weir.sfu.rtp\nfrom weir.coordinator import app\nfrom ..sfu import rtc\nfrom . import call\n"
    assert imported_modules(ast.parse(source), "weir.client") == {
        "weir.sfu.rtp", "weir.coordinator", "weir.coordinator.app", "weir.sfu", "weir.sfu.rtc", "weir.client",
        "weir.client.call"}


# aiortc's and aioice's private members are reached only through weir.rtc.aiortc_adapter

ADAPTER = "weir/rtc/aiortc_adapter.py"
# The SFU's DTLS transport still subclasses aiortc's; issue 13 §2 replaces it with Weir's own datagram path.
PENDING = {"weir/sfu/rtc/dtls.py", "weir/sfu/rtc/transport.py"}
LIBRARIES = ("aiortc", "aioice")
MANGLED = re.compile(r"^_[A-Za-z][A-Za-z0-9]*__[A-Za-z0-9_]*[A-Za-z0-9]$")


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.endswith("__")


def defined_private_names(tree: ast.AST) -> set[str]:
    """Private members ``tree`` defines: methods, ``self._x = ...`` and class-level names (mangled forms too)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for child in ast.walk(node):
                found = None
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    found = child.name
                elif isinstance(child, ast.Attribute) and isinstance(child.ctx, ast.Store):
                    found = child.attr
                elif isinstance(child, ast.AnnAssign) and isinstance(child.target, ast.Name):
                    found = child.target.id
                if found and _is_private(found):
                    names.add(found)
                    if found.startswith("__"):
                        names.add(f"_{node.name.lstrip('_')}{found}")
    return names


@functools.cache
def names_in_file(path: Path) -> frozenset[str]:
    return frozenset(defined_private_names(parsed(path)))


def library_files() -> list[Path]:
    return [path for library in LIBRARIES
            for path in Path(importlib.import_module(library).__file__ or "").parent.rglob("*.py")]


@functools.cache
def library_private_names() -> frozenset[str]:
    return frozenset().union(*(names_in_file(path) for path in library_files()))


@functools.cache
def library_callbacks() -> frozenset[str]:
    """Private members of the libraries' ``Protocol`` classes: the hooks they call on objects handed to them."""
    protocols: list[ast.stmt] = [node for path in library_files() for node in ast.walk(parsed(path))
                 if isinstance(node, ast.ClassDef) and any(ast.unparse(b) in ("Protocol", "typing.Protocol")
                                                           for b in node.bases)]
    return frozenset(defined_private_names(ast.Module(body=protocols, type_ignores=[])))


def _library_bases(cls: type) -> set[str]:
    """Private members of the aiortc/aioice classes ``cls`` inherits from."""
    names: set[str] = set()
    for base in cls.__mro__[1:]:
        if base.__module__.split(".")[0] in LIBRARIES:
            names |= defined_private_names(ast.parse(textwrap.dedent(inspect.getsource(base))))
    return names


def private_uses(path: Path) -> list[str]:
    """Where the module at ``path`` reaches into aiortc's or aioice's private members."""
    relative = str(path.relative_to(SRC.parent))
    module_name = relative.removesuffix(".py").replace("/", ".").removesuffix(".__init__")
    tree = parsed(path)
    library = library_private_names()
    own = set(names_in_file(path))
    imports = imported_modules(tree, module_name.rpartition(".")[0])
    for imported in imports:
        base = SRC.parent.joinpath(*imported.split("."))
        for source in (base.with_suffix(".py"), base / "__init__.py"):
            if source.is_file():
                own |= names_in_file(source)
    uses_libraries = any(name.split(".")[0] in LIBRARIES for name in imports)
    module = importlib.import_module(module_name) if uses_libraries else None  # only these can subclass them
    found: list[str] = []

    def report(node: ast.AST, what: str) -> None:
        found.append(f"{relative}:{getattr(node, 'lineno', 0)}: {what}")

    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and MANGLED.match(node.attr):
            report(node, f"name-mangled {node.attr}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and MANGLED.match(node.value):
            report(node, f"name-mangled {node.value!r}")
        elif isinstance(node, ast.Attribute) and _is_private(node.attr) and node.attr in library:
            target = node.value
            if isinstance(target, ast.Call) and ast.unparse(target.func) == "super":
                report(node, f"super().{node.attr}")
            elif not (isinstance(target, ast.Name) and target.id in ("self", "cls")) and node.attr not in own:
                report(node, f"{ast.unparse(node)}")
        elif isinstance(node, ast.ClassDef):
            cls = getattr(module, node.name, None)
            inherited = _library_bases(cls) if isinstance(cls, type) else set()
            for child in ast.walk(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) and (
                        child.name in inherited or child.name in library_callbacks()):
                    report(child, f"{node.name}.{child.name} implements aiortc's private hook")
                elif (isinstance(child, ast.Attribute) and isinstance(child.value, ast.Name)
                      and child.value.id == "self" and child.attr in inherited):
                    report(child, f"{node.name} uses inherited self.{child.attr}")
    return found


def test_no_module_but_the_adapter_reaches_into_aiortc_privates() -> None:
    uses = [use for path in sorted(SRC.rglob("*.py")) if str(path.relative_to(SRC.parent)) not in {ADAPTER, *PENDING}
            for use in private_uses(path)]
    assert uses == []


def test_the_private_check_finds_what_the_code_used_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The forms the SDK and ICE code had before the adapter: each is found."""
    package = tmp_path / "weir_probe"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "probe.py").write_text(textwrap.dedent("""
        from aioice import Connection

        class Host(Connection):
            def gather(self):
                self._local_candidates_end = True

        class Layer:
            async def _handle_rtcp_packet(self, packet):
                pass

        def patch(ice, sender, transport):
            task = ice._RTCIceTransport__monitor_task
            transport._rtp_router.register_sender(Layer(), 1)
            return getattr(sender, "_RTCRtpSender__rtp_header_extensions_map"), task
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys.modules[__name__], "SRC", package)
    uses = [use.split(": ", 1)[1] for use in private_uses(package / "probe.py")]
    assert sorted(uses) == sorted([
        "Host uses inherited self._local_candidates_end",
        "Layer._handle_rtcp_packet implements aiortc's private hook",
        "name-mangled _RTCIceTransport__monitor_task",
        "transport._rtp_router",
        "name-mangled '_RTCRtpSender__rtp_header_extensions_map'",
    ])
