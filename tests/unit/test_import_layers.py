"""Import directions of `src/reconciler`, read from the source with `ast` (docs/architecture.md).

Every import counts: at module level, under `if TYPE_CHECKING:` and inside functions, because a cycle hidden
under either is still a cycle to the reader and to mypy. The graph's nodes are modules. An import of
`pkg.mod` is an edge to `pkg.mod`; `from pkg import name` is an edge to `pkg.name` when that is a module, else
to `pkg` (its `__init__` runs).

Three rules:
- no cycle between modules;
- no upward import: a module imports only from its own layer group or a lower one in `LAYERS`;
- what prints runs nothing: the CLI's renderers (`RENDERERS`) import none of the modules that do the work
  (`RUNNERS`), so event and plan rendering can be tested and changed without the orchestration.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"

#: The layers of `reconciler`, lowest first. A name is a top-level module or subpackage of `reconciler`; names
#: in one tuple are siblings: neither imports the other. A module may import its own group and any lower layer.
#: The order is the code's: `failures` classifies any exception by the exit codes of `errors`; `spec` is pure
#: (no AWS); `aws`, the one AWS edge, reads `spec.reserved` (the lock's key) and `spec.regions` (partitions);
#: each resource kind uses both; `permissions` derives the operator policy from the kinds; `engine` plans and
#: applies kinds; `quarterly` runs the pipeline on the engine; the CLI is the top and the only layer that may
#: import `reconciler_local`.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "invocation", "masking", "localcache", "iam_statement"),
    ("failures",),
    ("spec",),
    ("aws",),
    ("resources",),
    ("permissions",),
    ("engine", "adopt"),
    ("quarterly",),
    ("cli",),
    ("__main__",),
)

#: The CLI's rendering modules, and the modules that run work (apply, the locked session, the quarterly run).
RENDERERS = frozenset(
    {"reconciler.cli.render", "reconciler.cli.plan_render", "reconciler.cli.progress", "reconciler.cli.history_table",
     "reconciler.cli.messages", "reconciler.cli.apply_render", "reconciler.cli.run_render"}
)  # fmt: skip
RUNNERS = frozenset({"reconciler.engine.apply", "reconciler.engine.locked", "reconciler.quarterly.run",
                     "reconciler.quarterly.steps", "reconciler.quarterly.glue_runs"})  # fmt: skip

#: Tolerated violations, as (importer, imported) module pairs, each also named in the check's failure text.
#: Empty: there are none. The test fails when an entry no longer occurs, so an entry added while a refactor
#: is in flight cannot outlive the violation it excuses.
KNOWN_VIOLATIONS: frozenset[tuple[str, str]] = frozenset()


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(root: Path = SRC, package: str = "reconciler") -> dict[str, Path]:
    """Every module of `package` under `root`, by dotted name."""
    return {_module_name(p, root): p for p in sorted((root / package).rglob("*.py"))}


def _imported(node: ast.Import | ast.ImportFrom, importer: str, is_package: bool, known: Iterable[str]) -> set[str]:
    names = set(known)
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names}
    if node.level:
        base = importer.split(".") if is_package else importer.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    found = {f"{target}.{alias.name}" for alias in node.names if f"{target}.{alias.name}" in names}
    if len(found) < len(node.names):
        found.add(target)
    return found


def import_graph(sources: Mapping[str, str], package: str = "reconciler") -> dict[str, set[str]]:
    """Module -> the modules of `package` it imports anywhere in its text (`sources`: module name -> source).

    A name that is not itself a module (a dotted attribute path) is cut back to its nearest module."""
    graph: dict[str, set[str]] = {name: set() for name in sources}
    for name, text in sources.items():
        is_package = name == package or f"{name}.__init__" in sources or any(m.startswith(f"{name}.") for m in sources)
        for node in ast.walk(ast.parse(text)):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            for target in _imported(node, name, is_package, sources):
                if target.split(".")[0] != package:
                    continue
                while target not in sources and "." in target:
                    target = target.rsplit(".", 1)[0]
                if target != name and target != package:
                    graph[name].add(target)
    return graph


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _group(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def upward_imports(graph: Mapping[str, set[str]], layers: tuple[tuple[str, ...], ...] = LAYERS) -> set[tuple[str, str]]:
    """(importer, imported) pairs that import a higher layer or a sibling of the importer's layer."""
    level = {name: i for i, group in enumerate(layers) for name in group}
    bad: set[tuple[str, str]] = set()
    for importer, targets in graph.items():
        for target in targets:
            a, b = _group(importer), _group(target)
            # a package missing from LAYERS is reported by its own test, not here
            if a != b and a in level and b in level and level[b] >= level[a]:
                bad.add((importer, target))
    return bad


