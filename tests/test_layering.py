"""The layering rules, checked over the import graph of the source.

client -> ``kodiak_flight`` server / CLI -> SQL layer (``kodiak_flight.sql``) -> ``engine``:

* ``engine`` imports nothing of ``kodiak_flight``;
* the SQL layer imports nothing of ``kodiak_flight`` outside ``kodiak_flight.sql``;
* the server, CLI and other ``kodiak_flight`` modules use only the engine's public API (the
  ``engine`` package and the names it exports), never its modules;
* no module imports another module's private (``_name``) names, nor reaches into them as
  ``module._name``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import engine

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("engine", "kodiak_flight")
ENGINE_PUBLIC = {"engine", *(f"engine.{n}" for n in engine.__all__)}
GENERATED = {"kodiak_flight/proto/FlightSql_pb2.py", "kodiak_flight/proto/FlightCore_pb2.py"}


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel in GENERATED:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


MODULES = _modules()


def _absolute(module: str, node: ast.ImportFrom, is_pkg: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_pkg else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str, path: Path) -> list[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) for every import in ``path``."""
    tree = ast.parse(path.read_text(), str(path))
    is_pkg = path.name == "__init__.py"
    out: list[tuple[str, str | None, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, None, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _absolute(module, node, is_pkg)
            for a in node.names:
                sub = f"{target}.{a.name}"
                out.append((sub, None, node.lineno) if sub in MODULES
                           else (target, a.name, node.lineno))
    return out


def _layer(module: str) -> str:
    if module == "engine" or module.startswith("engine."):
        return "engine"
    if module == "kodiak_flight.sql" or module.startswith("kodiak_flight.sql."):
        return "sql"
    return "front"  # the server, the CLI and their helpers


def _violations() -> list[str]:
    bad = []
    for module, path in MODULES.items():
        layer = _layer(module)
        where = path.relative_to(ROOT)
        for target, name, line in _imports(module, path):
            ours = target.split(".")[0] in PACKAGES
            if not ours:
                continue
            tl = _layer(target)
            if layer == "engine" and tl != "engine":
                bad.append(f"{where}:{line}: the engine imports {target}")
            elif layer == "sql" and tl == "front":
                bad.append(f"{where}:{line}: the SQL layer imports {target}")
            elif layer == "front" and tl == "engine" and target not in ENGINE_PUBLIC:
                bad.append(f"{where}:{line}: imports engine internals ({target})")
            if name and name.startswith("_") and not name.startswith("__"):
                bad.append(f"{where}:{line}: imports private name {name} from {target}")
    return bad


def _private_attribute_uses() -> list[str]:
    """``mod._name`` where ``mod`` is one of our modules imported by name."""
    bad = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(), str(path))
        aliases = {}
        for target, name, _ in _imports(module, path):
            if name is None and target in MODULES:
                aliases[target.rsplit(".", 1)[-1]] = target
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                    and node.value.id in aliases and node.attr.startswith("_") \
                    and not node.attr.startswith("__"):
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno}: uses private "
                           f"{aliases[node.value.id]}.{node.attr}")
    return bad


def test_layers_import_one_way_only() -> None:
    assert _violations() == []


def test_no_private_names_across_modules() -> None:
    assert _private_attribute_uses() == []


def test_the_check_sees_the_code() -> None:
    """Guard against a check that passes because it reads nothing."""
    assert "kodiak_flight.sql.session" in MODULES and "engine.database" in MODULES
    found = _imports("kodiak_flight.sql.session", MODULES["kodiak_flight.sql.session"])
    assert any(t.startswith("kodiak_flight.sql.") for t, _, _ in found)
