"""Imports flow one way: no import cycle under runtime/ or metadata/, counting imports
inside functions too (they hide cycles from Python, not from readers).

One cycle is known and listed: the write path lives in runtime/graphql/mutations.py, and
workflow actions and approvals reach it while GraphQL's automation roots reach them.
Issue 16's record service (runtime/records/) removes it; until then the list holds it to
exactly those modules, so no new module can join it and no new cycle can start.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).parents[1]
PACKAGES = ("runtime", "metadata")
KNOWN_CYCLES = [
    {
        "runtime.graphql.automation",
        "runtime.graphql.executor",
        "runtime.graphql.mutations",
        "runtime.workflows.actions",
        "runtime.workflows.approvals",
    }
]


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


def test_no_import_cycles_but_the_known_one():
    found = cycles(import_graph())
    unexpected = [sorted(c) for c in found if c not in KNOWN_CYCLES]
    assert unexpected == [], f"import cycles: {unexpected}"
    # The known one is still there (else drop it from the list, and this comment).
    assert all(known in found for known in KNOWN_CYCLES), found


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
