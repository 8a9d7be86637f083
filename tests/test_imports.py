"""Imports flow one way, down the layers below, with no import cycle anywhere under
runtime/ or metadata/. Imports inside functions (and under TYPE_CHECKING) count too:
they hide a dependency from Python, not from readers.

A module may import its own package and any package of a lower layer, never a package
of its own layer or above. docs/architecture.md draws the same picture.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).parents[1]
PACKAGES = ("runtime", "metadata", "ui_schema")
#: Bottom to top. ``runtime`` alone is the namespace package (a docstring).
LAYERS: list[set[str]] = [
    {"metadata", "runtime"},
    {"runtime.clock", "runtime.limits"},  # values with no dependencies
    {"runtime.settings"},  # the process's configuration
    {"runtime.sql"},  # identifier naming and each dialect's SQL spellings
    {"runtime.storage"},  # engines, tables, DDL and migrations, system tables
    {"runtime.coordination", "runtime.outbound", "runtime.observability"},
    {"runtime.model", "runtime.expressions"},  # the compiled model, expressions to SQL
    {"runtime.security"},  # identity, grants, principals, row predicates
    {"runtime.tenants"},  # tenant CRUD, metadata apply, installed packs
    {"runtime.records"},  # the one write path
    {"runtime.query"},  # the query IR and the SQL written from it (the one read path)
    {"runtime.workflows", "runtime.packs"},
    # the generated API (it also serves runs and approvals); UI schemas and the metadata API
    {"runtime.graphql", "ui_schema"},
    {"runtime.wiring"},  # the composition root
    {"runtime.backup", "runtime.demo", "runtime.processes"},
    {"runtime.server"},
    {"runtime.cli"},
]


def layer_of(module: str) -> tuple[int, str]:
    """Return the layer index of ``module`` and the package that places it there."""
    parts = module.split(".")
    for size in range(len(parts), 0, -1):
        package = ".".join(parts[:size])
        for index, members in enumerate(LAYERS):
            if package in members:
                return index, package
    raise AssertionError(f"{module} is in no layer: add its package to LAYERS")


def _modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            out[name.removesuffix(".__init__")] = path
    return out


def import_graph() -> dict[str, set[str]]:
    """Module → the project modules it imports (anywhere in its body)."""
    modules = _modules()
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # ``from a.b import c`` imports a.b, and a.b.c when c is a module.
                targets = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            else:
                continue
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in graph.get(module, ()):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(component)

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        for module in list(graph):
            if module not in index:
                visit(module)
    finally:
        sys.setrecursionlimit(limit)
    return found


def test_no_import_cycles():
    assert [sorted(c) for c in cycles(import_graph())] == []


def test_imports_only_go_down_the_layers():
    wrong = []
    for module, targets in sorted(import_graph().items()):
        level, package = layer_of(module)
        for target in sorted(targets):
            target_level, target_package = layer_of(target)
            if target_package == package or target_level < level:
                continue
            wrong.append(f"{module} -> {target}")
    assert wrong == [], "imports that go up or sideways:\n" + "\n".join(wrong)


def test_the_layer_check_sees_upward_and_sideways_imports():
    assert layer_of("runtime.records.writer") > layer_of("runtime.security.scope")
    assert layer_of("runtime.workflows.engine")[0] == layer_of("runtime.packs.service")[0]
    assert layer_of("runtime.workflows")[1] == "runtime.workflows"


def test_the_cycle_finder_finds_cycles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert cycles(graph) == [{"a", "b", "c"}]


def test_metadata_never_imports_runtime():
    """metadata/ is the bottom layer: it describes, runtime/ acts on the description."""
    upward = sorted(
        f"{module} -> {target}"
        for module, targets in import_graph().items()
        if module.startswith("metadata")
        for target in targets
        if target.startswith("runtime")
    )
    assert upward == []


#: Declarative catalogues may be long: one entry after another, nothing to follow.
CATALOGUES = {
    "runtime/settings.py",  # every TESSERA_* variable, declared once
}
MAX_LINES = 600


def test_no_module_is_over_600_lines_but_the_catalogues():
    long = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            name = path.relative_to(ROOT).as_posix()
            count = len(path.read_text(encoding="utf-8").splitlines())
            if count > MAX_LINES and name not in CATALOGUES:
                long[name] = count
    assert long == {}, f"split these modules (at most {MAX_LINES} lines): {long}"
    # The exceptions are still needed (else drop them from the list).
    assert all(len((ROOT / n).read_text().splitlines()) > MAX_LINES for n in CATALOGUES)


#: Where the differences between the databases live (see runtime/sql/dialect.py): the
#: dialect classes, the storage engine, and the control plane's store and migrations.
DIALECT_HOMES = ("runtime/sql/", "runtime/storage/", "metadata/registry/")


def test_only_the_dialect_and_storage_ask_which_database_they_run_on():
    asked = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            name = path.relative_to(ROOT).as_posix()
            if name.startswith(DIALECT_HOMES):
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Compare):
                    operands = [node.left, *node.comparators]
                    if any(
                        isinstance(o, ast.Constant) and o.value in ("postgresql", "sqlite")
                        for o in operands
                    ):
                        asked.append(f"{name}:{node.lineno}")
    assert asked == [], f"ask the dialect (runtime/sql) instead: {asked}"
