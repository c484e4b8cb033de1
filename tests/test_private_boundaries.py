"""Modules keep their private names to themselves, and owners and children do not import each other both ways.

Read from the source (AST), nothing is imported:
- no module imports a private name (``_x``) from a module of another weir package;
- no module reaches a private member (``obj._x``, where ``obj`` is not ``self``, ``cls`` or ``super()``) that
  weir defines only in other modules. A name that the module itself also defines counts as its own: a class
  may touch its module's other classes. Privates of third-party objects (aiortc's) are not weir's and are
  left to their adapter modules;
- a child module never imports its owner's module, type-only imports included: the participant reports to
  the room through ``ParticipantListener``, a call to the client through ``CallOwner``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

SRC = Path(__file__).parent.parent / "src"
WEIR = SRC / "weir"

# (module, private name) imports still allowed across packages, and why. Keep this short.
ALLOWED_IMPORTS: dict[tuple[str, str], str] = {}

# child module → its owner's module, which it must not import
OWNERS = {
    "weir.sfu.rtc.participant": "weir.sfu.rtc.room",
    "weir.client.call": "weir.client.client",
    "weir.client.call_media": "weir.client.client",
    "weir.client.call_reconnect": "weir.client.client",
    "weir.client.call_actions": "weir.client.client",
}


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, ast.Module]:
    return {module_name(path): ast.parse(path.read_text(), str(path)) for path in sorted(WEIR.rglob("*.py"))}


def package_of(module: str) -> str:
    is_package = (WEIR.parent / module.replace(".", "/") / "__init__.py").exists()
    return module if is_package else module.rpartition(".")[0]


def defined_privates(tree: ast.Module) -> set[str]:
    """Private names a module defines: functions, classes, assigned names and attributes, slots."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr":
            names.update(arg.value for arg in node.args[1:2] if isinstance(arg, ast.Constant)
                         and isinstance(arg.value, str))
        elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__slots__"
                                                  for t in node.targets):
            names.update(c.value for c in ast.walk(node.value)
                         if isinstance(c, ast.Constant) and isinstance(c.value, str))
    return {name for name in names if is_private(name)}


def is_own_object(node: ast.expr) -> bool:
    return (isinstance(node, ast.Name) and node.id in ("self", "cls")) or (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "super")


def imported_modules(tree: ast.Module, module: str) -> Iterator[tuple[str, ast.ImportFrom | ast.Import]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(module.split(".")[: -node.level] + ([base] if base else []))
            yield base, node
            for alias in node.names:  # ``from weir.sfu.rtc import room`` imports the module room
                yield f"{base}.{alias.name}", node


def private_imports(trees: dict[str, ast.Module]) -> Iterator[str]:
    for module, tree in trees.items():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.ImportFrom) and (node.module or "").startswith("weir")):
                continue
            source = node.module or ""
            for alias in node.names:
                if (is_private(alias.name) and package_of(source) != package_of(module)
                        and (source, alias.name) not in ALLOWED_IMPORTS):
                    yield f"{module}:{node.lineno} imports {alias.name} from {source}"


def foreign_private_members(trees: dict[str, ast.Module]) -> Iterator[str]:
    own = {module: defined_privates(tree) for module, tree in trees.items()}
    weirs = set().union(*own.values())
    for module, tree in trees.items():
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and is_private(node.attr) and not is_own_object(node.value)
                    and node.attr in weirs and node.attr not in own[module]):
                yield f"{module}:{node.lineno} reaches {ast.unparse(node)}"


def test_no_module_imports_a_private_name_of_another_package() -> None:
    assert list(private_imports(modules())) == []


def test_the_allowed_private_imports_are_still_used() -> None:
    used = {(node.module or "", alias.name) for tree in modules().values() for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) for alias in node.names}
    assert set(ALLOWED_IMPORTS) <= used, f"stale: {set(ALLOWED_IMPORTS) - used}"


def test_no_module_reaches_private_members_defined_in_other_modules() -> None:
    assert list(foreign_private_members(modules())) == []


def test_children_do_not_import_their_owners() -> None:
    trees = modules()
    for child, owner in OWNERS.items():
        imports = [f"line {node.lineno}" for name, node in imported_modules(trees[child], child) if name == owner]
        assert imports == [], f"{child} imports its owner {owner} ({', '.join(imports)})"


def test_the_checks_catch_what_they_are_for() -> None:
    """Two made-up modules, each breaking the rules the way the room and the participant once did."""
    trees = {
        "weir.sfu.rtc.room": ast.parse("class RtcRoom:\n    def _publish(self, track):\n        self._tracks = {}\n"
                                       "    def add(self, participant):\n        participant._gather()\n"),
        "weir.sfu.rtc.participant": ast.parse("from weir.sfu.rtc.room import RtcRoom\n"
                                              "from weir.client.call import _helper\n"
                                              "class RtcParticipant:\n    def _gather(self):\n"
                                              "        self._room._publish(None)\n        self._room.x = 1\n"),
        "weir.client.call": ast.parse("def _helper():\n    pass\n"),
    }
    assert sorted(foreign_private_members(trees)) == ["weir.sfu.rtc.participant:5 reaches self._room._publish",
                                                      "weir.sfu.rtc.room:5 reaches participant._gather"]
    assert list(private_imports(trees)) == ["weir.sfu.rtc.participant:2 imports _helper from weir.client.call"]
    imported = {name for name, _ in imported_modules(trees["weir.sfu.rtc.participant"], "weir.sfu.rtc.participant")}
    assert "weir.sfu.rtc.room" in imported