def renderer_imports(graph: Mapping[str, set[str]]) -> set[tuple[str, str]]:
    """(renderer, runner) pairs: a rendering module importing a module that runs work."""
    return {(r, t) for r in RENDERERS for t in graph.get(r, set()) & RUNNERS}


def violations(graph: Mapping[str, set[str]]) -> set[tuple[str, str]]:
    """Every upward import and every renderer importing a runner."""
    return upward_imports(graph) | renderer_imports(graph)


def _sources() -> dict[str, str]:
    return {name: path.read_text(encoding="utf-8") for name, path in modules().items()}


def _describe(pairs: Iterable[tuple[str, str]]) -> str:
    return "\n".join(f"  {a} imports {b}" for a, b in sorted(pairs))


def test_every_package_and_top_level_module_has_a_layer() -> None:
    named = {name for group in LAYERS for name in group}
    present = {_group(m) for m in modules()} - {"reconciler"}
    assert present == named, f"add to LAYERS: {sorted(present - named)}; gone from src: {sorted(named - present)}"


def test_the_renderers_exist() -> None:
    assert set(modules()) >= RENDERERS, f"renamed or gone, update RENDERERS: {sorted(RENDERERS - set(modules()))}"


def test_no_upward_or_sideways_import_and_no_renderer_runs_work() -> None:
    graph = import_graph(_sources())
    cyclic = {(a, b) for c in cycles(graph) for a in c for b in graph[a] if b in c}
    found = violations(graph) | (cyclic & KNOWN_VIOLATIONS)
    new = found - KNOWN_VIOLATIONS
    gone = KNOWN_VIOLATIONS - found
    assert not new, f"imports against the layer order or RENDERERS (docs/architecture.md):\n{_describe(new)}"
    assert not gone, f"fixed, so remove from KNOWN_VIOLATIONS:\n{_describe(gone)}"


def test_no_import_cycle() -> None:
    graph = import_graph(_sources())
    # A known violation is also allowed to close a cycle until it is fixed; nothing else may.
    for importer, target in KNOWN_VIOLATIONS:
        graph[importer].discard(target)
    found = cycles(graph)
    assert not found, "import cycles:\n" + "\n".join("  " + " <-> ".join(c) for c in found)


def test_the_checks_find_a_cycle_and_an_upward_import_in_synthetic_code() -> None:
    sources = {
        "reconciler": "",
        "reconciler.errors": "",
        "reconciler.spec": "",
        "reconciler.spec.model": "from reconciler.errors import X\n",
        "reconciler.aws": "",
        "reconciler.aws.context": (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from reconciler.resources.base import Desired\n"
        ),
        "reconciler.resources": "",
        "reconciler.resources.base": "def f():\n    from ..aws import context\n",
    }
    graph = import_graph(sources)
    assert graph["reconciler.resources.base"] == {"reconciler.aws.context"}
    assert graph["reconciler.spec.model"] == {"reconciler.errors"}
    assert cycles(graph) == [["reconciler.aws.context", "reconciler.resources.base"]]
    assert upward_imports(graph) == {("reconciler.aws.context", "reconciler.resources.base")}
    sideways = {"reconciler.errors": "import reconciler.masking\n", "reconciler.masking": ""}
    assert upward_imports(import_graph(sideways)) == {("reconciler.errors", "reconciler.masking")}
    printing = {
        "reconciler.cli.progress": "from reconciler.quarterly.run import SHORT_ID\n",
        "reconciler.quarterly.run": "",
    }
    assert renderer_imports(import_graph(printing)) == {("reconciler.cli.progress", "reconciler.quarterly.run")}


def test_reconciler_local_uses_only_the_lower_layers_and_only_the_cli_imports_it() -> None:
    local = {name: path.read_text(encoding="utf-8") for name, path in modules(SRC, "reconciler_local").items()}
    into_reconciler: set[tuple[str, str]] = set()
    for name, text in local.items():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target in _imported(node, name, name.count(".") == 0, local):
                    if target.split(".")[0] == "reconciler" and _group(target) not in {"errors", "spec", "aws"}:
                        into_reconciler.add((name, target))
    assert not into_reconciler, f"reconciler_local may import only errors, spec and aws:\n{_describe(into_reconciler)}"
    importers = set()
    for name, text in _sources().items():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Import) and any(a.name.startswith("reconciler_local") for a in node.names):
                importers.add(name)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("reconciler_local"):
                importers.add(name)
    assert {_group(m) for m in importers} <= {"cli"}, f"only the CLI imports reconciler_local: {sorted(importers)}"
