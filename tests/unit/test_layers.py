"""The import rule that keeps the layers apart, checked over the package's own imports (function-level too)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("workflow", "states", "notifications")
FRAMEWORKS = ("sqlalchemy", "sqlmodel", "alembic", "psycopg", "apscheduler", "jinja2", "typer", "click", "rich",
              "textual")

# Each layer may use the ones below it, never one above: states and the domain (pure rules) < adapters
# (database, tables, the one writer) < notifications (render, queue, deliver) < services (use cases) < read
# models < faces (command line, terminal app). layer -> what it must never import.
RULES: dict[str, tuple[str, ...]] = {
    "states": ("workflow", "notifications", *FRAMEWORKS),
    "workflow.domain": ("workflow.adapters", "workflow.services", "workflow.read", "workflow.faces",
                        "workflow.bootstrap", "workflow.scheduler", "notifications", "cli", *FRAMEWORKS),
    "workflow.adapters": ("workflow.services", "workflow.read", "workflow.faces", "notifications", "cli"),
    "notifications": ("workflow.services", "workflow.read", "workflow.faces", "cli"),
    "workflow.services": ("workflow.read", "workflow.faces", "cli"),
    "workflow.read": ("workflow.faces", "cli"),
}


def modules() -> dict[str, Path]:
    found = {"cli": ROOT / "cli.py"}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            found[name] = path
    return found


def imports(path: Path) -> Iterator[str]:
    """Every module `path` imports at run time, at the top or inside a function (not under TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = {id(node) for guard in ast.walk(tree) if isinstance(guard, ast.If)
               and "TYPE_CHECKING" in ast.unparse(guard.test) for node in ast.walk(guard)}
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: {target for target in imports(path) if target in known and target != name}
            for name, path in known.items()}


@pytest.mark.parametrize("layer", sorted(RULES))
def test_a_layer_imports_nothing_it_must_not(layer):
    known = modules()
    broken = sorted(f"{name} imports {target}" for name, path in known.items() if within(name, layer)
                    for target in set(imports(path)) for banned in RULES[layer] if within(target, banned))
    assert broken == []


def test_no_module_imports_a_private_name_of_another():
    known = modules()
    private = []
    for name, path in known.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module in known and node.module != name:
                private += [f"{name} imports {node.module}.{a.name}" for a in node.names
                            if a.name.startswith("_") and f"{node.module}.{a.name}" not in known]
    assert private == []


def test_there_are_no_import_cycles():
    edges = graph()
    cycles: set[tuple[str, ...]] = set()

    def visit(name: str, path: list[str]) -> None:
        for target in sorted(edges[name]):
            if target in path:
                cycle = path[path.index(target):]
                start = cycle.index(min(cycle))
                cycles.add(tuple(cycle[start:] + cycle[:start]))
            elif len(path) < 12:
                visit(target, [*path, target])

    for name in sorted(edges):
        visit(name, [name])
    assert sorted(" -> ".join(cycle) for cycle in cycles) == []
